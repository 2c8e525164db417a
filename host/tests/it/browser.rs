//! Headless Chromium on the dashboard of a live `phirig run`: the per-card chart gains points, the
//! card's tuned profile shows, a card restart is refused without the token and done with it, and
//! a screenshot is kept.
//!
//! Drives Debian's `chromium` through `chromium-driver` (W3C WebDriver over HTTP, spoken here
//! with reqwest). Without them (scripts/setup-test-machine.sh installs both as root) the test
//! says so and passes.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phirig_host::local_card::free_port;

use crate::stopped::Stopped;
use serde_json::{json, Value};

const TOKEN: &str = "dashboard-test-token";
/// Longest wait for any one thing the page should show.
const STEP: Duration = Duration::from_secs(45);

fn installed(binary: &str) -> bool {
    Command::new(binary)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One WebDriver session.
struct Browser {
    http: reqwest::Client,
    base: String,
}

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let v: Value = req
            .send()
            .await
            .expect("webdriver answers")
            .json()
            .await
            .expect("webdriver JSON");
        assert!(v["value"]["error"].is_null(), "webdriver {path}: {v}");
        v["value"].clone()
    }

    async fn script(&self, js: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": js, "args": []})),
        )
        .await
    }

    async fn click(&self, css: &str) {
        let el = self
            .call(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        let id = el
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("element id")
            .to_string();
        self.call(
            reqwest::Method::POST,
            &format!("/element/{id}/click"),
            Some(json!({})),
        )
        .await;
    }

    /// Polls `js` until it returns something `done` accepts.
    async fn wait_for(&self, what: &str, js: &str, done: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            let v = self.script(js).await;
            if done(&v) {
                return v;
            }
            assert!(start.elapsed() < STEP, "{what}: last {v}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_charts_a_live_rig_and_restarts_a_card_with_the_token() {
    if !installed("chromedriver") || !installed("chromium") {
        println!("skipped: chromium and chromium-driver not installed (scripts/setup-test-machine.sh installs them as root)");
        return;
    }
    let (host_port, driver_port) = (free_port().expect("port"), free_port().expect("port"));
    // A copy of phirig, tuned: the local card's agent finds the profile beside its binary.
    let dir = tempfile::tempdir().expect("tempdir");
    let phirig = dir.path().join("phirig");
    std::fs::copy(env!("CARGO_BIN_EXE_phirig"), &phirig).expect("copy phirig");
    tokio::task::block_in_place(|| {
        crate::api::profile::tune(&dir.path().join("phirig-agent.profile.json"))
    });
    let _host = Stopped(spawn(
        Command::new(&phirig)
            .args(["run", "-a", "cn-pico", "--difficulty", "20", "-t", "1"])
            .args(["--seconds", "150", "--http-port", &host_port.to_string()])
            .args(["--http-access-token", TOKEN])
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    ));
    let _driver = Stopped(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let driver = format!("http://127.0.0.1:{driver_port}");
    let start = Instant::now();
    let session = loop {
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000"]}}}});
        if let Ok(r) = http
            .post(format!("{driver}/session"))
            .json(&caps)
            .send()
            .await
        {
            let v: Value = r.json().await.expect("session JSON");
            if let Some(id) = v["value"]["sessionId"].as_str() {
                break id.to_string();
            }
            panic!("no session: {v}");
        }
        assert!(start.elapsed() < STEP, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let browser = Browser {
        http: http.clone(),
        base: format!("{driver}/session/{session}"),
    };
    // The host's API comes up with the run; load the page once it answers.
    let page = format!("http://127.0.0.1:{host_port}/");
    let start = Instant::now();
    while http.get(&page).send().await.is_err() {
        assert!(start.elapsed() < STEP, "host API did not come up");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser
        .call(reqwest::Method::POST, "/url", Some(json!({"url": page})))
        .await;

    // The local card's line gains points (one every 5 s once its 10 s rate is known).
    let points = r#"const l = document.querySelector('polyline.series[data-name="local"]');
                    return l ? Number(l.dataset.points) : 0;"#;
    let first = browser
        .wait_for("the card's chart line", points, |v| v.as_u64() >= Some(1))
        .await;
    let first = first.as_u64().unwrap_or(0);
    browser
        .wait_for("the chart gaining points", points, |v| {
            v.as_u64() > Some(first)
        })
        .await;

    // The card's tuned setting for the algorithm it mines, and the algorithm x card table.
    let tuned = r#"const c = document.querySelector('#cards td.tuned');
                   const row = document.querySelector('#profiles tr[data-algo="cn-pico"]');
                   return [c ? c.textContent : '', row && !row.closest('section').hidden
                           ? row.cells[1].textContent : ''];"#;
    browser
        .wait_for("the tuned profile shown", tuned, |v| {
            (0..2).all(|i| {
                v[i].as_str()
                    .is_some_and(|t| t.contains('×') && t.contains("H/s"))
            })
        })
        .await;

    // Restart without the token: refused, and the card keeps its agent.
    let boot = r#"return fetch('/v1/cards').then(r => r.json()).then(c => c[0].boot_id);"#;
    let before = browser.script(boot).await;
    browser.click("button.restart").await;
    browser
        .wait_for(
            "the refusal",
            "return document.getElementById('message').textContent;",
            |v| v.as_str().is_some_and(|m| m.contains("refused (401")),
        )
        .await;
    // With the token: the agent restarts (a new boot id).
    browser
        .script(&format!(
            "document.getElementById('token').value = '{TOKEN}'; return true;"
        ))
        .await;
    browser.click("button.restart").await;
    browser
        .wait_for(
            "the restart being sent",
            "return document.getElementById('message').textContent;",
            |v| {
                v.as_str()
                    .is_some_and(|m| m.contains("restart local: sent"))
            },
        )
        .await;
    browser
        .wait_for("a new boot id", boot, |v| v.is_string() && *v != before)
        .await;
    // The page refreshes every 2 s: the screenshot waits for it to show the new agent mining.
    browser
        .wait_for(
            "the page showing the card mining again",
            "return document.querySelector('#cards td.state-mining') !== null;",
            |v| v.as_bool() == Some(true),
        )
        .await;

    let shot = browser
        .call(reqwest::Method::GET, "/screenshot", None)
        .await;
    let png = base64_decode(shot.as_str().expect("base64 screenshot"));
    let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    std::fs::write(&path, &png).expect("save screenshot");
    println!("screenshot: {}", path.display());
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let _ = http
        .delete(format!("{driver}/session/{session}"))
        .send()
        .await;
}

/// Spawns a binary this test has just copied: a child another test thread forks meanwhile may
/// hold the copy's write descriptor until its own exec ("text file busy" for milliseconds).
fn spawn(cmd: &mut Command) -> std::process::Child {
    for _ in 0..50 {
        match cmd.spawn() {
            Err(e) if e.kind() == std::io::ErrorKind::ExecutableFileBusy => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.expect("spawn"),
        }
    }
    cmd.spawn().expect("spawn")
}

/// Standard base64 (what WebDriver returns screenshots in).
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
