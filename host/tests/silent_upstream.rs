//! Temporary entry point until the lead wires `it/silent_upstream.rs` into `tests/it/main.rs`.

#[path = "it/silent_upstream.rs"]
mod silent_upstream;
