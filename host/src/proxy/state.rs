//! The proxy's state machine without I/O: upstream jobs, cards and their slices, share checks, outcomes.
//!
//! The tokio drivers (`downstream.rs`, `upstream.rs`) feed it events and send what it returns.
//! Downstream job ids are `"{seq}.{slice}"`: the proxy's sequence number of the upstream job and
//! the slice index inside it, so a submit names exactly one card's slice.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use phirig_agent::worker::NonceRange;
use phirig_pool::client::{Job, ShareId};
use phirig_pool::protocol::{BestDifficulties, JobParams, LoginParams, NICEHASH_BYTE_OFFSET};

mod peers;
mod shares;
mod workers;

use peers::PeerRecord;
pub use peers::{
    Clock, FlagTerms, DEFAULT_FLAG_EXPIRY, MAX_PEER_LEASES_PER_JOB, MAX_PEER_VERIFYING,
};
pub use shares::Verify;
use shares::Waiting;

use super::card::{Card, LocalReject};
use super::slices::{CardId, JobSlices};
use super::stats::CardStats;
use super::workers::Worker;

/// JSON-RPC error code for every refusal, as Monero pools use.
pub const REJECT_CODE: i64 = -1;

/// One upstream job and the slices cut from it.
#[derive(Debug)]
struct UpstreamJob {
    seq: u64,
    job: Job,
    slices: JobSlices,
    /// Nonces submitted for this job by any card: a second submit is a duplicate.
    seen: HashSet<u32>,
}

/// Everything the proxy knows; see the module doc.
#[derive(Debug)]
pub struct ProxyState {
    cards: BTreeMap<CardId, Card>,
    jobs: VecDeque<UpstreamJob>,
    next_seq: u64,
    next_card: CardId,
    waiting: HashMap<ShareId, Waiting>,
    recent_jobs: usize,
    nicehash_slice_len: u64,
    lease_len: u64,
    outcome_timeout: Duration,
    /// Orphaned remainders adopted by other cards, over all jobs.
    reassigned: u64,
    /// The best difficulties of the shares the proxy verified, over the whole rig.
    best: BestDifficulties,
    /// Every login name seen, with its shares and estimated rate (xmrig-proxy's workers).
    workers: BTreeMap<String, Worker>,
    /// Login names of the rig's deployed cards.
    known: HashSet<String>,
    /// Every address seen, for the flag by address.
    peers: HashMap<IpAddr, PeerRecord>,
    flag_terms: FlagTerms,
}

impl ProxyState {
    /// `recent_jobs` upstream jobs still take shares; `nicehash_slice_len` counters per card block
    /// under a pool's NiceHash byte; `lease_len` counters per lease; a card waits at most
    /// `outcome_timeout` for an upstream verdict.
    pub fn new(
        recent_jobs: usize,
        nicehash_slice_len: u64,
        lease_len: u64,
        outcome_timeout: Duration,
    ) -> Self {
        ProxyState {
            cards: BTreeMap::new(),
            jobs: VecDeque::new(),
            next_seq: 0,
            next_card: 0,
            waiting: HashMap::new(),
            recent_jobs: recent_jobs.max(1),
            nicehash_slice_len,
            lease_len,
            outcome_timeout,
            reassigned: 0,
            best: BestDifficulties::default(),
            workers: BTreeMap::new(),
            known: HashSet::new(),
            peers: HashMap::new(),
            flag_terms: FlagTerms::default(),
        }
    }

    /// A connection opened; returns its card id.
    pub fn connect(&mut self, peer: SocketAddr) -> CardId {
        let id = self.next_card;
        self.next_card += 1;
        self.cards.insert(id, Card::new(peer));
        id
    }

    /// The connection closed. Its current leases are abandoned (never reused); the unleased rest
    /// of its blocks goes to the next card that needs work. Shares in flight still get counted.
    pub fn disconnect(&mut self, card: CardId) {
        if let Some(c) = self.cards.get_mut(&card) {
            let was = std::mem::replace(&mut c.connected, false);
            let login = c.login.clone();
            // A connection that never logged in has no leases, shares or name to remember; keeping
            // it would let a client that reconnects in a loop (refused logins) grow every stats.
            if login.is_none() {
                self.cards.remove(&card);
            }
            self.worker_left(login.filter(|_| was).as_deref());
        }
        for job in &mut self.jobs {
            let freed = job.slices.release(card);
            if freed > 0 {
                tracing::info!(
                    card,
                    seq = job.seq,
                    counters = freed,
                    "card gone: its unleased nonces wait for another card"
                );
            }
        }
    }

    /// The card logged in at `now`; returns its first job (none before the first upstream job),
    /// or why the login is refused ([`Self::login_refused`]): then it keeps no name, so its row
    /// goes when it disconnects. Refusal and lease are decided together, so a flag raised by a
    /// verifier in between cannot let in a login with no job.
    pub fn login(
        &mut self,
        card: CardId,
        params: &LoginParams,
        now: Instant,
    ) -> Result<Option<JobParams>, LocalReject> {
        if let Some(why) = self.login_refused(card, &params.login) {
            return Err(why);
        }
        let Some(c) = self.cards.get_mut(&card) else {
            return Ok(None);
        };
        if c.login.is_some() {
            // A second login on one connection renames nothing: the first name counts.
            return Ok(self.next_slice(card));
        }
        c.login = Some(params.login.clone());
        c.pass = params.pass.clone();
        c.agent = params.agent.clone();
        c.rig_id = params.rigid.clone();
        let ip = c.peer.ip();
        self.worker_joined(&params.login, ip, now);
        Ok(self.next_slice(card))
    }

    /// Whether the card has logged in.
    pub fn logged_in(&self, card: CardId) -> bool {
        self.cards.get(&card).is_some_and(|c| c.login.is_some())
    }

    /// A new upstream job: it replaces the current one for every logged-in card, each with a
    /// fresh slice. Returns what to send to whom.
    pub fn upstream_job(&mut self, job: Job) -> Vec<(CardId, JobParams)> {
        let slices = JobSlices::new(job.nicehash_byte(), self.nicehash_slice_len, self.lease_len);
        self.jobs.push_back(UpstreamJob {
            seq: self.next_seq,
            job,
            slices,
            seen: HashSet::new(),
        });
        self.next_seq += 1;
        while self.jobs.len() > self.recent_jobs {
            self.jobs.pop_front();
        }
        let live: Vec<CardId> = self
            .cards
            .iter()
            .filter(|(_, c)| c.connected && c.login.is_some())
            .map(|(id, _)| *id)
            .collect();
        live.into_iter()
            .filter_map(|id| self.next_slice(id).map(|p| (id, p)))
            .collect()
    }

    /// The next lease of the newest job for `card` (at login, on a new job, or when the card
    /// used its lease up). `None` when there is no job or its nonce space is spent.
    pub fn next_slice(&mut self, card: CardId) -> Option<JobParams> {
        let seq = self.jobs.back()?.seq;
        if !self.peer_may_lease(card, seq) {
            return None;
        }
        let job = self.jobs.back_mut()?;
        let c = self.cards.get_mut(&card)?;
        if !c.connected {
            return None;
        }
        let lease = job.slices.allocate(card)?;
        c.current = Some((job.seq, lease.index));
        c.slices += 1;
        if lease.adopted {
            c.adopted += 1;
            self.reassigned += 1;
            tracing::info!(
                card,
                seq = job.seq,
                start = lease.range.start(),
                "card adopted a gone card's unleased nonces"
            );
        }
        Some(downstream_params(job, lease.index, lease.range))
    }

    /// Orphaned remainders adopted by other cards so far.
    pub fn reassigned(&self) -> u64 {
        self.reassigned
    }

    /// Counters of the newest job released by gone cards and not yet adopted.
    pub fn orphaned(&self) -> u64 {
        self.jobs.back().map_or(0, |j| j.slices.orphaned())
    }

    /// Upstream jobs received so far.
    pub fn jobs_received(&self) -> u64 {
        self.next_seq
    }

    /// The best difficulties among the shares verified here, highest first.
    pub fn best(&self) -> BestDifficulties {
        self.best
    }

    /// The difficulty of the newest upstream job (0 before the first).
    pub fn diff_current(&self) -> u64 {
        self.jobs.back().map_or(0, |j| j.job.target.difficulty())
    }

    /// One row per card seen.
    pub fn card_stats(&self) -> Vec<CardStats> {
        self.cards
            .iter()
            .map(|(id, c)| c.stats(*id, self.card_diff(c)))
            .collect()
    }

    /// The difficulty of the job the card mines now (0 when none).
    fn card_diff(&self, card: &Card) -> u64 {
        card.current
            .and_then(|(seq, _)| self.jobs.iter().find(|j| j.seq == seq))
            .map_or(0, |j| j.job.target.difficulty())
    }

    /// Bytes exchanged with a card since the last call.
    pub fn traffic(&mut self, card: CardId, tx: u64, rx: u64) {
        if let Some(c) = self.cards.get_mut(&card) {
            c.tx += tx;
            c.rx += rx;
        }
    }
}

/// The card's view of an upstream job: same blob but byte 42 = the slice's fixed byte (the
/// pool's own byte for a NiceHash job), same target, and the `nonce_range` extension.
fn downstream_params(job: &UpstreamJob, index: usize, range: NonceRange) -> JobParams {
    let mut params = job.job.to_params();
    if let Some(byte) = range.fixed_byte() {
        let mut blob = job.job.blob.clone();
        if let Some(slot) = blob.get_mut(NICEHASH_BYTE_OFFSET) {
            *slot = byte;
        }
        params.blob = hex::encode(blob);
    }
    params.job_id = format!("{}.{index}", job.seq);
    params.nonce_range = Some([range.start(), range.end()]);
    params
}

fn parse_job_id(id: &str) -> Option<(u64, usize)> {
    let (seq, index) = id.split_once('.')?;
    Some((seq.parse().ok()?, index.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use phirig_pool::client::ShareOutcome;
    use phirig_pool::protocol::{AlgoOffer, Response, SubmitParams, Target, NONCE_OFFSET};

    use super::*;
    use crate::proxy::slices::COUNTERS_PER_BYTE;

    fn job(id: &str, nicehash_byte: Option<u8>) -> Job {
        let mut blob = vec![0u8; 76];
        if let Some(b) = nicehash_byte {
            blob[NICEHASH_BYTE_OFFSET] = b;
        }
        Job {
            job_id: id.into(),
            blob,
            target: Target::EASIEST,
            algo: Some("cn/0".into()),
            height: Some(5),
            seed_hash: None,
            next_seed_hash: None,
            nicehash: nicehash_byte.is_some(),
            pool: 0,
            session: 1,
            nonce_range: None,
        }
    }

    fn state() -> ProxyState {
        ProxyState::new(4, 1 << 20, COUNTERS_PER_BYTE, Duration::from_secs(5))
    }

    fn login(st: &mut ProxyState, card: CardId, name: &str) -> Option<JobParams> {
        let params = LoginParams {
            login: name.into(),
            pass: "x".into(),
            agent: "test".into(),
            rigid: None,
            offer: AlgoOffer::default(),
        };
        st.login(card, &params, Instant::now()).expect("let in")
    }

    fn peer() -> SocketAddr {
        "127.0.0.1:9".parse().unwrap()
    }

    fn submit(job_id: &str, nonce: u32, result: [u8; 32]) -> SubmitParams {
        SubmitParams::new("s", job_id, nonce, &result, None)
    }

    fn range(p: &JobParams) -> (u8, u64, u64) {
        let blob = hex::decode(&p.blob).unwrap();
        let [s, e] = p.nonce_range.unwrap();
        (blob[NICEHASH_BYTE_OFFSET], s, e)
    }

    #[test]
    fn every_card_gets_its_own_byte_on_a_plain_job() {
        let mut st = state();
        let a = st.connect(peer());
        let b = st.connect(peer());
        assert!(login(&mut st, a, "a").is_none());
        assert!(login(&mut st, b, "b").is_none());
        let out = st.upstream_job(job("up1", None));
        assert_eq!(out.len(), 2);
        assert_eq!(range(&out[0].1), (0, 0, COUNTERS_PER_BYTE));
        assert_eq!(range(&out[1].1), (1, 0, COUNTERS_PER_BYTE));
        assert_eq!(out[0].1.job_id, "0.0");
        assert_eq!(out[1].1.target, Target::EASIEST.to_hex());
        // A late card and an exhausted card get fresh slices of the same job.
        let c = st.connect(peer());
        assert_eq!(
            range(&login(&mut st, c, "c").unwrap()),
            (2, 0, COUNTERS_PER_BYTE)
        );
        assert_eq!(range(&st.next_slice(a).unwrap()).0, 3);
        // A disconnected card is skipped on the next job; its old slice is never reused.
        st.disconnect(b);
        let out = st.upstream_job(job("up2", None));
        assert_eq!(
            out.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
            vec![a, c]
        );
    }

    #[test]
    fn nicehash_job_keeps_the_pool_byte_and_splits_counters() {
        let mut st = state();
        let a = st.connect(peer());
        let b = st.connect(peer());
        login(&mut st, a, "a");
        login(&mut st, b, "b");
        let out = st.upstream_job(job("nh", Some(0x5a)));
        assert_eq!(range(&out[0].1), (0x5a, 0, 1 << 20));
        assert_eq!(range(&out[1].1), (0x5a, 1 << 20, 2 << 20));
    }

    #[test]
    fn a_gone_cards_unleased_nonces_go_to_the_next_card_and_old_leases_stay_its_own() {
        let mut st = ProxyState::new(4, 1 << 20, 1 << 20, Duration::from_secs(5));
        let a = st.connect(peer());
        let b = st.connect(peer());
        login(&mut st, a, "a");
        login(&mut st, b, "b");
        let out = st.upstream_job(job("up", None));
        assert_eq!(range(&out[1].1), (1, 0, 1 << 20));
        // b mines two leases of byte 1, then dies.
        assert_eq!(range(&st.next_slice(b).unwrap()), (1, 1 << 20, 2 << 20));
        st.disconnect(b);
        assert_eq!(st.orphaned(), COUNTERS_PER_BYTE - (2 << 20));
        assert!(st.next_slice(b).is_none(), "a gone card gets no work");
        // b comes back as a new connection: it adopts the rest of byte 1, not a fresh byte.
        let b2 = st.connect(peer());
        let p = login(&mut st, b2, "b").unwrap();
        assert_eq!(range(&p), (1, 2 << 20, 3 << 20));
        assert_eq!((st.reassigned(), st.orphaned()), (1, 0));
        let rows = st.card_stats();
        assert_eq!((rows[2].login.as_str(), rows[2].adopted), ("b", 1));
        // Its abandoned leases are not its own: a share for them is refused.
        assert_eq!(
            st.precheck(b2, 1, &submit("0.1", 0x0100_0001, [0; 32]))
                .unwrap_err(),
            LocalReject::InvalidJobId
        );
        // Its new lease takes shares.
        assert!(st
            .precheck(b2, 2, &submit(&p.job_id, 0x0120_0001, [0; 32]))
            .is_ok());
    }

    #[test]
    fn reassignment_keeps_the_nicehash_byte() {
        let mut st = ProxyState::new(4, 1 << 21, 1 << 20, Duration::from_secs(5));
        let a = st.connect(peer());
        let b = st.connect(peer());
        login(&mut st, a, "a");
        login(&mut st, b, "b");
        let out = st.upstream_job(job("nh", Some(0x5a)));
        assert_eq!(range(&out[0].1), (0x5a, 0, 1 << 20));
        st.disconnect(a);
        // b used up its own lease; the next one is a's unleased half block, same pool byte.
        let p = st.next_slice(b).unwrap();
        assert_eq!(range(&p), (0x5a, 3 << 20, 4 << 20));
        let p = st.next_slice(b).unwrap();
        assert_eq!(range(&p), (0x5a, 1 << 20, 2 << 20));
        assert_eq!(st.reassigned(), 1);
    }

    #[test]
    fn submit_checks_slice_owner_range_duplicates_and_hash() {
        let mut st = state();
        let a = st.connect(peer());
        let b = st.connect(peer());
        let stranger = st.connect(peer());
        login(&mut st, a, "a");
        login(&mut st, b, "b");
        st.upstream_job(job("up", None));
        // Card a owns "0.0" (byte 0), b owns "0.1" (byte 1).
        assert_eq!(
            st.precheck(stranger, 1, &submit("0.0", 1, [0; 32]))
                .unwrap_err(),
            LocalReject::Unauthenticated
        );
        assert_eq!(
            st.precheck(a, 1, &submit("0.1", 0x0100_0001, [0; 32]))
                .unwrap_err(),
            LocalReject::InvalidJobId
        );
        assert_eq!(
            st.precheck(a, 1, &submit("9.0", 1, [0; 32])).unwrap_err(),
            LocalReject::InvalidJobId
        );
        assert_eq!(
            st.precheck(a, 1, &submit("0.0", 0x0100_0001, [0; 32]))
                .unwrap_err(),
            LocalReject::InvalidNonce
        );
        let v = st.precheck(a, 7, &submit("0.0", 0x42, [3; 32])).unwrap();
        assert_eq!(v.blob[NONCE_OFFSET], 0x42);
        assert_eq!(v.request, 7);
        assert_eq!(
            st.precheck(a, 1, &submit("0.0", 0x42, [3; 32]))
                .unwrap_err(),
            LocalReject::Duplicate
        );
        assert_eq!(
            st.verified(&v, Ok([4; 32])).unwrap_err(),
            LocalReject::InvalidResult
        );
        let share = st.verified(&v, Ok([3; 32])).unwrap();
        assert_eq!((share.job_id.as_str(), share.nonce), ("up", 0x42));
        // Unknown or foreign job ids count as stale; bad nonce, duplicate and bad result as invalid.
        let counts = st.card_stats()[0].shares;
        assert_eq!((counts.submitted, counts.invalid, counts.stale), (5, 3, 2));
    }

    #[test]
    fn low_difficulty_against_upstream_target() {
        let mut st = state();
        let a = st.connect(peer());
        login(&mut st, a, "a");
        let mut j = job("up", None);
        j.target = Target::from_difficulty(1 << 20);
        st.upstream_job(j);
        let v = st.precheck(a, 1, &submit("0.0", 5, [0xff; 32])).unwrap();
        assert_eq!(
            st.verified(&v, Ok([0xff; 32])).unwrap_err(),
            LocalReject::LowDifficulty
        );
    }

    #[test]
    fn flagged_card_is_withheld() {
        let mut st = state();
        let a = st.connect(peer());
        login(&mut st, a, "a");
        st.upstream_job(job("up", None));
        for n in 0..5 {
            let v = st
                .precheck(a, n, &submit("0.0", n as u32, [1; 32]))
                .unwrap();
            assert!(st.verified(&v, Ok([2; 32])).is_err());
        }
        assert!(st.card_stats()[0].flagged);
        assert_eq!(
            st.precheck(a, 9, &submit("0.0", 99, [1; 32])).unwrap_err(),
            LocalReject::Flagged
        );
    }

    #[test]
    fn outcomes_answer_the_waiting_request_once() {
        let mut st = state();
        let a = st.connect(peer());
        login(&mut st, a, "a");
        let t0 = Instant::now();
        st.submitted(ShareId(1), a, 11, 1, t0);
        st.submitted(ShareId(2), a, 12, 1, t0);
        st.submitted(ShareId(3), a, 13, 1, t0 + Duration::from_secs(10));
        let (card, r) = st.outcome(ShareId(1), &ShareOutcome::Accepted).unwrap();
        assert_eq!((card, r), (a, Response::status(11, "OK")));
        assert!(st.outcome(ShareId(1), &ShareOutcome::Accepted).is_none());
        let (_, r) = st
            .outcome(
                ShareId(2),
                &ShareOutcome::Rejected("Low difficulty share".into()),
            )
            .unwrap();
        assert_eq!(r, Response::error(12, REJECT_CODE, "Low difficulty share"));
        assert_eq!(st.next_deadline(), Some(t0 + Duration::from_secs(15)));
        assert!(st.expire(t0 + Duration::from_secs(6)).is_empty());
        let expired = st.expire(t0 + Duration::from_secs(15));
        assert_eq!(expired.len(), 1);
        assert!(expired[0].1.result.is_err());
        let s = st.card_stats()[0].shares;
        assert_eq!((s.accepted, s.rejected, s.stale), (1, 1, 1));
    }
}
