//! A rig of two real agents behind the proxy follows an algorithm-switching pool (issue 21): the
//! proxy logs in upstream once and offers the cards' summed algo-perf in a `getjob`, forwards
//! each job's algorithm, each switch happens at the next job the pool sends, and every share is
//! accepted on the algorithm of its job, none lost.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_host::proxy::ProxyHandle;
use phirig_host::share_hasher::KernelShareHasher;
use phirig_pool::client::Timeouts;
use phirig_pool::protocol::AlgoPerf;
use phirig_pool::server::{AlgoValues, ServerConfig, ServerHandle, ShareHasher, WorkerStats};
use phirig_test_support::algo_perf::same_perf;
use phirig_test_support::local_agent::LocalAgent;
use phirig_wire::Profile;

use super::setup::{start_pool, start_proxy_with, stop};

const PHIRIG: &str = env!("CARGO_BIN_EXE_phirig");
const PICO: &str = "cn-pico";
const LITE: &str = "cn-lite/1";
/// Two one-thread agents and a verifying pool on two shared cores: generous.
const PATIENCE: Duration = Duration::from_secs(120);

fn values(pico: f64, lite: f64) -> AlgoValues {
    [(PICO.to_string(), pico), (LITE.to_string(), lite)]
        .into_iter()
        .collect()
}

/// The pool and the proxy the test watches: a wait that times out shows what both had seen,
/// so a failure on a loaded CI machine can be read from its log.
#[derive(Clone, Copy)]
struct Rig<'a> {
    pool: &'a ServerHandle,
    proxy: &'a ProxyHandle,
}

impl Rig<'_> {
    async fn until(self, what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < PATIENCE,
                "timed out after {PATIENCE:?} waiting for {what}\n{}",
                self.state()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The pool's counters, the proxy's upstream session (reconnects and why) and its cards.
    fn state(self) -> String {
        let proxy = self.proxy.stats();
        format!(
            "pool: {:?}\nproxy upstream: {:?}\ncards: {:?}",
            self.pool.stats(),
            proxy.upstream,
            proxy.cards
        )
    }
}

fn card(proxy: &ProxyHandle, name: &str, profile: &str) -> LocalAgent {
    let url = format!("stratum+tcp://{}", proxy.local_addr());
    let mut cmd = Command::new(PHIRIG);
    cmd.args(["agent", "-o", &url, "-u", name, "-a", PICO, "-t", "1"])
        .args(["--rig", "--no-journal", "--profile", profile])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    LocalAgent::spawn(&mut cmd).expect("spawning an agent")
}

/// The proxy is the pool's only worker.
fn upstream_worker(pool: &ServerHandle) -> Option<WorkerStats> {
    pool.stats().workers.into_values().next()
}

/// Changes the values and checks the switch lands on the very next job the pool sends: the
/// first job after the last one before the change is already on `algo`.
async fn switch_to(rig: Rig<'_>, values: AlgoValues, algo: &str) {
    let pool = rig.pool;
    let before = upstream_worker(pool)
        .and_then(|w| w.newest_job().map(str::to_string))
        .expect("a job was sent");
    pool.set_algo_values(values);
    let mut next = None;
    rig.until("the next job", || {
        next = upstream_worker(pool).and_then(|w| {
            w.jobs_after(&before)
                .and_then(|j| j.first().map(|j| j.algo.clone()))
        });
        next.is_some()
    })
    .await;
    assert_eq!(
        next.as_deref(),
        Some(algo),
        "the switch waited for a later job\n{}",
        rig.state()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rig_of_two_cards_follows_the_switching_pool_and_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = dir.path().join("profile.json");
    let profile = profile.to_str().expect("utf-8 path");
    let tuned = Command::new(PHIRIG)
        .args([
            "agent",
            "tune",
            "--algo",
            "cn-pico,cn-lite/1",
            "--round-ms",
            "100",
        ])
        .args(["--pairs", "1", "--profile", profile])
        .output()
        .expect("running tune");
    assert!(
        tuned.status.success(),
        "{}",
        String::from_utf8_lossy(&tuned.stderr)
    );

    let hasher: Arc<dyn ShareHasher> = Arc::new(KernelShareHasher::default());
    let config = ServerConfig {
        algo: PICO.into(),
        start_difficulty: 100,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        switching: Some(values(1.0, 0.0001)),
        ..ServerConfig::default()
    };
    let pool = start_pool(config, hasher.clone()).await;
    // This pool sends a job only when asked (no timer job can race a switch), so its quiet while
    // slow cards find shares is no hang: the product's idle timeout, not the test bed's 10 s.
    let proxy = start_proxy_with(&[pool.local_addr()], PICO, hasher, |c| {
        c.upstream.timeouts.idle = Timeouts::default().idle;
    })
    .await;
    let _a = card(&proxy, "card-a", profile);
    let _b = card(&proxy, "card-b", profile);
    let rig = Rig {
        pool: &pool,
        proxy: &proxy,
    };

    // Two cards joining cost one upstream login; their sum arrives in a getjob.
    let tuned: Profile =
        serde_json::from_str(&std::fs::read_to_string(profile).expect("profile")).expect("json");
    let one = AlgoPerf::new(tuned.algo_perf());
    let summed = AlgoPerf::sum([&one, &one]);
    // The pool reads the sum from JSON, which may change its last bit.
    rig.until(
        &format!("the rig's summed algo-perf upstream, {summed:?}"),
        || {
            upstream_worker(&pool)
                .and_then(|w| w.algo_perf)
                .is_some_and(|p| same_perf(&p, &summed))
        },
    )
    .await;
    let up = pool.stats();
    assert_eq!(up.logins, 1, "the proxy logged in again:\n{}", rig.state());
    assert!(up.perf_offers >= 1, "{up:?}");

    rig.until("shares on cn-pico", || pool.stats().accepted_on(PICO) >= 2)
        .await;
    switch_to(rig, values(0.0001, 1.0), LITE).await;
    rig.until("shares on cn-lite/1", || {
        pool.stats().accepted_on(LITE) >= 2
    })
    .await;
    let pico = pool.stats().accepted_on(PICO);
    switch_to(rig, values(1.0, 0.0001), PICO).await;
    rig.until("shares on cn-pico again", || {
        pool.stats().accepted_on(PICO) >= pico + 2
    })
    .await;

    let up = pool.stats();
    // Every share is verified on its own job's algorithm: one hashed on the old algorithm but
    // sent against a job of the new one would be rejected here as an invalid result.
    assert_eq!(
        (up.rejected.invalid_result, up.rejected.low_difficulty),
        (0, 0),
        "{up:?}"
    );
    assert_eq!(up.logins, 1, "the proxy logged in again:\n{}", rig.state());
    assert_eq!(
        up.rejected.total(),
        0,
        "rejected upstream: {:?}",
        up.rejected
    );
    let cards = proxy.stats().cards;
    assert_eq!(cards.len(), 2, "{cards:?}");
    for c in &cards {
        assert_eq!(c.shares.invalid, 0, "{c:?}");
        assert!(!c.flagged, "{c:?}");
    }
    // None lost: every share the cards had accepted was accepted upstream, and the reverse.
    rig.until("the proxy's books to match the pool's", || {
        let by_cards: u64 = proxy.stats().cards.iter().map(|c| c.shares.accepted).sum();
        by_cards == pool.stats().accepted
    })
    .await;
    stop(proxy, vec![pool]).await;
}
