//! One client connection: reads requests, answers them, pushes jobs, and plays out faults.
//!
//! A single task owns the socket and waits on readiness (`readable`/`writable` + `try_*`), so
//! reads, writes, slow drips and resets are all decided in one place without splitting the
//! stream. Output goes through a bounded queue: a client that stops reading is dropped, not
//! buffered for without end.

mod actions;
mod requests;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{sleep_until, Instant, MissedTickBehavior};

use super::fault::{ConnFault, Fault, FaultSetting};
use super::issued_jobs::IssuedJobs;
use super::job_source::Template;
use super::shared::Shared;
use super::switching::AlgoChoice;
use super::vardiff::Vardiff;
use super::verify::{Reject, REJECT_CODE};
use crate::protocol::{AlgoOffer, LineFramer, RequestId, Response, ServerMessage, MAX_LINE_LEN};

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
    /// The algorithm of its next job: the server's, or in switching mode the one chosen for it.
    algo: String,
    /// Switching mode, for a miner that reported `algo-perf`.
    choice: Option<AlgoChoice>,
}

impl Session {
    /// A new offer from a `getjob`: switching mode scores it from the next job on.
    fn offer_perf(&mut self, switching: bool, offer: &AlgoOffer) {
        match self.choice.as_mut() {
            Some(choice) => choice.set_offer(offer),
            None if switching => self.choice = AlgoChoice::new(offer),
            None => {}
        }
    }

    /// Re-chooses the algorithm before a job goes out (switching mode only).
    fn choose_algo(&mut self, shared: &Shared) {
        if let Some(choice) = self.choice.as_mut() {
            if let Some(algo) = choice.next(&shared.algo_values(), std::time::Instant::now()) {
                self.algo = algo;
            }
        }
    }
}

/// A finished verification, back from the hashing pool.
struct Verdict {
    request: RequestId,
    /// The share's algorithm, for the per-algorithm count.
    algo: String,
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
                // Biased, fault first: any other branch then runs with the fault as it is now
                // (a job racing a fault change must see the new fault). Reading comes last so a
                // flooding client cannot starve timers or output.
                biased;
                _ = shutdown.changed() => return "server shutting down",
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

    fn end(&mut self, ending: Ending) {
        if self.ending.is_none() {
            self.ending = Some((ending, Instant::now() + FLUSH_GRACE));
        }
    }
}
