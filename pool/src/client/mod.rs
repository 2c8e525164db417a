//! The tokio driver around the session: sockets, TLS, reconnects with backoff, failover across pools.
