//! Upgrading one card: announce size and digest, stream the mapped binary, wait for the agent to
//! come back as the new build with a new boot id.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use phirig_wire::Counters;
use serde::Serialize;
use serde_json::Value;

use super::http::{self, AnswerReader, HttpError};
use super::image::BinaryImage;
use crate::zerocopy::{SendError, SendOptions, SharedBuf, ZcSender, ZcStats};

/// The agent's upload endpoint and digest header (see `phirig_agent::upgrade`).
pub const BINARY_PATH: &str = "/v1/binary";
pub const DIGEST_HEADER: &str = "X-Phirig-Sha3-256";

/// How long to wait for `100 Continue` before sending the body anyway (RFC 9110 allows it).
const CONTINUE_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum UpgradeError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("agent refused the upload: {status} {message}")]
    Refused { status: u16, message: String },
    #[error("agent answered {status} to {path}: {message}")]
    Unexpected {
        path: String,
        status: u16,
        message: String,
    },
    #[error("agent reports build {got}, expected {expected}")]
    WrongBuild { expected: String, got: String },
    #[error("agent did not come back as build {expected} within {waited:?} (last: {last})")]
    NotRestarted {
        expected: String,
        waited: Duration,
        last: String,
    },
}

/// What was announced and what is sent; they differ only to test the agent's refusals.
#[derive(Debug, Clone, Copy)]
pub struct Announce {
    pub size: u64,
    pub digest: [u8; 32],
    /// Bytes of the buffer actually sent (`size` normally).
    pub send: u64,
}

/// The agent's answer to a `PUT /v1/binary`, with the sender's counters.
#[derive(Debug, Clone)]
pub struct PutOutcome {
    pub status: u16,
    pub body: Value,
    pub stats: ZcStats,
    pub elapsed: Duration,
}

/// Bytes sent so far of one card's transfer.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub sent: u64,
    pub total: u64,
    pub elapsed: Duration,
}

impl Progress {
    /// Bytes per second so far.
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Sends `data[..announce.send]` as `PUT /v1/binary` announcing `announce`, and reads the answer.
/// The buffer stays referenced until every zero-copy send on this socket has completed.
pub fn put_binary(
    addr: SocketAddr,
    token: Option<&str>,
    data: SharedBuf,
    announce: Announce,
    opts: SendOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<PutOutcome, UpgradeError> {
    let start = Instant::now();
    let stream = http::connect(addr, Duration::from_secs(5))?;
    let mut sender = ZcSender::new(stream, data, opts);
    let head = http::request_head(
        "PUT",
        BINARY_PATH,
        &addr,
        token,
        &[
            "Content-Type: application/octet-stream".into(),
            format!("Content-Length: {}", announce.size),
            format!("{DIGEST_HEADER}: {}", hex::encode(announce.digest)),
            "Expect: 100-continue".into(),
        ],
    );
    sender.write_plain(head.as_bytes())?;
    let mut reader = AnswerReader::new();
    // A refusal (token, size, digest header) comes before the body: nothing is sent in vain.
    match reader.next(sender.stream(), Instant::now() + CONTINUE_WAIT) {
        Ok(a) if a.status == 100 => {}
        Ok(a) => {
            return Ok(PutOutcome {
                status: a.status,
                body: a.json(),
                stats: sender.stats(),
                elapsed: start.elapsed(),
            })
        }
        Err(HttpError::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ) => {}
        Err(e) => return Err(e.into()),
    }
    let total = announce.send;
    let send_end = usize::try_from(total).unwrap_or(usize::MAX);
    let sent = sender.send_range(0, send_end, &mut |sent| {
        progress(Progress {
            sent,
            total,
            elapsed: start.elapsed(),
        })
    });
    if announce.send < announce.size {
        // A short upload: end our side so the agent sees the body cut off.
        let _ = sender.stream().shutdown(std::net::Shutdown::Write);
    }
    // The answer may already be there even if sending failed (the agent refused mid-way).
    let send_err = sent.err();
    let (mut stream, stats) = sender.finish()?;
    let answer = reader.next(&mut stream, Instant::now() + Duration::from_secs(30));
    match (answer, send_err) {
        (Ok(a), _) => Ok(PutOutcome {
            status: a.status,
            body: a.json(),
            stats,
            elapsed: start.elapsed(),
        }),
        (Err(_), Some(e)) => Err(e.into()),
        (Err(e), None) => Err(e.into()),
    }
}

/// `GET /v1/counters`, parsed.
pub fn counters(addr: SocketAddr, token: Option<&str>) -> Result<Counters, UpgradeError> {
    let a = http::get(addr, "/v1/counters", token, Duration::from_secs(5))?;
    if a.status != 200 {
        return Err(UpgradeError::Unexpected {
            path: "/v1/counters".into(),
            status: a.status,
            message: a.message(),
        });
    }
    serde_json::from_slice(&a.body).map_err(|e| UpgradeError::Unexpected {
        path: "/v1/counters".into(),
        status: a.status,
        message: format!("bad counters: {e}"),
    })
}

fn field(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string()
}

/// One card's upgrade, for the result table.
#[derive(Debug, Clone, Serialize)]
pub struct CardUpgrade {
    pub old_build: String,
    pub new_build: String,
    pub old_boot_id: String,
    pub new_boot_id: String,
    pub bytes: u64,
    /// Transfer time (headers to the agent's answer).
    pub seconds: f64,
    /// Until the new build answered.
    pub restart_seconds: f64,
    pub stats: ZcStats,
}

/// Upgrades the agent at `addr` to `image` and waits (up to `restart_timeout`) until it answers
/// as the new build with a new boot id.
pub fn upgrade_card(
    addr: SocketAddr,
    token: Option<&str>,
    image: &BinaryImage,
    opts: SendOptions,
    restart_timeout: Duration,
    progress: &mut dyn FnMut(Progress),
) -> Result<CardUpgrade, UpgradeError> {
    let before = counters(addr, token)?;
    let (old_build, old_boot_id) = (before.build, before.boot_id);
    let announce = Announce {
        size: image.len(),
        digest: image.digest,
        send: image.len(),
    };
    let put = put_binary(addr, token, image.shared(), announce, opts, progress)?;
    if put.status != 200 {
        let message = put
            .body
            .get("error")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        return Err(UpgradeError::Refused {
            status: put.status,
            message,
        });
    }
    let installed = field(&put.body, "new_build");
    if installed != image.build {
        return Err(UpgradeError::WrongBuild {
            expected: image.build.clone(),
            got: installed,
        });
    }
    let start = Instant::now();
    let mut last = String::from("no answer yet");
    // Bounded by `restart_timeout`; the agent is down for a moment while it re-executes.
    while start.elapsed() < restart_timeout {
        std::thread::sleep(Duration::from_millis(200));
        match counters(addr, token) {
            Ok(v) if v.build == image.build && v.boot_id != old_boot_id => {
                return Ok(CardUpgrade {
                    old_build,
                    new_build: image.build.clone(),
                    old_boot_id,
                    new_boot_id: v.boot_id,
                    bytes: image.len(),
                    seconds: put.elapsed.as_secs_f64(),
                    restart_seconds: start.elapsed().as_secs_f64(),
                    stats: put.stats,
                });
            }
            Ok(v) => last = format!("build {} boot {}", v.build, v.boot_id),
            Err(e) => last = e.to_string(),
        }
    }
    Err(UpgradeError::NotRestarted {
        expected: image.build.clone(),
        waited: start.elapsed(),
        last,
    })
}
