//! `phirig pool serve`: the reference pool from the command line — in switching mode following
//! its values file as it changes, serving rx/0 jobs with a seed to a light-mode agent, and
//! refusing bad input with a clear error.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phirig_test_support::local_agent::{wait_counters, LocalAgent};
use phirig_test_support::loopback::free_port;
use serde_json::{json, Value};

const PHIRIG: &str = env!("CARGO_BIN_EXE_phirig");
const PICO: &str = "cn-pico";
const LITE: &str = "cn-lite/1";
/// The pool starts in well under a second; values are looked at every 2 s.
const PATIENCE: Duration = Duration::from_secs(30);

fn write_values(path: &std::path::Path, pico: f64, lite: f64) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json!({PICO: pico, LITE: lite}).to_string()).expect("write values");
    std::fs::rename(&tmp, path).expect("rename values");
}

/// Connects once the pool listens (bounded).
fn connect(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        if let Ok(s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(PATIENCE)).expect("timeout");
            return s;
        }
        assert!(start.elapsed() < PATIENCE, "the pool never listened");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pool_serve_switches_by_its_values_file_and_follows_its_changes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let values = dir.path().join("values.json");
    write_values(&values, 1.0, 0.001);
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(PHIRIG);
    cmd.args([
        "pool",
        "serve",
        "--bind",
        &bind,
        "-a",
        PICO,
        "--difficulty",
        "100",
    ])
    .arg("--algo-values")
    .arg(&values)
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    let _pool = LocalAgent::spawn(&mut cmd).expect("spawning the pool");

    let mut stream = connect(port);
    let login = json!({"id": 1, "jsonrpc": "2.0", "method": "login", "params": {
        "login": "w", "pass": "x", "algo": [PICO, LITE],
        "algo-perf": {PICO: 1000.0, LITE: 1000.0}, "algo-min-time": 0}});
    writeln!(stream, "{login}").expect("send login");
    let mut lines = BufReader::new(stream.try_clone().expect("clone")).lines();
    let mut next = || -> Value {
        let line = lines.next().expect("a line").expect("read in time");
        serde_json::from_str(&line).expect("JSON")
    };
    let reply = next();
    assert_eq!(reply["result"]["job"]["algo"], PICO, "{reply}");

    // The operator turns the values round: the next job is on cn-lite/1.
    write_values(&values, 0.001, 1.0);
    let start = Instant::now();
    let job = loop {
        let msg = next();
        if msg["method"] == "job" {
            break msg;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no job after the values changed"
        );
    };
    assert_eq!(job["params"]["algo"], LITE, "{job}");
}

/// Runs `phirig pool serve ARGS`, which must fail within the patience; its stderr.
fn refused(args: &[&str]) -> String {
    let mut child = Command::new(PHIRIG)
        .args(["pool", "serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start phirig");
    let start = Instant::now();
    while child.try_wait().expect("poll").is_none() {
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            panic!("pool serve {args:?} started");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn pool_serve_refuses_a_bad_values_file_in_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let values = dir.path().join("values.json");
    std::fs::write(&values, r#"{"sha256": 1}"#).expect("write");
    let values = values.to_string_lossy();
    let err = refused(&["--algo-values", &values]);
    assert!(
        err.contains("--algo-values") && err.contains("sha256"),
        "{err}"
    );
}

/// Logs in on the pool at `port` and returns the first job (the login reply's).
fn first_job(port: u16, algos: &[&str]) -> Value {
    let mut stream = connect(port);
    let login = json!({"id": 1, "jsonrpc": "2.0", "method": "login", "params": {
        "login": "w", "pass": "x", "algo": algos}});
    writeln!(stream, "{login}").expect("send login");
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .expect("login reply in time");
    let reply: Value = serde_json::from_str(&line).expect("JSON");
    reply["result"]["job"].clone()
}

#[test]
fn pool_serve_rx0_gives_its_seed_and_accepts_a_light_mode_agent() {
    const SEED: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const NEXT: &str = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(PHIRIG);
    cmd.args(["pool", "serve", "--bind", &bind, "-a", "rx/0"])
        .args(["--seed-hash", SEED, "--next-seed-hash", NEXT])
        .args(["--difficulty", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _pool = LocalAgent::spawn(&mut cmd).expect("spawning the pool");
    let job = first_job(port, &["rx/0"]);
    assert_eq!(job["algo"], "rx/0", "{job}");
    assert_eq!(job["seed_hash"], SEED, "{job}");
    assert_eq!(job["next_seed_hash"], NEXT, "{job}");

    let api = free_port();
    let url = format!("stratum+tcp://{bind}");
    let mut cmd = Command::new(PHIRIG);
    cmd.args(["agent", "-o", &url, "-u", "w", "-a", "rx/0", "-t", "1"])
        .args([
            "--rx-mode",
            "light",
            "--no-journal",
            "--http-host",
            "127.0.0.1",
        ])
        .args(["--http-port", &api.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let _agent = LocalAgent::spawn(&mut cmd).expect("spawning the agent");
    // Every share is verified by the pool in light mode with the seed it served.
    let c = wait_counters(api, |c| c["shares"]["accepted"].as_u64() >= Some(2));
    assert_eq!(c["algo"], "rx/0", "{c}");
    assert_eq!(c["shares"]["rejected"], 0, "{c}");
}

#[test]
fn pool_serve_refuses_bad_seeds_and_seeds_without_rx0() {
    let err = refused(&["-a", "rx/0", "--seed-hash", "1234"]);
    assert!(err.contains("not 64 hex digits"), "{err}");
    let err = refused(&["-a", "cn/0", "--seed-hash", &"ab".repeat(32)]);
    assert!(err.contains("--seed-hash is for rx/0"), "{err}");
    let err = refused(&["-a", "rx/0", "--next-seed-hash", "12"]);
    assert!(err.contains("not 32"), "{err}");
    let err = refused(&["-a", "cn/0", "--next-seed-hash", &"ab".repeat(32)]);
    assert!(err.contains("--next-seed-hash is for rx/0"), "{err}");
}
