//! Switching mode takes a new `algo-perf` in `getjob` params (MoneroOcean's re-offer): the
//! answer is already on the algorithm the new figures choose, with no second login.

use phirig_pool::server::{AlgoValues, ServerConfig};
use serde_json::{json, Value};

use super::support::{start, stop, test_config, RawClient};

const PICO: &str = "cn-pico";
const LITE: &str = "cn-lite/1";

fn values() -> AlgoValues {
    [(PICO.to_string(), 1.0), (LITE.to_string(), 1.0)]
        .into_iter()
        .collect()
}

async fn getjob(client: &mut RawClient, params: Value) -> Value {
    let id = client.request("getjob", params).await;
    let reply = client.reply(id).await;
    assert_eq!(reply["error"], Value::Null, "{reply}");
    reply["result"].clone()
}

#[tokio::test]
async fn a_getjob_with_algo_perf_rescores_the_miner_without_a_login() {
    let config = ServerConfig {
        algo: PICO.into(),
        switching: Some(values()),
        ..test_config()
    };
    let pool = start(config).await;
    let mut miner = RawClient::connect(pool.local_addr()).await;
    let id = miner
        .request(
            "login",
            json!({"login": "w", "pass": "x", "rigid": "sw", "algo": [PICO, LITE],
                   "algo-perf": {PICO: 1000.0, LITE: 10.0}, "algo-min-time": 0}),
        )
        .await;
    let login = miner.reply(id).await;
    assert_eq!(login["result"]["job"]["algo"], PICO, "{login}");
    let session = login["result"]["id"]
        .as_str()
        .expect("session id")
        .to_string();

    // A plain getjob keeps the algorithm; one with the figures turned round moves it.
    let plain = getjob(&mut miner, json!({"id": session})).await;
    assert_eq!(plain["algo"], PICO, "{plain}");
    let offer = json!({"id": session, "algo": [PICO, LITE],
                       "algo-perf": {PICO: 10.0, LITE: 1000.0}, "algo-min-time": 0});
    let moved = getjob(&mut miner, offer).await;
    assert_eq!(moved["algo"], LITE, "{moved}");

    let stats = pool.stats();
    assert_eq!((stats.logins, stats.perf_offers), (1, 1), "{stats:?}");
    let worker = &stats.workers["sw"];
    let perf = worker.algo_perf.as_ref().expect("the offered figures");
    assert_eq!(perf.get(LITE), Some(1000.0));
    let algos: Vec<&str> = worker.recent_jobs.iter().map(|j| j.algo.as_str()).collect();
    assert_eq!(algos, [PICO, PICO, LITE]);
    let first = &worker.recent_jobs[0].job_id;
    let after: Vec<&str> = worker
        .jobs_after(first)
        .expect("kept")
        .iter()
        .map(|j| j.algo.as_str())
        .collect();
    assert_eq!(after, [PICO, LITE]);
    assert_eq!(
        worker.newest_job(),
        worker.recent_jobs.back().map(|j| j.job_id.as_str())
    );
    assert!(worker.jobs_after("no such job").is_none());

    // Another session's id is refused, offer and all.
    let id = miner
        .request("getjob", json!({"id": "nobody", "algo-perf": {PICO: 1.0}}))
        .await;
    let refused = miner.reply(id).await;
    assert!(refused["error"].is_object(), "{refused}");
    assert_eq!(pool.stats().perf_offers, 1);
    stop(pool).await;
}
