//! phirig-pool's integration tests, one binary: the client against scripted, real and
//! blackholed pools, and the reference pool server.

mod client;
mod server;
mod silent_pools;
