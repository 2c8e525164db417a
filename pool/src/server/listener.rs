//! Binding, the accept loop and the job timer: the part of the server that is not a connection.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{interval_at, Instant, MissedTickBehavior};

use super::config::ServerConfig;
use super::connection;
use super::error::ServerError;
use super::handle::ServerHandle;
use super::shared::Shared;
use super::verify::ShareHasher;

/// How long connections get to notice a shutdown before they are aborted.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The reference stratum pool. Start it, then drive it through the [`ServerHandle`].
#[derive(Debug)]
pub struct PoolServer;

impl PoolServer {
    /// Validate `config`, bind, and serve in the background on the current tokio runtime.
    /// Shares are verified with `hasher` on blocking threads, never on the reactor.
    pub async fn start(
        config: ServerConfig,
        hasher: Arc<dyn ShareHasher>,
    ) -> Result<ServerHandle, ServerError> {
        config.validate()?;
        let listener = bind(&config)?;
        let bind_err = |source| ServerError::Bind {
            addr: config.bind,
            source,
        };
        let local_addr = listener.local_addr().map_err(bind_err)?;
        let shared = Arc::new(Shared::new(config, hasher));
        // Subscribed before the task runs, so a shutdown sent right away is not missed.
        let shutdown = shared.shutdown.subscribe();
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), shutdown));
        tracing::info!(%local_addr, algo = %shared.config.algo, "reference pool listening");
        Ok(ServerHandle::new(local_addr, shared, task))
    }
}

fn bind(config: &ServerConfig) -> Result<TcpListener, ServerError> {
    let addr = config.bind;
    let err = |source| ServerError::Bind { addr, source };
    let socket = match addr {
        SocketAddr::V4(_) => TcpSocket::new_v4(),
        SocketAddr::V6(_) => TcpSocket::new_v6(),
    }
    .map_err(err)?;
    // Lets a test restart a server on the port it just used (sockets linger in TIME_WAIT).
    socket.set_reuseaddr(true).map_err(err)?;
    if let Some(size) = config.recv_buffer {
        // Accepted sockets inherit it; set before listen so the window is small from the start.
        socket.set_recv_buffer_size(size).map_err(err)?;
    }
    socket.bind(addr).map_err(err)?;
    socket.listen(1024).map_err(err)
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let interval = shared.config.job_interval;
    let period = interval.max(Duration::from_millis(1));
    let mut job_timer = interval_at(Instant::now() + period, period);
    job_timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut conns = JoinSet::new();
    let mut index = 0u64;
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            _ = job_timer.tick(), if !interval.is_zero() => shared.next_template(),
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if conns.len() >= shared.config.max_connections {
                        tracing::warn!(%peer, "too many connections; refusing");
                        continue;
                    }
                    // Lines are small and latency is what clients measure: no Nagle delay.
                    if let Err(e) = stream.set_nodelay(true) {
                        tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
                    }
                    index += 1;
                    conns.spawn(connection::serve(stream, peer, index, Arc::clone(&shared)));
                }
                Err(e) => {
                    // Usually EMFILE: back off briefly instead of spinning on the error.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while conns.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
    tracing::info!("reference pool stopped");
}
