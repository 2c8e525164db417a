//! The driver task: pick a pool, run a connection to it, and decide where to go when it ends.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tokio::time::sleep_until;

use super::backoff::Backoff;
use super::handle::{Command, Shared};
use super::probe::ProbeOutcome;
use super::standby::Standby;
use super::{ClientConfig, ClientEvent};
use crate::protocol::{AlgoOffer, LoginParams, PoolUrl};
use crate::session::{
    HangCause, HeightWatch, ProbeMethod, ProbeResult, RefusedProbes, Session, SessionConfig,
};

/// Where to go after a session ended, and whether to wait first. Pure so it is unit-tested.
///
/// A fail-back goes to the recovered pool. A `client.reconnect` goes back to the same pool (at
/// once if it had logged us in), and so does a pool that closed on a liveness probe (at once:
/// the next session probes it another way). Otherwise the first healthy pool in priority order is tried at
/// once; only when every pool is sick do we wait (backoff) and rotate to the next one.
pub(crate) fn next_pool(
    sick: &[bool],
    current: usize,
    cause: &HangCause,
    logged_in: bool,
) -> (usize, bool) {
    match cause {
        HangCause::FailBack { to } => (*to, false),
        HangCause::ReconnectRequested => (current, !logged_in),
        HangCause::ProbeRefused { .. } => (current, false),
        _ => match sick.iter().position(|s| !s) {
            Some(healthy) => (healthy, false),
            None => ((current + 1) % sick.len().max(1), true),
        },
    }
}

pub(crate) struct Driver {
    pub cfg: ClientConfig,
    pub shared: Arc<Shared>,
    pub commands: mpsc::UnboundedReceiver<Command>,
    pub events: mpsc::Sender<ClientEvent>,
    pub(super) sick: Vec<bool>,
    pub(super) probing: Vec<bool>,
    /// Per pool of the list: liveness probes it closed the connection on.
    pub(super) refused_probes: Vec<RefusedProbes>,
    /// Per pool: how its last liveness probe went (probe events are reported on change).
    pub(super) last_probe: Vec<Option<(ProbeMethod, ProbeResult)>>,
    pub(super) backoff: Backoff,
    pub(super) sessions: u64,
    pub(super) redirect: Option<(usize, PoolUrl)>,
    pub(super) probe_tx: mpsc::UnboundedSender<(usize, ProbeOutcome)>,
    pub(super) probe_rx: mpsc::UnboundedReceiver<(usize, ProbeOutcome)>,
    /// Set once shutdown was asked for: (drain deadline, who to tell when done).
    pub(super) shutdown: Option<(Instant, Option<oneshot::Sender<()>>)>,
    /// A new configuration, applied when the current session has drained.
    pub(super) pending_config: Option<ClientConfig>,
    /// The next pool of the list, kept logged in beside the mining connection.
    pub(super) standby: Standby,
    /// Mining pool's height against the standby's: finds a zombie pool.
    pub(super) heights: HeightWatch,
}

impl Driver {
    pub fn new(
        cfg: ClientConfig,
        shared: Arc<Shared>,
        commands: mpsc::UnboundedReceiver<Command>,
        events: mpsc::Sender<ClientEvent>,
    ) -> Driver {
        let n = cfg.pools.len();
        let (probe_tx, probe_rx) = mpsc::unbounded_channel();
        Driver {
            backoff: Backoff::new(cfg.timeouts.backoff_initial, cfg.timeouts.backoff_max),
            cfg,
            shared,
            commands,
            events,
            sick: vec![false; n],
            probing: vec![false; n],
            refused_probes: vec![RefusedProbes::default(); n],
            last_probe: vec![None; n],
            sessions: 0,
            redirect: None,
            probe_tx,
            probe_rx,
            shutdown: None,
            pending_config: None,
            standby: Standby::Off,
            heights: HeightWatch::default(),
        }
    }

    pub async fn run(mut self) {
        if let Err(e) = self.cfg.validate() {
            tracing::error!("stratum client not started: {e}");
            self.finish().await;
            return;
        }
        let mut pool = 0;
        while self.shutdown.is_none() {
            let (cause, logged_in) = self.run_connection(pool).await;
            if cause.pool_is_sick() {
                self.set_sick(pool, true);
            }
            if let HangCause::ProbeRefused { method } = cause {
                self.refused_probes[pool].refuse(method);
            }
            let ended_url = self.cfg.pools[pool].url.to_string();
            let (next, wait) = match self.pending_config.take() {
                Some(cfg) => {
                    self.apply_config(cfg);
                    (0, false)
                }
                None => next_pool(&self.sick, pool, &cause, logged_in),
            };
            let delay = if wait && self.shutdown.is_none() {
                Some(self.backoff.next_delay())
            } else {
                None
            };
            self.note_end(pool, &ended_url, &cause, next, delay).await;
            pool = next;
            if let Some(delay) = delay {
                self.wait(delay).await;
                // A reconfiguration during the wait starts over on the new list.
                if let Some(cfg) = self.pending_config.take() {
                    self.apply_config(cfg);
                    pool = 0;
                }
            }
        }
        self.finish().await;
    }

    async fn finish(&mut self) {
        self.standby.clear();
        self.publish_standby();
        self.shared.ledger().resolve_all_stale("client shut down");
        self.report_outcomes().await;
        {
            let mut stats = self.shared.stats();
            stats.current_pool = None;
            stats.link = None;
        }
        if let Some((_, Some(done))) = self.shutdown.take() {
            let _ = done.send(());
        }
    }

    /// Takes a new pool list and timeouts; the share ledger and reconnect counts carry over.
    fn apply_config(&mut self, cfg: ClientConfig) {
        let n = cfg.pools.len();
        let urls: Vec<String> = cfg.pools.iter().map(|p| p.url.to_string()).collect();
        tracing::info!(
            "stratum client reconfigured: {n} pool(s), first {}",
            urls.first().map_or("(none)", String::as_str)
        );
        self.backoff = Backoff::new(cfg.timeouts.backoff_initial, cfg.timeouts.backoff_max);
        self.cfg = cfg;
        self.sick = vec![false; n];
        self.probing = vec![false; n];
        self.refused_probes = vec![RefusedProbes::default(); n];
        self.last_probe = vec![None; n];
        self.redirect = None;
        self.standby.clear();
        self.heights = HeightWatch::default();
        let mut stats = self.shared.stats();
        let reconnects = std::mem::take(&mut stats.reconnects);
        let started = stats.started;
        *stats = super::stats::StatsState::new(urls);
        stats.reconnects = reconnects;
        stats.started = started;
    }

    /// A new offer for every later login, including a reconfiguration already waiting: the
    /// newest offer wins, list and all.
    pub(super) fn keep_perf(&mut self, offer: AlgoOffer) {
        if let Some(cfg) = self.pending_config.as_mut() {
            cfg.offer = offer.clone();
        }
        self.cfg.offer = offer;
    }

    async fn note_end(
        &mut self,
        pool: usize,
        url: &str,
        cause: &HangCause,
        next: usize,
        delay: Option<Duration>,
    ) {
        {
            let mut stats = self.shared.stats();
            *stats.reconnects.entry(cause.kind()).or_default() += 1;
            stats.current_pool = None;
            stats.link = None;
        }
        if *cause != HangCause::Shutdown {
            let next_url = &self.cfg.pools[next].url;
            let when = delay.map_or_else(|| "now".to_string(), |d| format!("in {d:.1?}"));
            tracing::warn!(
                pool,
                cause = cause.kind(),
                "pool #{pool} {url} session ended: {cause}; next: pool #{next} {next_url} {when}"
            );
        }
        self.emit(ClientEvent::Disconnected {
            pool,
            cause: cause.clone(),
        })
        .await;
    }

    /// Sleep between attempts, still honouring shutdown.
    async fn wait(&mut self, delay: Duration) {
        let until = tokio::time::Instant::now() + delay;
        loop {
            tokio::select! {
                _ = sleep_until(until) => return,
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Share) => self.report_outcomes().await,
                    Some(Command::GetJob) => {}
                    Some(Command::OfferPerf(offer)) => self.keep_perf(offer),
                    Some(Command::Reconfigure(cfg)) => {
                        self.pending_config = Some(*cfg);
                        return;
                    }
                    Some(Command::Shutdown { done, .. }) => {
                        self.shutdown = Some((Instant::now(), Some(done)));
                        return;
                    }
                    None => {
                        self.shutdown = Some((Instant::now(), None));
                        return;
                    }
                },
            }
        }
    }

    pub(super) fn set_sick(&mut self, pool: usize, sick: bool) {
        self.sick[pool] = sick;
        self.shared.stats().sick[pool] = sick;
    }

    /// A new session's settings for `pool` (mining or standby); each gets its own number.
    pub(super) fn session_config(&mut self, pool: usize) -> SessionConfig {
        self.sessions += 1;
        let pc = &self.cfg.pools[pool];
        SessionConfig {
            pool,
            session: self.sessions,
            login: self.login_params(pool),
            nicehash: pc.nicehash_forced(),
            keepalive: pc.keepalive,
            timeouts: self.cfg.timeouts,
            refused_probes: self.refused_probes[pool],
        }
    }

    pub(super) fn login_params(&self, pool: usize) -> LoginParams {
        let pc = &self.cfg.pools[pool];
        LoginParams {
            login: pc.user.clone(),
            pass: pc.pass.clone(),
            agent: self.cfg.agent.clone(),
            rigid: pc.rig_id.clone(),
            offer: self.cfg.offer.clone(),
        }
    }

    /// Offer held shares to a logged-in session; those it cannot take yet stay held.
    pub(super) fn offer_held(&mut self, session: &mut Session) {
        if !session.is_logged_in() {
            return;
        }
        let now = Instant::now();
        let mut ledger = self.shared.ledger();
        for (id, share) in ledger.take_held() {
            match session.submit(id, &share, now) {
                Ok(()) => ledger.mark_submitted(id),
                Err(_) => ledger.hold(id),
            }
        }
    }

    /// Send every outcome the ledger decided since last time.
    pub(super) async fn report_outcomes(&mut self) {
        let outcomes: Vec<_> = {
            let mut ledger = self.shared.ledger();
            std::iter::from_fn(|| ledger.poll_resolved()).collect()
        };
        for (id, outcome) in outcomes {
            self.emit(ClientEvent::ShareOutcome { id, outcome }).await;
        }
    }

    pub(super) async fn emit(&self, ev: ClientEvent) {
        // A dropped receiver means nobody listens; the client keeps its books regardless.
        let _ = self.events.send(ev).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failover_goes_to_the_next_healthy_pool_at_once() {
        let cause = HangCause::ResponseTimeout { method: "submit" };
        assert_eq!(
            next_pool(&[true, false, false], 0, &cause, true),
            (1, false)
        );
        assert_eq!(next_pool(&[true, true, false], 1, &cause, true), (2, false));
        // A recovered primary is preferred over the rest.
        assert_eq!(
            next_pool(&[false, true, false], 1, &cause, true),
            (0, false)
        );
    }

    #[test]
    fn all_sick_rotates_with_backoff() {
        let cause = HangCause::Closed;
        assert_eq!(next_pool(&[true], 0, &cause, false), (0, true));
        assert_eq!(next_pool(&[true, true], 1, &cause, false), (0, true));
    }

    #[test]
    fn a_refused_probe_reconnects_to_the_same_pool_at_once() {
        let cause = HangCause::ProbeRefused {
            method: crate::session::ProbeMethod::Keepalived,
        };
        assert_eq!(next_pool(&[false, false], 0, &cause, true), (0, false));
    }

    #[test]
    fn reconnect_and_failback() {
        let r = HangCause::ReconnectRequested;
        assert_eq!(next_pool(&[false, false], 1, &r, true), (1, false));
        assert_eq!(next_pool(&[false, false], 1, &r, false), (1, true));
        assert_eq!(
            next_pool(&[false, false], 1, &HangCause::FailBack { to: 0 }, true),
            (0, false)
        );
    }
}
