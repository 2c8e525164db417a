//! Peers of `ProxyState`: bad shares counted per address as well as per connection, so a miner
//! that reconnects after every few bogus shares is flagged all the same, and a cap on the shares
//! one address may have in verification at once.
//!
//! A flag expires (an address may be a NAT that a bad miner shared for a while): after
//! [`FlagTerms::expiry`] the address is judged afresh, and each repeat offence doubles the next
//! flag's length. The expiry is read on [`FlagTerms::clock`], so tests move time by hand.
//!
//! Deployed cards (their login names are told to the proxy) are exempt: several of them may share
//! an address with a stranger (NAT, or the local card on loopback) and must not pay for it.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::ProxyState;
use crate::proxy::card::{LocalReject, FLAG_INVALID_PERCENT, FLAG_MIN_INVALID};
use crate::proxy::slices::CardId;

/// Shares one address (that is not a deployed card) may have waiting for or in verification.
pub const MAX_PEER_VERIFYING: u32 = 8;
/// Leases of one upstream job one address may take: an honest miner takes one per connection
/// per job, a client reconnecting in a loop would otherwise take one per reconnect.
pub const MAX_PEER_LEASES_PER_JOB: u32 = 16;

/// How long an address stays flagged by default: the ban time Monero pools use
/// (node-cryptonote-pool's `banning.time`, 600 s).
pub const DEFAULT_FLAG_EXPIRY: Duration = Duration::from_secs(600);
/// A repeat offender's flag doubles at most this many times (64 × the expiry).
const MAX_DOUBLINGS: u32 = 6;

/// Where the flags' expiry reads the time.
pub type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

/// How long a flag lasts, and the clock it is read on (`Instant::now` outside tests).
#[derive(Clone)]
pub struct FlagTerms {
    pub expiry: Duration,
    pub clock: Clock,
}

impl Default for FlagTerms {
    fn default() -> Self {
        Self {
            expiry: DEFAULT_FLAG_EXPIRY,
            clock: Arc::new(Instant::now),
        }
    }
}

impl std::fmt::Debug for FlagTerms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlagTerms")
            .field("expiry", &self.expiry)
            .finish_non_exhaustive()
    }
}

/// What one address has done, over all its connections.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeerRecord {
    /// Submits and bad shares judged since it was last flagged (or first seen).
    pub submitted: u64,
    pub invalid: u64,
    /// Flagged until then: its connections get no work and none of their shares is hashed.
    pub flagged_until: Option<Instant>,
    /// Times it was flagged: each doubles the next flag's length.
    pub offences: u32,
    /// Its shares now queued for or in verification.
    pub verifying: u32,
    /// Leases it took of the job with this sequence number.
    pub lease_job: u64,
    pub leases_in_job: u32,
}

impl PeerRecord {
    fn flagged(&self, now: Instant) -> bool {
        self.flagged_until.is_some_and(|t| now < t)
    }

    /// Lifts a flag that has run out: the address starts afresh, its offences remembered.
    fn expire(&mut self, now: Instant) {
        if self.flagged_until.is_some_and(|t| now >= t) {
            (self.flagged_until, self.submitted, self.invalid) = (None, 0, 0);
        }
    }
}

impl ProxyState {
    /// How long flags last and the clock they are read on.
    pub fn set_flag_terms(&mut self, terms: FlagTerms) {
        self.flag_terms = terms;
    }

    /// The record of `ip`, its flag lifted if that has run out.
    fn peer(&mut self, ip: IpAddr) -> &mut PeerRecord {
        let now = (self.flag_terms.clock)();
        let p = self.peers.entry(ip).or_default();
        p.expire(now);
        p
    }

    /// The rig's deployed cards, by login name: verified first and never flagged by address.
    pub fn set_cards(&mut self, names: impl IntoIterator<Item = String>) {
        self.known = names.into_iter().collect();
    }

    /// Whether the connection is a deployed card's (known login name).
    pub fn is_card(&self, card: CardId) -> bool {
        self.cards
            .get(&card)
            .and_then(|c| c.login.as_ref())
            .is_some_and(|l| self.known.contains(l))
    }

    /// The address this connection comes from when it answers for it: not a deployed card's.
    fn stranger_peer(&self, card: CardId) -> Option<IpAddr> {
        let c = self.cards.get(&card)?;
        let known = c.login.as_ref().is_some_and(|l| self.known.contains(l));
        (!known).then_some(c.peer.ip())
    }

    /// Why a login under `name` from this connection's address is refused, if it is: the name
    /// is not a deployed card's and the address is flagged or has taken its
    /// [`MAX_PEER_LEASES_PER_JOB`] of the newest job. A login let in would get no job, which a
    /// miner (xmrig) takes as a failed login, while its name would stay in the stats.
    pub fn login_refused(&mut self, card: CardId, name: &str) -> Option<LocalReject> {
        let ip = self.cards.get(&card).map(|c| c.peer.ip())?;
        if self.known.contains(name) {
            return None;
        }
        let now = (self.flag_terms.clock)();
        let seq = self.jobs.back().map(|j| j.seq);
        let p = self.peer(ip);
        if p.flagged(now) {
            Some(LocalReject::Flagged)
        } else if seq == Some(p.lease_job) && p.leases_in_job >= MAX_PEER_LEASES_PER_JOB {
            Some(LocalReject::AddressFull)
        } else {
            None
        }
    }

    /// Precheck of a stranger's submit: refused at once when its address is flagged or already
    /// has [`MAX_PEER_VERIFYING`] shares in verification.
    pub(super) fn peer_admits(&mut self, card: CardId) -> Result<(), LocalReject> {
        let Some(ip) = self.stranger_peer(card) else {
            return Ok(());
        };
        let now = (self.flag_terms.clock)();
        let p = self.peer(ip);
        if p.flagged(now) {
            return Err(LocalReject::Flagged);
        }
        if p.verifying >= MAX_PEER_VERIFYING {
            // Not judged, so not counted: a flood of refused submits must not dilute the ratio
            // of bad shares among the judged ones.
            return Err(LocalReject::Busy);
        }
        p.submitted += 1;
        Ok(())
    }

    /// A stranger's share entered (`true`) or left verification.
    pub(super) fn peer_verifying(&mut self, card: CardId, entered: bool) {
        if let Some(p) = self
            .stranger_peer(card)
            .and_then(|ip| self.peers.get_mut(&ip))
        {
            if entered {
                p.verifying += 1;
            } else {
                p.verifying = p.verifying.saturating_sub(1);
            }
        }
    }

    /// A stranger's share was its fault: count it against the address, flag it by the rule
    /// connections are flagged by. Returns true when this flagged it.
    pub(super) fn peer_refused(&mut self, card: CardId, why: LocalReject) -> bool {
        if !why.is_card_fault() {
            return false;
        }
        let Some(ip) = self.stranger_peer(card) else {
            return false;
        };
        if !self.peers.contains_key(&ip) {
            return false;
        }
        let now = (self.flag_terms.clock)();
        let expiry = self.flag_terms.expiry;
        let p = self.peer(ip);
        p.invalid += 1;
        let newly = !p.flagged(now)
            && p.invalid >= FLAG_MIN_INVALID
            && p.invalid * 100 > p.submitted * FLAG_INVALID_PERCENT;
        if newly {
            let length = expiry.saturating_mul(1 << p.offences.min(MAX_DOUBLINGS));
            p.flagged_until = Some(now + length);
            p.offences += 1;
        }
        newly
    }

    /// Whether the connection may take a lease of job `seq`: a deployed card always; a stranger
    /// unless its address is flagged or took [`MAX_PEER_LEASES_PER_JOB`] of that job already.
    /// Counts the lease when it may.
    pub(super) fn peer_may_lease(&mut self, card: CardId, seq: u64) -> bool {
        let Some(ip) = self.stranger_peer(card) else {
            return true;
        };
        let now = (self.flag_terms.clock)();
        let p = self.peer(ip);
        if p.lease_job != seq {
            (p.lease_job, p.leases_in_job) = (seq, 0);
        }
        if p.flagged(now) || p.leases_in_job >= MAX_PEER_LEASES_PER_JOB {
            return false;
        }
        p.leases_in_job += 1;
        true
    }

    /// The addresses flagged now.
    pub fn flagged_peers(&self) -> Vec<IpAddr> {
        let now = (self.flag_terms.clock)();
        let mut ips: Vec<IpAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| p.flagged(now))
            .map(|(ip, _)| *ip)
            .collect();
        ips.sort();
        ips
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use phirig_pool::client::Job;
    use phirig_pool::protocol::{
        AlgoOffer, JobParams, LoginParams, SubmitParams, Target, NICEHASH_BYTE_OFFSET,
    };

    use super::*;
    use crate::proxy::slices::COUNTERS_PER_BYTE;

    fn state() -> ProxyState {
        let mut st = ProxyState::new(4, 1 << 20, COUNTERS_PER_BYTE, Duration::from_secs(5));
        st.set_cards(["mic0".to_string()]);
        st.upstream_job(job("up"));
        st
    }

    fn job(id: &str) -> Job {
        Job {
            job_id: id.into(),
            blob: vec![0; 76],
            target: Target::EASIEST,
            algo: Some("cn/0".into()),
            height: None,
            seed_hash: None,
            next_seed_hash: None,
            nicehash: false,
            pool: 0,
            session: 1,
            nonce_range: None,
        }
    }

    fn login(
        st: &mut ProxyState,
        card: CardId,
        name: &str,
    ) -> Result<Option<JobParams>, LocalReject> {
        let params = LoginParams {
            login: name.into(),
            pass: String::new(),
            agent: String::new(),
            rigid: None,
            offer: AlgoOffer::default(),
        };
        st.login(card, &params, Instant::now())
    }

    /// A login that must be let in with a job.
    fn work(st: &mut ProxyState, card: CardId, name: &str) -> JobParams {
        login(st, card, name).ok().flatten().expect("work")
    }

    /// The `k`-th nonce of the job's slice.
    fn submit(p: &JobParams, k: u64) -> SubmitParams {
        let byte = hex::decode(&p.blob).expect("hex")[NICEHASH_BYTE_OFFSET];
        let [start, _] = p.nonce_range.expect("range");
        let nonce = (u32::from(byte) << 24) | (start + k) as u32;
        SubmitParams::new("s", &p.job_id, nonce, &[1; 32], None)
    }

    #[test]
    fn a_stranger_that_reconnects_is_flagged_by_address_and_cards_there_are_exempt() {
        let mut st = state();
        let stranger: SocketAddr = "10.0.0.5:40000".parse().unwrap();
        let card = st.connect("10.0.0.5:40001".parse().unwrap());
        work(&mut st, card, "mic0");
        // One bogus share per connection: no connection reaches the flag, the address does.
        for i in 0..5 {
            let c = st.connect(stranger);
            let p = work(&mut st, c, "flood");
            let v = st.precheck(c, 1, &submit(&p, 0)).expect("prechecked");
            assert!(!v.from_card);
            assert!(st.verified(&v, Ok([2; 32])).is_err());
            assert_eq!(
                st.flagged_peers().is_empty(),
                i < 4,
                "after {} shares",
                i + 1
            );
            st.disconnect(c);
        }
        assert_eq!(st.flagged_peers(), vec![stranger.ip()]);
        assert!(st.card_stats().iter().all(|c| !c.flagged));
        // A new connection from there: login refused, no lease, nothing hashed; one that goes
        // without logging in leaves no row behind.
        let rows = st.card_stats().len();
        let gone = st.connect(stranger);
        assert_eq!(st.login_refused(gone, "other"), Some(LocalReject::Flagged));
        st.disconnect(gone);
        assert_eq!(st.card_stats().len(), rows);
        let c = st.connect(stranger);
        assert_eq!(login(&mut st, c, "other"), Err(LocalReject::Flagged));
        // Refused, it has no login: its submits are refused unhashed.
        assert_eq!(
            st.precheck(c, 1, &SubmitParams::new("s", "0.0", 1, &[1; 32], None))
                .unwrap_err(),
            LocalReject::Unauthenticated
        );
        // The deployed card at the same address mines on, first in line.
        assert_eq!(st.login_refused(card, "mic0"), None);
        let p = st.next_slice(card).expect("the card still gets work");
        assert!(
            st.precheck(card, 2, &submit(&p, 0))
                .expect("hashed")
                .from_card
        );
    }

    /// Five connections from `peer`, one bogus share each: enough to flag the address.
    fn offend(st: &mut ProxyState, peer: SocketAddr) {
        for _ in 0..5 {
            let c = st.connect(peer);
            let p = work(st, c, "flood");
            let v = st.precheck(c, 1, &submit(&p, 0)).expect("prechecked");
            assert!(st.verified(&v, Ok([2; 32])).is_err());
            st.disconnect(c);
        }
    }

    #[test]
    fn a_flag_expires_and_a_repeat_offence_lasts_twice_as_long() {
        let mut st = state();
        let t0 = Instant::now();
        let now = Arc::new(std::sync::Mutex::new(t0));
        let read = now.clone();
        st.set_flag_terms(FlagTerms {
            expiry: Duration::from_secs(600),
            clock: Arc::new(move || *read.lock().expect("clock")),
        });
        let set = |t: Instant| *now.lock().expect("clock") = t;
        let peer: SocketAddr = "10.0.0.8:1".parse().unwrap();
        let refused = |st: &mut ProxyState| {
            let c = st.connect(peer);
            // Refused for its flag (its 16 logins here also use up its leases of the job).
            let no = st.login_refused(c, "again") == Some(LocalReject::Flagged);
            st.disconnect(c);
            no
        };
        offend(&mut st, peer);
        assert_eq!(st.flagged_peers(), vec![peer.ip()]);
        set(t0 + Duration::from_secs(599));
        assert!(refused(&mut st), "still flagged a second before the expiry");
        set(t0 + Duration::from_secs(600));
        assert!(st.flagged_peers().is_empty());
        assert!(!refused(&mut st), "free again at the expiry");
        let c = st.connect(peer);
        work(&mut st, c, "again");
        st.disconnect(c);
        // Judged afresh from here: five more bad shares flag it again, for twice as long.
        let t1 = t0 + Duration::from_secs(600);
        offend(&mut st, peer);
        set(t1 + Duration::from_secs(1199));
        assert!(refused(&mut st), "the second flag lasts 1200 s");
        set(t1 + Duration::from_secs(1200));
        assert!(!refused(&mut st));
        // No expiry at all: the address is never flagged.
        st.set_flag_terms(FlagTerms {
            expiry: Duration::ZERO,
            ..FlagTerms::default()
        });
        offend(&mut st, peer);
        assert!(st.flagged_peers().is_empty() && !refused(&mut st));
    }

    #[test]
    fn one_address_has_a_bounded_number_of_shares_in_verification() {
        let mut st = state();
        // Leases too: a reconnect loop gets a bounded number of each job's.
        let looper: SocketAddr = "10.0.0.7:1".parse().unwrap();
        let rows = st.card_stats().len();
        let logins: Vec<_> = (0..100)
            .map(|_| {
                let c = st.connect(looper);
                let login = login(&mut st, c, "loop");
                st.disconnect(c);
                login
            })
            .collect();
        let max = MAX_PEER_LEASES_PER_JOB as usize;
        assert!(logins[..max].iter().all(|l| matches!(l, Ok(Some(_)))));
        // The rest are refused rather than let in with no job, and leave no row behind.
        assert!(logins[max..]
            .iter()
            .all(|l| *l == Err(LocalReject::AddressFull)));
        assert_eq!(st.card_stats().len(), rows + max);
        // A deployed card there is not counted; a stranger is let in again on the next job.
        let card = st.connect(looper);
        work(&mut st, card, "mic0");
        st.upstream_job(job("next"));
        let c = st.connect(looper);
        work(&mut st, c, "loop");
        let peer: SocketAddr = "10.0.0.6:1".parse().unwrap();
        let (a, b) = (st.connect(peer), st.connect(peer));
        let pa = work(&mut st, a, "a");
        let pb = work(&mut st, b, "b");
        let mut waiting = Vec::new();
        for k in 0..u64::from(MAX_PEER_VERIFYING) {
            let (c, p) = if k % 2 == 0 { (a, &pa) } else { (b, &pb) };
            waiting.push(st.precheck(c, k, &submit(p, k)).expect("admitted"));
        }
        assert_eq!(
            st.precheck(a, 99, &submit(&pa, 99)).unwrap_err(),
            LocalReject::Busy
        );
        // One verified (good or not) makes room for one more.
        let v = waiting.pop().expect("one");
        let _ = st.verified(&v, Ok([1; 32]));
        assert!(st.precheck(a, 100, &submit(&pa, 100)).is_ok());
        // Busy is not the miner's fault, and it does not dilute the judged ones: the bad shares
        // among those flag the address however many submits were turned away.
        assert!(st.flagged_peers().is_empty());
        for _ in 0..100 {
            let _ = st.precheck(a, 200, &submit(&pa, 200));
        }
        for v in waiting.into_iter().take(5) {
            let _ = st.verified(&v, Ok([2; 32]));
        }
        assert_eq!(st.flagged_peers(), vec![peer.ip()]);
    }
}
