//! `next_seed_hash`: a pool that announces the next RandomX seed gets the agent to build that
//! epoch ahead (light mode here), so the first job on the new seed starts at once.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use crate::support::{heavy, Agent, PATIENCE};
use serde_json::json;

const SEED_A: &str = "1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a";
const SEED_B: &str = "1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b1b";

/// An rx/0 job no hash meets (target 1), so the test pool never has to answer a share.
fn job(id: &str, seed: &str, next: Option<&str>) -> serde_json::Value {
    json!({"blob": "00".repeat(76), "job_id": id, "target": "01000000", "algo": "rx/0",
           "height": 1, "seed_hash": seed, "next_seed_hash": next})
}

#[test]
fn the_announced_next_seed_is_built_ahead_and_its_job_starts_at_once() {
    let _one = heavy();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    // The pool: the login's job on seed A naming B next; the job on B when the test says.
    let (go, switch) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut writer = stream;
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return;
        }
        let login = json!({"id": 1, "jsonrpc": "2.0", "error": null, "result": {
            "id": "s1", "job": job("a1", SEED_A, Some(SEED_B)), "status": "OK"}});
        let _ = writeln!(writer, "{login}");
        if switch.recv_timeout(PATIENCE).is_ok() {
            let push =
                json!({"jsonrpc": "2.0", "method": "job", "params": job("b1", SEED_B, None)});
            let _ = writeln!(writer, "{push}");
        }
        // Hold the connection (keepalives and submits unanswered) until the agent goes.
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            line.clear();
        }
    });
    let url = format!("stratum+tcp://{addr}");
    let args = [
        "-o",
        &url,
        "-u",
        "w",
        "-a",
        "rx/0",
        "-t",
        "1",
        "--rx-mode",
        "light",
    ];
    let agent = Agent::spawn(&[&args[..], &["--no-journal"]].concat(), &[]);
    agent.wait_log(&format!("mining on seed {SEED_A}"), PATIENCE);
    agent.wait_log(
        &format!("building the next seed {SEED_B}'s epoch ahead"),
        PATIENCE,
    );
    agent.wait_log("built ahead:", PATIENCE);

    go.send(()).expect("the pool thread waits");
    agent.wait_log(&format!("rx/0 job b1 mining on seed {SEED_B}"), PATIENCE);
    let logs = agent.logs();
    assert!(
        !logs.contains(&format!("building the dataset of seed {SEED_B}")),
        "seed B was built again when its job came:\n{logs}"
    );
}
