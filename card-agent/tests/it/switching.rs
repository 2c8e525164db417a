//! The reference pool's switching mode (issue 21): an agent that reports algo-perf follows the
//! best-paying algorithm there and back, each switch at the next job the pool sends, every
//! share verified on the algorithm of its job.

use std::time::Duration;

use crate::support::{
    easy_config, heavy, pool_url, runtime, start_pool, tune_fresh, Agent, PATIENCE,
};
use phirig_pool::server::{AlgoValues, ServerConfig, ServerHandle};

const PICO: &str = "cn-pico";
const LITE: &str = "cn-lite/1";

fn values(pico: f64, lite: f64) -> AlgoValues {
    [(PICO.to_string(), pico), (LITE.to_string(), lite)]
        .into_iter()
        .collect()
}

/// Changes the values and checks the switch lands on the very next job the pool sends the
/// agent (worker `switch`): the first job after the last one before the change is on `algo`.
fn switch_to(agent: &Agent, pool: &ServerHandle, values: AlgoValues, algo: &str) {
    let worker = || pool.stats().workers.get("switch").cloned();
    let before = worker()
        .and_then(|w| w.newest_job().map(str::to_string))
        .expect("a job was sent");
    pool.set_algo_values(values);
    let next = agent.until("the next job", PATIENCE, || {
        worker().and_then(|w| {
            w.jobs_after(&before)
                .and_then(|j| j.first().map(|j| j.algo.clone()))
        })
    });
    assert_eq!(next, algo, "the switch waited for a later job");
}

#[test]
fn an_agent_follows_the_best_paying_algorithm_and_back() {
    let _one = heavy();
    let algos = format!("{PICO},{LITE}");
    let tuned = tune_fresh(
        &["--algo", &algos, "--round-ms", "100"],
        Duration::from_secs(120),
    );
    let profile = tuned.file();

    let rt = runtime();
    let config = ServerConfig {
        switching: Some(values(1.0, 0.0001)),
        // No timer job: one sent between `switch_to` reading the newest job and the change
        // would be on the old algorithm and fail the check.
        job_interval: Duration::ZERO,
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
    switch_to(&agent, &pool, values(0.0001, 1.0), LITE);
    agent.until("shares on cn-lite/1", PATIENCE, || {
        (pool.stats().accepted_on(LITE) >= 2).then_some(())
    });
    let pico = pool.stats().accepted_on(PICO);
    switch_to(&agent, &pool, values(1.0, 0.0001), PICO);
    agent.until("shares on cn-pico again", PATIENCE, || {
        (pool.stats().accepted_on(PICO) >= pico + 2).then_some(())
    });
    let stats = pool.stats();
    // Every share is verified on its own job's algorithm: one hashed on the old algorithm but
    // sent against a job of the new one would be rejected here as an invalid result.
    assert_eq!(
        (stats.rejected.invalid_result, stats.rejected.low_difficulty),
        (0, 0),
        "{stats:?}"
    );
    assert_eq!(stats.logins, 1, "{stats:?}");
    assert_eq!(stats.rejected.total(), 0, "rejected: {:?}", stats.rejected);
    let s = agent.get_ok("/1/summary", None);
    assert_eq!(s["algo"], PICO, "{s}");
}
