//! `phirig run` over four test-bed cards: deploy, mine through the proxy, fail over, lose a card, bench.
//!
//! Real everything: two reference pools on loopback verifying shares with the kernel, the real
//! `phirig` binary deploying itself (as `phirig-agent`) over ssh into four network namespaces,
//! the watchdog, and the status file the rig writes each second. Needs root (skips otherwise).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phirig_pool::server::{Fault, ServerConfig, ServerHandle};
use phirig_test_support::mining;
use phirig_test_support::testbed::Testbed;
use serde_json::Value;

use super::deployable_agent;

const FIRST: u32 = 50;
const COUNT: u32 = 4;
const ALGO: &str = "cn-pico";
const REMOTE_DIR: &str = "/var/lib/phirig-card/rig";

fn card_name(i: u32) -> String {
    format!("root@172.31.{}.1", i + 1)
}

async fn pool() -> ServerHandle {
    mining::fixed_difficulty_pool(
        300,
        ServerConfig {
            // One job per connection: leases stay put long enough to see a remainder reassigned.
            job_interval: Duration::from_secs(3600),
            ..ServerConfig::default()
        },
    )
    .await
}

fn ssh_flags() -> Vec<String> {
    let mut v = Vec::new();
    for a in Testbed::ssh_options().extra_args {
        v.push(format!("--ssh-arg={a}"));
    }
    v
}

/// The rig process; interrupted (then killed) if the test ends early.
struct Rig {
    child: Child,
    log: PathBuf,
}

impl Rig {
    fn interrupt(&self) {
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
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

    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.interrupt();
            if self.wait(Duration::from_secs(30)).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn read_status(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Polls the status file until `check` passes (bounded), returning the passing snapshot.
async fn wait_for(
    rig: &Rig,
    status: &Path,
    limit: Duration,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let end = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < end {
        if let Some(v) = read_status(status) {
            if check(&v) {
                return v;
            }
            last = Some(v);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!(
        "timed out ({limit:?}) waiting for {what}\nlast status: {}\nrig log:\n{}",
        last.map_or_else(|| "none".into(), |v| v.to_string()),
        rig.log()
    );
}

fn card<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["cards"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .unwrap_or(&Value::Null)
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_cards_mine_fail_over_and_survive_a_dead_agent() {
    let Some(bed) = Testbed::up("rig_testbed", FIRST, COUNT) else {
        return;
    };
    let names: Vec<String> = bed.indices().map(card_name).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = deployable_agent();
    let (p1, p2) = (pool().await, pool().await);
    let status = dir.path().join("status.json");
    let journal = dir.path().join("host.journal");
    let log = dir.path().join("rig.log");

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phirig"));
    cmd.arg("run");
    for n in &names {
        cmd.args(["--card", n]);
    }
    cmd.args(["-o", &format!("stratum+tcp://{}", p1.local_addr())])
        .args(["-o", &format!("stratum+tcp://{}", p2.local_addr())])
        .args(["-t", "1", "--refresh", "5", "--seconds", "170"])
        .args(["--proxy-bind", "0.0.0.0:0", "--remote-dir", REMOTE_DIR])
        .arg("--binary")
        .arg(&binary)
        .arg("--status-json")
        .arg(&status)
        .arg("--journal")
        .arg(&journal)
        // Notice a silent pool within seconds; never probe back to it during the test.
        .args(["-k", "--keepalive-interval", "2", "--response-timeout", "3"])
        .args(["--probe-interval", "600"])
        .args(ssh_flags())
        .env("RUST_LOG", "info")
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::from(std::fs::File::create(&log).expect("log")))
        .stderr(Stdio::from(
            std::fs::OpenOptions::new()
                .append(true)
                .open(&log)
                .expect("log"),
        ));
    let mut rig = Rig {
        child: cmd.spawn().expect("start phirig run"),
        log,
    };

    // 1. Every card mines and has shares accepted (through the proxy, by the first pool).
    let all_mining = wait_for(
        &rig,
        &status,
        Duration::from_secs(90),
        "4 cards mining with accepted shares",
        |v| {
            names.iter().all(|n| {
                let c = card(v, n);
                c["status"] == "mining"
                    && u(&c["hashes_total"]) > 0
                    && u(&c["proxy"]["accepted"]) > 0
            })
        },
    )
    .await;
    assert!(p1.stats().accepted >= COUNT as u64, "{:?}", p1.stats());
    assert_eq!(u(&all_mining["total"]["cards_mining"]), COUNT as u64);

    // 2. Per-card 10 s rates add up to what the rig really hashed. (The snapshot's rig total is
    // built as the sum of the cards, so comparing those two would prove nothing: the check is
    // against the cards' cumulative counters, differenced over the same 10 s.)
    let full = wait_for(
        &rig,
        &status,
        Duration::from_secs(30),
        "10 s rates for every card",
        |v| {
            names
                .iter()
                .all(|n| card(v, n)["hashrate"][0].as_f64().is_some_and(|r| r > 0.0))
        },
    )
    .await;
    let (h0, t0) = (u(&full["total"]["hashes_total"]), u(&full["taken_ns"]));
    let later = wait_for(&rig, &status, Duration::from_secs(30), "10 s more", |v| {
        u(&v["taken_ns"]) >= t0 + 10_000_000_000
    })
    .await;
    let measured = (u(&later["total"]["hashes_total"]) - h0) as f64
        / ((u(&later["taken_ns"]) - t0) as f64 / 1e9);
    let sum: f64 = names
        .iter()
        .map(|n| card(&later, n)["hashrate"][0].as_f64().unwrap_or(0.0))
        .sum();
    // The two windows can be up to a poll apart (≤ 1 s of 10) on a loaded machine.
    assert!(
        (measured - sum).abs() <= 0.10 * measured,
        "the cards' counters say {measured:.1} H/s, their rates add up to {sum:.1} H/s"
    );
    eprintln!(
        "rates: per-card 10 s rates add up to {sum:.1} H/s; counter deltas {measured:.1} H/s"
    );

    // 2b. A new upstream job reaches every card: each agent stamps when its workers got the job
    // (the namespaces share the host's clock; the host also corrects by the estimated offset).
    let sent_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos() as u64;
    p1.new_job();
    let got = wait_for(
        &rig,
        &status,
        Duration::from_secs(15),
        "the new job on every card",
        |v| {
            names
                .iter()
                .all(|n| u(&card(v, n)["job"]["received_wall_ns"]) >= sent_ns)
        },
    )
    .await;
    let fan_out_ms: Vec<f64> = names
        .iter()
        .map(|n| (u(&card(&got, n)["job"]["received_wall_ns"]) - sent_ns) as f64 / 1e6)
        .collect();
    eprintln!("new upstream job reached the cards after {fan_out_ms:.1?} ms");
    // The 50 ms goal is a benchmark figure (reported, not timed here); this bound only catches
    // a job that waits for something it should not (a poll, a timer, the next share).
    assert!(
        fan_out_ms.iter().all(|&ms| ms < 1000.0),
        "job fan-out {fan_out_ms:?} ms"
    );

    // 3. The first pool goes silent: the host fails over, the cards keep mining, no restarts.
    let boots: Vec<Value> = names
        .iter()
        .map(|n| card(&later, n)["boot_id"].clone())
        .collect();
    let hashes: Vec<u64> = names
        .iter()
        .map(|n| u(&card(&later, n)["hashes_total"]))
        .collect();
    p1.set_fault(Fault::SilentAfterLogin);
    let silent_at = Instant::now();
    let p2_port = format!(":{}", p2.local_addr().port());
    let p2_accepted_before = p2.stats().accepted;
    wait_for(
        &rig,
        &status,
        Duration::from_secs(40),
        "failover to the second pool",
        |v| {
            v["upstream"]["pool"]
                .as_str()
                .is_some_and(|p| p.trim_end_matches('/').ends_with(&p2_port))
        },
    )
    .await;
    eprintln!(
        "failed over {:?} after the first pool went silent",
        silent_at.elapsed()
    );
    let after = wait_for(
        &rig,
        &status,
        Duration::from_secs(40),
        "cards mining on after failover",
        |v| {
            names
                .iter()
                .zip(&hashes)
                .all(|(n, h)| u(&card(v, n)["hashes_total"]) > h + 50)
        },
    )
    .await;
    for (n, b) in names.iter().zip(&boots) {
        assert_eq!(
            &card(&after, n)["boot_id"],
            b,
            "{n} was restarted by the failover"
        );
    }
    let end = Instant::now() + Duration::from_secs(40);
    while p2.stats().accepted <= p2_accepted_before && Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        p2.stats().accepted > p2_accepted_before,
        "no share reached the second pool"
    );

    // 4. kill -9 one agent: its unleased nonces go to its successor, the watchdog restarts it.
    let victim = FIRST + 1;
    let vname = card_name(victim);
    let pids = Testbed::pids_named(victim, "phirig-agent");
    assert_eq!(pids.len(), 1, "one agent on {vname}: {pids:?}");
    let reassigned_before = u(&after["leases"]["reassigned"]);
    // SAFETY: SIGKILL to a pid we just looked up in the card's namespace.
    assert_eq!(unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) }, 0);
    let killed_at = Instant::now();
    let back = wait_for(
        &rig,
        &status,
        Duration::from_secs(60),
        "restart and slice reassignment",
        |v| {
            let c = card(v, &vname);
            u(&v["leases"]["reassigned"]) > reassigned_before
                && u(&c["proxy"]["adopted"]) >= 1
                && u(&c["restarts"]) >= 1
                && c["status"] == "mining"
        },
    )
    .await;
    assert_eq!(
        u(&back["leases"]["orphaned"]),
        0,
        "the remainder was adopted whole"
    );
    eprintln!(
        "killed the agent on {vname}: restarted and its remainder reassigned within {:?}",
        killed_at.elapsed()
    );

    // 5. Stop: every agent stops, the final table is printed, the journal reads back.
    rig.interrupt();
    let st = rig
        .wait(Duration::from_secs(60))
        .expect("phirig stops after Ctrl-C");
    assert!(st.success(), "phirig run failed: {st:?}\n{}", rig.log());
    let out = rig.log();
    assert!(out.contains("RIG"), "final table printed:\n{out}");
    eprintln!("rig log tail:\n{out}");
    for i in bed.indices() {
        assert!(
            Testbed::pids_named(i, "phirig-agent").is_empty(),
            "agent left on card {i}"
        );
    }
    let dump = Command::new(env!("CARGO_BIN_EXE_phirig"))
        .args(["log", "dump"])
        .arg(&journal)
        .output()
        .expect("log dump");
    let dump = String::from_utf8_lossy(&dump.stdout);
    let victim_index = victim - FIRST;
    for i in 0..COUNT {
        assert!(
            dump.contains(&format!("clock_offset card={i} ")),
            "clock samples of card {i} in the journal:\n{dump:.3000}"
        );
    }
    assert!(
        dump.contains(&format!("supervision card={victim_index} action=restart")),
        "the watchdog's restart in the journal:\n{dump:.3000}"
    );
    let report = Command::new(env!("CARGO_BIN_EXE_phirig"))
        .args(["log", "report"])
        .arg(&journal)
        .output()
        .expect("log report");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );

    // 6. `phirig bench` on the same cards (the copied binary is still there): a row per card.
    let mut bench = Command::new(env!("CARGO_BIN_EXE_phirig"));
    bench.args([
        "bench",
        "-a",
        ALGO,
        "--seconds",
        "2",
        "-t",
        "1",
        "--remote-dir",
        REMOTE_DIR,
    ]);
    for n in &names {
        bench.args(["--card", n]);
    }
    let bench = bench.args(ssh_flags()).output().expect("phirig bench");
    let text = String::from_utf8_lossy(&bench.stdout);
    assert!(
        bench.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    for n in &names {
        assert!(
            text.lines().any(|l| l.starts_with(n.as_str())),
            "no bench row for {n}:\n{text}"
        );
    }
    p1.shutdown().await;
    p2.shutdown().await;
}
