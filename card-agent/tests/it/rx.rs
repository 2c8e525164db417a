//! rx/0 end to end: a real agent in RandomX light mode against the verifying pool, its API
//! describing the rx workers, through a malformed seed (refused, the previous job keeps running),
//! the next seed announced (built ahead) and a seed change mid-run (no share of the old seed
//! follows).

use std::time::Duration;

use crate::support::{easy_config, heavy, pool_url, runtime, start_pool, Agent, PATIENCE};
use phirig_pool::server::ServerConfig;

/// Light mode hashes at 15 to 50 H/s per loaded core here: a share every second or two.
const DIFFICULTY: u64 = 25;
const SEED_A: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a";
const SEED_B: &str = "0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b";

/// The pool job ids the agent logged as received with `seed`.
fn jobs_with_seed(logs: &str, seed: &str) -> Vec<String> {
    logs.lines()
        .filter(|l| l.contains("algo rx/0") && l.ends_with(&format!("seed {seed}")))
        .filter_map(|l| {
            l.split("new job ")
                .nth(1)?
                .split(' ')
                .next()
                .map(str::to_string)
        })
        .collect()
}

#[test]
fn mines_rx0_refuses_a_bad_seed_and_switches_seeds_cleanly() {
    let _one = heavy();
    let rt = runtime();
    let pool = start_pool(
        &rt,
        ServerConfig {
            seed_hash: Some(SEED_A.into()),
            job_interval: Duration::ZERO,
            ..easy_config("rx/0", DIFFICULTY)
        },
    );
    let urls = [pool_url(&pool)];
    let agent = Agent::spawn(
        &[
            "-o",
            &urls[0],
            "-u",
            "rx-wallet",
            "-t",
            "1",
            "--rx-mode",
            "light",
            "--print-time",
            "1",
        ],
        &[],
    );
    agent.wait_log("rx/0: light (cache only) mode", PATIENCE);

    // 1. Shares on seed A, verified by the pool in light mode with A.
    agent.until("two accepted rx/0 shares", PATIENCE, || {
        (pool.stats().accepted_on("rx/0") >= 2).then_some(())
    });
    let summary = agent.get_ok("/2/summary", None);
    assert_eq!(summary["algo"], "rx/0");
    // The rx workers, as xmrig counts them: the cache's 128 pages of 2 MiB and one scratchpad.
    assert_eq!(summary["hugepages"][1], 129, "{summary}");
    assert_eq!(
        summary["hashrate"]["threads"].as_array().map(Vec::len),
        Some(1)
    );
    assert!(summary["algorithms"]
        .as_array()
        .is_some_and(|a| a.contains(&"rx/0".into())));
    let backends = agent.get_ok("/2/backends", None);
    let cpu = &backends[0];
    assert_eq!(cpu["algo"], "rx/0", "{backends}");
    assert_eq!(cpu["rx"]["mode"], "light", "{backends}");
    assert_eq!(cpu["rx"]["seed"], SEED_A, "{backends}");
    assert!(cpu["rx"]["dataset"].is_null(), "{backends}");
    assert_eq!(cpu["rx"]["cache_bytes"], 256 << 20, "{backends}");
    let thread = &cpu["threads"][0];
    assert_eq!(thread["algo"], "rx/0", "{backends}");
    assert_eq!(thread["intensity"], 1, "{backends}");
    assert_eq!(
        thread["pages"].as_array().map(Vec::len),
        Some(1),
        "{backends}"
    );
    let counters = agent.get_ok("/v1/counters", None);
    assert_eq!(counters["hugepages"], summary["hugepages"]);
    assert_eq!(counters["aes"], thread["aes"], "the rx path: {counters}");

    // 2. A malformed seed: refused, and the job on A keeps being mined.
    pool.set_seed_hash("12345");
    agent.wait_log("is not 64 hex digits", PATIENCE);
    assert!(agent.logs().contains("the previous job keeps running"));
    let before = agent.hashes(None);
    agent.until("hashing on after the refusal", PATIENCE, || {
        (agent.hashes(None) > before + 5).then_some(())
    });

    // 3. The pool announces seed B as the next one: the agent builds B's epoch ahead while A's
    // job runs, and the switch to B builds nothing.
    pool.set_seed_hash(SEED_A);
    pool.set_next_seed_hash(Some(SEED_B));
    agent.wait_log(
        &format!("building the next seed {SEED_B}'s epoch ahead"),
        PATIENCE,
    );
    agent.wait_log("built ahead:", PATIENCE);
    pool.set_seed_hash(SEED_B);
    agent.wait_log(&format!("mining on seed {SEED_B}"), PATIENCE);
    assert!(
        !agent
            .logs()
            .contains(&format!("building the dataset of seed {SEED_B}")),
        "seed B was built again when its job came"
    );
    let accepted = pool.stats().accepted_on("rx/0");
    agent.until("two accepted shares on seed B", PATIENCE, || {
        (pool.stats().accepted_on("rx/0") >= accepted + 2).then_some(())
    });

    let logs = agent.logs();
    let switch = logs
        .find(&format!("mining on seed {SEED_B}"))
        .expect("switch line");
    let b_jobs = jobs_with_seed(&logs, SEED_B);
    assert!(!b_jobs.is_empty(), "{logs}");
    let after: Vec<&str> = logs[switch..]
        .lines()
        .filter(|l| l.contains("found share"))
        .collect();
    assert!(!after.is_empty(), "no share after the switch:\n{logs}");
    for line in &after {
        let job = line.rsplit(' ').next().unwrap_or_default();
        assert!(
            b_jobs.iter().any(|b| b == job),
            "a share of a seed-A job after the switch: {line}\n{logs}"
        );
    }
    let stats = pool.stats();
    assert_eq!(stats.rejected.total(), 0, "{stats:?}\n{logs}");
}

/// `hash --algo rx/0 --seed` against the reference implementation's vectors.
#[test]
fn hash_command_gives_the_reference_vectors() {
    let text = include_str!("../../../testdata/randomx.txt");
    let mut checked = 0;
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split('|').collect();
        let out = std::process::Command::new(crate::support::AGENT)
            .args(["hash", "--algo", "rx/0", "--seed", &hex::encode(f[0])])
            .arg(hex::encode(f[1]))
            .output()
            .expect("running phirig-agent hash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), f[2], "{line}");
        checked += 1;
    }
    assert!(checked >= 4);
}
