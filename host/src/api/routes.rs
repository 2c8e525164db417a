//! Which path answers what: JSON routes over the latest snapshot, `/metrics` as text.

use std::sync::Arc;

use hyper::Method;
use phirig_agent::http::{ApiRequest, ApiResponse, Routes};
use tokio::sync::watch;

use super::Highest;
use crate::snapshot::RigSnapshot;

/// The host API's routes; cheap to answer: everything comes from the last published snapshot.
pub struct HostApi {
    rx: watch::Receiver<Arc<RigSnapshot>>,
    highest: Arc<Highest>,
    restricted: bool,
    worker_id: String,
    /// Random per process, like the agent's boot id: a dashboard sees a restart as a new miner.
    id: String,
}

impl HostApi {
    pub fn new(
        rx: watch::Receiver<Arc<RigSnapshot>>,
        highest: Arc<Highest>,
        restricted: bool,
    ) -> Self {
        Self {
            rx,
            highest,
            restricted,
            worker_id: phirig_agent::system::hostname(),
            id: format!("{:016x}", rand::random::<u64>()),
        }
    }

    fn current(&self) -> Arc<RigSnapshot> {
        let snap = self.rx.borrow().clone();
        // Also here, so a snapshot published just before this request already counts.
        self.highest.observe(&snap);
        snap
    }
}

impl Routes for HostApi {
    fn handle(&self, req: ApiRequest) -> ApiResponse {
        match (&req.method, req.path.as_str()) {
            (&Method::GET, "/1/summary" | "/2/summary" | "/api.json") => {
                let snap = self.current();
                ApiResponse::ok(super::summary(
                    &snap,
                    &super::summary::Identity {
                        id: &self.id,
                        worker_id: &self.worker_id,
                        restricted: self.restricted,
                        highest: self.highest.get(),
                    },
                ))
            }
            (&Method::GET, "/v1/cards") => ApiResponse::ok(super::cards_json(&self.current())),
            (&Method::GET, "/v1/rig") => ApiResponse::ok(super::rig_json(&self.current())),
            (&Method::GET, "/1/workers") => ApiResponse::ok(super::workers_json(&self.current())),
            (&Method::GET, "/1/miners") => ApiResponse::ok(super::miners_json(&self.current())),
            _ => ApiResponse::not_found(),
        }
    }

    fn handle_text(&self, req: &ApiRequest) -> Option<String> {
        (req.method == Method::GET && req.path == "/metrics")
            .then(|| super::render_metrics(&self.current()))
    }
}
