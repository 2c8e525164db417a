//! Error types: writing a journal, reading its header, and what the reader skipped past.

use std::path::PathBuf;

/// Why one event or header field could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unexpected end of data")]
    UnexpectedEnd,
    #[error("LEB128 integer longer than 64 bits")]
    LebOverflow,
    #[error("integer out of range for its field")]
    OutOfRange,
    #[error("string is not UTF-8")]
    BadUtf8,
    #[error("unknown event type {0}")]
    UnknownEventType(u8),
    #[error("unknown sub-kind {ext} for event type {event_type}")]
    UnknownSubKind { event_type: u8, ext: u8 },
    #[error("unknown thread kind {0}")]
    UnknownThreadKind(u8),
}

/// Why a journal could not be created, written or closed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("journal writer thread could not be started: {0}")]
    Spawn(#[source] std::io::Error),
    #[error("journal writer thread panicked")]
    WriterPanicked,
    #[error("journal writer thread has stopped")]
    WriterGone,
}

/// Why a file could not be read as a journal at all (its file header is unusable).
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("not a phirig journal (bad magic)")]
    BadMagic,
    #[error("journal format {major}.{minor} is newer than this reader (major {supported})")]
    UnsupportedMajor {
        major: u16,
        minor: u16,
        supported: u16,
    },
    #[error("file header: {0}")]
    Header(#[source] DecodeError),
    #[error("no journal files given")]
    NoFiles,
}

/// Something the reader skipped while reading the buffers; the rest of the file was still read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
pub enum Problem {
    #[error("byte {offset}: no valid buffer header; skipped {skipped} bytes to the next one")]
    BadBufferHeader { offset: u64, skipped: u64 },
    #[error("byte {offset}: buffer of thread {thread_id}: {error}; ignored its last {lost} bytes")]
    BadEvent {
        offset: u64,
        thread_id: u32,
        #[serde(serialize_with = "as_display")]
        error: DecodeError,
        lost: u64,
    },
    #[error("byte {offset}: file ends inside a buffer; read up to its last complete event")]
    Truncated { offset: u64 },
}

fn as_display<S: serde::Serializer>(e: &DecodeError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(e)
}
