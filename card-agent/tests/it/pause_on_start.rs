//! `--pause-on-start`: the agent connects, takes its job and readies its threads, yet hashes
//! nothing until the API's `resume`.

use std::time::Duration;

use crate::support::{easy_config, heavy, pool_url, runtime, start_pool, Agent, PATIENCE};

const TOKEN: &str = "pause-on-start-token";

#[test]
fn an_agent_started_paused_hashes_nothing_until_resumed() {
    let _one = heavy();
    let rt = runtime();
    let pool = start_pool(&rt, easy_config("cn-pico", 100));
    let url = pool_url(&pool);
    let agent = Agent::spawn(
        &[
            "-o",
            &url,
            "-u",
            "paused-wallet",
            "-a",
            "cn-pico",
            "-t",
            "1",
            "--http-access-token",
            TOKEN,
            "--pause-on-start",
        ],
        &[],
    );
    // Everything an unpaused agent needs to hash: a job and a thread past its self-test.
    agent.wait_log("new job", PATIENCE);
    agent.wait_log("thread 0 ready", PATIENCE);
    let summary = agent.get_ok("/1/summary", None);
    assert_eq!(summary["paused"], true, "{summary}");
    // A few batches' time (one cn-pico batch takes milliseconds): still nothing hashed.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(agent.hashes(None), 0, "hashed before resume");
    assert!(
        agent.logs().contains("--pause-on-start"),
        "{}",
        agent.logs()
    );
    assert_eq!(agent.rpc("resume", Some(TOKEN)).0, 200);
    agent.until("hashing after resume", PATIENCE, || {
        (agent.hashes(None) > 0).then_some(())
    });
    assert_eq!(agent.get_ok("/1/summary", None)["paused"], false);
}
