//! One pool connection: connect, pump the session between socket and timers, report events.

use std::time::{Duration, Instant, SystemTime};

use tokio::time::sleep_until;

use super::driver::Driver;
use super::handle::Command;
use super::probe::{probe, ProbeTarget};
use super::transport::connect;
use super::ClientEvent;
use crate::protocol::PoolUrl;
use crate::session::{HangCause, Session, SessionConfig, SessionEvent};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;
/// Fail-back waits at most this long for the old pool to answer in-flight submits.
const FAILBACK_DRAIN: Duration = Duration::from_secs(5);

impl Driver {
    /// One connection to `pool`, from connect to its end. Returns why it ended and whether
    /// it got as far as a login.
    pub(super) async fn run_connection(&mut self, pool: usize) -> (HangCause, bool) {
        self.sessions += 1;
        let pc = self.cfg.pools[pool].clone();
        let t = self.cfg.timeouts;
        let url = match self.redirect.take() {
            Some((p, url)) if p == pool => url,
            _ => pc.url.clone(),
        };
        let (mut reader, mut writer, link) = match connect(
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
        let mut session = Session::new(
            SessionConfig {
                pool,
                session: self.sessions,
                login: self.login_params(pool),
                nicehash: pc.nicehash_forced(),
                keepalive: pc.keepalive,
                timeouts: t,
                refused_probes: self.refused_probes[pool],
            },
            Instant::now(),
        );
        let mut out: Vec<u8> = Vec::new();
        let mut last_write_progress = Instant::now();
        let mut buf = vec![0u8; READ_CHUNK];
        let mut last_gap: Option<Duration> = None;
        let mut logged_in = false;
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
            while let Some(ev) = session.poll_event() {
                match ev {
                    SessionEvent::LoggedIn { .. } => {
                        logged_in = true;
                        self.backoff.reset();
                        self.set_sick(pool, false);
                        {
                            let mut stats = self.shared.stats();
                            stats.logins[pool] += 1;
                            stats.current_pool = Some(pool);
                            stats.link = Some(link.clone());
                        }
                        tracing::info!(pool, "logged in to pool #{pool} {url}");
                        self.emit(ClientEvent::Connected {
                            pool,
                            url: url.to_string(),
                        })
                        .await;
                    }
                    SessionEvent::Job(job) => {
                        self.emit(ClientEvent::Job(job)).await;
                        self.offer_held(&mut session);
                    }
                    SessionEvent::ShareResult { share_id, outcome } => {
                        self.shared.ledger().resolve(share_id, outcome);
                    }
                    SessionEvent::Replied { rtt, .. } => {
                        self.shared.stats().rtt[pool].record(rtt, last_gap);
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
            while let Some(line) = session.poll_transmit() {
                if out.is_empty() && !writer.needs_flush() {
                    last_write_progress = Instant::now();
                }
                out.extend_from_slice(line.as_bytes());
            }
            if let Some((deadline, cause)) = &draining {
                if session.pending_submits() == 0 || Instant::now() >= *deadline {
                    session.on_closed(cause.clone(), Instant::now());
                    continue;
                }
            }

            let writing = !out.is_empty() || writer.needs_flush();
            let stall_at = last_write_progress + t.write_stall;
            let deadline = session.next_deadline();
            let drain_at = draining.as_ref().map(|(d, _)| *d);
            tokio::select! {
                r = reader.read(&mut buf) => {
                    let now = Instant::now();
                    match r {
                        Ok((0, _)) => session.on_closed(HangCause::Closed, now),
                        Ok((n, stamp)) => {
                            // In-host receive latency of this read: kernel stamp to now.
                            last_gap = stamp.and_then(|k| SystemTime::now().duration_since(k).ok());
                            session.handle_bytes(&buf[..n], now);
                        }
                        Err(e) => session.on_closed(HangCause::Io(e.to_string()), now),
                    }
                }
                w = writer.progress(&out), if writing => match w {
                    Ok(n) => {
                        out.drain(..n);
                        last_write_progress = Instant::now();
                    }
                    Err(e) => session.on_closed(HangCause::Io(e.to_string()), Instant::now()),
                },
                _ = sleep_until(stall_at.into()), if writing => session.on_write_stalled(Instant::now()),
                _ = sleep_until_opt(deadline) => session.handle_timeout(Instant::now()),
                _ = sleep_until_opt(drain_at) => {}
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Share) => self.offer_held(&mut session),
                    Some(Command::GetJob) => {
                        if let Err(why) = session.request_job(Instant::now()) {
                            tracing::debug!(pool, ?why, "getjob not sent");
                        }
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
                Some((p, ok)) = self.probe_rx.recv() => {
                    // A probe started before a reconfiguration may name a pool that is gone.
                    if p >= self.probing.len() {
                        continue;
                    }
                    self.probing[p] = false;
                    if ok && self.sick[p] {
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

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
