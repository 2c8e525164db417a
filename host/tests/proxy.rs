//! The proxy end to end on loopback: a reference pool upstream, raw stratum cards downstream.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_agent::worker::NonceRange;
use phirig_host::proxy::{self, ProxyConfig, ProxyHandle};
use phirig_host::share_hasher::KernelShareHasher;
use phirig_pool::client::{ClientConfig, PoolConfig, PoolUrl, Timeouts};
use phirig_pool::protocol::{JobParams, Target, NICEHASH_BYTE_OFFSET, NONCE_OFFSET};
use phirig_pool::server::{
    Fault, PoolServer, ServerConfig, ServerHandle, Sha3ShareHasher, ShareHasher,
};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Bound on any single wait.
const STEP: Duration = Duration::from_secs(10);
/// Most nonces a test card tries for one share (SHA3 at difficulty 64: ~64 expected).
const MAX_TRIES: u64 = 200_000;
/// Upstream difficulty for the SHA3 tests.
const DIFFICULTY: u64 = 64;

// ---------------------------------------------------------------- set-up

async fn upstream(
    algo: &str,
    difficulty: u64,
    fault: Fault,
    hasher: Arc<dyn ShareHasher>,
) -> ServerHandle {
    let config = ServerConfig {
        algo: algo.into(),
        start_difficulty: difficulty,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        fault,
        ..ServerConfig::default()
    };
    start_pool(config, hasher).await
}

async fn start_pool(config: ServerConfig, hasher: Arc<dyn ShareHasher>) -> ServerHandle {
    timeout(STEP, PoolServer::start(config, hasher))
        .await
        .expect("pool starts in time")
        .expect("pool starts")
}

fn client_config(pools: &[SocketAddr], algo: &str) -> ClientConfig {
    let pools = pools
        .iter()
        .map(|a| {
            let url = PoolUrl::parse(&format!("stratum+tcp://{a}")).expect("pool url");
            PoolConfig::new(url, "wallet")
        })
        .collect();
    let mut cfg = ClientConfig::new(pools, "phirig-proxy-test", vec![algo.into()]);
    cfg.timeouts = Timeouts {
        connect: Duration::from_secs(1),
        response: Duration::from_secs(1),
        idle: Duration::from_secs(10),
        keepalive: Duration::from_millis(300),
        write_stall: Duration::from_secs(1),
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        // Stay on the secondary for the length of a test once we failed over.
        probe_interval: Duration::from_secs(60),
    };
    cfg
}

async fn start_proxy(
    pools: &[SocketAddr],
    algo: &str,
    hasher: Arc<dyn ShareHasher>,
) -> ProxyHandle {
    let config = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        client_config(pools, algo),
    );
    let proxy = proxy::start(config, hasher).await.expect("proxy starts");
    // Cards connect once the proxy has work, so their login result carries a job.
    wait_until("first upstream job", || proxy.stats().jobs >= 1).await;
    proxy
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    for _ in 0..1000 {
        if done() {
            return;
        }
        assert!(start.elapsed() < STEP, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("gave up waiting for {what}");
}

// ---------------------------------------------------------------- a raw stratum card

struct Card {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    next_id: u64,
    jobs: VecDeque<(JobParams, Instant)>,
    replies: HashMap<u64, Value>,
}

impl Card {
    async fn connect(addr: SocketAddr) -> Card {
        let stream = timeout(STEP, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        let (r, w) = stream.into_split();
        Card {
            reader: BufReader::new(r),
            writer: w,
            next_id: 1,
            jobs: VecDeque::new(),
            replies: HashMap::new(),
        }
    }

    async fn request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut line =
            json!({"id": id, "jsonrpc": "2.0", "method": method, "params": params}).to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await.expect("write");
        id
    }

    /// Read one line; jobs are queued with their arrival time, replies kept by id.
    async fn read_one(&mut self) {
        let mut line = String::new();
        let n = timeout(STEP, self.reader.read_line(&mut line))
            .await
            .expect("proxy line in time")
            .expect("read");
        assert!(n > 0, "proxy closed the connection");
        let at = Instant::now();
        let v: Value = serde_json::from_str(&line).expect("proxy sends JSON");
        if v["method"] == "job" {
            let job: JobParams = serde_json::from_value(v["params"].clone()).expect("job params");
            self.jobs.push_back((job, at));
        } else {
            let id = v["id"].as_u64().expect("reply id");
            self.replies.insert(id, v);
        }
    }

    async fn reply(&mut self, id: u64) -> Value {
        for _ in 0..100 {
            if let Some(v) = self.replies.remove(&id) {
                return v;
            }
            self.read_one().await;
        }
        panic!("no reply to request {id}");
    }

    async fn job(&mut self) -> (JobParams, Instant) {
        for _ in 0..100 {
            if let Some(j) = self.jobs.pop_front() {
                return j;
            }
            self.read_one().await;
        }
        panic!("no job notification");
    }

    async fn login(&mut self, name: &str) -> JobParams {
        let params = json!({"login": name, "pass": "x", "agent": "test-card"});
        let id = self.request("login", params).await;
        let r = self.reply(id).await;
        assert_eq!(r["result"]["status"], "OK", "{r}");
        let ext = r["result"]["extensions"].to_string();
        assert!(
            ext.contains("nonce_range") && ext.contains("nicehash"),
            "{ext}"
        );
        serde_json::from_value(r["result"]["job"].clone()).expect("login result carries a job")
    }

    /// A fresh slice of the newest job (`getjob`).
    async fn getjob(&mut self) -> JobParams {
        let id = self.request("getjob", Value::Null).await;
        let r = self.reply(id).await;
        serde_json::from_value(r["result"].clone()).expect("getjob result is a job")
    }

    /// Submit and return the reply (`Ok(status)` or `Err(message)`).
    async fn submit(
        &mut self,
        job: &JobParams,
        nonce: u32,
        result: &[u8; 32],
    ) -> Result<String, String> {
        let params = json!({
            "id": "sess",
            "job_id": job.job_id,
            "nonce": hex::encode(nonce.to_le_bytes()),
            "result": hex::encode(result),
        });
        let id = self.request("submit", params).await;
        let r = self.reply(id).await;
        match r["error"].as_object() {
            Some(e) => Err(e["message"].as_str().unwrap_or_default().to_string()),
            None => Ok(r["result"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_string()),
        }
    }
}

// ---------------------------------------------------------------- mining

fn slice_of(job: &JobParams) -> NonceRange {
    let blob = hex::decode(&job.blob).expect("blob hex");
    let [start, end] = job.nonce_range.expect("nonce_range extension");
    NonceRange::new(start, end, Some(blob[NICEHASH_BYTE_OFFSET]))
}

fn hash_at(hasher: &dyn ShareHasher, job: &JobParams, nonce: u32) -> [u8; 32] {
    let mut blob = hex::decode(&job.blob).expect("blob hex");
    blob[NONCE_OFFSET..NONCE_OFFSET + 4].copy_from_slice(&nonce.to_le_bytes());
    let algo = job.algo.clone().unwrap_or_default();
    hasher
        .hash(&algo, &blob, job.height.unwrap_or(0))
        .expect("hash")
}

/// The first nonce of the card's slice (from counter `start + skip`) whose hash meets
/// (`want = true`) or misses the target.
fn search(job: &JobParams, want: bool, skip: u64) -> (u32, [u8; 32]) {
    let range = slice_of(job);
    let target = Target::from_hex(&job.target).expect("target");
    let first = range.start() + skip;
    for counter in first..range.end().min(first + MAX_TRIES) {
        let nonce = range.nonce(counter);
        let hash = hash_at(&Sha3ShareHasher, job, nonce);
        if target.is_met_by(&hash) == want {
            return (nonce, hash);
        }
    }
    panic!("no nonce found in {MAX_TRIES} tries");
}

fn share(job: &JobParams) -> (u32, [u8; 32]) {
    search(job, true, 0)
}

/// Counter of a nonce inside its slice's space (low 24 bits).
fn counter(nonce: u32) -> u64 {
    u64::from(nonce & 0x00ff_ffff)
}

fn disjoint(slices: &[NonceRange]) -> bool {
    slices.iter().enumerate().all(|(i, a)| {
        slices[i + 1..].iter().all(|b| {
            a.fixed_byte() != b.fixed_byte() || a.end() <= b.start() || b.end() <= a.start()
        })
    })
}

async fn stop(proxy: ProxyHandle, pools: Vec<ServerHandle>) {
    timeout(STEP, proxy.shutdown())
        .await
        .expect("proxy stops in time");
    for p in pools {
        timeout(STEP, p.shutdown())
            .await
            .expect("pool stops in time");
    }
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn cards_mine_disjoint_slices_and_shares_are_accepted_upstream() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut cards = Vec::new();
    let mut jobs = Vec::new();
    for i in 0..3 {
        let mut card = Card::connect(proxy.local_addr()).await;
        jobs.push(card.login(&format!("card{i}")).await);
        cards.push(card);
    }
    let slices: Vec<NonceRange> = jobs.iter().map(slice_of).collect();
    assert!(disjoint(&slices), "{slices:?}");
    for (card, job) in cards.iter_mut().zip(&jobs) {
        let (nonce, hash) = share(job);
        assert_eq!(card.submit(job, nonce, &hash).await, Ok("OK".into()));
    }
    // A card that used its slice up asks for more and gets a fresh, still disjoint one.
    let fresh = cards[0].getjob().await;
    let mut all = slices.clone();
    all.push(slice_of(&fresh));
    assert!(disjoint(&all), "{all:?}");
    let (nonce, hash) = share(&fresh);
    assert_eq!(cards[0].submit(&fresh, nonce, &hash).await, Ok("OK".into()));

    let up = pool.stats();
    assert_eq!(up.accepted, 4);
    assert_eq!(up.rejected.total(), 0);
    let stats = proxy.stats();
    assert_eq!(stats.upstream.shares.accepted, 4);
    let accepted: Vec<u64> = stats.cards.iter().map(|c| c.shares.accepted).collect();
    assert_eq!(accepted, vec![2, 1, 1]);
    assert_eq!(stats.cards[0].slices, 2);
    assert_eq!(stats.cards[1].login, "card1");
    // The rig's summary figures: the pool's difficulty, and the four best shares (of at least
    // that difficulty each, since the pool took them), in order.
    assert_eq!(stats.diff_current, DIFFICULTY);
    assert!(
        stats.best[..4].iter().all(|&d| d >= DIFFICULTY),
        "{:?}",
        stats.best
    );
    assert!(
        stats.best.windows(2).all(|w| w[0] >= w[1]),
        "{:?}",
        stats.best
    );
    assert_eq!(stats.best[4..], [0; 6]);
    let link = stats.upstream.link.expect("logged in upstream");
    assert_eq!(link.ip, pool.local_addr().ip());
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn bad_shares_are_refused_locally_and_a_bad_card_is_flagged() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut a = Card::connect(proxy.local_addr()).await;
    let mut b = Card::connect(proxy.local_addr()).await;
    let job_a = a.login("a").await;
    let job_b = b.login("b").await;

    // A share from b's slice, submitted by a under its own job id: outside a's slice.
    let (nonce_b, hash_b) = share(&job_b);
    assert_eq!(
        a.submit(&job_a, nonce_b, &hash_b).await,
        Err("Invalid nonce".into())
    );
    // A good share, then the same again.
    let (nonce, hash) = share(&job_a);
    assert_eq!(a.submit(&job_a, nonce, &hash).await, Ok("OK".into()));
    assert_eq!(
        a.submit(&job_a, nonce, &hash).await,
        Err("Duplicate share".into())
    );
    // A real hash that misses the upstream target, and a made-up result.
    let (low, low_hash) = search(&job_a, false, 0);
    assert_eq!(
        a.submit(&job_a, low, &low_hash).await,
        Err("Low difficulty share".into())
    );
    let (n2, _) = search(&job_a, true, counter(nonce) + 1);
    assert_eq!(
        a.submit(&job_a, n2, &[0x11; 32]).await,
        Err("Low difficulty share".into())
    );
    // b is unaffected.
    assert_eq!(b.submit(&job_b, nonce_b, &hash_b).await, Ok("OK".into()));

    // a has 4 invalid of 5 submits; a fifth (5 of 6) gets it flagged, and then even its good
    // shares stay home.
    assert_eq!(
        a.submit(&job_a, n2, &[0x22; 32]).await,
        Err("Duplicate share".into())
    );
    let stats = proxy.stats();
    assert!(stats.cards[0].flagged, "{:?}", stats.cards[0]);
    assert!(!stats.cards[1].flagged);
    let (n3, h3) = search(&job_a, true, counter(n2) + 1);
    let r = a.submit(&job_a, n3, &h3).await;
    assert!(r.as_ref().is_err_and(|m| m.contains("flagged")), "{r:?}");

    let up = pool.stats();
    assert_eq!(up.accepted, 2, "only the two good shares went upstream");
    assert_eq!(
        up.rejected.total(),
        0,
        "nothing bad reached upstream: {:?}",
        up.rejected
    );
    let s = proxy.stats().cards[0].shares;
    assert_eq!(
        (s.submitted, s.accepted, s.invalid, s.withheld),
        (7, 1, 5, 1)
    );
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn new_upstream_jobs_reach_every_card_quickly() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut cards = Vec::new();
    for i in 0..4 {
        let mut card = Card::connect(proxy.local_addr()).await;
        card.login(&format!("card{i}")).await;
        cards.push(card);
    }
    let mut worst = Vec::new();
    for round in 1..=5 {
        let t0 = Instant::now();
        pool.new_job();
        let mut latest = Duration::ZERO;
        let mut slices = Vec::new();
        for card in &mut cards {
            let (job, at) = card.job().await;
            latest = latest.max(at.duration_since(t0));
            assert!(
                job.job_id.starts_with(&format!("{round}.")),
                "{}",
                job.job_id
            );
            slices.push(slice_of(&job));
        }
        assert!(disjoint(&slices));
        worst.push(latest);
    }
    worst.sort();
    println!(
        "job fan-out (pool new_job -> last of 4 cards has it), 5 rounds: min {:?}, median {:?}, max {:?}",
        worst[0],
        worst[worst.len() / 2],
        worst[worst.len() - 1]
    );
    // The target is 50 ms; the bound leaves room for a loaded shared test machine.
    assert!(
        worst[worst.len() / 2] < Duration::from_millis(500),
        "{worst:?}"
    );
    // Still mining on the newest job.
    let job = cards[0].getjob().await;
    assert!(job.job_id.starts_with("5."), "{}", job.job_id);
    let (nonce, hash) = share(&job);
    assert_eq!(cards[0].submit(&job, nonce, &hash).await, Ok("OK".into()));
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn cards_keep_mining_when_upstream_fails_over() {
    let primary = upstream(
        "cn/0",
        DIFFICULTY,
        Fault::SilentAfterLogin,
        Arc::new(Sha3ShareHasher),
    )
    .await;
    let secondary = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let pools = [primary.local_addr(), secondary.local_addr()];
    let proxy = start_proxy(&pools, "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut a = Card::connect(proxy.local_addr()).await;
    let mut b = Card::connect(proxy.local_addr()).await;
    a.login("a").await;
    b.login("b").await;
    // The primary answered the login and went silent: keepalives go unanswered, the client
    // fails over, and the secondary's job reaches both cards.
    let t0 = Instant::now();
    for card in [&mut a, &mut b] {
        let mut job = None;
        for _ in 0..10 {
            let (j, _) = card.job().await;
            if proxy.stats().upstream.current_pool == Some(1) {
                job = Some(j);
                break;
            }
        }
        let job = job.expect("a job from the secondary");
        let (nonce, hash) = share(&job);
        assert_eq!(card.submit(&job, nonce, &hash).await, Ok("OK".into()));
    }
    println!(
        "failover: both cards mining on the secondary {:?} after login",
        t0.elapsed()
    );
    assert_eq!(secondary.stats().accepted, 2);
    assert_eq!(proxy.stats().upstream.pools[1].logins, 1);
    stop(proxy, vec![primary, secondary]).await;
}

#[tokio::test]
async fn kernel_verifies_cn_pico_shares() {
    let hasher: Arc<dyn ShareHasher> = Arc::new(KernelShareHasher::default());
    // Difficulty 1: every hash is a share, so one kernel hash per step.
    let pool = upstream("cn-pico", 1, Fault::None, hasher.clone()).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn-pico", hasher.clone()).await;
    let mut card = Card::connect(proxy.local_addr()).await;
    let job = card.login("pico").await;
    assert_eq!(job.algo.as_deref(), Some("cn-pico"));
    let slice = slice_of(&job);
    let nonce = slice.nonce(slice.start());
    let hash = hash_at(hasher.as_ref(), &job, nonce);
    assert_eq!(card.submit(&job, nonce, &hash).await, Ok("OK".into()));
    let mut wrong = hash;
    wrong[0] ^= 1;
    let next = slice.nonce(slice.start() + 1);
    assert_eq!(
        card.submit(&job, next, &wrong).await,
        Err("Low difficulty share".into())
    );
    assert_eq!(pool.stats().accepted, 1);
    assert_eq!(pool.stats().rejected.total(), 0);
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn nicehash_upstream_keeps_the_pool_byte_and_splits_beneath_it() {
    let config = ServerConfig {
        algo: "cn/0".into(),
        start_difficulty: DIFFICULTY,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        nicehash: true,
        ..ServerConfig::default()
    };
    let pool = start_pool(config, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut cards = Vec::new();
    let mut slices = Vec::new();
    for i in 0..3 {
        let mut card = Card::connect(proxy.local_addr()).await;
        let job = card.login(&format!("card{i}")).await;
        slices.push(slice_of(&job));
        let (nonce, hash) = share(&job);
        assert_eq!(card.submit(&job, nonce, &hash).await, Ok("OK".into()));
        cards.push(card);
    }
    // One pool byte for everyone, disjoint counter ranges beneath it.
    assert!(slices
        .iter()
        .all(|s| s.fixed_byte() == slices[0].fixed_byte()));
    assert!(slices.iter().all(|s| s.len() < 1 << 24));
    assert!(disjoint(&slices), "{slices:?}");
    let up = pool.stats();
    assert_eq!((up.accepted, up.rejected.total()), (3, 0));
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn a_card_that_dies_hands_its_unleased_nonces_to_the_next_card() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let proxy = start_proxy(&[pool.local_addr()], "cn/0", Arc::new(Sha3ShareHasher)).await;
    let mut a = Card::connect(proxy.local_addr()).await;
    let mut b = Card::connect(proxy.local_addr()).await;
    let job_a = a.login("a").await;
    let job_b = b.login("b").await;
    drop(b);
    wait_until("card b seen as gone", || !proxy.stats().cards[1].connected).await;
    let mut c = Card::connect(proxy.local_addr()).await;
    let job_c = c.login("c").await;
    let slices = [slice_of(&job_a), slice_of(&job_b), slice_of(&job_c)];
    assert!(disjoint(&slices), "{slices:?}");
    // c continues b's block right after b's abandoned lease.
    assert_eq!(slices[2].fixed_byte(), slices[1].fixed_byte());
    assert_eq!(slices[2].start(), slices[1].end());
    assert_eq!(proxy.stats().reassigned, 1);
    let (nonce, hash) = share(&job_c);
    assert_eq!(c.submit(&job_c, nonce, &hash).await, Ok("OK".into()));
    // The next job goes to the live cards only.
    pool.new_job();
    let (next_a, _) = a.job().await;
    let (next_c, _) = c.job().await;
    assert!(disjoint(&[slice_of(&next_a), slice_of(&next_c)]));
    let (nonce, hash) = share(&next_a);
    assert_eq!(a.submit(&next_a, nonce, &hash).await, Ok("OK".into()));
    assert_eq!(pool.stats().accepted, 2);
    stop(proxy, vec![pool]).await;
}

#[tokio::test]
async fn a_gone_cards_unleased_nonces_go_to_the_next_card_and_its_shares_are_accepted() {
    let pool = upstream("cn/0", DIFFICULTY, Fault::None, Arc::new(Sha3ShareHasher)).await;
    let mut config = ProxyConfig::new(
        "127.0.0.1:0".parse().expect("addr"),
        client_config(&[pool.local_addr()], "cn/0"),
    );
    config.lease_len = 1 << 16;
    let proxy = proxy::start(config, Arc::new(Sha3ShareHasher))
        .await
        .expect("proxy starts");
    wait_until("first upstream job", || proxy.stats().jobs >= 1).await;

    let mut a = Card::connect(proxy.local_addr()).await;
    let first = slice_of(&a.login("dies").await);
    let second = slice_of(&a.getjob().await);
    assert_eq!(first.fixed_byte(), second.fixed_byte());
    assert_eq!((first.len(), second.start()), (1 << 16, first.end()));
    let mut other = Card::connect(proxy.local_addr()).await;
    let other_slice = slice_of(&other.login("stays").await);
    assert_ne!(other_slice.fixed_byte(), first.fixed_byte());
    drop(a);
    wait_until("the proxy sees the card go", || proxy.stats().orphaned > 0).await;

    // The card comes back (or a new one arrives): it continues the dead card's block after the
    // abandoned lease, not a fresh byte; nothing is leased twice.
    let mut b = Card::connect(proxy.local_addr()).await;
    let job = b.login("dies").await;
    let adopted = slice_of(&job);
    assert_eq!(adopted.fixed_byte(), first.fixed_byte());
    assert_eq!(adopted.start(), second.end());
    assert!(disjoint(&[first, second, other_slice, adopted]));
    let st = proxy.stats();
    assert_eq!((st.reassigned, st.orphaned), (1, 0));
    let row = st
        .cards
        .iter()
        .rev()
        .find(|c| c.login == "dies")
        .expect("row");
    assert_eq!((row.adopted, row.connected), (1, true));
    // Its shares from the adopted lease are accepted upstream.
    let (nonce, hash) = share(&job);
    assert!(adopted.contains_nonce(nonce));
    assert_eq!(b.submit(&job, nonce, &hash).await, Ok("OK".into()));
    stop(proxy, vec![pool]).await;
}
