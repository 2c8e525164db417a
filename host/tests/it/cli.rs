//! The `phirig` binary as an operator runs it: the embedded default, bench, cards, and bad input.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use phirig_test_support::local_agent::{counters, idle_agent_args, wait_counters, LocalAgent};

fn phirig(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_phirig"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start phirig");
    let started = Instant::now();
    // Bounded wait: a hung command fails the test instead of hanging the suite.
    while child.try_wait().expect("poll child").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("phirig {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("collect output")
}

#[test]
fn run_mines_against_the_builtin_pool_and_shares_are_accepted() {
    let out = phirig(
        &[
            "run",
            "-a",
            "cn-pico",
            "--difficulty",
            "20",
            "-t",
            "1",
            "--seconds",
            "12",
            "--refresh",
            "2",
        ],
        Duration::from_secs(90),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{stderr}",
        out.status
    );
    assert!(stderr.contains("built-in pool"), "no banner: {stderr}");
    assert!(
        stderr.contains("phirig run -o stratum+tcp://"),
        "banner does not say how to use a real pool"
    );
    assert!(
        stdout.contains("local") && stdout.contains("RIG"),
        "no table: {stdout}"
    );
    // The card mined through the host's proxy, one upstream connection for the rig.
    assert!(
        stdout.contains("proxy 1 cards"),
        "card not behind the proxy: {stdout}"
    );
    // The pool's own count, verified with the kernel.
    let accepted: u64 = stderr
        .lines()
        .find_map(|l| l.split("built-in pool: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no pool summary in: {stderr}"));
    assert!(
        accepted > 0,
        "no share accepted in 12 s: {stdout}\n{stderr}"
    );
    assert!(stderr.contains("0 rejected"), "{stderr}");
}

/// rx/0 on the embedded default: the built-in pool serves rx/0 jobs with its seed, the local
/// agent mines them in light mode (cheap on CI), and nothing is rejected.
#[test]
fn run_serves_rx0_from_the_builtin_pool() {
    let out = phirig(
        &[
            "run",
            "-a",
            "rx/0",
            "--rx-mode",
            "light",
            "--difficulty",
            "20",
            "-t",
            "1",
            "--seconds",
            "6",
        ],
        Duration::from_secs(90),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stderr}", out.status);
    assert!(stderr.contains("built-in pool at"), "no banner: {stderr}");
    assert!(stderr.contains("(rx/0 jobs"), "not rx/0: {stderr}");
    assert!(
        stderr.contains("rejected") && stderr.contains(" 0 rejected"),
        "{stderr}"
    );
}

#[test]
fn bench_prints_a_row_per_card_and_json_for_scripts() {
    const BENCH: [&str; 10] = [
        "bench",
        "--card",
        "local",
        "-a",
        "cn-pico",
        "--seconds",
        "1",
        "-t",
        "1",
        "--json",
    ];
    let out = phirig(&BENCH, Duration::from_secs(90));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(v["cards"][0]["card"], "local");
    assert_eq!(v["cards"][0]["result"]["threads"], 1);
    assert!(v["total_hs"].as_f64().is_some_and(|h| h > 0.0), "{v}");
    // The same run without --json: the operator's table.
    let text = phirig(&BENCH[..BENCH.len() - 1], Duration::from_secs(90));
    let table = String::from_utf8_lossy(&text.stdout);
    assert!(
        table.lines().any(|l| l.starts_with("local"))
            && table.lines().any(|l| l.starts_with("RIG")),
        "{table}"
    );
}

#[test]
fn cards_lists_the_local_card() {
    let out = phirig(
        &["cards", "--card", "local", "--json"],
        Duration::from_secs(30),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v[0]["name"], "local");
}

#[test]
fn bad_input_is_one_clear_line_and_a_failure() {
    for (args, needle) in [
        (vec!["run", "-a", "cn/bogus", "--seconds", "1"], "cn/bogus"),
        (
            vec!["log", "dump", "/nonexistent/phirig.journal"],
            "/nonexistent/phirig.journal",
        ),
        (vec!["cards", "--card=-oProxyCommand=x"], "--card"),
        (vec!["agent", "hash", "--algo", "cn/r", "00"], "height"),
    ] {
        let out = phirig(&args, Duration::from_secs(30));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    }
}

#[test]
fn upgrade_replaces_the_local_agent_and_refuses_without_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The agent runs from its own copy: an upgrade replaces the file it runs from.
    let running = dir.path().join("phirig");
    std::fs::copy(env!("CARGO_BIN_EXE_phirig"), &running).expect("copy phirig");
    let token_file = dir.path().join("agent.token");
    std::fs::write(&token_file, "tok-upgrade\n").expect("token");
    let port = phirig_host::local_card::free_port().expect("free port");
    let agent = LocalAgent::spawn(
        Command::new(&running)
            .arg("agent")
            .args(idle_agent_args(port))
            .env("PHIRIG_TOKEN_FILE", &token_file)
            .env_remove("PHIRIG_HTTP_TOKEN")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null()),
    )
    .expect("start the agent");
    let before = wait_counters(port, |_| true);
    let old_build = before["build"].as_str().expect("build").to_string();

    // A new build: the same program with bytes appended (its digest, the build id, differs).
    let new = dir.path().join("phirig-new");
    let mut bytes = std::fs::read(&running).expect("read");
    bytes.extend_from_slice(b"\nphirig upgrade CLI test build\n");
    std::fs::write(&new, &bytes).expect("write the new build");
    let port_arg = port.to_string();
    let new_arg = new.to_str().expect("utf-8 path");
    let upgrade = |token: Option<&str>| {
        let mut args = vec!["upgrade", "--card", "local", "--agent-port", &port_arg];
        args.extend(["--binary", new_arg, "--restart-timeout", "30"]);
        if let Some(t) = token {
            args.extend(["--http-access-token", t]);
        }
        phirig(&args, Duration::from_secs(120))
    };

    // No token: a clear refusal before anything is sent.
    let out = upgrade(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("token"), "{stderr}");
    // A wrong one: the card refuses, the agent runs on as it was.
    let out = upgrade(Some("wrong"));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAILED"));
    assert_eq!(
        counters(port).expect("still up")["build"],
        old_build.as_str()
    );

    let out = upgrade(Some("tok-upgrade"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Progress lines first, then the result table's row.
    let row = stdout
        .lines()
        .rfind(|l| l.starts_with("local"))
        .unwrap_or_else(|| panic!("no row for the card: {stdout}"));
    assert!(row.ends_with("ok") && row.contains(&old_build), "{row}");
    let after = wait_counters(port, |v| v["build"] != old_build.as_str());
    assert_ne!(after["boot_id"], before["boot_id"], "a new boot");
    assert_eq!(
        std::fs::read(&running).expect("read"),
        bytes,
        "file replaced"
    );
    drop(agent);
}
