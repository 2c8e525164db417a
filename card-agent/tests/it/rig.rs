//! Rig mode and bad input (issues 5 and 9): a real agent against a scripted stratum pool on loopback
//! that hands out small nonce slices, answers `getjob`, sends bad jobs or leaves submits unanswered.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::support::{heavy, AGENT, PATIENCE};
use phirig_journal::{read_file, Event};
use phirig_pool::protocol::Target;
use phirig_test_support::loopback::{free_port, http};
use phirig_test_support::wait::wait_until;
use serde_json::{json, Value};

const ALGO: &str = "cn-pico";
/// Counters per slice: at the ~50–150 H/s of one loaded core a slice lasts about a second.
const SLICE: u64 = 64;
/// Easy enough that most slices hold a share or two.
const DIFFICULTY: u64 = 16;

/// What the scripted pool saw and how it behaves.
#[derive(Default)]
struct PoolState {
    /// (job id, nonce) of every submit, in order.
    submits: Vec<(String, u32)>,
    /// job id → its slice.
    slices: Vec<(String, u64, u64)>,
    getjobs: u64,
    logins: u64,
    /// Leave submits unanswered (an in-flight submit at shutdown).
    silent_submits: bool,
    /// Give the login job a slice too (rig mode); otherwise it has the whole nonce space.
    sliced: bool,
    /// The logged-in connection, to push jobs on.
    conn: Option<TcpStream>,
}

struct ScriptedPool {
    port: u16,
    state: Arc<Mutex<PoolState>>,
}

fn lock(s: &Mutex<PoolState>) -> MutexGuard<'_, PoolState> {
    s.lock().unwrap_or_else(|p| p.into_inner())
}

/// A job of the scripted pool: all slices share one blob, so a repeated nonce would be the
/// very same work done twice.
fn job(id: &str, slice: Option<(u64, u64)>) -> Value {
    let mut j = json!({
        "blob": "07".repeat(76),
        "job_id": id,
        "target": Target::from_difficulty(DIFFICULTY).to_hex(),
        "algo": ALGO,
    });
    if let Some((a, b)) = slice {
        j["nonce_range"] = json!([a, b]);
    }
    j
}

impl ScriptedPool {
    fn start(silent_submits: bool, sliced: bool) -> ScriptedPool {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(PoolState {
            silent_submits,
            sliced,
            ..Default::default()
        }));
        let st = state.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let st = st.clone();
                std::thread::spawn(move || serve(stream, &st));
            }
        });
        ScriptedPool { port, state }
    }

    fn url(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn state(&self) -> MutexGuard<'_, PoolState> {
        lock(&self.state)
    }

    /// Sends a job notification on the logged-in connection.
    fn push(&self, params: Value) {
        let line = json!({"jsonrpc": "2.0", "method": "job", "params": params});
        let mut st = self.state();
        let conn = st.conn.as_mut().expect("a logged-in connection");
        writeln!(conn, "{line}").expect("pushing a job");
    }
}

fn serve(stream: TcpStream, st: &Mutex<PoolState>) {
    let Ok(mut out) = stream.try_clone() else {
        return;
    };
    for line in BufReader::new(stream).lines().map_while(Result::ok) {
        let Ok(req) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        let id = req["id"].clone();
        let reply = {
            let mut s = lock(st);
            match req["method"].as_str().unwrap_or_default() {
                "login" => {
                    s.logins += 1;
                    s.conn = out.try_clone().ok();
                    let name = format!("s{}", s.slices.len());
                    let range = next_slice(&mut s, &name);
                    let range = s.sliced.then_some(range);
                    Some(
                        json!({"id": "sess-1", "status": "OK", "extensions": ["nonce_range"],
                                "job": job(&name, range)}),
                    )
                }
                "getjob" => {
                    s.getjobs += 1;
                    let name = format!("s{}", s.slices.len());
                    let range = next_slice(&mut s, &name);
                    Some(job(&name, Some(range)))
                }
                "submit" => {
                    let p = &req["params"];
                    let nonce = p["nonce"]
                        .as_str()
                        .and_then(|n| hex::decode(n).ok())
                        .and_then(|b| <[u8; 4]>::try_from(b).ok())
                        .map(u32::from_le_bytes)
                        .expect("submit with an 8-hex-digit nonce");
                    let job_id = p["job_id"].as_str().unwrap_or_default().to_string();
                    s.submits.push((job_id, nonce));
                    (!s.silent_submits).then(|| json!({"status": "OK"}))
                }
                _ => Some(json!({"status": "KEEPALIVED"})),
            }
        };
        if let Some(result) = reply {
            let line = json!({"id": id, "jsonrpc": "2.0", "error": null, "result": result});
            if writeln!(out, "{line}").is_err() {
                return;
            }
        }
    }
}

fn next_slice(s: &mut PoolState, name: &str) -> (u64, u64) {
    let start = s.slices.len() as u64 * SLICE;
    s.slices.push((name.to_string(), start, start + SLICE));
    (start, start + SLICE)
}

/// A `phirig-agent` child in its own working directory; killed on drop.
struct RigAgent {
    child: Child,
    port: u16,
    logs: Arc<Mutex<String>>,
}

impl RigAgent {
    fn spawn(dir: &Path, args: &[&str]) -> RigAgent {
        let port = free_port();
        let mut child = Command::new(AGENT)
            .args(args)
            .args(["--http-port", &port.to_string()])
            .current_dir(dir)
            .env("RUST_LOG", "info")
            .env_remove("PHIRIG_HTTP_TOKEN")
            .env_remove("PHIRIG_TOKEN_FILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning phirig-agent");
        let logs = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let logs = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    eprintln!("agent| {line}");
                    let mut l = logs.lock().unwrap_or_else(|p| p.into_inner());
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let agent = RigAgent { child, port, logs };
        wait_until("the agent's HTTP API", PATIENCE, || {
            http(agent.port, "GET", "/1/summary", None, "").ok()
        });
        agent
    }

    fn logs(&self) -> String {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn get(&self, path: &str) -> Value {
        let (status, body) = http(self.port, "GET", path, None, "").expect("GET");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).expect("JSON")
    }

    fn hashes(&self) -> u64 {
        self.get("/v1/counters")["hashes_total"]
            .as_u64()
            .expect("hashes_total")
    }

    fn sigterm_and_wait(&mut self, limit: Duration) -> std::process::ExitStatus {
        // SAFETY: kill(2) on our own unreaped child.
        let rc = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(rc, 0);
        wait_until("the agent to exit after SIGTERM", limit, || {
            self.child.try_wait().ok().flatten()
        })
    }
}

impl Drop for RigAgent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn rig_args(pool: &ScriptedPool) -> Vec<String> {
    [
        "--rig",
        "-o",
        &pool.url(),
        "-u",
        "card-1",
        "-a",
        ALGO,
        "-t",
        "1",
        "--print-time",
        "1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// A card that used its slice up asks the proxy for another (`getjob`) and mines on; no nonce
/// is ever submitted twice and every one lies in the slice of the job it names. Rig mode
/// journals to `phirig-agent.journal` in the working directory by default.
#[test]
fn rig_mode_asks_for_fresh_slices_and_never_repeats_a_nonce() {
    let _one = heavy();
    let pool = ScriptedPool::start(false, true);
    let dir = tempfile::tempdir().expect("temp dir");
    let args = rig_args(&pool);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut agent = RigAgent::spawn(dir.path(), &args);
    wait_until("four fresh slices and ten shares", PATIENCE * 2, || {
        let s = pool.state();
        (s.getjobs >= 4 && s.submits.len() >= 10).then_some(())
    });
    let (submits, slices) = {
        let s = pool.state();
        (s.submits.clone(), s.slices.clone())
    };
    let mut seen = std::collections::HashSet::new();
    for (job_id, nonce) in &submits {
        assert!(seen.insert(*nonce), "nonce {nonce:#x} submitted twice");
        let (_, start, end) = slices
            .iter()
            .find(|(n, ..)| n == job_id)
            .unwrap_or_else(|| panic!("submit for unknown job {job_id}"));
        let counter = u64::from(*nonce & 0x00ff_ffff);
        assert!(
            (*start..*end).contains(&counter),
            "nonce {nonce:#x} of {job_id} outside its slice [{start}, {end})"
        );
    }
    let jobs: std::collections::HashSet<&String> = submits.iter().map(|(j, _)| j).collect();
    assert!(jobs.len() >= 3, "shares from only {jobs:?}");
    let logs = agent.logs();
    assert!(logs.contains("asking for a fresh one"), "{logs}");
    // Without a token the API cannot be used for control: xmrig calls that restricted.
    assert_eq!(agent.get("/1/summary")["restricted"], true);
    let status = agent.sigterm_and_wait(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
    let journal = read_file(dir.path().join("phirig-agent.journal")).expect("rig journal");
    assert!(journal.problems.is_empty(), "{:?}", journal.problems);
    let got_jobs = journal
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::JobReceived { .. }))
        .count();
    assert!(got_jobs >= 5, "{got_jobs} jobs in the journal");
}

/// Jobs with a too-short or too-long blob, an unknown algorithm or a zero target are refused with
/// a clear line each, and the job before them keeps being mined (its shares keep coming).
#[test]
fn bad_jobs_are_refused_and_the_previous_job_keeps_running() {
    let _one = heavy();
    let pool = ScriptedPool::start(false, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = pool.url();
    // No slices here: the full nonce space, so the first job lasts the whole test.
    let mut agent = RigAgent::spawn(
        dir.path(),
        &["-o", &url, "-u", "w", "-a", ALGO, "-t", "1", "--no-journal"],
    );
    wait_until("a first share", PATIENCE, || {
        (!pool.state().submits.is_empty()).then_some(())
    });
    let mut short = job("bad-short", None);
    short["blob"] = json!("07".repeat(20));
    let mut long = job("bad-long", None);
    long["blob"] = json!("07".repeat(409));
    let mut algo = job("bad-algo", None);
    algo["algo"] = json!("cn/nonsense");
    let mut zero = job("bad-zero", None);
    zero["target"] = json!("00000000");
    for bad in [short, long, algo, zero] {
        pool.push(bad);
    }
    for (id, why) in [
        ("bad-short", "need at least"),
        ("bad-long", "longer than"),
        ("bad-algo", "cn/nonsense"),
        ("bad-zero", "zero"),
    ] {
        wait_until(&format!("the refusal of {id}"), PATIENCE, || {
            agent
                .logs()
                .lines()
                .find(|l| l.contains(id) && l.contains("previous job keeps running"))
                .map(|l| {
                    assert!(l.contains("ERROR") && l.contains(why), "unclear: {l}");
                })
        });
    }
    let before = pool.state().submits.len();
    wait_until(
        "shares for the first job after the bad ones",
        PATIENCE,
        || {
            let s = pool.state();
            (s.submits.len() > before + 1).then_some(())
        },
    );
    let s = pool.state();
    assert!(
        s.submits.iter().all(|(j, _)| j == "s0"),
        "a share for a refused job: {:?}",
        s.submits
    );
    assert_eq!(s.logins, 1, "a bad job cost the connection");
    drop(s);
    assert_eq!(agent.get("/1/summary")["algo"], ALGO);
    assert!(!agent.logs().contains("panicked"));
    let status = agent.sigterm_and_wait(Duration::from_secs(15));
    assert!(status.success(), "exit status {status}");
}

/// SIGTERM while a submit waits for its answer: the agent waits a bounded time, exits 0, and its
/// journal is complete and readable.
#[test]
fn sigterm_with_a_submit_in_flight_exits_cleanly_and_flushes_the_journal() {
    let _one = heavy();
    let pool = ScriptedPool::start(true, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = pool.url();
    let mut agent = RigAgent::spawn(
        dir.path(),
        &[
            "-o",
            &url,
            "-u",
            "w",
            "-a",
            ALGO,
            "-t",
            "1",
            "--journal",
            "j.bin",
            "--journal-fsync",
            "1",
        ],
    );
    wait_until("a submit on the wire", PATIENCE, || {
        (!pool.state().submits.is_empty()).then_some(())
    });
    let started = std::time::Instant::now();
    let status = agent.sigterm_and_wait(Duration::from_secs(20));
    assert!(status.success(), "exit status {status}");
    // The grace for in-flight submits is 5 s; the rest is shutting the workers down.
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    let journal = read_file(dir.path().join("j.bin")).expect("journal");
    assert!(journal.problems.is_empty(), "{:?}", journal.problems);
    let has = |f: fn(&Event) -> bool| journal.events.iter().any(|e| f(&e.event));
    assert!(has(|e| matches!(e, Event::SubmitSent { .. })));
    assert!(has(|e| matches!(
        e,
        Event::Worker(phirig_journal::WorkerEvent::Stop { .. })
    )));
    assert!(agent.logs().contains("SIGTERM"));
}

/// Memory: the agent's resident set stays within its scratchpads plus 32 MiB while it mines.
#[test]
fn rss_stays_within_the_scratchpads_plus_32_mib() {
    let _one = heavy();
    let pool = ScriptedPool::start(false, false);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = pool.url();
    let agent = RigAgent::spawn(
        dir.path(),
        &["-o", &url, "-u", "w", "-a", ALGO, "-t", "1", "--no-journal"],
    );
    wait_until("hashing", PATIENCE, || (agent.hashes() > 0).then_some(()));
    // Let the API, the pool client and the rate meters settle into their steady state.
    std::thread::sleep(Duration::from_secs(3));
    let backends = agent.get("/2/backends");
    let intensity = backends[0]["threads"][0]["intensity"]
        .as_u64()
        .expect("intensity") as usize;
    let algo: phirig_kernel::cn::Algorithm = ALGO.parse().expect("algo");
    let scratchpads = intensity * algo.scratchpad_bytes();
    let status = std::fs::read_to_string(format!("/proc/{}/status", agent.child.id()))
        .expect("/proc status");
    let rss_kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    let rss = rss_kib * 1024;
    eprintln!("RSS {rss} B, scratchpads {scratchpads} B");
    assert!(
        rss <= scratchpads + (32 << 20),
        "RSS {rss} > scratchpads {scratchpads} + 32 MiB"
    );
}
