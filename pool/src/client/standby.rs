//! The hot standby: the next pool of the list kept connected and logged in, not mining, so a
//! failover to it costs no connect and no login, and its block height exposes a zombie primary.

use std::time::Instant;

use tokio::task::JoinHandle;
use tokio::time::sleep_until;

use super::driver::Driver;
use super::stats::StandbyStats;
use super::transport::{connect, Link, Reader, Writer};
use super::wire::Wire;
use crate::protocol::{Job, PoolUrl};
use crate::session::{HangCause, Session, SessionEvent};

/// A connect in the background: its result, or why it failed.
pub(crate) type Connecting = JoinHandle<Result<(Reader, Writer, Link), HangCause>>;

/// Where the standby connection stands.
pub(crate) enum Standby {
    /// No pool after the mining one.
    Off,
    Connecting {
        pool: usize,
        url: PoolUrl,
        task: Connecting,
    },
    Up {
        pool: usize,
        wire: Box<Wire>,
        logged_in: bool,
        /// Its newest job, handed to the miner when it is promoted.
        job: Option<Job>,
    },
    /// The last attempt failed: try again then.
    Resting { pool: usize, until: Instant },
}

/// What the standby's turn came to, for the driver to act on.
pub(crate) enum Wake {
    /// A background connect finished.
    Connected(Result<(Reader, Writer, Link), HangCause>),
    /// Its session moved (events to read) or its rest is over.
    Moved,
}

impl Standby {
    /// The pool it is for, if any.
    pub fn pool(&self) -> Option<usize> {
        match self {
            Standby::Off => None,
            Standby::Connecting { pool, .. }
            | Standby::Up { pool, .. }
            | Standby::Resting { pool, .. } => Some(*pool),
        }
    }

    /// Wait for the standby's next happening. Cancel-safe, like [`Wire::turn`].
    pub async fn wake(&mut self) -> Wake {
        match self {
            Standby::Off => std::future::pending().await,
            Standby::Connecting { task, .. } => Wake::Connected(match task.await {
                Ok(r) => r,
                Err(e) => Err(HangCause::ConnectFailed(e.to_string())),
            }),
            Standby::Up { wire, .. } => {
                wire.turn().await;
                Wake::Moved
            }
            Standby::Resting { until, .. } => {
                sleep_until((*until).into()).await;
                Wake::Moved
            }
        }
    }

    /// Take it out, leaving `Off`.
    pub fn take(&mut self) -> Standby {
        std::mem::replace(self, Standby::Off)
    }

    /// Drop whatever it is, aborting a background connect.
    pub fn clear(&mut self) {
        if let Standby::Connecting { task, .. } = self.take() {
            task.abort();
        }
    }

    /// Name for stats and metrics.
    pub fn state_name(&self) -> &'static str {
        match self {
            Standby::Off => "off",
            Standby::Connecting { .. } => "connecting",
            Standby::Up {
                logged_in: false, ..
            } => "logging_in",
            Standby::Up { .. } => "ready",
            Standby::Resting { .. } => "down",
        }
    }
}

impl Driver {
    /// Keep the standby on the pool after `mining`: start it, move it, or retry it after a rest.
    pub(super) fn tend_standby(&mut self, mining: usize) {
        let target = (mining + 1 < self.cfg.pools.len()).then_some(mining + 1);
        let resting_over =
            matches!(self.standby, Standby::Resting { until, .. } if Instant::now() >= until);
        if self.standby.pool() == target && !resting_over {
            return;
        }
        self.standby.clear();
        self.heights.theirs(None, Instant::now());
        if let Some(pool) = target {
            let pc = &self.cfg.pools[pool];
            let (url, pin) = (pc.url.clone(), pc.tls_fingerprint.clone());
            let (send_buffer, timeout) = (self.cfg.send_buffer, self.cfg.timeouts.connect);
            let to = url.clone();
            let task =
                tokio::spawn(
                    async move { connect(&to, pin.as_deref(), send_buffer, timeout).await },
                );
            self.standby = Standby::Connecting { pool, url, task };
        }
        self.publish_standby();
    }

    /// Act on what [`Standby::wake`] returned.
    pub(super) fn on_standby_wake(&mut self, wake: Wake) {
        match wake {
            Wake::Connected(result) => {
                let Standby::Connecting { pool, url, .. } = self.standby.take() else {
                    return;
                };
                match result {
                    Ok(rw) => {
                        let session = Session::new(self.session_config(pool), Instant::now());
                        let write_stall = self.cfg.timeouts.write_stall;
                        self.standby = Standby::Up {
                            pool,
                            wire: Box::new(Wire::new(session, rw, url, write_stall)),
                            logged_in: false,
                            job: None,
                        };
                    }
                    Err(cause) => self.rest_standby(pool, &cause, false),
                }
            }
            Wake::Moved => self.standby_events(),
        }
        self.publish_standby();
    }

    /// Read the standby session's events: its login, its jobs (kept, not mined), its end.
    fn standby_events(&mut self) {
        let (mut ended, mut up) = (None, None);
        if let Standby::Up {
            pool,
            wire,
            logged_in,
            job,
        } = &mut self.standby
        {
            while let Some(ev) = wire.session.poll_event() {
                match ev {
                    SessionEvent::LoggedIn { .. } => {
                        *logged_in = true;
                        tracing::info!(
                            pool = *pool,
                            "standby logged in to pool #{pool} {}",
                            wire.url
                        );
                        up = Some(*pool);
                    }
                    SessionEvent::Job(j) => {
                        self.heights.theirs(j.height, Instant::now());
                        *job = Some(j);
                    }
                    SessionEvent::Hung { cause } => ended = Some((*pool, cause, *logged_in)),
                    _ => {}
                }
            }
        }
        if let Some(pool) = up {
            self.set_sick(pool, false);
        }
        if let Some((pool, cause, was_logged_in)) = ended {
            self.heights.theirs(None, Instant::now());
            self.rest_standby(pool, &cause, was_logged_in);
        }
    }

    /// The standby ended: retry after `probe_interval`. Some pools drop a logged-in worker that
    /// sends no shares; that pool is not sick, and stays a failover choice.
    fn rest_standby(&mut self, pool: usize, cause: &HangCause, was_logged_in: bool) {
        let dropped_idle = was_logged_in && *cause == HangCause::Closed;
        if cause.pool_is_sick() && !dropped_idle {
            self.set_sick(pool, true);
        }
        let pause = self.cfg.timeouts.probe_interval;
        tracing::warn!(
            pool,
            cause = cause.kind(),
            "standby on pool #{pool} ended: {cause}; next try in {pause:?}"
        );
        self.standby = Standby::Resting {
            pool,
            until: Instant::now() + pause,
        };
    }

    /// Take the standby over as the mining connection if it is for `pool` (and connected);
    /// with its newest job. Not after a `client.reconnect`, which names another address.
    pub(super) fn promote_standby(&mut self, pool: usize) -> Option<(Box<Wire>, Option<Job>)> {
        if self.standby.pool() != Some(pool)
            || self.redirect.as_ref().is_some_and(|(p, _)| *p == pool)
        {
            return None;
        }
        let promoted = match self.standby.take() {
            Standby::Up { wire, job, .. } => Some((wire, job)),
            mut unready => {
                // Still connecting, or resting: the mining connection starts afresh.
                unready.clear();
                None
            }
        };
        if promoted.is_some() {
            self.heights.theirs(None, Instant::now());
            self.shared.stats().standby_promotions += 1;
            self.publish_standby();
        }
        promoted
    }

    /// Copy the standby's state to the stats.
    pub(super) fn publish_standby(&self) {
        let state = self.standby.pool().map(|pool| StandbyStats {
            pool,
            state: self.standby.state_name(),
        });
        self.shared.stats().standby = state;
    }
}
