//! The host's HTTP API: the rig in xmrig's and xmrig-proxy's shapes, per-card detail, and Prometheus metrics.
//!
//! It serves whatever `RigSnapshot` the run loop last published on the watch channel; it never
//! polls a card itself, so a slow card cannot slow an API request down.

mod cards;
mod control;
mod dashboard;
mod history;
mod metrics;
mod routes;
mod summary;
mod workers;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use phirig_agent::http::{serve, AuthPolicy};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::info;

use crate::cli::HttpArgs;
use crate::snapshot::RigSnapshot;
use crate::HostError;

pub use cards::{cards_json, profile_json, profile_path, rig_json};
pub use control::RigCommand;
pub use history::History;
pub use metrics::render as render_metrics;
pub use routes::HostApi;
pub use summary::summary;
pub use workers::{miners_json, workers_json};

/// The highest rig-wide 10 s rate seen since start (xmrig's `hashrate.highest`).
#[derive(Debug, Default)]
pub struct Highest(AtomicU64);

impl Highest {
    pub fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }

    /// Raises the mark to the snapshot's 10 s total when that is higher.
    pub fn observe(&self, snap: &RigSnapshot) {
        let Some(rate) = snap.total.hashrate[0].filter(|r| r.is_finite()) else {
            return;
        };
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                (rate > f64::from_bits(bits)).then_some(rate.to_bits())
            });
    }
}

/// Aborts the inner task when dropped, so aborting the API's handle stops the listener too.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the API on `--http-host:--http-port` (`None` when the port is 0: the API is off).
///
/// Reads are open unless `restricted_read`; anything else needs the access token, as on the agent.
pub async fn start(
    http: &HttpArgs,
    restricted_read: bool,
    rx: watch::Receiver<Arc<RigSnapshot>>,
) -> Result<Option<(SocketAddr, JoinHandle<()>)>, HostError> {
    start_with_control(http, restricted_read, rx, None).await
}

/// [`start`], with the dashboard's commands (card restart, rig pause and resume) sent to
/// `control` for whoever runs the rig.
pub async fn start_with_control(
    http: &HttpArgs,
    restricted_read: bool,
    rx: watch::Receiver<Arc<RigSnapshot>>,
    control: Option<mpsc::Sender<RigCommand>>,
) -> Result<Option<(SocketAddr, JoinHandle<()>)>, HostError> {
    if http.http_port == 0 {
        return Ok(None);
    }
    let restricted = restricted_read || http.restricted_read;
    let auth = AuthPolicy::new(http.http_access_token.clone(), restricted);
    if restricted && !auth.has_token() {
        return Err(HostError::Usage(
            "--restricted-read needs --http-access-token (otherwise nobody could read the API)"
                .into(),
        ));
    }
    let highest = Arc::new(Highest::default());
    let history = Arc::new(Mutex::new(History::default()));
    let api = Arc::new(HostApi::new(
        rx.clone(),
        highest.clone(),
        restricted,
        history.clone(),
        control,
    ));
    let addr = SocketAddr::new(http.http_host, http.http_port);
    let (local, server) = serve(addr, api, auth.clone()).await?;
    // The token itself is never logged; only whether one is set.
    info!(
        "host API on http://{local} (access token {}, reads {})",
        if auth.has_token() { "set" } else { "not set" },
        if restricted { "need it" } else { "open" }
    );
    let task = tokio::spawn(follow(rx, highest, history, AbortOnDrop(server)));
    Ok(Some((local, task)))
}

/// Follows every published snapshot so `highest` and the history see rates between API requests
/// too; ends (and takes the listener with it) when aborted. When the publisher goes away the last
/// snapshot is still served until then.
async fn follow(
    mut rx: watch::Receiver<Arc<RigSnapshot>>,
    highest: Arc<Highest>,
    history: Arc<Mutex<History>>,
    mut server: AbortOnDrop,
) {
    loop {
        let snap = rx.borrow_and_update().clone();
        highest.observe(&snap);
        history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .observe(&snap);
        if rx.changed().await.is_err() {
            break;
        }
    }
    // Publisher gone: keep serving the last picture until the caller aborts us.
    let _ = (&mut server.0).await;
}
