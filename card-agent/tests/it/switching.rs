//! The reference pool's switching mode (issue 21): an agent that reports algo-perf follows the
//! best-paying algorithm there and back, every share verified on the algorithm of its job.

use std::time::Duration;

use crate::support::{
    easy_config, heavy, pool_url, run_agent, runtime, start_pool, Agent, PATIENCE,
};
use phirig_pool::server::{AlgoValues, ServerConfig};

const PICO: &str = "cn-pico";
const LITE: &str = "cn-lite/1";

fn values(pico: f64, lite: f64) -> AlgoValues {
    [(PICO.to_string(), pico), (LITE.to_string(), lite)]
        .into_iter()
        .collect()
}

#[test]
fn an_agent_follows_the_best_paying_algorithm_and_back() {
    let _one = heavy();
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = dir.path().join("profile.json");
    let profile = profile.to_str().expect("utf-8 path");
    let algos = format!("{PICO},{LITE}");
    let (status, _, err) = run_agent(
        &[
            "tune",
            "--algo",
            &algos,
            "--round-ms",
            "100",
            "--pairs",
            "1",
            "--profile",
            profile,
        ],
        Duration::from_secs(120),
    );
    assert!(status.success(), "{err}");

    let rt = runtime();
    let config = ServerConfig {
        switching: Some(values(1.0, 0.0001)),
        ..easy_config(PICO, 100)
    };
    let pool = start_pool(&rt, config);
    let url = pool_url(&pool);
    let args = [
        "-o",
        &url,
        "-u",
        "switch",
        "-a",
        PICO,
        "-t",
        "1",
        "--profile",
        profile,
        "--algo-min-time",
        "0",
    ];
    let agent = Agent::spawn(&args, &[]);

    agent.until("shares on cn-pico", PATIENCE, || {
        (pool.stats().accepted_on(PICO) >= 2).then_some(())
    });
    pool.set_algo_values(values(0.0001, 1.0));
    agent.until("shares on cn-lite/1", PATIENCE, || {
        (pool.stats().accepted_on(LITE) >= 2).then_some(())
    });
    let pico = pool.stats().accepted_on(PICO);
    pool.set_algo_values(values(1.0, 0.0001));
    agent.until("shares on cn-pico again", PATIENCE, || {
        (pool.stats().accepted_on(PICO) >= pico + 2).then_some(())
    });
    let stats = pool.stats();
    // A share hashed on the wrong algorithm would fail verification as low difficulty.
    assert_eq!(stats.rejected.total(), 0, "rejected: {:?}", stats.rejected);
    let s = agent.get_ok("/1/summary", None);
    assert_eq!(s["algo"], PICO, "{s}");
}
