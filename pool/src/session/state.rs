//! The session state machine: login, jobs, submits, keepalives, and hung-session detection.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use super::{
    FoundShare, HangCause, ProbeMethod, ProbeResult, RefusedProbes, SessionEvent, ShareId,
    ShareOutcome, Timeouts, PROBE_REFUSAL_WINDOW,
};
use crate::protocol::{
    ClientMessage, Job, JobParams, KeepalivedParams, LineError, LineFramer, LoginParams,
    ProtocolError, RequestId, Response, ServerMessage, SubmitParams, ALGO_EXTENSION,
    KEEPALIVE_EXTENSION, MAX_LINE_LEN, NICEHASH_EXTENSION,
};

mod probes;

/// Job ids of this session we still accept shares for (pools judge older ones themselves).
const RECENT_JOBS: usize = 16;

/// Shortest time between two `getjob` requests: a miner that used its slice up asks again at
/// most a few times a second, whatever its workers report.
pub const GETJOB_MIN_INTERVAL: Duration = Duration::from_millis(250);

/// What a session needs to know about its pool.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Index of the pool in the configured list.
    pub pool: usize,
    /// Unique per connection: job ids are only meaningful within the session that sent them.
    pub session: u64,
    pub login: LoginParams,
    /// Force NiceHash mode (configured flag or NiceHash host).
    pub nicehash: bool,
    /// Send `keepalived` (when the pool advertises the extension).
    pub keepalive: bool,
    pub timeouts: Timeouts,
    /// Liveness probes this pool closed the connection on before; they are not sent again.
    pub refused_probes: RefusedProbes,
}

/// [`Session::submit`] could not take the share yet: not logged in, no job, or already over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotReady;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    LoggingIn,
    Active,
    Hung,
}

#[derive(Debug, Clone, Copy)]
enum Pending {
    Login,
    Submit(ShareId),
    Keepalived,
    /// `getjob` (phirig proxy extension): a fresh nonce slice of the newest job.
    GetJob,
    /// A liveness probe to a pool we have heard nothing from for [`Timeouts::liveness`].
    Probe(ProbeMethod),
}

/// Why [`Session::request_job`] sent nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetJobRefused {
    /// Not logged in (yet, or any more).
    NotReady,
    /// A `getjob` is already waiting for its answer.
    Outstanding,
    /// The last one went out less than [`GETJOB_MIN_INTERVAL`] ago.
    TooSoon,
}

impl Pending {
    fn method(self) -> &'static str {
        match self {
            Pending::Login => "login",
            Pending::Submit(_) => "submit",
            Pending::Keepalived => "keepalived",
            Pending::GetJob => "getjob",
            Pending::Probe(m) => m.name(),
        }
    }
}

/// One connection to one pool, without I/O. See the module docs.
#[derive(Debug)]
pub struct Session {
    cfg: SessionConfig,
    phase: Phase,
    framer: LineFramer,
    next_id: RequestId,
    pending: BTreeMap<RequestId, (Pending, Instant)>,
    transmit: VecDeque<String>,
    events: VecDeque<SessionEvent>,
    session_id: Option<String>,
    algo_ext: bool,
    keepalive_ext: bool,
    nicehash: bool,
    current_job: Option<String>,
    recent_jobs: VecDeque<String>,
    last_job_at: Instant,
    last_request_at: Instant,
    /// When the pool last sent a complete line of any kind.
    last_heard: Instant,
    /// Height of the current job, when the pool gives one.
    current_height: Option<u64>,
    last_getjob_at: Option<Instant>,
    /// A `getjob` asked for too soon after the last one: sent when the interval is over.
    getjob_wanted: bool,
    /// An offer made while the login was out: it carried the old figures, so the new ones go
    /// in a `getjob` once it is answered.
    offer_after_login: bool,
}

impl Session {
    /// Start a session on a freshly connected socket: the login is queued at once.
    pub fn new(cfg: SessionConfig, now: Instant) -> Session {
        let mut s = Session {
            nicehash: cfg.nicehash,
            cfg,
            phase: Phase::LoggingIn,
            framer: LineFramer::new(MAX_LINE_LEN),
            next_id: 1,
            pending: BTreeMap::new(),
            transmit: VecDeque::new(),
            events: VecDeque::new(),
            session_id: None,
            algo_ext: false,
            keepalive_ext: false,
            current_job: None,
            recent_jobs: VecDeque::new(),
            last_job_at: now,
            last_request_at: now,
            last_heard: now,
            current_height: None,
            last_getjob_at: None,
            getjob_wanted: false,
            offer_after_login: false,
        };
        let params = s.cfg.login.clone();
        s.request(now, Pending::Login, |id| ClientMessage::Login {
            id,
            params,
        });
        s
    }

    /// Pool index this session belongs to.
    pub fn pool(&self) -> usize {
        self.cfg.pool
    }

    /// The per-connection id stamped on jobs.
    pub fn session(&self) -> u64 {
        self.cfg.session
    }

    /// Logged in and not hung.
    pub fn is_logged_in(&self) -> bool {
        self.phase == Phase::Active
    }

    /// Over (a `Hung` event was emitted).
    pub fn is_hung(&self) -> bool {
        self.phase == Phase::Hung
    }

    /// Submits sent and not yet answered.
    pub fn pending_submits(&self) -> usize {
        self.pending
            .values()
            .filter(|(p, _)| matches!(p, Pending::Submit(_)))
            .count()
    }

    /// Feed received bytes; complete lines are handled in order.
    pub fn handle_bytes(&mut self, data: &[u8], now: Instant) {
        if self.is_hung() {
            return;
        }
        self.framer.push(data);
        while let Some(line) = self.framer.next_line() {
            if self.is_hung() {
                break;
            }
            match line {
                Ok(line) => self.handle_line(&line, now),
                Err(LineError::Oversized { .. }) => self.hang(HangCause::Oversized),
                Err(e @ LineError::NotUtf8) => self.hang(HangCause::Malformed(e.to_string())),
            }
        }
    }

    /// Handle one complete line (without its newline).
    pub fn handle_line(&mut self, line: &str, now: Instant) {
        if self.is_hung() {
            return;
        }
        // Any line, even one we cannot use, shows the pool is there.
        self.last_heard = now;
        match ServerMessage::parse(line) {
            Ok(ServerMessage::Response(r)) => self.on_response(r, now),
            Ok(ServerMessage::Job(params)) => {
                // A job before the login reply has no session to belong to; pools don't do it.
                if self.phase == Phase::Active {
                    self.on_job(&params, now);
                }
            }
            Ok(ServerMessage::Reconnect(r)) => {
                self.events.push_back(SessionEvent::Reconnect {
                    host: r.host,
                    port: r.port,
                });
                self.hang(HangCause::ReconnectRequested);
            }
            // Pools add methods over time; one we don't know is not a broken pool.
            Err(ProtocolError::UnknownMethod(m)) => {
                tracing::debug!(pool = self.cfg.pool, method = %m, "ignoring unknown stratum method");
            }
            Err(e) => self.hang(HangCause::Malformed(e.to_string())),
        }
    }

    fn on_response(&mut self, r: Response, now: Instant) {
        let Some((kind, sent)) = self.pending.remove(&r.id) else {
            tracing::debug!(
                pool = self.cfg.pool,
                id = r.id,
                "reply to no pending request"
            );
            return;
        };
        self.events.push_back(SessionEvent::Replied {
            id: r.id,
            method: kind.method(),
            rtt: now.saturating_duration_since(sent),
        });
        if let Pending::Probe(method) = kind {
            self.events.push_back(SessionEvent::Probe {
                method,
                result: ProbeResult::Answered,
            });
        }
        match kind {
            Pending::Login => match r.login_result() {
                Ok(Ok(login)) => {
                    self.phase = Phase::Active;
                    let has = |ext: &str| login.extensions.iter().any(|e| e == ext);
                    self.algo_ext = has(ALGO_EXTENSION);
                    self.keepalive_ext = has(KEEPALIVE_EXTENSION);
                    self.nicehash |= has(NICEHASH_EXTENSION);
                    self.session_id = Some(login.id.clone());
                    self.events.push_back(SessionEvent::LoggedIn {
                        session_id: login.id,
                        extensions: login.extensions,
                    });
                    if let Some(job) = login.job {
                        self.on_job(&job, now);
                    }
                    if std::mem::take(&mut self.offer_after_login) {
                        self.send_offer(now);
                    }
                }
                Ok(Err(e)) => self.hang(HangCause::LoginRejected(e.message)),
                Err(e) => self.hang(HangCause::Malformed(e.to_string())),
            },
            Pending::Submit(share_id) => {
                let outcome = match &r.result {
                    Ok(_) => ShareOutcome::Accepted,
                    Err(e) => ShareOutcome::Rejected(e.message.clone()),
                };
                self.events
                    .push_back(SessionEvent::ShareResult { share_id, outcome });
            }
            Pending::Keepalived | Pending::Probe(ProbeMethod::Keepalived) => {}
            Pending::Probe(ProbeMethod::GetJob) => self.on_probe_job(r, now),
            Pending::GetJob => match r.result {
                Ok(v) => match serde_json::from_value::<JobParams>(v) {
                    Ok(job) => self.on_job(&job, now),
                    Err(e) => tracing::warn!(
                        pool = self.cfg.pool,
                        "getjob answer is not a job ({e}); waiting for the next job"
                    ),
                },
                // "No work available" or a pool that does not know getjob: not a broken pool.
                Err(e) => tracing::warn!(
                    pool = self.cfg.pool,
                    "getjob refused: {}; waiting for the next job",
                    e.message
                ),
            },
        }
    }

    fn on_job(&mut self, params: &JobParams, now: Instant) {
        match Job::from_params(params, self.cfg.pool, self.cfg.session, self.nicehash) {
            Ok(job) => {
                // Fresh work (and a fresh slice) makes a deferred getjob pointless.
                self.getjob_wanted = false;
                self.last_job_at = now;
                self.current_height = job.height;
                self.current_job = Some(job.job_id.clone());
                if !self.recent_jobs.contains(&job.job_id) {
                    self.recent_jobs.push_back(job.job_id.clone());
                    if self.recent_jobs.len() > RECENT_JOBS {
                        self.recent_jobs.pop_front();
                    }
                }
                self.events.push_back(SessionEvent::Job(job));
            }
            // One unusable job (zero target, short blob, bad hex) is refused, not a broken
            // pool: the previous job keeps running, and a pool sending only such jobs ends up
            // caught by the idle timer, which this job did not reset.
            Err(e) => tracing::error!(
                pool = self.cfg.pool,
                job_id = %params.job_id,
                "refused job {:?} from pool #{}: {e}; the previous job keeps running",
                params.job_id,
                self.cfg.pool
            ),
        }
    }

    /// Offer a share. `Err(NotReady)`: keep it and offer it again after the next job or login.
    /// Otherwise it is either sent or resolved at once as stale (`ShareResult` event).
    ///
    /// Validity rule (conservative, because job ids are per connection): a share is sent only
    /// to the pool its job came from, and only if either this very session delivered the job
    /// (one of its last 16 jobs), or the job id is this session's *current* job, i.e. the pool
    /// re-sent it after a reconnect. Anything else would most likely be "Invalid job id".
    pub fn submit(
        &mut self,
        id: ShareId,
        share: &FoundShare,
        now: Instant,
    ) -> Result<(), NotReady> {
        let Some(session_id) = self.session_id.clone() else {
            return Err(NotReady);
        };
        if self.phase != Phase::Active || self.current_job.is_none() {
            return Err(NotReady);
        }
        if let Err(reason) = self.job_validity(share) {
            self.events.push_back(SessionEvent::ShareResult {
                share_id: id,
                outcome: ShareOutcome::Stale(reason),
            });
            return Ok(());
        }
        // The pool wants `algo` only when it advertised the extension.
        let algo = self.algo_ext.then(|| share.algo.clone()).flatten();
        let params =
            SubmitParams::new(&session_id, &share.job_id, share.nonce, &share.result, algo);
        self.request(now, Pending::Submit(id), |rid| ClientMessage::Submit {
            id: rid,
            params,
        });
        Ok(())
    }

    fn job_validity(&self, share: &FoundShare) -> Result<(), String> {
        if share.pool != self.cfg.pool {
            return Err(format!(
                "job came from pool #{}, now mining on pool #{}",
                share.pool, self.cfg.pool
            ));
        }
        if share.session == self.cfg.session {
            if self.recent_jobs.contains(&share.job_id) {
                return Ok(());
            }
            return Err(format!("job {} is too old", share.job_id));
        }
        if self.current_job.as_deref() == Some(share.job_id.as_str()) {
            return Ok(());
        }
        Err(format!(
            "job {} is from an earlier connection and the pool did not re-send it",
            share.job_id
        ))
    }

    fn request(
        &mut self,
        now: Instant,
        kind: Pending,
        msg: impl FnOnce(RequestId) -> ClientMessage,
    ) {
        let id = self.next_id;
        self.next_id += 1;
        self.transmit.push_back(msg(id).encode());
        self.pending.insert(id, (kind, now));
        self.last_request_at = now;
    }

    /// The next line to write (ends in `\n`).
    pub fn poll_transmit(&mut self) -> Option<String> {
        self.transmit.pop_front()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop_front()
    }

    /// When [`Session::handle_timeout`] must be called next, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.is_hung() {
            return None;
        }
        let t = &self.cfg.timeouts;
        let response = self
            .pending
            .values()
            .map(|(_, sent)| *sent + t.response)
            .min();
        let idle = Some(self.last_job_at + t.idle);
        let keepalive = self.keepalive_due_at();
        [
            response,
            idle,
            keepalive,
            self.getjob_due_at(),
            self.probe_due().map(|(at, _)| at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Check timers at `now`: hang on an overdue reply or a missing job, send due keepalives.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.is_hung() {
            return;
        }
        let t = self.cfg.timeouts;
        let overdue = self
            .pending
            .values()
            .filter(|(_, sent)| now >= *sent + t.response)
            .min_by_key(|(_, sent)| *sent);
        if let Some((kind, _)) = overdue {
            let method = kind.method();
            if let Pending::Probe(probe) = kind {
                self.events.push_back(SessionEvent::Probe {
                    method: *probe,
                    result: ProbeResult::Unanswered,
                });
            }
            self.hang(HangCause::ResponseTimeout { method });
            return;
        }
        if now >= self.last_job_at + t.idle {
            self.hang(HangCause::IdleTimeout);
            return;
        }
        if self.getjob_due_at().is_some_and(|due| now >= due) {
            let _ = self.request_job(now);
        }
        if self.keepalive_due_at().is_some_and(|due| now >= due) {
            if let Some(session_id) = self.session_id.clone() {
                self.request(now, Pending::Keepalived, |id| ClientMessage::Keepalived {
                    id,
                    params: KeepalivedParams { id: session_id },
                });
            }
        }
        if let Some((_, method)) = self.probe_due().filter(|(due, _)| now >= *due) {
            self.send_probe(method, now);
        }
    }

    /// The driver saw our writes make no progress for [`Timeouts::write_stall`].
    pub fn on_write_stalled(&mut self, _now: Instant) {
        self.hang(HangCause::WriteStalled);
    }

    /// The connection ended (EOF, reset, shutdown, fail-back, ...). A pool that closes right
    /// after a liveness probe went out ends as [`HangCause::ProbeRefused`].
    pub fn on_closed(&mut self, cause: HangCause, now: Instant) {
        let refused = self.pending.values().find_map(|(kind, sent)| {
            let method = match kind {
                Pending::Probe(m) => *m,
                // The configured keepalive is the same request, and as unwelcome.
                Pending::Keepalived => ProbeMethod::Keepalived,
                _ => return None,
            };
            (now.saturating_duration_since(*sent) < PROBE_REFUSAL_WINDOW).then_some(method)
        });
        match (refused, &cause) {
            (Some(method), HangCause::Closed | HangCause::Io(_)) => {
                self.events.push_back(SessionEvent::Probe {
                    method,
                    result: ProbeResult::Refused,
                });
                self.hang(HangCause::ProbeRefused { method })
            }
            _ => self.hang(cause),
        }
    }

    /// How long the oldest unanswered request has waited (for diagnostics).
    pub fn oldest_pending_age(&self, now: Instant) -> Option<Duration> {
        self.pending
            .values()
            .map(|(_, sent)| now.saturating_duration_since(*sent))
            .max()
    }

    fn hang(&mut self, cause: HangCause) {
        if self.is_hung() {
            return;
        }
        self.phase = Phase::Hung;
        self.transmit.clear();
        // Sent but unanswered: the pool may have counted them, so they are never resent.
        let reason = format!("connection ended before the pool answered ({cause})");
        for (kind, _) in std::mem::take(&mut self.pending).into_values() {
            if let Pending::Submit(share_id) = kind {
                self.events.push_back(SessionEvent::ShareResult {
                    share_id,
                    outcome: ShareOutcome::Stale(reason.clone()),
                });
            }
        }
        self.events.push_back(SessionEvent::Hung { cause });
    }
}
