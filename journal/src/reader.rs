//! Reading a journal back into timed events, skipping past damage instead of failing on it.

use super::error::{DecodeError, Problem, ReadError};
use super::event::Event;
use super::format::{BufferHeader, FileHeader, ThreadKind, BUFFER_HEADER_LEN, BUFFER_MAGIC};
use super::leb128::Cursor;
use serde::Serialize;
use std::path::Path;

/// An event with the thread that recorded it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimedEvent {
    /// ns since the journal started (buffer time base plus the deltas before it).
    pub time_ns: u64,
    pub thread_id: u32,
    pub thread_kind: ThreadKind,
    pub event: Event,
}

/// Everything readable in a journal, in file order (per thread, in time order).
#[derive(Debug, Clone, Serialize)]
pub struct JournalFile {
    pub header: FileHeader,
    pub events: Vec<TimedEvent>,
    /// What was skipped, in file order; empty for an intact file.
    pub problems: Vec<Problem>,
}

/// Reads a journal file. Fails only if the file cannot be read or its file header is unusable;
/// damage after the header becomes [`JournalFile::problems`].
pub fn read_file(path: impl AsRef<Path>) -> Result<JournalFile, ReadError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_bytes(&bytes)
}

/// Reads the parts of a rotated journal (oldest first, see [`super::rotation::parts`]) as one.
/// Times are moved onto the first part's clock using each part's Unix start time, so parts of
/// different runs line up too (to the ms); parts of one run share a start and need no shift.
/// The header returned is the first part's.
pub fn read_parts<P: AsRef<Path>>(paths: &[P]) -> Result<JournalFile, ReadError> {
    let mut out: Option<JournalFile> = None;
    for p in paths {
        let part = read_file(p)?;
        match &mut out {
            None => out = Some(part),
            Some(all) => {
                let shift_ns = part
                    .header
                    .start_unix_ms
                    .saturating_sub(all.header.start_unix_ms)
                    .saturating_mul(1_000_000);
                all.events.extend(part.events.into_iter().map(|mut e| {
                    e.time_ns = e.time_ns.saturating_add(shift_ns);
                    e
                }));
                all.problems.extend(part.problems);
            }
        }
    }
    out.ok_or(ReadError::NoFiles)
}

/// Reads a journal from memory. Never panics, whatever the bytes.
pub fn read_bytes(bytes: &[u8]) -> Result<JournalFile, ReadError> {
    let (header, mut pos) = FileHeader::decode(bytes)?;
    let mut events = Vec::new();
    let mut problems = Vec::new();
    while pos < bytes.len() {
        let rest = &bytes[pos..];
        if rest.len() < BUFFER_HEADER_LEN {
            problems.push(Problem::Truncated { offset: pos as u64 });
            break;
        }
        let Some(h) = BufferHeader::decode(rest) else {
            let next = next_header(bytes, pos + 1);
            problems.push(Problem::BadBufferHeader {
                offset: pos as u64,
                skipped: (next - pos) as u64,
            });
            pos = next;
            continue;
        };
        let start = pos + BUFFER_HEADER_LEN;
        // The CRC vouches for the length, so the next buffer starts at `end` even if the events
        // turn out to be damaged.
        let end = start.saturating_add(h.len as usize);
        let truncated = end > bytes.len();
        let data = &bytes[start..end.min(bytes.len())];
        match ThreadKind::from_u8(h.kind) {
            Ok(kind) => read_buffer(&h, kind, header.minor, data, start, truncated, &mut events)
                .unwrap_or_else(|p| problems.push(p)),
            Err(error) => problems.push(Problem::BadEvent {
                offset: pos as u64,
                thread_id: h.thread_id,
                error,
                lost: data.len() as u64,
            }),
        }
        if truncated {
            break;
        }
        pos = end;
    }
    Ok(JournalFile {
        header,
        events,
        problems,
    })
}

/// Decodes the events of one buffer into `out`; stops at the first one that does not decode.
fn read_buffer(
    h: &BufferHeader,
    kind: ThreadKind,
    minor: u16,
    data: &[u8],
    offset: usize,
    truncated: bool,
    out: &mut Vec<TimedEvent>,
) -> Result<(), Problem> {
    let mut c = Cursor::new(data);
    let mut t = h.time_base_ns;
    while !c.is_empty() {
        let at = c.pos();
        match Event::decode(&mut c, minor) {
            Ok((event, delta)) => {
                t = t.saturating_add(delta);
                out.push(TimedEvent {
                    time_ns: t,
                    thread_id: h.thread_id,
                    thread_kind: kind,
                    event,
                });
            }
            Err(DecodeError::UnexpectedEnd) if truncated => {
                return Err(Problem::Truncated {
                    offset: (offset + at) as u64,
                });
            }
            Err(error) => {
                return Err(Problem::BadEvent {
                    offset: (offset + at) as u64,
                    thread_id: h.thread_id,
                    error,
                    lost: (data.len() - at) as u64,
                });
            }
        }
    }
    if truncated {
        return Err(Problem::Truncated {
            offset: (offset + data.len()) as u64,
        });
    }
    Ok(())
}

/// The offset of the first valid buffer header at or after `from`, or the end of `bytes`.
fn next_header(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while i + BUFFER_MAGIC.len() <= bytes.len() {
        match bytes[i..]
            .windows(BUFFER_MAGIC.len())
            .position(|w| w == BUFFER_MAGIC)
        {
            None => break,
            Some(k) => {
                let at = i + k;
                // A header cut off by the end of the file is where reading stops too.
                if BufferHeader::decode(&bytes[at..]).is_some()
                    || bytes.len() - at < BUFFER_HEADER_LEN
                {
                    return at;
                }
                i = at + 1;
            }
        }
    }
    bytes.len()
}
