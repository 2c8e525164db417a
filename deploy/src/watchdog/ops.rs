//! The watchdog's hands: probing a card and carrying out an action, over ssh and sysfs.

use super::action::{ActionKind, AgentSeen, Observation, WatchdogAction};
use super::counters::CounterSample;
use crate::discovery::{Card, MpssDiscovery};
use crate::remote::{DeployError, Deployer};
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use tracing::info;

/// Probing and acting, separated from the decisions so the driver can be tested with fakes.
pub trait CardOps: Send + Sync + 'static {
    fn observe(&self, card: &Card) -> impl Future<Output = Observation> + Send;
    fn act(
        &self,
        card: &Card,
        action: &WatchdogAction,
    ) -> impl Future<Output = Result<(), DeployError>> + Send;
}

/// [`CardOps`] over a [`Deployer`] (ssh) and MPSS sysfs. Hash rates come from whoever computes
/// them (the host's aggregator) through [`DeployerOps::set_hash_rate`]; for a card nobody sets
/// one for, the rate is computed here from the agent's `/v1/counters` between two probes.
pub struct DeployerOps {
    pub deployer: Deployer,
    /// Needed for the MPSS state and reset/boot; `None` skips both.
    pub mpss: Option<MpssDiscovery>,
    rates: Mutex<HashMap<String, f64>>,
    counters: Mutex<HashMap<String, CounterSample>>,
    /// The agent pid each card's last probe saw: a restart replaces that one only.
    seen: Mutex<HashMap<String, Option<u32>>>,
}

impl DeployerOps {
    pub fn new(deployer: Deployer, mpss: Option<MpssDiscovery>) -> DeployerOps {
        DeployerOps {
            deployer,
            mpss,
            rates: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Latest hash rate (H/s) of `card`, used for the low-rate rule.
    pub fn set_hash_rate(&self, card: &str, rate: f64) {
        if let Ok(mut r) = self.rates.lock() {
            r.insert(card.to_string(), rate);
        }
    }

    fn rate(&self, card: &str) -> Option<f64> {
        self.rates.lock().ok()?.get(card).copied()
    }

    /// The rate between the previous counters of `card` and `body` (`None` on the first sample,
    /// after the agent restarted, or when the body is not counters).
    fn rate_from_counters(&self, card: &str, body: Option<&str>) -> Option<f64> {
        let mut seen = self.counters.lock().ok()?;
        let Some(now) = body.and_then(CounterSample::parse) else {
            seen.remove(card);
            return None;
        };
        let before = seen.insert(card.to_string(), now.clone());
        now.rate_since(&before?)
    }

    fn seen_pid(&self, card: &str) -> Option<u32> {
        self.seen.lock().ok()?.get(card).copied().flatten()
    }

    fn mpss_for(&self, card: &Card) -> Option<(&MpssDiscovery, u32)> {
        let idx = card.mic_index?;
        let m = self.mpss.as_ref()?;
        m.card_dir(idx).is_dir().then_some((m, idx))
    }
}

impl CardOps for DeployerOps {
    async fn observe(&self, card: &Card) -> Observation {
        let mpss_state = self.mpss_for(card).and_then(|(m, i)| m.read_state(i).ok());
        let agent = match self.deployer.probe(card).await {
            Ok((s, body)) => {
                if let Ok(mut seen) = self.seen.lock() {
                    seen.insert(card.name.clone(), s.pid);
                }
                let counted = self.rate_from_counters(&card.name, body.as_deref());
                Ok(AgentSeen {
                    binary_present: s.binary_present,
                    running: s.pid.is_some(),
                    hash_rate: self.rate(&card.name).or(counted),
                    stopped_by_operator: s.stopped_by_operator,
                })
            }
            Err(e) => Err(e.to_string()),
        };
        Observation { mpss_state, agent }
    }

    async fn act(&self, card: &Card, action: &WatchdogAction) -> Result<(), DeployError> {
        let started = match action.kind {
            ActionKind::Restart => {
                let seen = self.seen_pid(&card.name);
                self.deployer
                    .supervised_restart(card, seen)
                    .await?
                    .is_some()
            }
            ActionKind::Redeploy => {
                let seen = self.seen_pid(&card.name);
                self.deployer.supervised_deploy(card, seen).await?.is_some()
            }
            ActionKind::ResetCard | ActionKind::BootCard => {
                let word = if action.kind == ActionKind::ResetCard {
                    "reset"
                } else {
                    "boot"
                };
                if let Some((m, i)) = self.mpss_for(card) {
                    m.write_state(i, word)?;
                }
                true
            }
            ActionKind::MarkUnreachable { .. } | ActionKind::Recovered | ActionKind::MarkFailed => {
                true
            }
        };
        if !started {
            // The operator's stop landed between our probe and our start: theirs wins.
            info!(card = %card.name, action = %action.kind, "skipped: stopped by the operator");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::DeployConfig;
    use crate::watchdog::action::Cause;

    #[tokio::test]
    async fn reset_and_boot_write_sysfs_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mpss = MpssDiscovery {
            sysfs_root: dir.path().join("sys"),
            etc_root: dir.path().join("etc"),
            ssh_user: "root".into(),
        };
        let card_dir = mpss.card_dir(2);
        std::fs::create_dir_all(&card_dir).expect("mkdir");
        std::fs::write(card_dir.join("state"), "error\n").expect("state");
        let card = mpss.card(2).expect("card");
        let ops = DeployerOps::new(Deployer::new(DeployConfig::default()), Some(mpss.clone()));
        let cause = Cause::CardState {
            state: "error".into(),
        };
        let reset = WatchdogAction::new("mic2", ActionKind::ResetCard, cause.clone());
        ops.act(&card, &reset).await.expect("reset");
        assert_eq!(
            std::fs::read_to_string(card_dir.join("state")).expect("read"),
            "reset"
        );
        let boot = WatchdogAction::new("mic2", ActionKind::BootCard, cause);
        ops.act(&card, &boot).await.expect("boot");
        assert_eq!(
            std::fs::read_to_string(card_dir.join("state")).expect("read"),
            "boot"
        );
    }
}
