//! The unit in `deploy/systemd/`: what it must say, `systemd-analyze verify`, and, where systemd
//! runs this machine, a real start and stop of the rig through it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::STOP_LIMIT;

fn systemd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/systemd")
}

fn unit_text() -> String {
    std::fs::read_to_string(systemd_dir().join("phirig.service")).expect("the unit file")
}

/// The value of `key=` in the unit (the last one wins, as in systemd).
fn value(unit: &str, key: &str) -> Option<String> {
    unit.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().to_string())
}

/// The unit with `ExecStart` running this build's `phirig` with `args` instead of the
/// installed one (`systemd-analyze verify` checks that the command exists).
fn unit_for_this_build(args: &str) -> String {
    unit_text()
        .lines()
        .map(|l| match l.strip_prefix("ExecStart=") {
            Some(_) => format!("ExecStart={} run {args}", env!("CARGO_BIN_EXE_phirig")),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_unit_restarts_on_failure_and_waits_out_the_stop_bound() {
    let unit = unit_text();
    assert_eq!(value(&unit, "Restart").as_deref(), Some("on-failure"));
    // SIGTERM to phirig alone: it stops the agents itself; the rest is killed only at the timeout.
    assert_eq!(value(&unit, "KillSignal").as_deref(), Some("SIGTERM"));
    assert_eq!(value(&unit, "KillMode").as_deref(), Some("mixed"));
    let timeout: u64 = value(&unit, "TimeoutStopSec")
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec in seconds");
    assert!(
        timeout >= STOP_LIMIT.as_secs(),
        "TimeoutStopSec={timeout} is shorter than the rig's stop bound {STOP_LIMIT:?}"
    );
    // The token comes from the environment file, never from the command line.
    let env_file = value(&unit, "EnvironmentFile").expect("EnvironmentFile");
    let exec = value(&unit, "ExecStart").expect("ExecStart");
    assert!(!exec.contains("token"), "{exec}");
    let example = std::fs::read_to_string(systemd_dir().join("phirig.env.example"))
        .expect("the environment file example");
    assert!(
        example.contains("PHIRIG_HTTP_TOKEN=") && example.contains("0600"),
        "{example}"
    );
    assert!(env_file.starts_with('/'), "{env_file}");
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let unit = dir.path().join("phirig.service");
    std::fs::write(&unit, unit_for_this_build("-c /etc/phirig/phirig.toml")).expect("write unit");
    let out = match Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            eprintln!("skipping systemd_analyze_verifies_the_unit: no systemd-analyze: {e}");
            return;
        }
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    // An unknown key is only a warning (exit 0): any message fails the test.
    assert!(out.status.success() && stderr.trim().is_empty(), "{stderr}");
}

/// Why the unit cannot be started here, if it cannot.
fn no_systemd() -> Option<String> {
    if !Path::new("/run/systemd/system").is_dir() {
        let init = std::fs::read_to_string("/proc/1/comm").unwrap_or_default();
        return Some(format!("PID 1 is `{}`, not systemd", init.trim()));
    }
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (installing a unit needs it)".into());
    }
    None
}

fn systemctl(args: &[&str]) -> std::process::Output {
    Command::new("systemctl")
        .args(args)
        .output()
        .expect("systemctl")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_unit_starts_the_rig_and_stop_leaves_no_agent() {
    if let Some(why) = no_systemd() {
        eprintln!("skipping the_unit_starts_the_rig_and_stop_leaves_no_agent: {why}");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = super::pool().await;
    let port = phirig_test_support::loopback::free_port();
    let status = dir.path().join("status.json");
    let journal = dir.path().join("host.journal");
    let run_args = super::local::args(
        dir.path(),
        &pool.local_addr().to_string(),
        port,
        "127.0.0.1:0",
    );
    let env = dir.path().join("phirig.env");
    std::fs::write(
        &env,
        format!(
            "PHIRIG_HTTP_TOKEN=tok-{:032x}\nTMPDIR={}\n",
            rand::random::<u128>(),
            dir.path().display()
        ),
    )
    .expect("env file");
    let unit = unit_for_this_build(&run_args.join(" "))
        .lines()
        .map(|l| match l.split_once('=') {
            Some(("EnvironmentFile", _)) => format!("EnvironmentFile={}", env.display()),
            Some(("WorkingDirectory", _)) => format!("WorkingDirectory={}", dir.path().display()),
            Some(("StateDirectory", _)) => String::new(),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let name = format!("phirig-test-{}.service", std::process::id());
    let path = Path::new("/run/systemd/system").join(&name);
    std::fs::write(&path, unit).expect("install the unit");
    /// Removes the unit however the test ends.
    struct Installed(PathBuf, String);
    impl Drop for Installed {
        fn drop(&mut self) {
            systemctl(&["stop", &self.1]);
            let _ = std::fs::remove_file(&self.0);
            systemctl(&["daemon-reload"]);
        }
    }
    let _installed = Installed(path, name.clone());
    assert!(systemctl(&["daemon-reload"]).status.success());
    let started = systemctl(&["start", &name]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    phirig_test_support::wait::wait_until("an accepted share", Duration::from_secs(90), || {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&status).ok()?).ok()?;
        (super::u(&super::card(&v, "local")["proxy"]["accepted"]) > 0).then_some(())
    });
    assert_eq!(super::local::agents_on_port(port).len(), 1);
    let stopped = systemctl(&["stop", &name]);
    assert!(
        stopped.status.success(),
        "{}",
        String::from_utf8_lossy(&stopped.stderr)
    );
    let result = systemctl(&["show", "-p", "Result", "--value", &name]);
    assert_eq!(String::from_utf8_lossy(&result.stdout).trim(), "success");
    assert!(
        super::local::agents_on_port(port).is_empty(),
        "an agent outlived the unit"
    );
    super::check_after_stop(&status, &["local".into()], &pool, &journal, "SIGTERM");
    pool.shutdown().await;
}
