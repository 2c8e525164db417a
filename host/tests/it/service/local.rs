//! The local card (`--card local`, a detached agent on this machine): stopped by SIGTERM and
//! SIGHUP, a second signal ending the stop at once, replaced after kill -9 of its host, and a
//! second host beside the first refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use phirig_test_support::loopback::free_port;

use super::{check_after_stop, pool, wait_mining, HostRun};

/// The local card's name, in the status file and the journal.
const LOCAL: &str = "local";

/// Where a host run in `dir` keeps the local card's files (`TMPDIR` is `dir`).
fn agent_dir(dir: &Path) -> PathBuf {
    dir.join("phirig-local")
}

/// The live agent pid in the local card's pid file.
fn agent_pid(dir: &Path) -> Option<u32> {
    let pid = std::fs::read_to_string(agent_dir(dir).join("agent.pid")).ok()?;
    pid.trim().parse().ok().filter(|p| alive(*p))
}

/// Exists and is not a zombie.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
        !s.lines()
            .any(|l| l.starts_with("State:") && l.contains('Z'))
    })
}

/// Every live agent serving its API on `port` (the test's own port): the rig's agents, counted
/// from every process's arguments rather than from the pid file the rig itself keeps.
pub(super) fn agents_on_port(port: u16) -> Vec<u32> {
    let want = format!("\0--http-port\0{port}\0");
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&want))
                && alive(*p)
        })
        .collect()
}

/// `phirig run` arguments for the local card mining against `pool` in `dir`.
pub(super) fn args(dir: &Path, pool: &str, agent_port: u16, proxy: &str) -> Vec<String> {
    let path = |f: &str| dir.join(f).display().to_string();
    [
        "--card",
        LOCAL,
        "-o",
        &format!("stratum+tcp://{pool}"),
        "-a",
        phirig_test_support::mining::ALGO,
        "-t",
        "1",
        "--agent-port",
        &agent_port.to_string(),
        "--proxy-bind",
        proxy,
        "--refresh",
        "5",
        "--binary",
        env!("CARGO_BIN_EXE_phirig"),
        "--journal",
        &path("host.journal"),
        "--status-json",
        &path("status.json"),
    ]
    .map(String::from)
    .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sighup_stop_the_local_agent_and_exit_zero() {
    for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = pool().await;
        let port = free_port();
        let args = args(
            dir.path(),
            &pool.local_addr().to_string(),
            port,
            "127.0.0.1:0",
        );
        let mut run = HostRun::start(dir.path(), name, &args);
        let status = dir.path().join("status.json");
        wait_mining(&run, &status, &[LOCAL.into()], Duration::from_secs(90));
        let agent = agent_pid(dir.path()).expect("the agent's pid file");
        assert_eq!(agents_on_port(port), [agent]);
        let took = run.stop_with(sig, name);
        eprintln!("{name}: the rig stopped in {took:?}");
        assert!(!alive(agent), "{name}: agent {agent} left running");
        assert!(
            agents_on_port(port).is_empty(),
            "{name}: an agent left running"
        );
        let journal = dir.path().join("host.journal");
        check_after_stop(&status, &[LOCAL.into()], &pool, &journal, name);
        pool.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_next_host_replaces_the_agent_it_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool().await;
    let port = free_port();
    let args = args(
        dir.path(),
        &pool.local_addr().to_string(),
        port,
        "127.0.0.1:0",
    );
    let status = dir.path().join("status.json");
    let mut first = HostRun::start(dir.path(), "first", &args);
    wait_mining(&first, &status, &[LOCAL.into()], Duration::from_secs(90));
    let orphan = agent_pid(dir.path()).expect("the agent's pid file");
    first.signal(libc::SIGKILL);
    first.wait(Duration::from_secs(10)).expect("killed");
    // What the issue saw: the agent outlives its host.
    assert!(
        alive(orphan),
        "the agent died with its host: nothing to replace"
    );

    std::fs::remove_file(&status).expect("remove the first run's status");
    let mut second = HostRun::start(dir.path(), "second", &args);
    wait_mining(&second, &status, &[LOCAL.into()], Duration::from_secs(90));
    let agent = agent_pid(dir.path()).expect("the new agent's pid file");
    assert!(agent != orphan && !alive(orphan), "{orphan} still runs");
    assert_eq!(agents_on_port(port), [agent], "one agent for the card");
    let log = second.log();
    assert!(
        log.contains(&format!(
            "replacing the agent an earlier host left running (pid {orphan}"
        )),
        "the new host does not say what it did:\n{log}"
    );
    second.stop_with(libc::SIGTERM, "SIGTERM");
    assert!(agents_on_port(port).is_empty());
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_host_on_the_same_journal_or_proxy_port_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool().await;
    let url = pool.local_addr().to_string();
    let proxy = format!("127.0.0.1:{}", free_port());
    let port = free_port();
    let status = dir.path().join("status.json");
    let mut first = HostRun::start(dir.path(), "first", &args(dir.path(), &url, port, &proxy));
    wait_mining(&first, &status, &[LOCAL.into()], Duration::from_secs(90));
    let agent = agent_pid(dir.path()).expect("pid file");
    let journal_len = || std::fs::metadata(dir.path().join("host.journal")).map_or(0, |m| m.len());

    // Same journal, another proxy port: refused before anything starts.
    let other = tempfile::tempdir().expect("tempdir");
    let mut same_journal = args(other.path(), &url, free_port(), "127.0.0.1:0");
    let j = same_journal
        .iter()
        .position(|a| a == "--journal")
        .expect("--journal")
        + 1;
    same_journal[j] = dir.path().join("host.journal").display().to_string();
    let before = journal_len();
    let mut second = HostRun::start(other.path(), "same-journal", &same_journal);
    let st = second
        .wait(Duration::from_secs(30))
        .expect("refused at once");
    let log = second.log();
    assert!(!st.success(), "{log}");
    assert!(
        log.contains(&format!(
            "another `phirig run` (pid {}) writes the journal",
            first.pid()
        )),
        "{log}"
    );
    assert!(
        journal_len() >= before,
        "the first host's journal was truncated"
    );

    // Same proxy port, its own journal: refused, saying which port and which flag.
    let mut third = HostRun::start(
        other.path(),
        "same-port",
        &args(other.path(), &url, free_port(), &proxy),
    );
    let st = third
        .wait(Duration::from_secs(30))
        .expect("refused at once");
    let log = third.log();
    assert!(!st.success(), "{log}");
    assert!(
        log.contains(&format!("the proxy port {proxy} is taken")) && log.contains("--proxy-bind"),
        "{log}"
    );
    assert!(
        !agent_dir(other.path()).join("agent.pid").exists(),
        "the refused run started an agent"
    );

    // The first rig never noticed.
    assert_eq!(agent_pid(dir.path()), Some(agent));
    first.stop_with(libc::SIGTERM, "SIGTERM");
    pool.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_while_stopping_exits_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool().await;
    let port = free_port();
    let args = args(
        dir.path(),
        &pool.local_addr().to_string(),
        port,
        "127.0.0.1:0",
    );
    let mut run = HostRun::start(dir.path(), "twice", &args);
    let status = dir.path().join("status.json");
    wait_mining(&run, &status, &[LOCAL.into()], Duration::from_secs(90));
    let agent = agent_pid(dir.path()).expect("pid file");
    // A frozen agent cannot act on its TERM, so the rig's stop waits out the grace period.
    // SAFETY: signals to the agent this test's rig started.
    assert_eq!(unsafe { libc::kill(agent as i32, libc::SIGSTOP) }, 0);
    run.signal(libc::SIGTERM);
    phirig_test_support::wait::wait_until("the stop to begin", Duration::from_secs(30), || {
        run.log()
            .contains("SIGTERM: stopping the agents")
            .then_some(())
    });
    run.signal(libc::SIGTERM);
    let st = run.wait(Duration::from_secs(3)).unwrap_or_else(|| {
        panic!(
            "the second SIGTERM did not end the host at once:\n{}",
            run.log()
        )
    });
    let log = run.log();
    assert_eq!(st.code(), Some(128 + libc::SIGTERM), "{log}");
    assert!(log.contains("SIGTERM while stopping: exiting now"), "{log}");
    // The stop the host had begun kills the frozen agent after its grace; make sure of it.
    // SAFETY: as above.
    unsafe { libc::kill(agent as i32, libc::SIGKILL) };
    phirig_test_support::wait::wait_until("the agent gone", Duration::from_secs(10), || {
        (!alive(agent)).then_some(())
    });
    pool.shutdown().await;
}

/// Live children of `parent`.
fn children(parent: i32) -> Vec<u32> {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    procs
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            // `pid (comm) state ppid …`; comm may hold spaces, so split after its `)`.
            std::fs::read_to_string(format!("/proc/{p}/stat")).is_ok_and(|s| {
                s.rsplit_once(')')
                    .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                    == Some(parent)
            }) && alive(*p)
        })
        .collect()
}

/// The embedded default (no cards) mining on one thread, and the pid of its one agent.
fn embedded_default(dir: &Path, name: &str) -> (HostRun, u32) {
    let status = dir.join("status.json");
    let args = [
        "-a",
        phirig_test_support::mining::ALGO,
        "-t",
        "1",
        "--difficulty",
        "200",
        "--status-json",
        &status.display().to_string(),
    ]
    .map(String::from);
    let run = HostRun::start(dir, name, &args);
    wait_mining(&run, &status, &[LOCAL.into()], Duration::from_secs(90));
    let agents = children(run.pid());
    assert_eq!(
        agents.len(),
        1,
        "the local agent is the host's one child: {agents:?}"
    );
    (run, agents[0])
}

#[test]
fn the_embedded_default_stops_its_agent_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut run, agent) = embedded_default(dir.path(), "embedded");
    run.stop_with(libc::SIGTERM, "SIGTERM");
    assert!(!alive(agent), "the local agent outlived its host");
}

#[test]
fn the_embedded_default_takes_its_agent_along_when_killed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut run, agent) = embedded_default(dir.path(), "embedded-killed");
    run.signal(libc::SIGKILL);
    run.wait(Duration::from_secs(10)).expect("killed");
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while alive(agent) && std::time::Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!alive(agent), "the local agent outlived its SIGKILLed host");
}
