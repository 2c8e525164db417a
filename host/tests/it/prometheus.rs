//! A real Prometheus scrapes a live `phirig run` on loopback; the per-card rate comes back out.
//!
//! Needs Debian's `prometheus` (scripts/setup-test-machine.sh installs it as root); without it
//! the test says so and passes, as the other tests that need a package do.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phirig_host::local_card::free_port;

use crate::stopped::Stopped;
use serde_json::Value;

/// Longest wait for the series to reach Prometheus: agent start, a full 10 s window, a scrape.
const LIMIT: Duration = Duration::from_secs(60);

fn prometheus_binary() -> Option<&'static str> {
    let found = Command::new("prometheus")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    found.then_some("prometheus")
}

fn scrape_config(dir: &Path, host_port: u16) -> std::path::PathBuf {
    let path = dir.join("prometheus.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: phirig\n    \
         static_configs:\n      - targets: [\"127.0.0.1:{host_port}\"]\n        labels:\n          \
         rig: test\n"
    );
    std::fs::write(&path, config).expect("write prometheus.yml");
    path
}

/// One instant query through Prometheus's HTTP API: the first sample's value, if any.
async fn query(client: &reqwest::Client, port: u16, promql: &str) -> Option<f64> {
    let url = format!("http://127.0.0.1:{port}/api/v1/query");
    let body: Value = client
        .get(url)
        .query(&[("query", promql)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    body["data"]["result"][0]["value"][1].as_str()?.parse().ok()
}

#[tokio::test]
async fn prometheus_scrapes_a_live_host_and_serves_the_per_card_rate() {
    let Some(prometheus) = prometheus_binary() else {
        println!(
            "skipped: prometheus not installed (scripts/setup-test-machine.sh installs it as root)"
        );
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let (host_port, prom_port) = (free_port().expect("port"), free_port().expect("port"));
    let _host = Stopped(
        Command::new(env!("CARGO_BIN_EXE_phirig"))
            .args(["run", "-a", "cn-pico", "--difficulty", "20", "-t", "1"])
            .args(["--seconds", "90", "--http-port", &host_port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start phirig run"),
    );
    let _prom = Stopped(
        Command::new(prometheus)
            .arg(format!(
                "--config.file={}",
                scrape_config(dir.path(), host_port).display()
            ))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus"),
    );
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let promql = r#"phirig_card_hashrate_hashes_per_second{job="phirig",rig="test",card="local",window="10s"}"#;
    let start = Instant::now();
    let rate = loop {
        if let Some(rate) = query(&client, prom_port, promql).await.filter(|r| *r > 0.0) {
            break rate;
        }
        assert!(
            start.elapsed() < LIMIT,
            "no per-card rate in Prometheus after {LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!(
        "Prometheus has card local at {rate:.1} H/s after {:?}",
        start.elapsed()
    );
    // The series is history, not one sample: a range query returns several points.
    let range = format!("count_over_time({promql}[1m])");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let points = query(&client, prom_port, &range).await.unwrap_or(0.0);
    assert!(points >= 2.0, "{points} samples stored");
}
