//! The shipped example parses and sets every section; the binary prints it and checks files.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use phirig_host::config::{self};

use super::fixture::{run_args, write};

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../phirig.example.toml")
}

#[test]
fn the_shipped_example_parses_and_sets_every_section() {
    let f = config::load(&example_path()).expect("the example is valid");
    assert_eq!(f.cards.len(), 2);
    assert_eq!(f.pools.len(), 2);
    assert!(f.timeouts.connect.is_some() && f.timeouts.retry_pause.is_some());
    assert!(f.http.port.is_some() && f.http.restricted.is_some());
    assert!(f.agent.remote_dir.is_some() && f.agent.no_aesni.is_some());
    assert!(f.watchdog.restart_below.is_some() && f.watchdog.backoff.is_some());
    assert_eq!(
        std::fs::read_to_string(example_path()).expect("read"),
        config::EXAMPLE,
        "`phirig config example` prints the shipped file"
    );
    let a = run_args(&["run", "-c", example_path().to_str().expect("utf-8")]);
    assert_eq!(config::pool_configs(&a).expect("pools").len(), 2);
}

/// Runs the real binary with a time limit.
fn phirig(args: &[&str]) -> std::process::Output {
    let mut child = Process::new(env!("CARGO_BIN_EXE_phirig"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start phirig");
    let started = std::time::Instant::now();
    while child.try_wait().expect("poll").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("phirig {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn the_binary_prints_the_example_checks_files_and_starts_nothing_on_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = phirig(&["config", "example"]);
    assert!(out.status.success());
    let printed = write(
        dir.path(),
        "printed.toml",
        &String::from_utf8_lossy(&out.stdout),
    );
    let out = phirig(&["config", "check", printed.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (2 cards, 2 pools)"));

    let bad = write(dir.path(), "bad.toml", "[http]\nport = 1\nprot = 2\n");
    let started = std::time::Instant::now();
    let out = phirig(&["run", "-c", bad.to_str().expect("utf-8"), "--seconds", "30"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("prot") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing ran: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !stderr.contains("built-in pool"),
        "no pool was started: {stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let out = phirig(&["config", "check", bad.to_str().expect("utf-8")]);
    assert!(!out.status.success());
}
