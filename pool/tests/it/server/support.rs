//! Helpers for the server tests: a raw JSON-lines client on loopback and a share finder.

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use phirig_pool::protocol::{Target, NICEHASH_BYTE_OFFSET, NONCE_OFFSET};
use phirig_pool::server::{
    PoolServer, ServerConfig, ServerHandle, Sha3ShareHasher, ShareHasher, SHUTDOWN_WAIT,
};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Patience for anything that should happen promptly.
pub const STEP: Duration = Duration::from_secs(5);
/// How long "nothing arrives" is watched for.
pub const QUIET: Duration = Duration::from_millis(400);

/// Longest one test may run, runtime teardown included. Tests take about a second; far beyond
/// that something blocks a thread where no `timeout` can reach (a reactor stuck in sync code,
/// a runtime drop waiting on a blocking task), and the binary would hang without saying where.
pub const TEST_LIMIT: Duration = Duration::from_secs(120);

thread_local! {
    /// Dropped when the test's thread ends (libtest runs each test on its own thread), which
    /// disconnects the channel and stands the watchdog down.
    static WATCHDOG: RefCell<Option<mpsc::Sender<()>>> = const { RefCell::new(None) };
}

/// Start (once per test) a watchdog that aborts the binary, naming the test, if the test's
/// thread is still alive after [`TEST_LIMIT`]: a loud failure instead of a silent hang.
pub fn arm_watchdog() {
    WATCHDOG.with(|w| {
        if w.borrow().is_some() {
            return;
        }
        let (alive, watched) = mpsc::channel::<()>();
        let name = std::thread::current()
            .name()
            .unwrap_or("<unnamed>")
            .to_string();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = watched.recv_timeout(TEST_LIMIT) {
                eprintln!("test {name} still running after {TEST_LIMIT:?}; aborting the binary");
                std::process::abort();
            }
        });
        *w.borrow_mut() = Some(alive);
    });
}

/// Difficulty 1, no vardiff, no job timer, loopback with an ephemeral port.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        start_difficulty: 1,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        login_timeout: Duration::from_secs(20),
        ..ServerConfig::default()
    }
}

pub async fn start(config: ServerConfig) -> ServerHandle {
    start_with(config, Arc::new(Sha3ShareHasher)).await
}

/// Start a server with this hasher; bounded like every other wait here.
pub async fn start_with(config: ServerConfig, hasher: Arc<dyn ShareHasher>) -> ServerHandle {
    arm_watchdog();
    timeout(STEP, PoolServer::start(config, hasher))
        .await
        .expect("server starts in time")
        .expect("server starts")
}

/// Shut a server down, bounded: a shutdown that never finishes fails the test instead of
/// hanging the whole test binary. Longer than the server's own bound, so that one is tested.
pub async fn stop(pool: ServerHandle) {
    timeout(SHUTDOWN_WAIT + STEP, pool.shutdown())
        .await
        .expect("server shuts down in time");
}

/// A miner with no smarts: writes JSON lines, reads raw bytes and lines.
pub struct RawClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
    next_id: u64,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> RawClient {
        arm_watchdog();
        assert!(addr.ip().is_loopback());
        let stream = timeout(STEP, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        RawClient {
            stream,
            buf: Vec::new(),
            next_id: 1,
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        timeout(STEP, self.stream.write_all(bytes))
            .await
            .expect("write in time")
            .expect("write");
    }

    /// Send a request; returns its id.
    pub async fn request(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let mut line =
            json!({"id": id, "jsonrpc": "2.0", "method": method, "params": params}).to_string();
        line.push('\n');
        self.send_raw(line.as_bytes()).await;
        id
    }

    /// Read more bytes; Ok(0) on EOF, Err on reset or timeout (`TimedOut`).
    pub async fn read_some(&mut self, wait: Duration) -> io::Result<usize> {
        let mut chunk = [0u8; 8192];
        match timeout(wait, self.stream.read(&mut chunk)).await {
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "nothing arrived")),
        }
    }

    /// The next line (without newline). Err(TimedOut) if none within `wait`, Err(UnexpectedEof) on close.
    pub async fn line(&mut self, wait: Duration) -> io::Result<String> {
        let deadline = tokio::time::Instant::now() + wait;
        // Bounded: every pass either returns or reads at least one byte before the deadline.
        for _ in 0..100_000 {
            if let Some(pos) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                return Ok(String::from_utf8_lossy(&line[..pos]).into_owned());
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                break;
            }
            if self.read_some(left).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
            }
        }
        Err(io::Error::new(io::ErrorKind::TimedOut, "no full line"))
    }

    /// The next line as JSON (panics on a non-JSON line: the test expected a message).
    pub async fn json(&mut self) -> Value {
        let line = self.line(STEP).await.expect("a line");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:.200}"))
    }

    /// The reply to request `id`, skipping notifications (bounded).
    pub async fn reply(&mut self, id: u64) -> Value {
        for _ in 0..50 {
            let v = self.json().await;
            if v["id"] == json!(id) {
                return v;
            }
        }
        panic!("no reply to request {id}");
    }

    /// The next job notification, skipping replies (bounded).
    pub async fn job_notification(&mut self) -> Value {
        for _ in 0..50 {
            let v = self.json().await;
            if v["method"] == "job" {
                return v["params"].clone();
            }
        }
        panic!("no job notification");
    }

    /// Bytes received but not yet taken as lines.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Log in; returns (session id, first job).
    pub async fn login(&mut self, rigid: &str) -> (String, Value) {
        let id = self
            .request(
                "login",
                json!({"login": "wallet", "pass": "x", "agent": "test/1", "rigid": rigid, "algo": ["cn/0"]}),
            )
            .await;
        let r = self.reply(id).await;
        assert_eq!(r["error"], Value::Null, "login failed: {r}");
        let session = r["result"]["id"].as_str().expect("session id").to_string();
        (session, r["result"]["job"].clone())
    }

    /// Submit and return the reply.
    pub async fn submit(
        &mut self,
        session: &str,
        job_id: &str,
        nonce: &str,
        result: &str,
    ) -> Value {
        let id = self
            .request(
                "submit",
                json!({"id": session, "job_id": job_id, "nonce": nonce, "result": result}),
            )
            .await;
        self.reply(id).await
    }

    pub async fn keepalived(&mut self, session: &str) -> u64 {
        self.request("keepalived", json!({"id": session})).await
    }
}

/// The error message of a reply, if it is an error.
pub fn error_message(reply: &Value) -> Option<&str> {
    reply["error"]["message"].as_str()
}

/// Search nonces from `start` (at most `tries`) for one meeting the job's target with the test
/// hasher, keeping the blob's byte 42 when `keep_nicehash`. Returns (nonce hex, result hex).
pub fn find_share(
    job: &Value,
    start: u32,
    tries: u32,
    keep_nicehash: bool,
) -> Option<(String, String)> {
    let mut blob = hex::decode(job["blob"].as_str()?).ok()?;
    let target = Target::from_hex(job["target"].as_str()?).ok()?;
    let fixed = blob[NICEHASH_BYTE_OFFSET];
    for n in start..start.saturating_add(tries) {
        let mut nonce = n.to_le_bytes();
        if keep_nicehash {
            nonce[3] = fixed;
        }
        blob[NONCE_OFFSET..NONCE_OFFSET + 4].copy_from_slice(&nonce);
        let hash = Sha3ShareHasher.hash("cn/0", &blob, 0).ok()?;
        if target.is_met_by(&hash) {
            return Some((hex::encode(nonce), hex::encode(hash)));
        }
    }
    None
}

/// The hash the server will compute for `nonce` on `job`, whether or not it meets the target.
pub fn hash_for(job: &Value, nonce: [u8; 4]) -> String {
    let mut blob = hex::decode(job["blob"].as_str().expect("blob")).expect("hex blob");
    blob[NONCE_OFFSET..NONCE_OFFSET + 4].copy_from_slice(&nonce);
    hex::encode(Sha3ShareHasher.hash("cn/0", &blob, 0).expect("hash"))
}

/// Poll the server's stats until `pred` holds (bounded), for counters updated after a reply.
pub async fn wait_stats(
    pool: &ServerHandle,
    pred: impl Fn(&phirig_pool::server::ServerStats) -> bool,
) -> phirig_pool::server::ServerStats {
    for _ in 0..100 {
        let s = pool.stats();
        if pred(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = pool.stats();
    panic!("stats never matched: {s:#?}");
}
