//! phirig-rx's integration tests: the reference vectors on every path, epochs and verification.

mod epochs;
mod vectors;
