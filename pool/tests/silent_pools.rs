//! Temporary entry point until the lead wires `it/silent_pools.rs` into `tests/it/main.rs`.

#[path = "server_support/mod.rs"]
mod server_support;

#[path = "it/silent_pools.rs"]
mod silent_pools;
