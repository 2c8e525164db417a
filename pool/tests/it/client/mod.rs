//! The tokio client: every fault mode against a scripted pool, TLS pins, a blackholed route, and
//! the session's properties on arbitrary input.

mod blackhole;
mod events;
mod faults;
mod props;
mod scripted_pool;
mod tls;
