//! The journal file format: file header, buffer headers, and the version history.
//!
//! # Layout
//!
//! All fixed-width fields are little-endian. A *fixed string* is a `u32` byte length followed by
//! that many UTF-8 bytes; an *event string* is a ULEB128 byte length followed by UTF-8 bytes.
//!
//! ## File header
//!
//! | field              | type          | notes                                                   |
//! |--------------------|---------------|---------------------------------------------------------|
//! | magic              | `[u8; 8]`     | `b"PHIRJRNL"`                                           |
//! | major              | `u16`         | incompatible changes; readers refuse a newer major      |
//! | minor              | `u16`         | compatible additions (see the change log)               |
//! | header length      | `u32`         | bytes of header that follow this field                  |
//! | data version       | `u32`         | version of the event vocabulary ([`DATA_VERSION`])      |
//! | pointer size       | `u8`          | `size_of::<usize>()` of the writer                      |
//! | start, Unix        | `u64`         | ms since the Unix epoch at creation                     |
//! | start, monotonic   | `u64`         | CLOCK_MONOTONIC ns at the same moment                   |
//! | timer overhead     | `u32`         | measured ns per clock read; event times include it      |
//! | flags              | `u32`         | [`FLAG_HOST`]: written by the host rather than an agent |
//! | pid                | `u32`         |                                                         |
//! | args               | `u32` + strs  | count, then that many fixed strings                     |
//! | architecture       | fixed string  | `std::env::consts::ARCH`                                |
//! | OS                 | fixed string  | `std::env::consts::OS`                                  |
//! | API port           | `u16`         | since 1.1; 0 when none                                  |
//!
//! Later minors only append fields; the header length lets a reader skip ones it does not know.
//!
//! ## Buffers
//!
//! The rest of the file is buffers, each written by one thread. A thread's later buffers hold later
//! events; buffers of different threads interleave. Buffer header (25 bytes):
//!
//! | field       | type      | notes                                                        |
//! |-------------|-----------|--------------------------------------------------------------|
//! | magic       | `[u8; 4]` | `b"PJBF"`                                                    |
//! | length      | `u32`     | bytes of events that follow the header                       |
//! | time base   | `u64`     | ns since the journal start (monotonic)                       |
//! | thread id   | `u32`     |                                                              |
//! | kind        | `u8`      | [`ThreadKind`]                                               |
//! | header CRC  | `u32`     | CRC-32 of the 21 bytes before it                             |
//!
//! The CRC is not in the field list: it is what lets a reader tell a damaged length from a
//! real one, so that one flipped byte cannot make it jump over the buffers that follow.
//!
//! ## Events
//!
//! One byte (event type in the low 4 bits, extended info — the sub-kind — in the high 4), the ns
//! since the previous event of the buffer (the first one: since the time base) as ULEB128, then the
//! payload. The types and payloads are listed in [`super::event`].
//!
//! ## Reading damaged files
//!
//! An unexpected value inside a buffer ends that buffer (the rest is ignored) and reading goes on
//! at the next buffer. A bad buffer header makes the reader scan for the next valid one. A file cut
//! inside a buffer reads up to the last complete event. Each of these is reported as a
//! [`super::Problem`], never as a panic.
//!
//! # Change log
//!
//! - **1.2** — `Session` gains sub-kind 6, `Probe` (pool, method, result): liveness probes of
//!   the mining pool, recorded when their outcome changes. Data version 2.
//! - **1.1** — file header gains the API port (appended). `SubmitResult` gains the pool's reason
//!   string after the RTT. 1.0 files read with port 0 and an empty reason.
//! - **1.0** — first layout. (Never shipped: defined so the old-minor path is real and tested.)

use super::error::DecodeError;
use super::leb128::Cursor;
use serde::Serialize;

pub const FILE_MAGIC: [u8; 8] = *b"PHIRJRNL";
pub const FORMAT_MAJOR: u16 = 1;
pub const FORMAT_MINOR: u16 = 2;
/// Version of the event vocabulary; bumped with any minor that adds event types or sub-kinds.
pub const DATA_VERSION: u32 = 2;
/// File-header flag: the journal was written by the host (`phirig`), not a card agent.
pub const FLAG_HOST: u32 = 1;

pub const BUFFER_MAGIC: [u8; 4] = *b"PJBF";
pub const BUFFER_HEADER_LEN: usize = 25;

/// What a thread does; written in every buffer header so the report can group threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum ThreadKind {
    /// A hashing worker.
    Hash = 1,
    /// The pool/stratum session.
    Pool = 2,
    /// Control: API, job distribution, the main thread.
    Control = 3,
    /// Host-side threads: supervision, clock sampling, deployment.
    Host = 4,
}

impl ThreadKind {
    pub fn from_u8(b: u8) -> Result<Self, DecodeError> {
        Ok(match b {
            1 => ThreadKind::Hash,
            2 => ThreadKind::Pool,
            3 => ThreadKind::Control,
            4 => ThreadKind::Host,
            _ => return Err(DecodeError::UnknownThreadKind(b)),
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ThreadKind::Hash => "hash",
            ThreadKind::Pool => "pool",
            ThreadKind::Control => "control",
            ThreadKind::Host => "host",
        }
    }
}

/// The file header as written and read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileHeader {
    pub major: u16,
    pub minor: u16,
    pub data_version: u32,
    pub pointer_size: u8,
    pub start_unix_ms: u64,
    pub start_monotonic_ns: u64,
    pub timer_overhead_ns: u32,
    pub flags: u32,
    pub pid: u32,
    pub api_port: u16,
    pub args: Vec<String>,
    pub arch: String,
    pub os: String,
}

impl FileHeader {
    /// Encodes the header in the layout of `self.minor` (only older minors are used, in tests).
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(128);
        body.extend_from_slice(&self.data_version.to_le_bytes());
        body.push(self.pointer_size);
        body.extend_from_slice(&self.start_unix_ms.to_le_bytes());
        body.extend_from_slice(&self.start_monotonic_ns.to_le_bytes());
        body.extend_from_slice(&self.timer_overhead_ns.to_le_bytes());
        body.extend_from_slice(&self.flags.to_le_bytes());
        body.extend_from_slice(&self.pid.to_le_bytes());
        body.extend_from_slice(&(self.args.len() as u32).to_le_bytes());
        for a in &self.args {
            put_fixed_str(&mut body, a);
        }
        put_fixed_str(&mut body, &self.arch);
        put_fixed_str(&mut body, &self.os);
        if self.minor >= 1 {
            body.extend_from_slice(&self.api_port.to_le_bytes());
        }
        let mut out = Vec::with_capacity(16 + body.len());
        out.extend_from_slice(&FILE_MAGIC);
        out.extend_from_slice(&self.major.to_le_bytes());
        out.extend_from_slice(&self.minor.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Decodes the header at the start of `bytes`; returns it and its length in bytes.
    pub fn decode(bytes: &[u8]) -> Result<(FileHeader, usize), super::ReadError> {
        use super::ReadError;
        let mut c = Cursor::new(bytes);
        let magic = c.take(8).map_err(ReadError::Header)?;
        if magic != FILE_MAGIC {
            return Err(ReadError::BadMagic);
        }
        let major = le_u16(&mut c).map_err(ReadError::Header)?;
        let minor = le_u16(&mut c).map_err(ReadError::Header)?;
        if major != FORMAT_MAJOR {
            return Err(ReadError::UnsupportedMajor {
                major,
                minor,
                supported: FORMAT_MAJOR,
            });
        }
        let len = le_u32(&mut c).map_err(ReadError::Header)? as usize;
        let body = c.take(len).map_err(ReadError::Header)?;
        let header = Self::decode_body(major, minor, body).map_err(ReadError::Header)?;
        Ok((header, c.pos()))
    }

    fn decode_body(major: u16, minor: u16, body: &[u8]) -> Result<FileHeader, DecodeError> {
        let mut c = Cursor::new(body);
        let data_version = le_u32(&mut c)?;
        let pointer_size = c.u8()?;
        let start_unix_ms = le_u64(&mut c)?;
        let start_monotonic_ns = le_u64(&mut c)?;
        let timer_overhead_ns = le_u32(&mut c)?;
        let flags = le_u32(&mut c)?;
        let pid = le_u32(&mut c)?;
        let argc = le_u32(&mut c)?;
        // Each argument takes at least its 4-byte length, which bounds the allocation.
        if argc as usize > c.remaining() / 4 {
            return Err(DecodeError::UnexpectedEnd);
        }
        let mut args = Vec::with_capacity(argc as usize);
        for _ in 0..argc {
            args.push(fixed_str(&mut c)?);
        }
        let arch = fixed_str(&mut c)?;
        let os = fixed_str(&mut c)?;
        let api_port = if minor >= 1 { le_u16(&mut c)? } else { 0 };
        // Anything after this was added by a later minor; skipping it is the point of the length.
        Ok(FileHeader {
            major,
            minor,
            data_version,
            pointer_size,
            start_unix_ms,
            start_monotonic_ns,
            timer_overhead_ns,
            flags,
            pid,
            api_port,
            args,
            arch,
            os,
        })
    }
}

/// A buffer header as it sits in front of each thread's events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferHeader {
    pub len: u32,
    pub time_base_ns: u64,
    pub thread_id: u32,
    /// A [`ThreadKind`] as written; kept raw so a reader can report an unknown one with context.
    pub kind: u8,
}

impl BufferHeader {
    pub fn encode(&self) -> [u8; BUFFER_HEADER_LEN] {
        let mut h = [0u8; BUFFER_HEADER_LEN];
        h[0..4].copy_from_slice(&BUFFER_MAGIC);
        h[4..8].copy_from_slice(&self.len.to_le_bytes());
        h[8..16].copy_from_slice(&self.time_base_ns.to_le_bytes());
        h[16..20].copy_from_slice(&self.thread_id.to_le_bytes());
        h[20] = self.kind;
        let crc = crc32(&h[..21]);
        h[21..25].copy_from_slice(&crc.to_le_bytes());
        h
    }

    /// `None` unless `bytes` starts with a complete header whose magic and CRC check out.
    pub fn decode(bytes: &[u8]) -> Option<BufferHeader> {
        let h = bytes.get(..BUFFER_HEADER_LEN)?;
        if h[0..4] != BUFFER_MAGIC || crc32(&h[..21]).to_le_bytes() != h[21..25] {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let mut base = [0u8; 8];
        base.copy_from_slice(&h[8..16]);
        Some(BufferHeader {
            len: u32_at(4),
            time_base_ns: u64::from_le_bytes(base),
            thread_id: u32_at(16),
            kind: h[20],
        })
    }
}

/// CRC-32 (IEEE), table-driven; only ever run over 21-byte buffer headers.
pub fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xedb8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

fn put_fixed_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn fixed_str(c: &mut Cursor) -> Result<String, DecodeError> {
    let len = le_u32(c)? as usize;
    String::from_utf8(c.take(len)?.to_vec()).map_err(|_| DecodeError::BadUtf8)
}

fn le_u16(c: &mut Cursor) -> Result<u16, DecodeError> {
    let b = c.take(2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

fn le_u32(c: &mut Cursor) -> Result<u32, DecodeError> {
    let b = c.take(4)?;
    Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn le_u64(c: &mut Cursor) -> Result<u64, DecodeError> {
    let mut a = [0u8; 8];
    a.copy_from_slice(c.take(8)?);
    Ok(u64::from_le_bytes(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
    }

    #[test]
    fn buffer_header_round_trip_and_damage() {
        let h = BufferHeader {
            len: 77,
            time_base_ns: 123_456_789,
            thread_id: 37,
            kind: ThreadKind::Hash as u8,
        };
        let bytes = h.encode();
        assert_eq!(BufferHeader::decode(&bytes), Some(h));
        for i in 0..BUFFER_HEADER_LEN {
            let mut b = bytes;
            b[i] ^= 0x10;
            assert_eq!(BufferHeader::decode(&b), None, "flip at {i}");
        }
        assert_eq!(BufferHeader::decode(&bytes[..24]), None);
    }
}
