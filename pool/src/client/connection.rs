//! One mining connection: connect (or take over the standby), pump the session between socket
//! and timers beside the standby, report events.

use std::time::{Duration, Instant};

use super::driver::Driver;
use super::handle::Command;
use super::probe::{probe, ProbeOutcome, ProbeTarget};
use super::transport::connect;
use super::wire::{sleep_until_opt, Wire};
use super::ClientEvent;
use crate::protocol::PoolUrl;
use crate::session::{HangCause, Session, SessionEvent};

/// Fail-back waits at most this long for the old pool to answer in-flight submits.
const FAILBACK_DRAIN: Duration = Duration::from_secs(5);

impl Driver {
    /// One connection to `pool`, from connect (or the standby's promotion) to its end. Returns
    /// why it ended and whether it got as far as a login.
    pub(super) async fn run_connection(&mut self, pool: usize) -> (HangCause, bool) {
        let pc = self.cfg.pools[pool].clone();
        let t = self.cfg.timeouts;
        self.heights.ours(None, Instant::now());
        let mut logged_in = false;
        let mut wire = match self.promote_standby(pool) {
            Some((wire, job)) => {
                let mut wire = *wire;
                if wire.session.is_logged_in() {
                    logged_in = true;
                    tracing::info!(
                        pool,
                        "pool #{pool}: the standby takes over, already logged in"
                    );
                    self.mining_logged_in(pool, &wire).await;
                    if let Some(job) = job {
                        self.heights.ours(job.height, Instant::now());
                        self.emit(ClientEvent::Job(job)).await;
                        self.offer_held(&mut wire.session);
                    }
                }
                wire
            }
            None => {
                let url = match self.redirect.take() {
                    Some((p, url)) if p == pool => url,
                    _ => pc.url.clone(),
                };
                let rw = match connect(
                    &url,
                    pc.tls_fingerprint.as_deref(),
                    self.cfg.send_buffer,
                    t.connect,
                )
                .await
                {
                    Ok(rw) => rw,
                    Err(cause) => return (cause, false),
                };
                let session = Session::new(self.session_config(pool), Instant::now());
                Wire::new(session, rw, url, t.write_stall)
            }
        };
        let mut draining: Option<(Instant, HangCause)> = self
            .shutdown
            .as_ref()
            .map(|(deadline, _)| (*deadline, HangCause::Shutdown));
        let mut probe_tick = tokio::time::interval_at(
            tokio::time::Instant::now() + t.probe_interval,
            t.probe_interval,
        );
        probe_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

        loop {
            // Events first: handling them (offering held shares) can queue more lines.
            while let Some(ev) = wire.session.poll_event() {
                match ev {
                    SessionEvent::LoggedIn { .. } => {
                        logged_in = true;
                        self.mining_logged_in(pool, &wire).await;
                    }
                    SessionEvent::Job(job) => {
                        self.heights.ours(job.height, Instant::now());
                        self.emit(ClientEvent::Job(job)).await;
                        self.offer_held(&mut wire.session);
                    }
                    SessionEvent::ShareResult { share_id, outcome } => {
                        self.shared.ledger().resolve(share_id, outcome);
                    }
                    SessionEvent::Replied { rtt, .. } => {
                        self.shared.stats().rtt[pool].record(rtt, wire.last_gap);
                    }
                    SessionEvent::Probe { method, result } => {
                        if self.last_probe[pool].replace((method, result)) != Some((method, result))
                        {
                            tracing::info!(pool, "pool #{pool}: {method} probe {result}");
                            self.emit(ClientEvent::Probe {
                                pool,
                                method,
                                result,
                            })
                            .await;
                        }
                    }
                    SessionEvent::Reconnect { host, port } => {
                        // Follow only to the same host: a pool may move us between its ports,
                        // but must not be able to point the rig at an arbitrary address.
                        if host.eq_ignore_ascii_case(&pc.url.host) {
                            let to = PoolUrl {
                                host,
                                port,
                                tls: pc.url.tls,
                            };
                            self.redirect = Some((pool, to));
                        } else {
                            tracing::warn!(
                                pool,
                                "ignoring client.reconnect to another host {host}:{port}"
                            );
                        }
                    }
                    SessionEvent::Hung { cause } => {
                        self.report_outcomes().await;
                        return (cause, logged_in);
                    }
                }
            }
            self.report_outcomes().await;
            if let Some((deadline, cause)) = &draining {
                if wire.session.pending_submits() == 0 || Instant::now() >= *deadline {
                    wire.session.on_closed(cause.clone(), Instant::now());
                    continue;
                }
            }
            // Not while leaving: the standby is tended (and pumped) by the connection that stays.
            let tending = draining.is_none();
            if tending {
                self.tend_standby(pool);
            }

            let drain_at = draining.as_ref().map(|(d, _)| *d);
            let stale_at = self.heights.deadline();
            tokio::select! {
                _ = wire.turn() => {}
                wake = self.standby.wake(), if tending => self.on_standby_wake(wake),
                _ = sleep_until_opt(stale_at) => {
                    let now = Instant::now();
                    if let Some((ours, theirs)) = self.heights.stale(now) {
                        wire.session.on_closed(HangCause::StaleHeight { ours, theirs }, now);
                    }
                }
                _ = sleep_until_opt(drain_at) => {}
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Share) => self.offer_held(&mut wire.session),
                    Some(Command::GetJob) => {
                        if let Err(why) = wire.session.request_job(Instant::now()) {
                            tracing::debug!(pool, ?why, "getjob not sent");
                        }
                    }
                    Some(Command::OfferPerf(offer)) => {
                        self.keep_perf(offer.clone());
                        wire.session.offer_perf(offer, Instant::now());
                    }
                    Some(Command::Reconfigure(cfg)) => {
                        self.pending_config = Some(*cfg);
                        if draining.is_none() {
                            draining = Some((Instant::now() + FAILBACK_DRAIN.min(t.response), HangCause::Reconfigured));
                        }
                    }
                    Some(Command::Shutdown { grace, done }) => {
                        let deadline = Instant::now() + grace;
                        self.shutdown = Some((deadline, Some(done)));
                        draining = Some((deadline, HangCause::Shutdown));
                    }
                    None => {
                        self.shutdown = Some((Instant::now(), None));
                        draining = Some((Instant::now(), HangCause::Shutdown));
                    }
                },
                Some((p, outcome)) = self.probe_rx.recv() => {
                    // A probe started before a reconfiguration may name a pool that is gone.
                    if p >= self.probing.len() {
                        continue;
                    }
                    self.probing[p] = false;
                    if self.sick[p] && self.probe_shows_recovery(p, outcome) {
                        self.set_sick(p, false);
                        tracing::info!(pool = p, "pool #{p} answered a login probe again");
                        self.emit(ClientEvent::PoolRecovered { pool: p }).await;
                        if p < pool && draining.is_none() {
                            draining = Some((Instant::now() + FAILBACK_DRAIN.min(t.response), HangCause::FailBack { to: p }));
                        }
                    }
                }
                _ = probe_tick.tick(), if logged_in => self.start_probes(pool),
            }
        }
    }

    /// The mining session on `pool` is logged in: count it and tell the miner.
    async fn mining_logged_in(&mut self, pool: usize, wire: &Wire) {
        self.backoff.reset();
        self.set_sick(pool, false);
        {
            let mut stats = self.shared.stats();
            stats.logins[pool] += 1;
            stats.current_pool = Some(pool);
            stats.link = Some(wire.link.clone());
        }
        let url = &wire.url;
        tracing::info!(pool, "logged in to pool #{pool} {url}");
        self.emit(ClientEvent::Connected {
            pool,
            url: url.to_string(),
        })
        .await;
    }

    /// A login probe of sick pool `p` says it is back (see [`ProbeOutcome::recovered`]).
    fn probe_shows_recovery(&self, p: usize, outcome: ProbeOutcome) -> bool {
        let ours = self.heights.our_height();
        let back = outcome.recovered(ours);
        if !back && outcome != ProbeOutcome::Failed {
            tracing::info!(pool = p, "pool #{p} answered a login probe, but with work behind ours (height {ours:?}): still a zombie");
        }
        back
    }

    /// Probe every sick pool of higher priority than the one we mine on.
    fn start_probes(&mut self, current: usize) {
        for p in 0..current {
            if !self.sick[p] || self.probing[p] {
                continue;
            }
            self.probing[p] = true;
            let pc = &self.cfg.pools[p];
            let target = ProbeTarget {
                pool: p,
                url: pc.url.clone(),
                tls_pin: pc.tls_fingerprint.clone(),
                send_buffer: self.cfg.send_buffer,
                login: self.login_params(p),
                timeouts: self.cfg.timeouts,
            };
            let tx = self.probe_tx.clone();
            tokio::spawn(async move {
                let ok = probe(target).await;
                let _ = tx.send((p, ok));
            });
        }
    }
}
