//! End-to-end (issue 5): a real `phirig-agent` process mining against the reference pool on loopback.

use std::time::{Duration, Instant};

use crate::support::{
    easy_config, heavy, pool_url, run_agent, runtime, start_pool, Agent, PATIENCE,
};
use phirig_pool::server::Fault;
use phirig_test_support::loopback::free_port;
use serde_json::Value;

/// cn-pico is the cheapest variant (256 KiB, 1/8 of cn/0's iterations): one loaded core does
/// about 150 H/s, so difficulty 100 gives a share every second or so and little to verify.
const ALGO: &str = "cn-pico";
const DIFFICULTY: u64 = 100;

/// Mining flags every mining test shares: one thread, a quick console line.
fn mine_args<'a>(urls: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = Vec::new();
    for u in urls {
        args.extend(["-o", u.as_str()]);
    }
    args.extend([
        "-u",
        "e2e-wallet",
        "-a",
        ALGO,
        "-t",
        "1",
        "--print-time",
        "1",
    ]);
    args.extend_from_slice(extra);
    args
}

fn is_rate(v: &Value) -> bool {
    v.is_null() || v.as_f64().is_some_and(|x| x >= 0.0)
}

fn assert_rate_triple(v: &Value, what: &str) {
    let a = v
        .as_array()
        .unwrap_or_else(|| panic!("{what} is not an array: {v}"));
    assert_eq!(a.len(), 3, "{what}: {v}");
    assert!(a.iter().all(is_rate), "{what}: {v}");
}

/// Every key an xmrig dashboard reads from `/1/summary` and `/2/summary`.
fn assert_xmrig_summary(s: &Value) {
    let hr = &s["hashrate"];
    assert_rate_triple(&hr["total"], "hashrate.total");
    assert!(hr["highest"].as_f64().is_some(), "hashrate.highest: {s}");
    let threads = hr["threads"].as_array().expect("hashrate.threads array");
    assert_eq!(threads.len(), 1, "one thread asked for");
    assert_rate_triple(&threads[0], "hashrate.threads[0]");
    let r = &s["results"];
    for k in [
        "diff_current",
        "shares_good",
        "shares_total",
        "avg_time",
        "hashes_total",
    ] {
        assert!(r[k].as_u64().is_some(), "results.{k}: {s}");
    }
    let best = r["best"].as_array().expect("results.best array");
    assert_eq!(best.len(), 10);
    assert!(best.iter().all(|b| b.as_u64().is_some()));
    let c = &s["connection"];
    assert!(c["pool"].is_string(), "connection.pool: {s}");
    for k in ["uptime", "ping", "failures", "accepted", "rejected"] {
        assert!(c[k].as_u64().is_some(), "connection.{k}: {s}");
    }
    let hp = s["hugepages"].as_array().expect("hugepages array");
    assert_eq!(hp.len(), 2);
    assert!(hp[0].as_u64() <= hp[1].as_u64());
    assert!(s["cpu"].is_object(), "cpu: {s}");
    assert_eq!(s["algo"], ALGO);
    // The crate version, with the build fingerprint after a `+` (semver build metadata).
    let version = s["version"].as_str().expect("version");
    assert!(
        version == env!("CARGO_PKG_VERSION")
            || version.starts_with(concat!(env!("CARGO_PKG_VERSION"), "+")),
        "version {version}"
    );
    assert!(s["worker_id"].is_string(), "worker_id: {s}");
}

/// Shares found, verified by the pool with the kernel, accepted; the API in xmrig's shape;
/// counters that move; the token rules for control; pause/resume; the console line; SIGTERM.
#[test]
fn mines_serves_the_api_and_stops_cleanly() {
    let _one = heavy();
    let started = Instant::now();
    let rt = runtime();
    let pool = start_pool(&rt, easy_config(ALGO, DIFFICULTY));
    let urls = [pool_url(&pool)];
    let token = "e2e-Tok3n-7f3a9c";
    let mut agent = Agent::spawn(&mine_args(&urls, &["--http-access-token", token]), &[]);

    // The 15-minute window cannot be full this early: xmrig reports null, not zero.
    let early = agent.get_ok("/1/summary", None);
    assert!(early["hashrate"]["total"][2].is_null(), "{early}");

    // 1. Shares are found, verified and accepted.
    agent.until("two accepted shares", PATIENCE, || {
        (pool.stats().accepted >= 2).then_some(())
    });
    let stats = pool.stats();
    assert_eq!(stats.rejected.total(), 0, "rejected: {:?}", stats.rejected);
    agent.until("the agent to count the accepted shares", PATIENCE, || {
        let s = agent.get_ok("/2/summary", None);
        (s["results"]["shares_good"].as_u64() >= Some(1)).then_some(())
    });

    // 2. The API, in xmrig's shape.
    for path in ["/1/summary", "/2/summary"] {
        let s = agent.get_ok(path, None);
        assert_xmrig_summary(&s);
        assert!(s["results"]["hashes_total"].as_u64() > Some(0));
        assert_eq!(s["results"]["diff_current"], DIFFICULTY);
        assert_eq!(s["connection"]["rejected"], 0);
        assert!(s["connection"]["accepted"].as_u64() >= Some(1));
        let best = s["results"]["best"][0].as_u64().expect("best[0]");
        assert!(best >= DIFFICULTY, "best share {best} < difficulty");
        let url = s["connection"]["pool"].as_str().expect("pool");
        assert!(
            url.contains(&pool.local_addr().port().to_string()),
            "pool {url}"
        );
        // Plain TCP to a loopback pool: its address, and no TLS to report.
        assert_eq!(s["connection"]["ip"], pool.local_addr().ip().to_string());
        assert!(s["connection"]["tls"].is_null(), "{s}");
        assert!(s["connection"]["tls-fingerprint"].is_null(), "{s}");
    }
    // The 10 s window fills after ten one-second samples.
    agent.until("hashrate.total[0] to fill", PATIENCE, || {
        let s = agent.get_ok("/1/summary", None);
        s["hashrate"]["total"][0]
            .as_f64()
            .filter(|r| *r > 0.0)
            .map(|_| ())
    });
    let backends = agent.get_ok("/2/backends", None);
    let cpu = &backends[0];
    assert_eq!(cpu["type"], "cpu", "{backends}");
    let t0 = &cpu["threads"][0];
    assert!(t0["intensity"].as_u64() >= Some(1), "{backends}");
    assert!(t0["aes"].is_string(), "{backends}");
    assert_rate_triple(&t0["hashrate"], "backends threads[0].hashrate");

    let c1 = agent.get_ok("/v1/counters", None);
    std::thread::sleep(Duration::from_millis(1500));
    let c2 = agent.get_ok("/v1/counters", None);
    assert_eq!(c1["boot_id"], c2["boot_id"]);
    assert!(c1["boot_id"].as_str().is_some_and(|b| !b.is_empty()));
    assert!(c2["monotonic_ns"].as_u64() > c1["monotonic_ns"].as_u64());
    let h = |c: &Value| {
        c["threads"][0]["hashes"]
            .as_u64()
            .expect("threads[0].hashes")
    };
    assert!(h(&c2) > h(&c1), "hashes did not grow: {c1} {c2}");
    assert!(c2["shares"]["accepted"].as_u64() >= Some(1), "{c2}");
    assert_eq!(c2["shares"]["rejected"], 0);

    // 3. Control needs the token: 401 without, 403 wrong, 200 right.
    assert_eq!(agent.rpc("pause", None).0, 401);
    assert_eq!(agent.rpc("pause", Some("not-the-token")).0, 403);
    assert!(!agent.get_ok("/1/summary", None)["paused"]
        .as_bool()
        .expect("paused"));
    let (status, reply) = agent.rpc("pause", Some(token));
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["status"], "OK", "{reply}");
    // A batch in flight may still finish; after that the counters must stand still.
    std::thread::sleep(Duration::from_millis(1000));
    let p1 = agent.hashes(None);
    std::thread::sleep(Duration::from_millis(1500));
    let p2 = agent.hashes(None);
    assert_eq!(p1, p2, "hashing went on while paused");
    assert!(agent.get_ok("/1/summary", None)["paused"]
        .as_bool()
        .expect("paused"));
    assert_eq!(agent.rpc("resume", Some(token)).0, 200);
    agent.until("hashing to resume", PATIENCE, || {
        (agent.hashes(None) > p2).then_some(())
    });
    let (status, reply) = agent.rpc("no-such-method", Some(token));
    assert_eq!(status, 200);
    assert!(reply["error"].is_object(), "{reply}");

    // The console status line, every --print-time seconds.
    agent.until("two console status lines", PATIENCE, || {
        (agent.logs().matches("speed 10s/60s/15m").count() >= 2).then_some(())
    });
    assert!(agent.logs().contains("| accepted "), "{}", agent.logs());

    // 4. SIGTERM: clean exit 0 within a few seconds.
    agent.signal(libc::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(10))
        .expect("agent still running 10 s after SIGTERM");
    assert!(status.success(), "exit status {status}");
    let logs = agent.logs();
    assert!(logs.contains("SIGTERM"), "{logs}");
    assert!(!logs.contains(token), "the token leaked into the logs");
    assert!(!logs.contains("panicked"), "{logs}");
    assert_eq!(pool.stats().rejected.total(), 0);
    eprintln!(
        "mines_serves_the_api_and_stops_cleanly: {:?}",
        started.elapsed()
    );
}

/// With `--restricted-read` every GET needs the token too (given here through the environment).
#[test]
fn restricted_read_needs_the_token_everywhere() {
    let token = "e2e-R3ad-Tok3n-51c2";
    // No pool listening: the API must answer while the client retries.
    let dead = format!("127.0.0.1:{}", free_port());
    let urls = [dead];
    let mut agent = Agent::spawn(
        &mine_args(&urls, &["--restricted-read", "--retry-pause", "1"]),
        &[("PHIRIG_HTTP_TOKEN", token)],
    );
    for path in ["/1/summary", "/2/summary", "/2/backends", "/v1/counters"] {
        assert_eq!(agent.get(path, None).0, 401, "{path} without a token");
        assert_eq!(agent.get(path, Some("wrong")).0, 403, "{path} wrong token");
        agent.get_ok(path, Some(token));
    }
    assert_eq!(agent.rpc("stop", None).0, 401);
    assert_eq!(agent.rpc("stop", Some("wrong")).0, 403);
    assert!(agent.running(), "a refused stop stopped the agent");
    // `stop` through the API: the same clean exit as SIGTERM.
    assert_eq!(agent.rpc("stop", Some(token)).0, 200);
    let status = agent
        .wait_exit(Duration::from_secs(15))
        .expect("agent still running after stop");
    assert!(status.success(), "exit status {status}");
    assert!(
        !agent.logs().contains(token),
        "the token leaked into the logs"
    );
}

/// A pool that goes silent is left for the next one, and mining returns when it recovers; the
/// agent process is never restarted.
#[test]
fn silent_pool_fails_over_and_back() {
    let _one = heavy();
    let started = Instant::now();
    let rt = runtime();
    let primary = start_pool(&rt, easy_config(ALGO, DIFFICULTY));
    let backup = start_pool(&rt, easy_config(ALGO, DIFFICULTY));
    let urls = [pool_url(&primary), pool_url(&backup)];
    let mut agent = Agent::spawn(
        &mine_args(
            &urls,
            &[
                "--response-timeout",
                "2",
                "--retry-pause",
                "1",
                "--probe-interval",
                "2",
            ],
        ),
        &[],
    );
    let pid = agent.pid();
    agent.until("a share accepted by the primary", PATIENCE, || {
        (primary.stats().accepted >= 1).then_some(())
    });
    // The backup is the hot standby (logged in, not mining): it gets no shares.
    let b = backup.stats();
    assert_eq!(
        (b.accepted, b.rejected.total()),
        (0, 0),
        "backup mined on while primary healthy"
    );

    primary.set_fault(Fault::SilentAfterLogin);
    agent.until("a share accepted by the backup", PATIENCE, || {
        (backup.stats().accepted >= 1).then_some(())
    });
    let s = agent.get_ok("/1/summary", None);
    assert!(s["connection"]["failures"].as_u64() >= Some(1), "{s}");

    // The primary recovers: the background probe brings mining back to it.
    let before = primary.stats().accepted;
    primary.set_fault(Fault::None);
    agent.until("mining back on the primary", PATIENCE, || {
        (primary.stats().accepted > before).then_some(())
    });
    assert!(agent.running(), "the agent exited");
    assert_eq!(agent.pid(), pid);
    assert_eq!(primary.stats().rejected.total(), 0);
    assert_eq!(backup.stats().rejected.total(), 0);
    eprintln!("silent_pool_fails_over_and_back: {:?}", started.elapsed());
}

/// A connection reset by the only pool: the agent reconnects to it and shares flow again.
#[test]
fn reset_connection_reconnects() {
    let _one = heavy();
    let started = Instant::now();
    let rt = runtime();
    let pool = start_pool(&rt, easy_config(ALGO, DIFFICULTY));
    let urls = [pool_url(&pool)];
    let mut agent = Agent::spawn(
        &mine_args(&urls, &["--response-timeout", "2", "--retry-pause", "1"]),
        &[],
    );
    agent.until("a first accepted share", PATIENCE, || {
        (pool.stats().accepted >= 1).then_some(())
    });
    // Reset is replayed on every new connection while set; clear it once the agent reconnected.
    pool.set_fault(Fault::Reset);
    agent.until("a reconnection", PATIENCE, || {
        (pool.stats().connections_total >= 2).then_some(())
    });
    let before = pool.stats().accepted;
    pool.set_fault(Fault::None);
    agent.until("shares accepted after the reconnection", PATIENCE, || {
        (pool.stats().accepted > before).then_some(())
    });
    let s = agent.get_ok("/1/summary", None);
    assert!(s["connection"]["failures"].as_u64() >= Some(1), "{s}");
    assert!(agent.running(), "the agent exited");

    // The pool goes away for good: its last job is stale, so hashing must stop, not go on.
    rt.block_on(pool.shutdown());
    agent.until("hashing to stop once the pool is gone", PATIENCE, || {
        let a = agent.hashes(None);
        std::thread::sleep(Duration::from_millis(1000));
        (agent.hashes(None) == a).then_some(())
    });
    agent.signal(libc::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(10))
        .expect("agent still running 10 s after SIGTERM while disconnected");
    assert!(status.success(), "exit status {status}");
    eprintln!("reset_connection_reconnects: {:?}", started.elapsed());
}

/// A job naming an algorithm the agent does not know is refused with a clear line; the agent
/// neither panics nor exits, and its API keeps answering.
#[test]
fn unknown_algorithm_job_is_refused_and_the_agent_lives_on() {
    let rt = runtime();
    let pool = start_pool(&rt, easy_config("cn/nonsense", DIFFICULTY));
    let urls = [pool_url(&pool)];
    let mut agent = Agent::spawn(&mine_args(&urls, &[]), &[]);
    agent.wait_log("unknown algorithm", PATIENCE);
    let logs = agent.logs();
    let line = logs
        .lines()
        .find(|l| l.contains("unknown algorithm"))
        .expect("the refusal line");
    assert!(
        line.contains("ERROR") && line.contains("\"cn/nonsense\""),
        "unclear refusal: {line}"
    );
    // No job was running before, and the log must not claim one is.
    assert!(
        line.contains("no job to mine"),
        "misleading refusal: {line}"
    );
    std::thread::sleep(Duration::from_millis(500));
    assert!(agent.running(), "the agent exited on a bad job");
    let s = agent.get_ok("/1/summary", None);
    assert_eq!(s["algo"], ALGO, "the refused algorithm was adopted");
    assert!(!agent.logs().contains("panicked"), "{}", agent.logs());
}

/// `hash` refuses bad input with a readable one-line error and a non-zero exit.
#[test]
fn hash_command_refuses_bad_input() {
    let limit = Duration::from_secs(60);
    let (status, _, err) = run_agent(&["hash", "--algo", "cn/nope", "00"], limit);
    assert!(!status.success());
    assert!(err.contains("cn/nope"), "{err}");

    let (status, _, err) = run_agent(&["hash", "--algo", "cn/r", "00"], limit);
    assert!(!status.success());
    assert!(err.contains("--height"), "{err}");

    let short = "00".repeat(42);
    let (status, _, err) = run_agent(&["hash", "--algo", "cn/1", &short], limit);
    assert!(!status.success());
    assert!(err.contains("43") && err.contains("42"), "{err}");

    let (status, _, err) = run_agent(&["hash", "--algo", "cn/0", "zz"], limit);
    assert!(!status.success());
    assert!(err.contains("hex"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "not one line: {err}");

    // And good input still hashes: the first published cn/0 vector.
    let vectors = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/cryptonight.txt"
    ));
    let (input, expected) = vectors
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && f[0] == "cn/0").then(|| (f[1].to_string(), f[2].to_string()))
        })
        .expect("a cn/0 vector");
    let (status, out, err) = run_agent(&["hash", "--algo", "cn/0", &input], limit);
    assert!(status.success(), "{err}");
    assert_eq!(out.trim(), expected);
}

/// `phirig-agent bench --algo ALGO --threads 1 --json` for `seconds`, plus `extra` flags: the one
/// JSON object it prints.
fn bench_json(seconds: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "bench",
        "--algo",
        ALGO,
        "--seconds",
        seconds,
        "--threads",
        "1",
        "--json",
    ];
    args.extend_from_slice(extra);
    let (status, out, err) = run_agent(&args, Duration::from_secs(120));
    assert!(status.success(), "{err}");
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one JSON object expected: {out}");
    serde_json::from_str(lines[0]).expect("bench output is JSON")
}

/// `bench --json` prints one object with the documented keys, and RSS stays within the
/// scratchpads plus 32 MiB.
#[test]
fn bench_json_has_every_key_and_bounded_rss() {
    let _one = heavy();
    let r = bench_json("1", &[]);
    for k in [
        "algo",
        "threads",
        "intensity",
        "aes",
        "vaes",
        "hugepages",
        "rss_bytes",
        "total_hs",
        "thread_hs",
    ] {
        assert!(r.get(k).is_some(), "missing {k}: {r}");
    }
    assert_eq!(r["algo"], ALGO);
    assert_eq!(
        r["vaes"],
        phirig_kernel::cn::AesPath::Hardware.wide(),
        "{r}"
    );
    assert_eq!(r["threads"], 1);
    assert!(r["total_hs"].as_f64() > Some(0.0), "{r}");
    assert_eq!(r["thread_hs"].as_array().map(Vec::len), Some(1));
    let intensity = r["intensity"].as_u64().expect("intensity");
    let scratchpads = intensity * (256 << 10);
    let rss = r["rss_bytes"].as_u64().expect("rss_bytes");
    assert!(rss > 0, "{r}");
    assert!(
        rss <= scratchpads + (32 << 20),
        "RSS {rss} > scratchpads {scratchpads} + 32 MiB"
    );

    // `--no-vaes` keeps explode and implode on AES-NI, and the report says so (on a CPU
    // without VAES both runs say false; the check has teeth where VAES exists).
    let r = bench_json("0.5", &["--no-vaes"]);
    assert_eq!(r["vaes"], false, "{r}");
    assert!(r["total_hs"].as_f64() > Some(0.0), "{r}");
}

/// The same miner from an xmrig-style `-c config.json` (pools[], cpu{}, http{} with a restricted
/// token); SIGINT stops it as cleanly as SIGTERM.
#[test]
fn xmrig_config_file_and_sigint() {
    let token = "e2e-C0nfig-Tok3n-88d1";
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.json");
    let dead = format!("127.0.0.1:{}", free_port());
    let config = serde_json::json!({
        "algo": ALGO,
        "pools": [{"url": dead, "user": "e2e-wallet", "pass": "x"}],
        "cpu": {"threads": 1, "huge-pages": false},
        "http": {"enabled": true, "access-token": token, "restricted": true},
        "print-time": 1,
        "retry-pause": 1,
    });
    std::fs::write(&path, config.to_string()).expect("writing the config");
    let path = path.to_str().expect("utf-8 temp path");
    let mut agent = Agent::spawn(&["-c", path], &[]);
    assert_eq!(agent.get("/1/summary", None).0, 401);
    assert_eq!(agent.get("/1/summary", Some("wrong")).0, 403);
    let s = agent.get_ok("/1/summary", Some(token));
    assert_eq!(s["algo"], ALGO);
    assert_eq!(
        s["hashrate"]["threads"].as_array().map(Vec::len),
        Some(1),
        "cpu.threads from the file: {s}"
    );
    // Nothing to mine while the pool is unreachable.
    assert_eq!(s["results"]["hashes_total"], 0, "{s}");
    agent.wait_log("speed 10s/60s/15m", PATIENCE);

    agent.signal(libc::SIGINT);
    let status = agent
        .wait_exit(Duration::from_secs(10))
        .expect("agent still running 10 s after SIGINT");
    assert!(status.success(), "exit status {status}");
    assert!(
        !agent.logs().contains(token),
        "the token leaked into the logs"
    );
}
