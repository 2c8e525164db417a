//! Two network-namespace cards reached over ssh: SIGTERM and SIGHUP leave no agent on either,
//! and after kill -9 of the host the next one replaces the agents it left. Needs root.

use std::path::{Path, PathBuf};
use std::time::Duration;

use phirig_test_support::testbed::{stripped_copy, Testbed};

use super::{check_after_stop, pool, wait_mining, HostRun};

const FIRST: u32 = 60;
const COUNT: u32 = 2;
const REMOTE_DIR: &str = "/var/lib/phirig-card/service";
/// Deploying over ssh to two cards on a loaded 2-core machine, then the first shares.
const MINING_LIMIT: Duration = Duration::from_secs(180);

fn card_name(i: u32) -> String {
    format!("root@172.31.{}.1", i + 1)
}

fn args(dir: &Path, bed: &Testbed, pool: &str) -> Vec<String> {
    let path = |f: &str| dir.join(f).display().to_string();
    let mut v: Vec<String> = bed
        .indices()
        .flat_map(|i| ["--card".into(), card_name(i)])
        .collect();
    let agent: PathBuf = stripped_copy(Path::new(env!("CARGO_BIN_EXE_phirig")));
    v.extend(
        [
            "-o",
            &format!("stratum+tcp://{pool}"),
            "-a",
            phirig_test_support::mining::ALGO,
            "-t",
            "1",
            "--proxy-bind",
            "0.0.0.0:0",
            "--remote-dir",
            REMOTE_DIR,
            "--refresh",
            "5",
            "--binary",
            &agent.display().to_string(),
            "--journal",
            &path("host.journal"),
            "--status-json",
            &path("status.json"),
        ]
        .map(String::from),
    );
    v.extend(
        Testbed::ssh_options()
            .extra_args
            .into_iter()
            .map(|a| format!("--ssh-arg={a}")),
    );
    v
}

/// The agent on each card, asserting there is exactly one.
fn one_agent_each(bed: &Testbed) -> Vec<u32> {
    bed.indices()
        .map(|i| {
            let pids = Testbed::pids_named(i, "phirig-agent");
            assert_eq!(pids.len(), 1, "card {i}: agents {pids:?}");
            pids[0]
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_cards_stop_on_sigterm_and_sighup_and_are_replaced_after_kill_9() {
    let Some(bed) = Testbed::up("service_two_cards", FIRST, COUNT) else {
        return;
    };
    let names: Vec<String> = bed.indices().map(card_name).collect();

    for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = pool().await;
        let args = args(dir.path(), &bed, &pool.local_addr().to_string());
        let mut run = HostRun::start(dir.path(), name, &args);
        let status = dir.path().join("status.json");
        wait_mining(&run, &status, &names, MINING_LIMIT);
        one_agent_each(&bed);
        let took = run.stop_with(sig, name);
        eprintln!("{name}: two cards stopped in {took:?}");
        for i in bed.indices() {
            let left = Testbed::pids_named(i, "phirig-agent");
            assert!(left.is_empty(), "{name}: agents {left:?} left on card {i}");
        }
        check_after_stop(
            &status,
            &names,
            &pool,
            &dir.path().join("host.journal"),
            name,
        );
        pool.shutdown().await;
    }

    // kill -9 of the host: its agents live on; the next host replaces each, one per card.
    let dir = tempfile::tempdir().expect("tempdir");
    let pool = pool().await;
    let args = args(dir.path(), &bed, &pool.local_addr().to_string());
    let status = dir.path().join("status.json");
    let mut first = HostRun::start(dir.path(), "first", &args);
    wait_mining(&first, &status, &names, MINING_LIMIT);
    first.signal(libc::SIGKILL);
    first.wait(Duration::from_secs(10)).expect("killed");
    let orphans = one_agent_each(&bed);
    std::fs::remove_file(&status).expect("remove the first run's status");
    let mut second = HostRun::start(dir.path(), "second", &args);
    wait_mining(&second, &status, &names, MINING_LIMIT);
    let agents = one_agent_each(&bed);
    let log = second.log();
    for ((n, old), new) in names.iter().zip(&orphans).zip(&agents) {
        assert!(old != new, "{n}: the orphan {old} was kept");
        assert!(
            log.lines().any(|l| l.contains(n.as_str())
                && l.contains(&format!(
                    "replacing the agent an earlier host left running (pid {old}"
                ))),
            "{n}: the new host does not say it replaced {old}:\n{log}"
        );
    }
    second.stop_with(libc::SIGTERM, "SIGTERM");
    for i in bed.indices() {
        assert!(
            Testbed::pids_named(i, "phirig-agent").is_empty(),
            "agent left on card {i}"
        );
    }
    pool.shutdown().await;
}
