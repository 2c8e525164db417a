//! One client connection: reads requests, answers them, pushes jobs, and plays out faults.
//!
//! A single task owns the socket and waits on readiness (`readable`/`writable` + `try_*`), so
//! reads, writes, slow drips and resets are all decided in one place without splitting the
//! stream. Output goes through a bounded queue: a client that stops reading is dropped, not
//! buffered for without end.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant, MissedTickBehavior};

use super::fault::{oversized_line, ConnFault, Fault, FaultSetting, GARBAGE_LINE};
use super::issued_jobs::{IssuedJob, IssuedJobs};
use super::job_source::Template;
use super::shared::Shared;
use super::vardiff::{Vardiff, VardiffConfig};
use super::verify::{precheck, Reject, REJECT_CODE};
use crate::protocol::{
    ClientMessage, JobParams, LineError, LineFramer, LoginParams, LoginResult, ProtocolError,
    ReconnectParams, RequestId, Response, ServerMessage, SubmitParams, ALGO_EXTENSION,
    KEEPALIVE_EXTENSION, MAX_LINE_LEN, NICEHASH_BYTE_OFFSET, NICEHASH_EXTENSION,
};

/// Unsent output beyond this means the client is not reading: close rather than buffer more.
const OUT_LIMIT: usize = 1 << 20;
/// How long a connection we decided to close (or reset) may take to flush its last lines.
const FLUSH_GRACE: Duration = Duration::from_secs(2);
/// Longest worker name kept in the stats.
const MAX_WORKER_LEN: usize = 128;
const READ_CHUNK: usize = 16 * 1024;

/// Serve one accepted connection until it closes, the server shuts down, or a fault ends it.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, index: u64, shared: Arc<Shared>) {
    shared.stats.connection_opened();
    let mut conn = Conn::new(peer, index, Arc::clone(&shared));
    let reason = conn.run(stream).await;
    tracing::debug!(%peer, worker = conn.worker().unwrap_or("-"), reason, "pool connection closed");
    shared.stats.connection_closed(conn.worker());
}

/// A logged-in miner.
struct Session {
    id: String,
    worker: String,
    jobs: IssuedJobs,
    difficulty: u64,
    vardiff: Option<Vardiff>,
    nicehash_byte: Option<u8>,
}

/// A finished verification, back from the hashing pool.
struct Verdict {
    request: RequestId,
    outcome: Result<u64, Reject>,
}

/// Why the run loop should stop once output is flushed.
enum Ending {
    Close(&'static str),
    Reset,
}

struct Conn {
    shared: Arc<Shared>,
    peer: SocketAddr,
    index: u64,
    framer: LineFramer,
    out: VecDeque<u8>,
    fault: ConnFault,
    session: Option<Session>,
    /// Shares handed to the verifier and not yet answered.
    pending: usize,
    verdict_tx: mpsc::UnboundedSender<Verdict>,
    verdict_rx: mpsc::UnboundedReceiver<Verdict>,
    fault_rx: watch::Receiver<FaultSetting>,
    job_rx: watch::Receiver<Arc<Template>>,
    /// Set when the connection is to end; it still flushes for [`FLUSH_GRACE`].
    ending: Option<(Ending, Instant)>,
}

impl Conn {
    fn new(peer: SocketAddr, index: u64, shared: Arc<Shared>) -> Self {
        let (verdict_tx, verdict_rx) = mpsc::unbounded_channel();
        Conn {
            fault_rx: shared.faults.subscribe(),
            job_rx: shared.jobs.subscribe(),
            shared,
            peer,
            index,
            framer: LineFramer::new(MAX_LINE_LEN),
            out: VecDeque::new(),
            fault: ConnFault::default(),
            session: None,
            pending: 0,
            verdict_tx,
            verdict_rx,
            ending: None,
        }
    }

    fn worker(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.worker.as_str())
    }

    fn logged_in(&self) -> bool {
        self.session.is_some()
    }

    async fn run(&mut self, stream: TcpStream) -> &'static str {
        let mut shutdown = self.shared.shutdown.subscribe();
        if *shutdown.borrow_and_update() {
            return "server shutting down";
        }
        let cfg_login_timeout = self.shared.config.login_timeout;
        let login_deadline =
            (!cfg_login_timeout.is_zero()).then(|| Instant::now() + cfg_login_timeout);
        let vardiff_on = self.shared.config.vardiff;
        let tick = (self.shared.config.retarget_time / 4).max(Duration::from_millis(10));
        let mut vardiff_tick = tokio::time::interval_at(Instant::now() + tick, tick);
        vardiff_tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut buf = vec![0u8; READ_CHUNK];
        let mut drip_at: Option<Instant> = None;

        loop {
            let setting = self.fault_rx.borrow_and_update().clone();
            if self.logged_in() && self.ending.is_none() && self.fault.action_due(&setting) {
                self.play_action(&setting);
            }
            let fault = setting.fault;
            if let Some((ending, deadline)) = &self.ending {
                if self.out.is_empty() || Instant::now() >= *deadline {
                    return match ending {
                        Ending::Close(reason) => reason,
                        Ending::Reset => {
                            // SO_LINGER 0 makes the close below an abortive one: the peer gets RST.
                            if let Err(e) = stream.set_zero_linger() {
                                tracing::warn!(peer = %self.peer, error = %e, "cannot set SO_LINGER 0");
                            }
                            "reset (fault)"
                        }
                    };
                }
            }
            if self.out.len() > OUT_LIMIT {
                return "client not reading (output queue full)";
            }
            let reading = self.ending.is_none() && ConnFault::reading(&fault, self.logged_in());
            let drip = ConnFault::drip(&fault);
            if drip.is_none() {
                drip_at = None;
            }
            let drip_wait = drip_at.filter(|t| *t > Instant::now());
            let can_write = !self.out.is_empty() && drip_wait.is_none();
            let ending_deadline = self.ending.as_ref().map(|(_, d)| *d);

            tokio::select! {
                _ = shutdown.changed() => return "server shutting down",
                ready = stream.readable(), if reading => {
                    if let Err(e) = ready {
                        tracing::debug!(peer = %self.peer, error = %e, "read readiness failed");
                        return "read failed";
                    }
                    match stream.try_read(&mut buf) {
                        Ok(0) => return "closed by client",
                        Ok(n) => self.on_bytes(&buf[..n], &fault),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return "read failed",
                    }
                }
                ready = stream.writable(), if can_write => {
                    if ready.is_err() {
                        return "write failed";
                    }
                    let (front, _) = self.out.as_slices();
                    let len = if drip.is_some() { 1 } else { front.len().min(READ_CHUNK * 4) };
                    match stream.try_write(&front[..len]) {
                        Ok(n) => {
                            self.out.drain(..n);
                            drip_at = drip.map(|d| Instant::now() + d);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => return "write failed",
                    }
                }
                _ = sleep_until(drip_wait.unwrap_or_else(Instant::now)), if drip_wait.is_some() => {
                    drip_at = None;
                }
                changed = self.fault_rx.changed() => {
                    if changed.is_err() {
                        return "server gone";
                    }
                }
                changed = self.job_rx.changed() => {
                    if changed.is_err() {
                        return "server gone";
                    }
                    let template = Arc::clone(&self.job_rx.borrow_and_update());
                    self.send_job(&template, &fault);
                }
                Some(verdict) = self.verdict_rx.recv() => self.on_verdict(verdict, &fault),
                _ = vardiff_tick.tick(), if vardiff_on && self.logged_in() => {
                    let now = std::time::Instant::now();
                    let changed = self
                        .session
                        .as_mut()
                        .and_then(|s| s.vardiff.as_mut())
                        .and_then(|v| v.on_tick(now));
                    if let Some(d) = changed {
                        self.retargeted(d, &fault);
                    }
                }
                _ = sleep_until(login_deadline.unwrap_or_else(Instant::now)),
                    if login_deadline.is_some() && !self.logged_in() => return "no login in time",
                _ = sleep_until(ending_deadline.unwrap_or_else(Instant::now)), if ending_deadline.is_some() => {}
            }
        }
    }

    /// Queue a line unless a fault silences us; counts it for [`Fault::SilentAfterMessages`].
    fn push_line(&mut self, line: &str, fault: &Fault, logged_in: bool) -> bool {
        if !self.fault.may_send(fault, logged_in) {
            return false;
        }
        self.out.extend(line.as_bytes());
        self.fault.lines_sent += 1;
        true
    }

    fn reply(&mut self, response: Response, fault: &Fault) {
        let line = ServerMessage::Response(response).encode();
        let logged_in = self.logged_in();
        self.push_line(&line, fault, logged_in);
    }

    fn reject(&mut self, id: RequestId, reason: Reject, fault: &Fault) {
        self.shared.stats.rejected(self.worker(), reason);
        self.reply(Response::error(id, REJECT_CODE, reason.message()), fault);
    }

    /// A reply for a line we could not tie to a request id.
    fn reply_unparsed(&mut self, code: i64, message: &str, fault: &Fault) {
        let mut line = json!({
            "id": Value::Null,
            "jsonrpc": "2.0",
            "error": {"code": code, "message": message},
            "result": Value::Null,
        })
        .to_string();
        line.push('\n');
        let logged_in = self.logged_in();
        self.push_line(&line, fault, logged_in);
    }

    fn on_bytes(&mut self, bytes: &[u8], fault: &Fault) {
        self.framer.push(bytes);
        while let Some(line) = self.framer.next_line() {
            if self.ending.is_some() {
                return;
            }
            match line {
                Ok(line) => self.on_line(&line, fault),
                Err(LineError::Oversized { limit }) => {
                    self.shared.stats.malformed_line();
                    tracing::debug!(peer = %self.peer, limit, "client line too long; closing");
                    self.reply_unparsed(-32600, "Line too long", fault);
                    self.end(Ending::Close("client line too long"));
                }
                Err(LineError::NotUtf8) => {
                    self.shared.stats.malformed_line();
                    self.reply_unparsed(-32700, "Parse error", fault);
                }
            }
        }
    }

    fn on_line(&mut self, line: &str, fault: &Fault) {
        match ClientMessage::parse(line) {
            Ok(ClientMessage::Login { id, params }) => self.on_login(id, params, fault),
            Ok(ClientMessage::Submit { id, params }) => self.on_submit(id, params, fault),
            Ok(ClientMessage::Keepalived { id, params }) => {
                if self.session.as_ref().is_some_and(|s| s.id == params.id) {
                    self.reply(Response::status(id, "KEEPALIVED"), fault);
                } else {
                    self.reject(id, Reject::Unauthenticated, fault);
                }
            }
            Err(e) => {
                self.shared.stats.malformed_line();
                tracing::debug!(peer = %self.peer, error = %e, "malformed client line");
                match (request_id(line), &e) {
                    (Some(id), ProtocolError::UnknownMethod(_)) => {
                        self.reply(Response::error(id, REJECT_CODE, "Invalid method"), fault);
                    }
                    (Some(id), _) => {
                        let message = format!("Invalid request: {e}");
                        self.reply(Response::error(id, REJECT_CODE, &message), fault);
                    }
                    (None, _) => self.reply_unparsed(-32700, "Parse error", fault),
                }
            }
        }
    }

    fn on_login(&mut self, id: RequestId, params: LoginParams, fault: &Fault) {
        if self.session.is_some() {
            self.reply(Response::error(id, REJECT_CODE, "Already logged in"), fault);
            return;
        }
        let login = params.login.trim();
        if login.is_empty() {
            self.reply(Response::error(id, REJECT_CODE, "Missing login"), fault);
            return;
        }
        let cfg = &self.shared.config;
        if !params.algo.is_empty() && !params.algo.contains(&cfg.algo) {
            // Still served: the operator chose the algorithm, and the miner may be mislabelled.
            tracing::info!(peer = %self.peer, offered = ?params.algo, ours = %cfg.algo, "miner does not list our algorithm");
        }
        let worker: String = params
            .rigid
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .unwrap_or(login)
            .chars()
            .take(MAX_WORKER_LEN)
            .collect();
        let difficulty = cfg.clamped_start_difficulty();
        let vardiff = cfg.vardiff.then(|| {
            let vcfg = VardiffConfig {
                min: cfg.min_difficulty,
                max: cfg.max_difficulty,
                target_share_time: cfg.target_share_time,
                retarget_shares: cfg.retarget_shares,
                retarget_time: cfg.retarget_time,
            };
            Vardiff::new(vcfg, difficulty, std::time::Instant::now())
        });
        // Bytes 1..=255 so the blob's nonce is never all zero in NiceHash mode (clients detect it).
        let nicehash_byte = cfg.nicehash.then(|| (self.index % 255) as u8 + 1);
        let mut extensions = vec![ALGO_EXTENSION.to_string()];
        if cfg.nicehash {
            extensions.push(NICEHASH_EXTENSION.to_string());
        }
        extensions.push(KEEPALIVE_EXTENSION.to_string());
        let mut session = Session {
            id: self.shared.new_session_id(),
            worker,
            jobs: IssuedJobs::new(cfg.recent_jobs),
            difficulty,
            vardiff,
            nicehash_byte,
        };
        let template = Arc::clone(&self.job_rx.borrow_and_update());
        let (job, job_params) = self.make_job(&session, &template);
        let result = LoginResult {
            id: session.id.clone(),
            job: Some(job_params),
            status: "OK".into(),
            extensions,
        };
        self.shared.stats.login(&session.worker, difficulty);
        let line = ServerMessage::Response(Response::ok(id, &result)).encode();
        // The login reply is the last line before "after login" faults take hold.
        if self.push_line(&line, fault, false) {
            session.jobs.push(job);
            self.shared.stats.job_sent(&session.worker, difficulty);
        }
        tracing::debug!(peer = %self.peer, worker = %session.worker, "miner logged in");
        self.session = Some(session);
    }

    fn make_job(&self, session: &Session, template: &Template) -> (IssuedJob, JobParams) {
        let cfg = &self.shared.config;
        let mut blob = template.blob.clone();
        if let (Some(byte), Some(slot)) =
            (session.nicehash_byte, blob.get_mut(NICEHASH_BYTE_OFFSET))
        {
            *slot = byte;
        }
        let job = IssuedJob::new(self.shared.new_job_id(), blob, session.difficulty);
        let params = JobParams {
            blob: hex::encode(&job.blob),
            job_id: job.job_id.clone(),
            target: job.target.to_hex(),
            algo: Some(cfg.algo.clone()),
            height: Some(cfg.height),
            seed_hash: cfg.seed_hash.clone(),
            id: Some(session.id.clone()),
        };
        (job, params)
    }

    /// Send this connection its own job for `template`, unless a fault holds jobs back.
    fn send_job(&mut self, template: &Template, fault: &Fault) {
        let Some(session) = self.session.as_ref() else {
            return;
        };
        if !self.fault.may_send_job(fault, true) {
            return;
        }
        let (job, params) = self.make_job(session, template);
        let line = ServerMessage::Job(params).encode();
        if self.push_line(&line, fault, true) {
            if let Some(session) = self.session.as_mut() {
                self.shared.stats.job_sent(&session.worker, job.difficulty);
                session.jobs.push(job);
            }
        }
    }

    fn on_submit(&mut self, id: RequestId, params: SubmitParams, fault: &Fault) {
        let cfg = &self.shared.config;
        let Some(session) = self.session.as_mut().filter(|s| s.id == params.id) else {
            self.reject(id, Reject::Unauthenticated, fault);
            return;
        };
        if self.pending >= cfg.max_pending_shares {
            self.reject(id, Reject::Busy, fault);
            return;
        }
        let checked = precheck(
            &params,
            &mut session.jobs,
            session.nicehash_byte,
            &cfg.algo,
            cfg.height,
        );
        let share = match checked {
            Ok(share) => share,
            Err(reason) => {
                self.reject(id, reason, fault);
                return;
            }
        };
        self.pending += 1;
        let verifier = self.shared.verifier.clone();
        let tx = self.verdict_tx.clone();
        tokio::spawn(async move {
            let outcome = verifier.verify(share).await;
            // The connection may be gone by now; then nobody needs the answer.
            let _ = tx.send(Verdict {
                request: id,
                outcome,
            });
        });
    }

    fn on_verdict(&mut self, verdict: Verdict, fault: &Fault) {
        self.pending = self.pending.saturating_sub(1);
        let Some(worker) = self.worker().map(str::to_string) else {
            return;
        };
        match verdict.outcome {
            Ok(difficulty) => {
                self.shared.stats.accepted(&worker, difficulty);
                self.reply(Response::status(verdict.request, "OK"), fault);
                let now = std::time::Instant::now();
                let changed = self
                    .session
                    .as_mut()
                    .and_then(|s| s.vardiff.as_mut())
                    .and_then(|v| v.on_share(now));
                if let Some(d) = changed {
                    self.retargeted(d, fault);
                }
            }
            Err(reason) => self.reject(verdict.request, reason, fault),
        }
    }

    /// Vardiff moved: the new target goes out at once in a fresh job for the current template.
    fn retargeted(&mut self, difficulty: u64, fault: &Fault) {
        if let Some(session) = self.session.as_mut() {
            tracing::debug!(peer = %self.peer, worker = %session.worker, difficulty, "vardiff retarget");
            session.difficulty = difficulty;
        }
        let template = self.shared.jobs.current();
        self.send_job(&template, fault);
    }

    /// Play out a one-off fault on this (logged-in) connection.
    fn play_action(&mut self, setting: &FaultSetting) {
        self.fault.applied_generation = Some(setting.generation);
        tracing::debug!(peer = %self.peer, fault = %setting.fault, "injecting fault");
        if self.fault.stalled {
            return;
        }
        match &setting.fault {
            Fault::Reset => self.end(Ending::Reset),
            Fault::GarbageLine => self.out.extend(GARBAGE_LINE.as_bytes()),
            Fault::OversizedLine => self.out.extend(oversized_line().as_bytes()),
            Fault::StallMidLine => {
                let template = self.shared.jobs.current();
                if let Some(session) = self.session.as_ref() {
                    let (_, params) = self.make_job(session, &template);
                    let line = ServerMessage::Job(params).encode();
                    self.out.extend(&line.as_bytes()[..line.len() / 2]);
                }
                self.fault.stalled = true;
            }
            Fault::Reconnect { host, port, wait } => {
                let line = ServerMessage::Reconnect(ReconnectParams {
                    host: host.clone(),
                    port: *port,
                    wait: Some(*wait),
                })
                .encode();
                self.push_line(&line, &setting.fault, true);
            }
            _ => {}
        }
    }

    fn end(&mut self, ending: Ending) {
        if self.ending.is_none() {
            self.ending = Some((ending, Instant::now() + FLUSH_GRACE));
        }
    }
}

/// The request id of a line that did not parse as a known request, if it has one.
fn request_id(line: &str) -> Option<RequestId> {
    match serde_json::from_str::<Value>(line).ok()?.get("id")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
