//! algo-perf (issue 21): the agent's login tells an algorithm-switching pool its tuned H/s per
//! algorithm and the configured `algo-min-time`, under MoneroOcean's keys; a changed profile
//! file is picked up while mining and offered in a `getjob`, not a new login.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{
    easy_config, heavy, pool_url, runtime, start_pool, tune_fresh, Agent, PATIENCE,
};
use phirig_pool::protocol::AlgoPerf;
use phirig_test_support::algo_perf::{same_perf, same_rate};
use phirig_wire::{AlgoBest, Profile};
use serde_json::Value;

#[test]
fn the_login_carries_algo_perf_matching_the_profile() {
    let _one = heavy();
    let tuned = tune_fresh(
        &["--algo", "cn-pico,cn-lite/1", "--round-ms", "100"],
        Duration::from_secs(120),
    );
    let (dir, profile_file, profile) = (&tuned.dir, tuned.file(), &tuned.profile);
    assert_eq!(profile.algos.len(), 2);

    // A pool that only records the login line.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_ok() {
                let _ = tx.send(line);
            }
        }
    });
    let config = dir.path().join("config.json");
    let doc = serde_json::json!({
        "pools": [{"url": format!("stratum+tcp://{addr}"), "user": "perf"}],
        "algo": "cn-pico",
        "algo-min-time": 45,
    });
    std::fs::write(&config, doc.to_string()).expect("write config");
    let config = config.to_str().expect("utf-8 path");
    let _agent = Agent::spawn(&["-c", config, "--profile", profile_file], &[]);

    let line = rx.recv_timeout(PATIENCE).expect("the agent logs in");
    let login: Value = serde_json::from_str(&line).expect("login is JSON");
    assert_eq!(login["method"], "login", "{login}");
    let params = &login["params"];
    let perf = params["algo-perf"].as_object().expect("algo-perf object");
    assert_eq!(perf.len(), profile.algos.len(), "{params}");
    for (algo, best) in &profile.algos {
        let sent = perf[algo].as_f64().expect("a number per algorithm");
        assert!(
            (sent - best.hs).abs() < 1e-9,
            "{algo}: sent {sent}, tuned {}",
            best.hs
        );
    }
    assert_eq!(params["algo-min-time"], 45, "{params}");
    let algos = params["algo"].as_array().expect("algo list");
    assert_eq!(algos[0], "cn-pico", "{params}");
}

#[test]
fn a_changed_profile_file_reaches_the_pool_in_a_getjob_without_a_new_login() {
    let _one = heavy();
    let t = tune_fresh(
        &["--algo", "cn-pico", "--round-ms", "100"],
        Duration::from_secs(120),
    );
    let (dir, path, file, tuned) = (&t.dir, &t.path, t.file(), &t.profile);

    let rt = runtime();
    let pool = start_pool(&rt, easy_config("cn-pico", 1000));
    let url = pool_url(&pool);
    let agent = Agent::spawn(
        &[
            "-o",
            &url,
            "-u",
            "watch",
            "-a",
            "cn-pico",
            "--profile",
            file,
        ],
        &[],
    );
    let offered = |pool: &phirig_pool::server::ServerHandle| {
        pool.stats()
            .workers
            .get("watch")
            .and_then(|w| w.algo_perf.clone())
    };
    let first = AlgoPerf::new(tuned.algo_perf());
    agent.until("the login's algo-perf", PATIENCE, || {
        offered(&pool)
            .is_some_and(|p| same_perf(&p, &first))
            .then_some(())
    });

    // A new tune's result lands in the file (written whole, then renamed, as `tune` does).
    let mut retuned = tuned.clone();
    let best = retuned.algos.get_mut("cn-pico").expect("cn-pico tuned");
    best.hs *= 2.0;
    best.intensity = best.intensity % 2 + 1;
    let tmp = dir.path().join("profile.json.tmp");
    std::fs::write(&tmp, serde_json::to_string(&retuned).expect("encode")).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
    // Doubled, the rate may read back from the file one bit off.
    let second = AlgoPerf::new(retuned.algo_perf());
    agent.until("the new algo-perf at the pool", PATIENCE, || {
        offered(&pool)
            .is_some_and(|p| same_perf(&p, &second))
            .then_some(())
    });
    let stats = pool.stats();
    assert_eq!(stats.logins, 1, "a new login was made: {stats:?}");
    assert!(stats.perf_offers >= 1, "{stats:?}");
    // The workers were re-planned from it: the API serves the new profile.
    let served: Profile =
        serde_json::from_value(agent.get_ok("/v1/profile", None)).expect("a profile");
    let (served, written) = (&served.algos["cn-pico"], &retuned.algos["cn-pico"]);
    // Its rate, read from the file and served as JSON, may differ in the last bit.
    assert!(same_rate(served.hs, written.hs), "{served:?}, {written:?}");
    let same_hs = AlgoBest {
        hs: written.hs,
        ..served.clone()
    };
    assert_eq!(&same_hs, written);
}
