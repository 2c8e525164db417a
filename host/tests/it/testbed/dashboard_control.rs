//! The dashboard's commands on a rig of two test-bed cards: restart one card, pause and resume
//! both (a card restarted while paused, from the dashboard or by the watchdog, comes back paused
//! without hashing once), refuse all of it without the token, and show a card the operator
//! stopped as stopped.
//!
//! Real everything: a kernel-verifying pool on loopback, the real `phirig run` deploying itself
//! over ssh into two network namespaces, its host API on loopback. Needs root (skips otherwise).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phirig_deploy::{DeployConfig, Deployer};
use phirig_host::local_card::free_port;
use phirig_pool::server::{ServerConfig, ServerHandle};
use phirig_test_support::mining;
use phirig_test_support::testbed::Testbed;
use reqwest::StatusCode;
use serde_json::Value;

use super::deployable_agent;

const FIRST: u32 = 76;
const COUNT: u32 = 2;
const TOKEN: &str = "dashboard-control-token";
/// Deploy, kernel self-test and the first accepted share on two shared cores.
const MINING_LIMIT: Duration = Duration::from_secs(90);
/// An ssh stop and start plus the new agent's first answer.
const RESTART_LIMIT: Duration = Duration::from_secs(60);
const PAUSE_LIMIT: Duration = Duration::from_secs(20);
const REMOTE_DIR: &str = "/var/lib/phirig-card/dashboard";

fn card_name(i: u32) -> String {
    format!("root@172.31.{}.1", i + 1)
}

async fn pool() -> ServerHandle {
    mining::fixed_difficulty_pool(
        300,
        ServerConfig {
            ..ServerConfig::default()
        },
    )
    .await
}

/// `phirig run`, interrupted (then killed) when the test ends, also early.
struct Rig {
    child: Child,
    log: PathBuf,
    api: String,
    http: reqwest::Client,
}

impl Rig {
    /// Whether the host says `what` within `limit`, anywhere in its log: the restart's line
    /// comes when the deploy's health check returns, which can be after the card shows mining,
    /// and the tail alone scrolls under a busy table.
    async fn said(&self, what: &str, limit: Duration) -> bool {
        let end = tokio::time::Instant::now() + limit;
        loop {
            if std::fs::read_to_string(&self.log).is_ok_and(|t| t.contains(what)) {
                return true;
            }
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// The host's `/v1/cards`, or `None` while the API is not up.
    async fn cards(&self) -> Option<Vec<Value>> {
        let r = self
            .http
            .get(format!("{}/v1/cards", self.api))
            .timeout(Duration::from_secs(3))
            .send()
            .await
            .ok()?;
        r.json::<Value>().await.ok()?.as_array().cloned()
    }

    /// Polls `/v1/cards` until `check` passes (bounded), returning the passing list.
    async fn wait_for(
        &self,
        limit: Duration,
        what: &str,
        check: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let end = Instant::now() + limit;
        let mut last = None;
        while Instant::now() < end {
            if let Some(cards) = self.cards().await {
                if check(&cards) {
                    return cards;
                }
                last = Some(cards);
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        panic!(
            "timed out ({limit:?}) waiting for {what}\nlast cards: {last:?}\nrig log:\n{}",
            self.log()
        );
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.api))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("host API answers");
        r.json().await.expect("JSON")
    }

    async fn text(&self, path: &str) -> String {
        let r = self
            .http
            .get(format!("{}{path}", self.api))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("host API answers");
        r.text().await.expect("text")
    }

    async fn post(&self, path: &str, token: Option<&str>) -> StatusCode {
        let mut req = self
            .http
            .post(format!("{}{path}", self.api))
            .timeout(Duration::from_secs(5));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("host API answers").status()
    }

    fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        None
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            // SAFETY: signalling our own child by pid.
            unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
            if self.wait(Duration::from_secs(40)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn start_rig(dir: &std::path::Path, bed: &Testbed, pool: &ServerHandle) -> Rig {
    let port = free_port().expect("port");
    let log = dir.join("rig.log");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phirig"));
    cmd.arg("run");
    for i in bed.indices() {
        cmd.args(["--card", &card_name(i)]);
    }
    cmd.args(["-o", &format!("stratum+tcp://{}", pool.local_addr())])
        .args(["-t", "1", "--refresh", "5", "--seconds", "300"])
        .args(["--proxy-bind", "0.0.0.0:0"])
        .args(["--remote-dir", REMOTE_DIR])
        .args([
            "--http-port",
            &port.to_string(),
            "--http-access-token",
            TOKEN,
        ])
        .arg("--binary")
        .arg(deployable_agent())
        .args(
            Testbed::ssh_options()
                .extra_args
                .iter()
                .map(|a| format!("--ssh-arg={a}")),
        )
        .env("RUST_LOG", "info")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&log).expect("log")))
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("log"),
        ));
    Rig {
        child: cmd.spawn().expect("start phirig run"),
        log,
        api: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    }
}

fn card<'a>(cards: &'a [Value], name: &str) -> &'a Value {
    cards
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or(&Value::Null)
}

fn boot_id(cards: &[Value], name: &str) -> String {
    card(cards, name)["boot_id"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn hashes(cards: &[Value], name: &str) -> u64 {
    card(cards, name)["hashes_total"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_restarts_one_card_and_pauses_and_resumes_the_rig() {
    let Some(bed) = Testbed::up("dashboard_control", FIRST, COUNT) else {
        return;
    };
    let names: Vec<String> = bed.indices().map(card_name).collect();
    let (a, b) = (names[0].as_str(), names[1].as_str());
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool().await;
    let mut rig = start_rig(dir.path(), &bed, &pool);

    let mining = |cards: &[Value]| {
        names
            .iter()
            .all(|n| card(cards, n)["status"] == "mining" && hashes(cards, n) > 0)
    };
    let before = rig
        .wait_for(MINING_LIMIT, "both cards mining", mining)
        .await;
    let (boot_a, boot_b) = (boot_id(&before, a), boot_id(&before, b));
    assert!(!boot_a.is_empty() && !boot_b.is_empty(), "{before:?}");

    // Without the token (or with a wrong one) nothing is done.
    let restart_a = format!("/v1/cards/{a}/restart");
    assert_eq!(rig.post(&restart_a, None).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        rig.post(&restart_a, Some("wrong")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        rig.post("/v1/rig/pause", None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        rig.post("/v1/cards/no-such-card/restart", Some(TOKEN))
            .await,
        StatusCode::NOT_FOUND
    );

    // Restart card a: its agent comes back with a new boot id; card b's is untouched.
    assert_eq!(
        rig.post(&restart_a, Some(TOKEN)).await,
        StatusCode::ACCEPTED
    );
    let after = rig
        .wait_for(RESTART_LIMIT, "card a restarted and mining", |cs| {
            let id = boot_id(cs, a);
            !id.is_empty() && id != boot_a && card(cs, a)["status"] == "mining"
        })
        .await;
    assert_eq!(boot_id(&after, b), boot_b, "card b was restarted too");
    assert!(
        rig.said("restarted (dashboard)", RESTART_LIMIT).await,
        "{}",
        rig.log()
    );

    // Pause: both agents report paused and, once batches in flight have landed, count no hashes.
    assert_eq!(
        rig.post("/v1/rig/pause", Some(TOKEN)).await,
        StatusCode::ACCEPTED
    );
    let all_paused = |cs: &[Value]| names.iter().all(|n| card(cs, n)["status"] == "paused");
    rig.wait_for(PAUSE_LIMIT, "both cards paused", all_paused)
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let paused = rig
        .wait_for(PAUSE_LIMIT, "both cards still paused", all_paused)
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let still = rig
        .wait_for(PAUSE_LIMIT, "both cards paused later", all_paused)
        .await;
    for n in &names {
        assert_eq!(
            hashes(&still, n),
            hashes(&paused, n),
            "{n} hashed while paused"
        );
    }

    // Restarted while the rig is paused, card a comes back paused: its new agent starts with
    // --pause-on-start, so it hashes nothing at all, not even until the next poll.
    let boot_a = boot_id(&still, a);
    assert_eq!(
        rig.post(&restart_a, Some(TOKEN)).await,
        StatusCode::ACCEPTED
    );
    let back = rig
        .wait_for(RESTART_LIMIT, "card a's new agent answering", |cs| {
            let id = boot_id(cs, a);
            !id.is_empty() && id != boot_a
        })
        .await;
    assert_eq!(card(&back, a)["status"], "paused", "{back:?}");
    assert_eq!(hashes(&back, a), 0, "card a hashed after its restart");
    // Card b's agent dies while the rig is paused: the watchdog's restart starts it paused too.
    let b_index = bed.indices().nth(1).expect("card b");
    let boot_b = boot_id(&back, b);
    for pid in Testbed::pids_named(b_index, "phirig-agent") {
        // SAFETY: kill(2) on a pid just read from card b's namespace; no memory is touched.
        unsafe { libc::kill(pid as i32, libc::SIGKILL) };
    }
    let back = rig
        .wait_for(
            RESTART_LIMIT,
            "card b's agent restarted by the watchdog",
            |cs| {
                let id = boot_id(cs, b);
                !id.is_empty() && id != boot_b
            },
        )
        .await;
    assert_eq!(card(&back, b)["status"], "paused", "{back:?}");
    assert_eq!(hashes(&back, b), 0, "card b hashed after its restart");
    // Their jobs and threads are ready within seconds; still nothing is hashed by either.
    for wait in [3, 3] {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        let later = rig
            .wait_for(PAUSE_LIMIT, "both restarted cards still paused", all_paused)
            .await;
        for n in &names {
            assert_eq!(boot_id(&later, n), boot_id(&back, n), "{n} restarted again");
            assert_eq!(hashes(&later, n), 0, "{n} hashed after its restart");
        }
    }
    assert!(
        !rig.said("back unpaused while the rig is paused", Duration::ZERO)
            .await,
        "a card came back unpaused (the hold had to pause it)\n{}",
        rig.log()
    );

    // Resume: both agents, started paused, hash.
    assert_eq!(
        rig.post("/v1/rig/resume", Some(TOKEN)).await,
        StatusCode::ACCEPTED
    );
    rig.wait_for(PAUSE_LIMIT, "both cards hashing again", |cs| {
        names
            .iter()
            .all(|n| card(cs, n)["status"] == "mining" && hashes(cs, n) > 0)
    })
    .await;

    // The operator stops card b (`phirig stop`, here its deployer): the watchdog's next probe
    // reads the marker, and every face of the rig says stopped rather than unreachable.
    let operator = Deployer::new(DeployConfig {
        remote_dir: REMOTE_DIR.into(),
        ssh: Testbed::ssh_options(),
        stop_grace: Duration::from_secs(5),
        ..DeployConfig::default()
    });
    let card_b = bed
        .static_cards()
        .into_iter()
        .find(|c| c.name == b)
        .expect("card b in the test bed");
    operator.stop(&card_b).await.expect("stop card b");
    let cards = rig
        .wait_for(PAUSE_LIMIT, "card b stopped", |cs| {
            card(cs, b)["state"] == "stopped"
        })
        .await;
    assert_eq!(card(&cards, b)["status"], "stopped", "{cards:?}");
    assert_eq!(card(&cards, a)["state"], "mining", "{cards:?}");
    let workers = rig.get("/1/workers").await;
    let row = workers["workers"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r[0] == b))
        .unwrap_or(&Value::Null);
    assert_eq!(row[13], "stopped", "{workers}");
    let metrics = rig.text("/metrics").await;
    let line = format!("phirig_card_state{{card=\"{b}\",state=\"stopped\"}} 1");
    assert!(metrics.lines().any(|l| l == line), "{metrics}");

    // SIGINT still stops the rig and its agents.
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(rig.child.id() as i32, libc::SIGINT) };
    let st = rig
        .wait(Duration::from_secs(40))
        .expect("rig stops in time");
    assert!(st.success(), "rig exit {st:?}\n{}", rig.log());
    for i in bed.indices() {
        let left = Testbed::pids_named(i, "phirig-agent");
        assert!(left.is_empty(), "agents {left:?} left on card {i}");
    }
    pool.shutdown().await;
}
