//! `phirig run` alone (the embedded default's one local card): restarted from the dashboard while
//! the rig is paused, the card comes back paused without hashing once, and mines on resume.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phirig_host::local_card::free_port;
use serde_json::Value;

use crate::stopped::Stopped;

const TOKEN: &str = "embedded-pause-token";
/// Longest wait for any one state: the agent's self-test and first job on a shared machine.
const STEP: Duration = Duration::from_secs(60);

struct Host {
    http: reqwest::Client,
    api: String,
}

impl Host {
    async fn card(&self) -> Option<Value> {
        let r = self
            .http
            .get(format!("{}/v1/cards", self.api))
            .send()
            .await
            .ok()?;
        r.json::<Value>().await.ok()?.get(0).cloned()
    }

    /// Polls the local card (bounded) until `done` holds; returns it.
    async fn wait_for(&self, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        let mut last = None;
        while start.elapsed() < STEP {
            if let Some(c) = self.card().await {
                if done(&c) {
                    return c;
                }
                last = Some(c);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        panic!("timed out ({STEP:?}) waiting for {what}; last: {last:?}");
    }

    async fn post(&self, path: &str) -> u16 {
        let r = self
            .http
            .post(format!("{}{path}", self.api))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("host API answers");
        r.status().as_u16()
    }
}

#[tokio::test]
async fn a_local_card_restarted_while_paused_comes_back_paused() {
    let port = free_port().expect("port");
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("rig.log");
    let _rig = Stopped(
        Command::new(env!("CARGO_BIN_EXE_phirig"))
            .args(["run", "-a", "cn-pico", "--difficulty", "20", "-t", "1"])
            .args(["--seconds", "150", "--http-port", &port.to_string()])
            .args(["--http-access-token", TOKEN])
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("start phirig run"),
    );
    let host = Host {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("client"),
        api: format!("http://127.0.0.1:{port}"),
    };
    let mining = host
        .wait_for("the local card mining", |c| {
            c["status"] == "mining" && c["hashes_total"].as_u64() > Some(0)
        })
        .await;
    assert_eq!(host.post("/v1/rig/pause").await, 202);
    host.wait_for("the card paused", |c| c["status"] == "paused")
        .await;
    assert_eq!(host.post("/v1/cards/local/restart").await, 202);
    let boot = mining["boot_id"].clone();
    // The new agent answers (it was started with --pause-on-start) before it hashed anything.
    let back = host
        .wait_for("a new agent", |c| {
            c["boot_id"] != boot && c["boot_id"].is_string()
        })
        .await;
    assert_eq!(back["status"], "paused", "{back}");
    assert_eq!(back["hashes_total"], 0, "{back}");
    // Its job and threads are ready within seconds; still nothing is hashed.
    for wait in [2, 3] {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let later = host
            .wait_for("the new agent, still paused", |c| c["status"] == "paused")
            .await;
        assert_eq!(later["boot_id"], back["boot_id"], "{later}");
        assert_eq!(
            later["hashes_total"], 0,
            "the restarted card hashed while the rig is paused: {later}"
        );
    }
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !said.contains("back unpaused"),
        "the agent came back unpaused (the hold had to pause it):\n{said}"
    );
    // Resume: the agent started paused mines.
    assert_eq!(host.post("/v1/rig/resume").await, 202);
    host.wait_for("the new agent mining", |c| {
        c["boot_id"] == back["boot_id"]
            && c["status"] == "mining"
            && c["hashes_total"].as_u64() > Some(0)
    })
    .await;
}
