//! What the session asks the pool on its own: `getjob` for fresh work, keepalives and the
//! liveness probes that find a silent pool at any share rate.

use std::time::Instant;

use super::{GetJobRefused, Pending, Phase, Session, GETJOB_MIN_INTERVAL};
use crate::protocol::{
    AlgoOffer, ClientMessage, GetJobParams, JobParams, KeepalivedParams, Response, GETJOB_METHOD,
};
use crate::session::ProbeMethod;

impl Session {
    /// The answer to a `getjob` probe. Any answer, even an error, shows the pool is alive. Its
    /// job replaces ours only when it is for a higher block: a pool that answers every
    /// `getjob` with a new job id for the same work must not restart the miner's nonces.
    pub(super) fn on_probe_job(&mut self, r: Response, now: Instant) {
        let Ok(v) = r.result else {
            return;
        };
        match serde_json::from_value::<JobParams>(v) {
            Ok(job) => {
                // Without both heights nothing says the answer is newer work than ours.
                let higher =
                    matches!((job.height, self.current_height), (Some(t), Some(o)) if t > o);
                if higher {
                    self.on_job(&job, now);
                }
            }
            Err(e) => tracing::debug!(
                pool = self.cfg.pool,
                "getjob probe answer is not a job ({e})"
            ),
        }
    }

    /// Ask for a fresh nonce slice of the newest job (`getjob`, answered by the host's proxy
    /// when a card used its slice up). The answer arrives as a [`SessionEvent::Job`]; a refusal
    /// is logged. At most one is outstanding and they go out at most every
    /// [`GETJOB_MIN_INTERVAL`].
    pub fn request_job(&mut self, now: Instant) -> Result<(), GetJobRefused> {
        let Some(session_id) = self.session_id.clone() else {
            return Err(GetJobRefused::NotReady);
        };
        if self.phase != Phase::Active {
            return Err(GetJobRefused::NotReady);
        }
        if self
            .pending
            .values()
            .any(|(p, _)| matches!(p, Pending::GetJob))
        {
            return Err(GetJobRefused::Outstanding);
        }
        if self
            .last_getjob_at
            .is_some_and(|t| now.saturating_duration_since(t) < GETJOB_MIN_INTERVAL)
        {
            // Not dropped: a slice used up quickly still needs its successor.
            self.getjob_wanted = true;
            return Err(GetJobRefused::TooSoon);
        }
        self.getjob_wanted = false;
        self.last_getjob_at = Some(now);
        self.send_getjob(Pending::GetJob, GetJobParams::plain(session_id), now);
        Ok(())
    }

    /// A new offer for the pool: kept for the next login, and sent now in a `getjob` (or as
    /// soon as the login on its way is answered), as MoneroOcean's miner does, so a switching
    /// pool re-scores this session without a new login. Its answer is a job like any
    /// `getjob`'s.
    pub fn offer_perf(&mut self, offer: AlgoOffer, now: Instant) {
        self.cfg.login.offer = offer;
        match self.phase {
            Phase::Active => self.send_offer(now),
            // The login on its way carries the old figures; these follow once it is answered.
            Phase::LoggingIn => self.offer_after_login = true,
            Phase::Hung => {}
        }
    }

    /// The offer the next login would carry, in a `getjob` on this session.
    pub(super) fn send_offer(&mut self, now: Instant) {
        let Some(session_id) = self.session_id.clone() else {
            return;
        };
        let params = GetJobParams {
            id: session_id,
            offer: self.cfg.login.offer.clone(),
        };
        self.send_getjob(Pending::GetJob, params, now);
    }

    pub(super) fn send_getjob(&mut self, kind: Pending, params: GetJobParams, now: Instant) {
        let id = self.next_id;
        self.next_id += 1;
        // Not a `ClientMessage`: the proxy and pools read it by method name.
        let line = serde_json::json!({
            "id": id, "jsonrpc": "2.0", "method": GETJOB_METHOD, "params": params
        });
        self.transmit.push_back(format!("{line}\n"));
        self.pending.insert(id, (kind, now));
        self.last_request_at = now;
    }

    pub(super) fn getjob_due_at(&self) -> Option<Instant> {
        self.getjob_wanted
            .then(|| self.last_getjob_at.map(|t| t + GETJOB_MIN_INTERVAL))
            .flatten()
    }

    /// When the next liveness probe goes out and which: only while logged in with nothing in
    /// flight, since a pending request already has its response timer running.
    pub(super) fn probe_due(&self) -> Option<(Instant, ProbeMethod)> {
        if self.phase != Phase::Active || !self.pending.is_empty() {
            return None;
        }
        let method = self.cfg.refused_probes.choose(self.keepalive_ext)?;
        Some((self.last_heard + self.cfg.timeouts.liveness, method))
    }

    pub(super) fn keepalive_due_at(&self) -> Option<Instant> {
        let wanted = self.cfg.keepalive
            && self.keepalive_ext
            && !self.cfg.refused_probes.refused(ProbeMethod::Keepalived);
        (self.phase == Phase::Active && wanted)
            .then(|| self.last_request_at + self.cfg.timeouts.keepalive)
    }

    pub(super) fn send_probe(&mut self, method: ProbeMethod, now: Instant) {
        let Some(session_id) = self.session_id.clone() else {
            return;
        };
        match method {
            ProbeMethod::Keepalived => {
                self.request(now, Pending::Probe(method), |id| {
                    ClientMessage::Keepalived {
                        id,
                        params: KeepalivedParams { id: session_id },
                    }
                });
            }
            ProbeMethod::GetJob => {
                self.send_getjob(Pending::Probe(method), GetJobParams::plain(session_id), now)
            }
        }
    }
}
