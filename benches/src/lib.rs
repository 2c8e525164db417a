//! Shared helpers for the phirig benchmarks (the benches themselves live in `benches/`).
