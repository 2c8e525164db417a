//! The events a journal holds, and their byte encoding (type nibble, sub-kind nibble, payload).
//!
//! | type | event          | high nibble               | payload                                  |
//! |------|----------------|---------------------------|------------------------------------------|
//! | 1    | `JobReceived`  | 0                         | job id, algo (str), height, difficulty   |
//! | 2    | `HashBatch`    | 0                         | count                                    |
//! | 3    | `ShareFound`   | 0                         | job id (str), nonce, difficulty          |
//! | 4    | `SubmitSent`   | 0                         | request id, job id (str), nonce          |
//! | 5    | `SubmitResult` | [`SubmitOutcome`]         | request id, RTT ns, reason (str, ≥ 1.1)  |
//! | 6    | `Session`      | [`SessionEvent`] variant  | see below                                |
//! | 7    | `HugePages`    | [`HugePageStatus`]        | requested bytes, huge bytes, errno (S)   |
//! | 8    | `Worker`       | [`WorkerEvent`] variant   | cpu + 1 (0: unpinned) / hashes / message |
//! | 9    | `ClockOffset`  | 0                         | card, offset ns (S), RTT ns              |
//! | 10   | `Supervision`  | [`SupervisionAction`]     | card, detail (str)                       |
//!
//! Session variants: 0 `Connected` (pool str), 1 `Login` (byte 0/1), 2 `Hung` (timer str,
//! silent ms), 3 `Reconnect` (cause str, attempt), 4 `Failover` (from str, to str),
//! 5 `Disconnected` (reason str), 6 `Probe` (pool str, method str, result str; ≥ 1.2). Sub-kind
//! values are the enums' discriminants.
//!
//! Integers are ULEB128 unless marked (S) for SLEB128. Type 0 is never written, so zero-filled
//! tails (preallocated or lost blocks after a crash) read as damage rather than events.

use super::error::DecodeError;
use super::leb128::{write_sleb, write_str, write_uleb, Cursor};
use serde::Serialize;
use std::fmt;

/// Strings longer than this are cut (at a character boundary) when recorded, to bound buffers.
pub const MAX_STRING_BYTES: usize = 1024;

/// One thing that happened on a thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    JobReceived {
        job_id: String,
        algo: String,
        height: u64,
        difficulty: u64,
    },
    /// A worker finished `count` hashes since its previous batch.
    HashBatch {
        count: u64,
    },
    ShareFound {
        job_id: String,
        nonce: u32,
        difficulty: u64,
    },
    SubmitSent {
        request_id: u64,
        job_id: String,
        nonce: u32,
    },
    SubmitResult {
        request_id: u64,
        outcome: SubmitOutcome,
        rtt_ns: u64,
        reason: String,
    },
    Session(SessionEvent),
    HugePages {
        status: HugePageStatus,
        requested_bytes: u64,
        huge_bytes: u64,
        /// `errno` of the failed huge-page request, 0 if none.
        errno: i32,
    },
    Worker(WorkerEvent),
    /// Host: a sample of a card's clock minus the host's clock.
    ClockOffset {
        card: u32,
        offset_ns: i64,
        rtt_ns: u64,
    },
    /// Host: a deployment or supervision step on a card.
    Supervision {
        card: u32,
        action: SupervisionAction,
        detail: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmitOutcome {
    Accepted = 0,
    Rejected = 1,
    Stale = 2,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionEvent {
    Connected {
        pool: String,
    },
    Login {
        ok: bool,
    },
    /// The session was declared hung: `timer` is the one that fired, after `silent_ms` of silence.
    Hung {
        timer: String,
        silent_ms: u64,
    },
    Reconnect {
        cause: String,
        attempt: u32,
    },
    Failover {
        from: String,
        to: String,
    },
    Disconnected {
        reason: String,
    },
    /// A liveness probe of the mining pool went differently from the one before: `result` is
    /// `answered`, `unanswered` or `refused`, `method` is `keepalived` or `getjob`.
    Probe {
        pool: String,
        method: String,
        result: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HugePageStatus {
    /// Everything requested is backed by huge pages.
    Allocated = 0,
    /// Some or all of it fell back to normal pages.
    Partial = 1,
    /// No huge pages at all.
    Failed = 2,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WorkerEvent {
    Start { cpu: Option<u32> },
    Stop { hashes: u64 },
    Panic { message: String },
}

/// The kind of step a `Supervision` event records, whoever took it (rig start-up, operator stop,
/// watchdog); its byte is part of the file format, so the set stays small and fixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SupervisionAction {
    Deploy = 0,
    Start = 1,
    Stop = 2,
    Restart = 3,
    Unhealthy = 4,
}

const T_JOB: u8 = 1;
const T_HASH: u8 = 2;
const T_SHARE: u8 = 3;
const T_SUBMIT_SENT: u8 = 4;
const T_SUBMIT_RESULT: u8 = 5;
const T_SESSION: u8 = 6;
const T_HUGE: u8 = 7;
const T_WORKER: u8 = 8;
const T_CLOCK: u8 = 9;
const T_SUPERVISION: u8 = 10;

impl Event {
    /// Appends the event: type byte, `delta_ns` as ULEB128, then the payload.
    #[inline]
    pub(super) fn encode(&self, delta_ns: u64, out: &mut Vec<u8>) {
        // HashBatch is the hot one: keep it a straight line.
        if let Event::HashBatch { count } = self {
            out.push(T_HASH);
            write_uleb(out, delta_ns);
            write_uleb(out, *count);
            return;
        }
        let (ty, ext) = self.type_and_ext();
        out.push(ty | (ext << 4));
        write_uleb(out, delta_ns);
        match self {
            Event::JobReceived {
                job_id,
                algo,
                height,
                difficulty,
            } => {
                put_str(out, job_id);
                put_str(out, algo);
                write_uleb(out, *height);
                write_uleb(out, *difficulty);
            }
            Event::HashBatch { count } => write_uleb(out, *count),
            Event::ShareFound {
                job_id,
                nonce,
                difficulty,
            } => {
                put_str(out, job_id);
                write_uleb(out, u64::from(*nonce));
                write_uleb(out, *difficulty);
            }
            Event::SubmitSent {
                request_id,
                job_id,
                nonce,
            } => {
                write_uleb(out, *request_id);
                put_str(out, job_id);
                write_uleb(out, u64::from(*nonce));
            }
            Event::SubmitResult {
                request_id,
                rtt_ns,
                reason,
                ..
            } => {
                write_uleb(out, *request_id);
                write_uleb(out, *rtt_ns);
                put_str(out, reason);
            }
            Event::Session(s) => match s {
                SessionEvent::Connected { pool } => put_str(out, pool),
                SessionEvent::Login { ok } => out.push(u8::from(*ok)),
                SessionEvent::Hung { timer, silent_ms } => {
                    put_str(out, timer);
                    write_uleb(out, *silent_ms);
                }
                SessionEvent::Reconnect { cause, attempt } => {
                    put_str(out, cause);
                    write_uleb(out, u64::from(*attempt));
                }
                SessionEvent::Failover { from, to } => {
                    put_str(out, from);
                    put_str(out, to);
                }
                SessionEvent::Disconnected { reason } => put_str(out, reason),
                SessionEvent::Probe {
                    pool,
                    method,
                    result,
                } => {
                    put_str(out, pool);
                    put_str(out, method);
                    put_str(out, result);
                }
            },
            Event::HugePages {
                requested_bytes,
                huge_bytes,
                errno,
                ..
            } => {
                write_uleb(out, *requested_bytes);
                write_uleb(out, *huge_bytes);
                write_sleb(out, i64::from(*errno));
            }
            Event::Worker(w) => match w {
                WorkerEvent::Start { cpu } => write_uleb(out, cpu.map_or(0, |c| u64::from(c) + 1)),
                WorkerEvent::Stop { hashes } => write_uleb(out, *hashes),
                WorkerEvent::Panic { message } => put_str(out, message),
            },
            Event::ClockOffset {
                card,
                offset_ns,
                rtt_ns,
            } => {
                write_uleb(out, u64::from(*card));
                write_sleb(out, *offset_ns);
                write_uleb(out, *rtt_ns);
            }
            Event::Supervision { card, detail, .. } => {
                write_uleb(out, u64::from(*card));
                put_str(out, detail);
            }
        }
    }

    fn type_and_ext(&self) -> (u8, u8) {
        match self {
            Event::JobReceived { .. } => (T_JOB, 0),
            Event::HashBatch { .. } => (T_HASH, 0),
            Event::ShareFound { .. } => (T_SHARE, 0),
            Event::SubmitSent { .. } => (T_SUBMIT_SENT, 0),
            Event::SubmitResult { outcome, .. } => (T_SUBMIT_RESULT, *outcome as u8),
            Event::Session(s) => (
                T_SESSION,
                match s {
                    SessionEvent::Connected { .. } => 0,
                    SessionEvent::Login { .. } => 1,
                    SessionEvent::Hung { .. } => 2,
                    SessionEvent::Reconnect { .. } => 3,
                    SessionEvent::Failover { .. } => 4,
                    SessionEvent::Disconnected { .. } => 5,
                    SessionEvent::Probe { .. } => 6,
                },
            ),
            Event::HugePages { status, .. } => (T_HUGE, *status as u8),
            Event::Worker(w) => (
                T_WORKER,
                match w {
                    WorkerEvent::Start { .. } => 0,
                    WorkerEvent::Stop { .. } => 1,
                    WorkerEvent::Panic { .. } => 2,
                },
            ),
            Event::ClockOffset { .. } => (T_CLOCK, 0),
            Event::Supervision { action, .. } => (T_SUPERVISION, *action as u8),
        }
    }

    /// Decodes one event written by format minor `minor`; returns it and its delta in ns.
    pub(super) fn decode(c: &mut Cursor, minor: u16) -> Result<(Event, u64), DecodeError> {
        let b = c.u8()?;
        let (ty, ext) = (b & 0x0f, b >> 4);
        let delta = c.uleb()?;
        let bad_ext = DecodeError::UnknownSubKind {
            event_type: ty,
            ext,
        };
        // Types without sub-kinds must have ext 0, so that damage is noticed early.
        let no_ext = |e: Event| {
            if ext == 0 {
                Ok(e)
            } else {
                Err(bad_ext.clone())
            }
        };
        let ev = match ty {
            T_JOB => no_ext(Event::JobReceived {
                job_id: c.str()?,
                algo: c.str()?,
                height: c.uleb()?,
                difficulty: c.uleb()?,
            })?,
            T_HASH => no_ext(Event::HashBatch { count: c.uleb()? })?,
            T_SHARE => no_ext(Event::ShareFound {
                job_id: c.str()?,
                nonce: c.uleb_u32()?,
                difficulty: c.uleb()?,
            })?,
            T_SUBMIT_SENT => no_ext(Event::SubmitSent {
                request_id: c.uleb()?,
                job_id: c.str()?,
                nonce: c.uleb_u32()?,
            })?,
            T_SUBMIT_RESULT => {
                let outcome = match ext {
                    0 => SubmitOutcome::Accepted,
                    1 => SubmitOutcome::Rejected,
                    2 => SubmitOutcome::Stale,
                    _ => return Err(bad_ext),
                };
                Event::SubmitResult {
                    request_id: c.uleb()?,
                    outcome,
                    rtt_ns: c.uleb()?,
                    // 1.0 had no reason field.
                    reason: if minor >= 1 { c.str()? } else { String::new() },
                }
            }
            T_SESSION => Event::Session(match ext {
                0 => SessionEvent::Connected { pool: c.str()? },
                1 => SessionEvent::Login {
                    ok: match c.u8()? {
                        0 => false,
                        1 => true,
                        _ => return Err(DecodeError::OutOfRange),
                    },
                },
                2 => SessionEvent::Hung {
                    timer: c.str()?,
                    silent_ms: c.uleb()?,
                },
                3 => SessionEvent::Reconnect {
                    cause: c.str()?,
                    attempt: c.uleb_u32()?,
                },
                4 => SessionEvent::Failover {
                    from: c.str()?,
                    to: c.str()?,
                },
                5 => SessionEvent::Disconnected { reason: c.str()? },
                6 if minor >= 2 => SessionEvent::Probe {
                    pool: c.str()?,
                    method: c.str()?,
                    result: c.str()?,
                },
                _ => return Err(bad_ext),
            }),
            T_HUGE => {
                let status = match ext {
                    0 => HugePageStatus::Allocated,
                    1 => HugePageStatus::Partial,
                    2 => HugePageStatus::Failed,
                    _ => return Err(bad_ext),
                };
                Event::HugePages {
                    status,
                    requested_bytes: c.uleb()?,
                    huge_bytes: c.uleb()?,
                    errno: i32::try_from(c.sleb()?).map_err(|_| DecodeError::OutOfRange)?,
                }
            }
            T_WORKER => Event::Worker(match ext {
                0 => WorkerEvent::Start {
                    cpu: match c.uleb()? {
                        0 => None,
                        n => Some(u32::try_from(n - 1).map_err(|_| DecodeError::OutOfRange)?),
                    },
                },
                1 => WorkerEvent::Stop { hashes: c.uleb()? },
                2 => WorkerEvent::Panic { message: c.str()? },
                _ => return Err(bad_ext),
            }),
            T_CLOCK => no_ext(Event::ClockOffset {
                card: c.uleb_u32()?,
                offset_ns: c.sleb()?,
                rtt_ns: c.uleb()?,
            })?,
            T_SUPERVISION => {
                let action = match ext {
                    0 => SupervisionAction::Deploy,
                    1 => SupervisionAction::Start,
                    2 => SupervisionAction::Stop,
                    3 => SupervisionAction::Restart,
                    4 => SupervisionAction::Unhealthy,
                    _ => return Err(bad_ext),
                };
                Event::Supervision {
                    card: c.uleb_u32()?,
                    action,
                    detail: c.str()?,
                }
            }
            _ => return Err(DecodeError::UnknownEventType(ty)),
        };
        Ok((ev, delta))
    }
}

/// Writes a string, cut to [`MAX_STRING_BYTES`] at a character boundary.
fn put_str(out: &mut Vec<u8>, s: &str) {
    write_str(out, truncate(s));
}

/// `s` cut to at most [`MAX_STRING_BYTES`] bytes at a character boundary.
fn truncate(s: &str) -> &str {
    if s.len() <= MAX_STRING_BYTES {
        return s;
    }
    let mut end = MAX_STRING_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl fmt::Display for SubmitOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SubmitOutcome::Accepted => "accepted",
            SubmitOutcome::Rejected => "rejected",
            SubmitOutcome::Stale => "stale",
        })
    }
}

impl fmt::Display for HugePageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HugePageStatus::Allocated => "allocated",
            HugePageStatus::Partial => "partial",
            HugePageStatus::Failed => "failed",
        })
    }
}

impl fmt::Display for SupervisionAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SupervisionAction::Deploy => "deploy",
            SupervisionAction::Start => "start",
            SupervisionAction::Stop => "stop",
            SupervisionAction::Restart => "restart",
            SupervisionAction::Unhealthy => "unhealthy",
        })
    }
}

/// One line, `name key=value ...`; strings are quoted with Rust escapes so lines stay single.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::JobReceived {
                job_id,
                algo,
                height,
                difficulty,
            } => write!(
                f,
                "job job={job_id:?} algo={algo:?} height={height} diff={difficulty}"
            ),
            Event::HashBatch { count } => write!(f, "hashes count={count}"),
            Event::ShareFound {
                job_id,
                nonce,
                difficulty,
            } => write!(
                f,
                "share_found job={job_id:?} nonce={nonce:08x} diff={difficulty}"
            ),
            Event::SubmitSent {
                request_id,
                job_id,
                nonce,
            } => write!(
                f,
                "submit_sent id={request_id} job={job_id:?} nonce={nonce:08x}"
            ),
            Event::SubmitResult {
                request_id,
                outcome,
                rtt_ns,
                reason,
            } => write!(
                f,
                "submit_result id={request_id} outcome={outcome} rtt_ms={:.3} reason={reason:?}",
                *rtt_ns as f64 / 1e6
            ),
            Event::Session(s) => match s {
                SessionEvent::Connected { pool } => write!(f, "session connected pool={pool:?}"),
                SessionEvent::Login { ok } => write!(f, "session login ok={ok}"),
                SessionEvent::Hung { timer, silent_ms } => {
                    write!(f, "session hung timer={timer:?} silent_ms={silent_ms}")
                }
                SessionEvent::Reconnect { cause, attempt } => {
                    write!(f, "session reconnect cause={cause:?} attempt={attempt}")
                }
                SessionEvent::Failover { from, to } => {
                    write!(f, "session failover from={from:?} to={to:?}")
                }
                SessionEvent::Probe {
                    pool,
                    method,
                    result,
                } => write!(
                    f,
                    "session probe pool={pool:?} method={method:?} result={result:?}"
                ),
                SessionEvent::Disconnected { reason } => {
                    write!(f, "session disconnected reason={reason:?}")
                }
            },
            Event::HugePages {
                status,
                requested_bytes,
                huge_bytes,
                errno,
            } => write!(
                f,
                "huge_pages status={status} requested={requested_bytes} huge={huge_bytes} errno={errno}"
            ),
            Event::Worker(w) => match w {
                WorkerEvent::Start { cpu: Some(c) } => write!(f, "worker start cpu={c}"),
                WorkerEvent::Start { cpu: None } => write!(f, "worker start cpu=none"),
                WorkerEvent::Stop { hashes } => write!(f, "worker stop hashes={hashes}"),
                WorkerEvent::Panic { message } => write!(f, "worker panic message={message:?}"),
            },
            Event::ClockOffset {
                card,
                offset_ns,
                rtt_ns,
            } => write!(
                f,
                "clock_offset card={card} offset_ns={offset_ns} rtt_ns={rtt_ns}"
            ),
            Event::Supervision {
                card,
                action,
                detail,
            } => write!(f, "supervision card={card} action={action} detail={detail:?}"),
        }
    }
}
