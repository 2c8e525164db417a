//! Helpers for the agent process tests: an agent child process and kernel-verifying pools.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use phirig_pool::server::{ServerConfig, ServerHandle};
use phirig_test_support::loopback::{free_port, http};
use phirig_test_support::mining;
use serde_json::Value;

/// The binary under test, built by cargo for this test target.
pub const AGENT: &str = env!("CARGO_BIN_EXE_phirig-agent");

/// How long any single wait may take: generous, because the CI box has two shared cores.
pub const PATIENCE: Duration = Duration::from_secs(90);

/// Tests that hash run one at a time: two cores cannot host several miners and their pools at once.
static HEAVY: Mutex<()> = Mutex::new(());

pub fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|p| p.into_inner())
}

/// A tokio runtime for the pool servers; the test thread itself stays synchronous.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("building the pool runtime")
}

/// A pool that hands out easy, fixed-difficulty jobs so one slow core finds shares within seconds.
pub fn easy_config(algo: &str, difficulty: u64) -> ServerConfig {
    ServerConfig {
        bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        algo: algo.into(),
        start_difficulty: difficulty,
        min_difficulty: difficulty,
        max_difficulty: difficulty,
        vardiff: false,
        verify_threads: 1,
        ..ServerConfig::default()
    }
}

/// Starts the reference pool, verifying shares with the real kernel.
pub fn start_pool(rt: &tokio::runtime::Runtime, config: ServerConfig) -> ServerHandle {
    rt.block_on(mining::start_pool(config))
}

pub fn pool_url(pool: &ServerHandle) -> String {
    format!("stratum+tcp://{}", pool.local_addr())
}

/// A running `phirig-agent`; killed on drop so a failing test leaks no process.
pub struct Agent {
    child: Child,
    pub port: u16,
    logs: Arc<Mutex<String>>,
}

impl Agent {
    /// Starts the agent with `args` plus `--http-port` on a free port.
    pub fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Agent {
        let port = free_port();
        let mut cmd = Command::new(AGENT);
        cmd.args(args)
            .args(["--http-port", &port.to_string()])
            .env("RUST_LOG", "info")
            .env_remove("PHIRIG_HTTP_TOKEN")
            .env_remove("PHIRIG_TOKEN_FILE")
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning phirig-agent");
        let logs = Arc::new(Mutex::new(String::new()));
        let out = child.stdout.take().expect("stdout piped");
        let err = child.stderr.take().expect("stderr piped");
        collect(out, logs.clone());
        collect(err, logs.clone());
        let agent = Agent { child, port, logs };
        // Ready once the API answers (with any status: restricted agents say 401).
        agent.until("the agent's HTTP API", PATIENCE, || {
            agent.request("GET", "/1/summary", None, "").ok()
        });
        agent
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Everything the agent wrote to stdout and stderr so far.
    pub fn logs(&self) -> String {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Like [`wait_until`](phirig_test_support::wait::wait_until), but a timeout shows the agent's
    /// log tail.
    pub fn until<T>(&self, what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(v) = f() {
                return v;
            }
            if Instant::now() >= deadline {
                let logs = self.logs();
                let tail: Vec<&str> = logs.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                panic!(
                    "timed out after {timeout:?} waiting for {what}; agent log tail:\n{}",
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_log(&self, needle: &str, timeout: Duration) {
        self.until(&format!("log line {needle:?}"), timeout, || {
            self.logs().contains(needle).then_some(())
        });
    }

    pub fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        http(self.port, method, path, token, body)
    }

    /// GET returning (status, JSON body); panics on transport errors or non-JSON.
    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let (status, body) = self
            .request("GET", path, token, "")
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path}: body is not JSON ({e}): {body}"));
        (status, json)
    }

    /// GET that must succeed with 200.
    pub fn get_ok(&self, path: &str, token: Option<&str>) -> Value {
        let (status, json) = self.get(path, token);
        assert_eq!(status, 200, "GET {path}: {json}");
        json
    }

    /// `POST /json_rpc {"method": method}` returning (status, JSON body).
    pub fn rpc(&self, method: &str, token: Option<&str>) -> (u16, Value) {
        let body = format!(r#"{{"id":1,"jsonrpc":"2.0","method":"{method}"}}"#);
        let (status, body) = self
            .request("POST", "/json_rpc", token, &body)
            .unwrap_or_else(|e| panic!("POST /json_rpc {method}: {e}"));
        let json = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("POST /json_rpc: body is not JSON ({e}): {body}"));
        (status, json)
    }

    /// Total hashes from `/v1/counters`.
    pub fn hashes(&self, token: Option<&str>) -> u64 {
        self.get_ok("/v1/counters", token)["hashes_total"]
            .as_u64()
            .expect("hashes_total is a number")
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid; it is not reaped until `wait`, so the pid is ours.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid());
    }

    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Copies a child's output into `logs` line by line (also echoed, so a failing test shows it).
fn collect(stream: impl Read + Send + 'static, logs: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            eprintln!("agent| {line}");
            let mut l = logs.lock().unwrap_or_else(|p| p.into_inner());
            l.push_str(&line);
            l.push('\n');
        }
    });
}

/// Runs the agent binary to completion with a time limit: (exit status, stdout, stderr).
/// `phirig-agent tune --pairs 1 --json --profile FILE` with `args` (algorithms, round length):
/// the profile it printed, after checking it succeeded.
/// A profile `tune` measured into a fresh directory, which lives as long as this does.
pub struct Tuned {
    pub dir: tempfile::TempDir,
    pub path: std::path::PathBuf,
    /// What `tune --json` printed.
    pub profile: phirig_wire::Profile,
}

impl Tuned {
    /// The profile file's path, for command lines.
    pub fn file(&self) -> &str {
        self.path.to_str().expect("utf-8 path")
    }
}

/// `tune --pairs 1 --json --profile DIR/profile.json ARGS` in a fresh directory.
pub fn tune_fresh(args: &[&str], timeout: Duration) -> Tuned {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("profile.json");
    let file = path.to_str().expect("utf-8 path");
    let all = [
        &["tune", "--pairs", "1", "--json", "--profile", file][..],
        args,
    ]
    .concat();
    let (status, out, err) = run_agent(&all, timeout);
    assert!(status.success(), "{err}");
    let profile = serde_json::from_str(out.trim()).expect("tune --json prints the profile");
    Tuned { dir, path, profile }
}

pub fn run_agent(args: &[&str], timeout: Duration) -> (ExitStatus, String, String) {
    let mut child = Command::new(AGENT)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawning phirig-agent");
    let mut out = child.stdout.take().expect("stdout piped");
    let mut err = child.stderr.take().expect("stderr piped");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("phirig-agent {args:?} still running after {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = out_t.join().unwrap_or_default();
    let err = err_t.join().unwrap_or_default();
    (status, out, err)
}
