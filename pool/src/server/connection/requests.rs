//! Requests from the miner (login, submit, keepalived, junk) and the jobs and verdicts they lead to.

use std::sync::Arc;

use serde_json::Value;

use super::{Conn, Ending, Session, Verdict, MAX_WORKER_LEN};
use crate::protocol::{
    ClientMessage, GetJobParams, JobParams, LineError, LoginParams, LoginResult, ProtocolError,
    RequestId, Response, ServerMessage, SubmitParams, ALGO_EXTENSION, GETJOB_METHOD,
    KEEPALIVE_EXTENSION, NICEHASH_BYTE_OFFSET, NICEHASH_EXTENSION,
};
use crate::server::fault::Fault;
use crate::server::issued_jobs::{IssuedJob, IssuedJobs};
use crate::server::job_source::Template;
use crate::server::switching::AlgoChoice;
use crate::server::vardiff::{Vardiff, VardiffConfig};
use crate::server::verify::{precheck, Reject, REJECT_CODE};

impl Conn {
    /// Received bytes: frame them (bounded, 64 KiB a line) and act on each complete line.
    pub(super) fn on_bytes(&mut self, bytes: &[u8], fault: &Fault) {
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
            Ok(ClientMessage::Keepalived { .. }) if *fault == Fault::CloseOnKeepalived => {
                self.end(Ending::Close("closed on keepalived (fault)"));
            }
            Ok(ClientMessage::Keepalived { id, params }) => {
                if self.session.as_ref().is_some_and(|s| s.id == params.id) {
                    self.reply(Response::status(id, "KEEPALIVED"), fault);
                } else {
                    self.reject(id, Reject::Unauthenticated, fault);
                }
            }
            Err(ProtocolError::UnknownMethod(m)) if m == GETJOB_METHOD => {
                self.on_getjob(line, fault)
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
        let offered = &params.offer.algo;
        if !offered.is_empty() && !offered.contains(&cfg.algo) {
            // Still served: the operator chose the algorithm, and the miner may be mislabelled.
            tracing::info!(peer = %self.peer, ?offered, ours = %cfg.algo, "miner does not list our algorithm");
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
        if cfg.advertise_keepalive {
            extensions.push(KEEPALIVE_EXTENSION.to_string());
        }
        let mut session = Session {
            id: self.shared.new_session_id(),
            worker,
            jobs: IssuedJobs::new(cfg.recent_jobs),
            difficulty,
            vardiff,
            nicehash_byte,
            algo: cfg.algo.clone(),
            choice: cfg
                .switching
                .as_ref()
                .and_then(|_| AlgoChoice::new(&params.offer)),
        };
        session.choose_algo(&self.shared);
        let template = Arc::clone(&self.job_rx.borrow_and_update());
        let (job, job_params) = self.make_job(&session, &template);
        let result = LoginResult {
            id: session.id.clone(),
            job: Some(job_params),
            status: "OK".into(),
            extensions,
        };
        let perf = params.offer.scored_perf();
        self.shared.stats.login(&session.worker, difficulty, perf);
        let line = ServerMessage::Response(Response::ok(id, &result)).encode();
        // The login reply is the last line before "after login" faults take hold.
        if self.push_line(&line, fault, false) {
            self.shared
                .stats
                .job_sent(&session.worker, difficulty, job.sent());
            session.jobs.push(job);
        }
        tracing::debug!(peer = %self.peer, worker = %session.worker, "miner logged in");
        self.session = Some(session);
    }

    /// `getjob`: a new job for the current template, as pools answer it, or an error while a
    /// fault holds jobs back (the pool still answers, its work does not move).
    ///
    /// A `getjob` carrying `algo-perf` (MoneroOcean's re-offer) re-scores the miner in switching
    /// mode; its answer is then already on the algorithm chosen from the new figures.
    fn on_getjob(&mut self, line: &str, fault: &Fault) {
        let Some(id) = request_id(line) else {
            self.reply_unparsed(-32600, "Invalid request", fault);
            return;
        };
        let params = GetJobParams::of_line(line).unwrap_or_default();
        let switching = self.shared.config.switching.is_some();
        let Some(session) = self.session.as_mut().filter(|s| s.id == params.id) else {
            self.reject(id, Reject::Unauthenticated, fault);
            return;
        };
        if let Some(perf) = params.offer.scored_perf() {
            tracing::debug!(peer = %self.peer, worker = %session.worker, ?perf, "algo-perf offered in getjob");
            self.shared.stats.perf_offered(&session.worker, perf);
            session.offer_perf(switching, &params.offer);
        }
        if !self.fault.may_send_job(fault, true) {
            self.reply(Response::error(id, REJECT_CODE, "No new work"), fault);
            return;
        }
        if let Some(session) = self.session.as_mut() {
            session.choose_algo(&self.shared);
        }
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let template = self.shared.jobs.current();
        let (job, params) = self.make_job(session, &template);
        let difficulty = job.difficulty;
        self.reply(Response::ok(id, &params), fault);
        if let Some(session) = self.session.as_mut() {
            self.shared
                .stats
                .job_sent(&session.worker, difficulty, job.sent());
            session.jobs.push(job);
        }
    }

    pub(super) fn make_job(
        &self,
        session: &Session,
        template: &Template,
    ) -> (IssuedJob, JobParams) {
        let mut blob = template.blob.clone();
        if let (Some(byte), Some(slot)) =
            (session.nicehash_byte, blob.get_mut(NICEHASH_BYTE_OFFSET))
        {
            *slot = byte;
        }
        let job = IssuedJob::new(
            self.shared.new_job_id(),
            blob,
            session.difficulty,
            template.height,
            &session.algo,
        )
        .with_seed(template.seed_hash.clone());
        let params = JobParams {
            blob: hex::encode(&job.blob),
            job_id: job.job_id.clone(),
            target: job.target.to_hex(),
            algo: Some(session.algo.clone()),
            height: Some(template.height),
            seed_hash: job.seed_hash.clone(),
            next_seed_hash: template.next_seed_hash.clone(),
            id: Some(session.id.clone()),
            nonce_range: None,
        };
        (job, params)
    }

    /// Send this connection its own job for `template`, unless a fault holds jobs back.
    pub(super) fn send_job(&mut self, template: &Template, fault: &Fault) {
        if !self.fault.may_send_job(fault, true) {
            return;
        }
        if let Some(session) = self.session.as_mut() {
            session.choose_algo(&self.shared);
        }
        let Some(session) = self.session.as_ref() else {
            return;
        };
        let (job, params) = self.make_job(session, template);
        let line = ServerMessage::Job(params).encode();
        if self.push_line(&line, fault, true) {
            if let Some(session) = self.session.as_mut() {
                let sent = job.sent();
                self.shared
                    .stats
                    .job_sent(&session.worker, job.difficulty, sent);
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
        let checked = precheck(&params, &mut session.jobs, session.nicehash_byte);
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
        let algo = share.algo.clone();
        tokio::spawn(async move {
            let outcome = verifier.verify(share).await;
            // The connection may be gone by now; then nobody needs the answer.
            let _ = tx.send(Verdict {
                request: id,
                algo,
                outcome,
            });
        });
    }

    pub(super) fn on_verdict(&mut self, verdict: Verdict, fault: &Fault) {
        self.pending = self.pending.saturating_sub(1);
        let Some(worker) = self.worker().map(str::to_string) else {
            return;
        };
        match verdict.outcome {
            Ok(difficulty) => {
                self.shared
                    .stats
                    .accepted(&worker, difficulty, &verdict.algo);
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
    pub(super) fn retargeted(&mut self, difficulty: u64, fault: &Fault) {
        if let Some(session) = self.session.as_mut() {
            tracing::debug!(peer = %self.peer, worker = %session.worker, difficulty, "vardiff retarget");
            session.difficulty = difficulty;
        }
        let template = self.shared.jobs.current();
        self.send_job(&template, fault);
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

#[cfg(test)]
mod tests {
    use super::request_id;

    #[test]
    fn request_id_of_unparsed_lines() {
        assert_eq!(request_id(r#"{"id":7,"method":"nope"}"#), Some(7));
        assert_eq!(
            request_id(r#"{"id":"8","method":"login","params":{}}"#),
            Some(8)
        );
        assert_eq!(request_id(r#"{"id":null}"#), None);
        assert_eq!(request_id("not json"), None);
        assert_eq!(request_id("[1,2,3]"), None);
    }
}
