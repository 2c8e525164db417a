//! Which path answers what: JSON routes over the latest snapshot, `/metrics` as text, the
//! dashboard's page, and its commands.

use std::sync::{Arc, Mutex};

use hyper::{Method, StatusCode};
use phirig_agent::http::{ApiRequest, ApiResponse, Routes};
use serde_json::json;
use tokio::sync::{mpsc, watch};

use super::control::{self, RigCommand};
use super::history::History;
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
    history: Arc<Mutex<History>>,
    /// Where the dashboard's commands go; `None` when nothing runs the rig from here.
    control: Option<mpsc::Sender<RigCommand>>,
}

impl HostApi {
    pub fn new(
        rx: watch::Receiver<Arc<RigSnapshot>>,
        highest: Arc<Highest>,
        restricted: bool,
        history: Arc<Mutex<History>>,
        control: Option<mpsc::Sender<RigCommand>>,
    ) -> Self {
        Self {
            rx,
            highest,
            restricted,
            worker_id: phirig_agent::system::hostname(),
            id: format!("{:016x}", rand::random::<u64>()),
            history,
            control,
        }
    }

    fn history_json(&self) -> serde_json::Value {
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        serde_json::to_value(&*history).unwrap_or_default()
    }

    /// Hands a command to the rig; the answer says only that it was taken.
    fn command(&self, command: RigCommand) -> ApiResponse {
        if let RigCommand::RestartCard(name) = &command {
            if !self.current().cards.iter().any(|c| &c.name == name) {
                return ApiResponse::error(StatusCode::NOT_FOUND, "no such card");
            }
        }
        let Some(tx) = &self.control else {
            return ApiResponse::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "this host runs no rig to control",
            );
        };
        match tx.try_send(command.clone()) {
            Ok(()) => ApiResponse {
                status: StatusCode::ACCEPTED,
                body: json!({ "accepted": command }),
            },
            Err(_) => ApiResponse::error(StatusCode::SERVICE_UNAVAILABLE, "rig busy; try again"),
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
            (&Method::GET, "/v1/history") => ApiResponse::ok(self.history_json()),
            (&Method::GET, path) => match super::profile_path(path) {
                Some(name) => match super::profile_json(&self.current(), name) {
                    Ok(profile) => ApiResponse::ok(profile),
                    Err(why) => ApiResponse::error(StatusCode::NOT_FOUND, why),
                },
                None => ApiResponse::not_found(),
            },
            (method, path) => match control::parse(method, path) {
                Some(command) => self.command(command),
                None => ApiResponse::not_found(),
            },
        }
    }

    fn handle_asset(&self, req: &ApiRequest) -> Option<(&'static str, &'static [u8])> {
        (req.method == Method::GET)
            .then(|| super::dashboard::asset(&req.path))
            .flatten()
    }

    fn handle_text(&self, req: &ApiRequest) -> Option<String> {
        (req.method == Method::GET && req.path == "/metrics")
            .then(|| super::render_metrics(&self.current()))
    }
}
