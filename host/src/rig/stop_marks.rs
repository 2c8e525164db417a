//! The operator's stops as the watchdog reads them: each probe reads a card's stop marker (on
//! the card and the host's own record, `deploy::remote::stop_record`), and the rig keeps the
//! last reading so the snapshot shows a stopped card as stopped rather than failing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use phirig_deploy::watchdog::{CardOps, Observation};
use phirig_deploy::{Card, DeployError, DeployerOps, WatchdogAction};

/// [`CardOps`] over [`DeployerOps`] that remembers each probe's stop marker.
pub struct MarkedOps {
    pub inner: Arc<DeployerOps>,
    stopped: Mutex<HashMap<String, bool>>,
}

impl MarkedOps {
    pub fn new(inner: Arc<DeployerOps>) -> Self {
        Self {
            inner,
            stopped: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the last probe of `card` found it stopped by the operator.
    pub fn stopped(&self, card: &str) -> bool {
        self.marks().get(card).copied().unwrap_or(false)
    }

    /// The operator started the card again (a dashboard restart clears the marker): it shows
    /// so at once, not only after the next probe.
    pub fn started(&self, card: &str) {
        self.marks().insert(card.to_string(), false);
    }

    fn marks(&self) -> std::sync::MutexGuard<'_, HashMap<String, bool>> {
        // Plain booleans: a panic elsewhere cannot leave them half-written.
        self.stopped.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl CardOps for MarkedOps {
    async fn observe(&self, card: &Card) -> Observation {
        let seen = self.inner.observe(card).await;
        // An unreachable card keeps its last reading: the marker cannot have been read.
        if let Ok(agent) = &seen.agent {
            self.marks()
                .insert(card.name.clone(), agent.stopped_by_operator);
        }
        seen
    }

    async fn act(&self, card: &Card, action: &WatchdogAction) -> Result<(), DeployError> {
        self.inner.act(card, action).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phirig_deploy::{DeployConfig, Deployer};

    #[tokio::test]
    async fn a_probe_reads_the_stop_marker_and_a_restart_clears_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = DeployConfig {
            remote_dir: dir.path().join("remote").display().to_string(),
            local_dir: dir.path().join("local"),
            stop_record_dir: dir.path().join("stops"),
            ..DeployConfig::default()
        };
        let ops = MarkedOps::new(Arc::new(DeployerOps::new(Deployer::new(config), None)));
        let card = Card::local();
        assert!(!ops.stopped(&card.name), "never probed");
        // `phirig stop` on a card with no agent running still records the stop.
        ops.inner.deployer.stop(&card).await.expect("stop");
        let seen = ops.observe(&card).await;
        assert!(seen.agent.is_ok(), "{seen:?}");
        assert!(ops.stopped(&card.name));
        ops.started(&card.name);
        assert!(!ops.stopped(&card.name));
    }
}
