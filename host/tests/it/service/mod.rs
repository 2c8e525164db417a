//! `phirig run` as a service: a supervisor's SIGTERM (or SIGHUP) stops every agent the rig
//! started, a host killed with -9 is replaced cleanly by the next one, a second host on the same
//! journal or port is refused, and the systemd unit in `deploy/systemd/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use phirig_pool::server::{ServerConfig, ServerHandle};
use phirig_test_support::mining;
use serde_json::Value;

mod local;
mod netns;
mod systemd;

/// How long a stopped rig may take to exit: the watchdog's bound, then every card's stop bound
/// (in parallel), then the proxy's. The systemd unit's stop timeout covers the same sum.
const STOP_LIMIT: Duration = Duration::from_secs(60);

/// A verifying pool on loopback with a difficulty a one-thread cn-pico agent meets in seconds.
async fn pool() -> ServerHandle {
    mining::fixed_difficulty_pool(
        200,
        ServerConfig {
            ..ServerConfig::default()
        },
    )
    .await
}

/// One `phirig run` in `dir` (its working directory and `TMPDIR`, so the local card's files are
/// the test's own), output in `dir/NAME.log`; stopped, then killed, if the test ends early.
struct HostRun {
    child: Child,
    log: PathBuf,
}

impl HostRun {
    fn start(dir: &Path, name: &str, args: &[String]) -> HostRun {
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_phirig"))
            .arg("run")
            .args(args)
            .env("RUST_LOG", "info")
            .env("TMPDIR", dir)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("start phirig run");
        HostRun { child, log }
    }

    fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child by pid.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    /// Its exit status, or `None` if it still runs after `limit`.
    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends `sig` and expects a clean exit (status 0) within [`STOP_LIMIT`]; returns how long.
    fn stop_with(&mut self, sig: i32, name: &str) -> Duration {
        let sent = Instant::now();
        self.signal(sig);
        let st = self.wait(STOP_LIMIT).unwrap_or_else(|| {
            panic!("still running {STOP_LIMIT:?} after {name}:\n{}", self.log())
        });
        let took = sent.elapsed();
        assert!(st.success(), "{name}: exit {st:?}\n{}", self.log());
        let log = self.log();
        assert!(
            log.contains(&format!("{name}: stopping the")),
            "{name} not reported as the cause:\n{log}"
        );
        took
    }
}

impl Drop for HostRun {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.signal(libc::SIGTERM);
            if self.wait(STOP_LIMIT).is_none() {
                let _ = self.child.kill();
                let _ = self.child.wait();
            }
        }
    }
}

fn read_status(path: &Path) -> Option<Value> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
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

/// Polls the status file until every card in `names` has a share accepted through the proxy.
fn wait_mining(run: &HostRun, status: &Path, names: &[String], limit: Duration) -> Value {
    let end = Instant::now() + limit;
    let mut last = None;
    while Instant::now() < end {
        if let Some(v) = read_status(status) {
            if names
                .iter()
                .all(|n| u(&card(&v, n)["proxy"]["accepted"]) > 0)
            {
                return v;
            }
            last = Some(v);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    panic!(
        "no accepted share from every card of {names:?} within {limit:?}\nlast status: {}\nlog:\n{}",
        last.map_or_else(|| "none".into(), |v| v.to_string()),
        run.log()
    );
}

/// After a clean stop: every share an agent submitted got its answer (the final status is
/// written once the agents are gone), what the proxy reported accepted is what the pool
/// accepted, and the journal reads to its end with each card's stop and its cause.
fn check_after_stop(
    status: &Path,
    names: &[String],
    pool: &ServerHandle,
    journal: &Path,
    sig: &str,
) {
    let v = read_status(status).expect("final status file");
    let mut accepted = 0;
    for n in names {
        let p = &card(&v, n)["proxy"];
        let answered = ["accepted", "rejected", "stale", "invalid", "withheld"]
            .iter()
            .map(|k| u(&p[*k]))
            .sum::<u64>();
        assert_eq!(
            u(&p["submitted"]),
            answered,
            "{n}: a share left unanswered: {p}"
        );
        accepted += u(&p["accepted"]);
    }
    assert!(accepted > 0, "{v}");
    assert_eq!(
        accepted,
        pool.stats().accepted,
        "the pool accepted exactly what the cards were told"
    );
    let dump = Command::new(env!("CARGO_BIN_EXE_phirig"))
        .args(["log", "dump"])
        .arg(journal)
        .output()
        .expect("log dump");
    assert!(
        dump.status.success(),
        "{}",
        String::from_utf8_lossy(&dump.stderr)
    );
    let dump = String::from_utf8_lossy(&dump.stdout);
    // `Terminated`: each agent finished its own stop within the grace, none had to be killed.
    for i in 0..names.len() {
        let stop =
            format!("supervision card={i} action=stop detail=\"stopped ({sig}): Terminated\"");
        assert!(
            dump.contains(&stop),
            "no `{stop}` in the journal:\n{dump:.4000}"
        );
    }
}
