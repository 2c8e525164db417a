//! The host's integration tests, one binary: the API, the CLI and config file, the proxy, and the
//! test-bed cards the `phirig` binary deploys itself to.

mod api;
mod cli;
mod config;
mod proxy;
mod service;
mod silent_upstream;
mod testbed;
