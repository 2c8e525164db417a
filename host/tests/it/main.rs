//! The host's integration tests, one binary: the API, the CLI and config file, the proxy, a real
//! Prometheus scraping a live host, and the test-bed cards the `phirig` binary deploys itself to.

mod api;
mod browser;
mod cli;
mod config;
mod embedded_pause;
mod pool_serve;
mod prometheus;
mod proxy;
mod service;
mod silent_upstream;
mod stopped;
mod testbed;
