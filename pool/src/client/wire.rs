//! A connected socket and its session, pumped together: lines out, bytes in, timers, stalls.

use std::time::{Duration, Instant, SystemTime};

use tokio::time::sleep_until;

use super::transport::{Link, Reader, Writer};
use crate::protocol::PoolUrl;
use crate::session::{HangCause, Session};

/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 16 * 1024;

/// One pool connection: the mining one, or the hot standby beside it.
pub(crate) struct Wire {
    pub session: Session,
    /// Where the socket actually goes (differs from the list after a `client.reconnect`).
    pub url: PoolUrl,
    pub link: Link,
    /// In-host receive latency of the last read: kernel stamp to now.
    pub last_gap: Option<Duration>,
    reader: Reader,
    writer: Writer,
    out: Vec<u8>,
    last_write_progress: Instant,
    buf: Vec<u8>,
    write_stall: Duration,
}

impl Wire {
    pub fn new(
        session: Session,
        (reader, writer, link): (Reader, Writer, Link),
        url: PoolUrl,
        write_stall: Duration,
    ) -> Wire {
        Wire {
            session,
            url,
            link,
            last_gap: None,
            reader,
            writer,
            out: Vec::new(),
            last_write_progress: Instant::now(),
            buf: vec![0u8; READ_CHUNK],
            write_stall,
        }
    }

    /// Move the session's queued lines to the output buffer.
    pub fn take_transmit(&mut self) {
        while let Some(line) = self.session.poll_transmit() {
            if self.out.is_empty() && !self.writer.needs_flush() {
                self.last_write_progress = Instant::now();
            }
            self.out.extend_from_slice(line.as_bytes());
        }
    }

    /// Wait for the next read, write progress, write stall or session timer and hand it to the
    /// session. Cancel-safe: the driver selects on this beside commands and the other wire.
    pub async fn turn(&mut self) {
        self.take_transmit();
        let writing = !self.out.is_empty() || self.writer.needs_flush();
        let stall_at = self.last_write_progress + self.write_stall;
        let deadline = self.session.next_deadline();
        tokio::select! {
            r = self.reader.read(&mut self.buf) => {
                let now = Instant::now();
                match r {
                    Ok((0, _)) => self.session.on_closed(HangCause::Closed, now),
                    Ok((n, stamp)) => {
                        self.last_gap = stamp.and_then(|k| SystemTime::now().duration_since(k).ok());
                        self.session.handle_bytes(&self.buf[..n], now);
                    }
                    Err(e) => self.session.on_closed(HangCause::Io(e.to_string()), now),
                }
            }
            w = self.writer.progress(&self.out), if writing => match w {
                Ok(n) => {
                    self.out.drain(..n);
                    self.last_write_progress = Instant::now();
                }
                Err(e) => self.session.on_closed(HangCause::Io(e.to_string()), Instant::now()),
            },
            _ = sleep_until(stall_at.into()), if writing => self.session.on_write_stalled(Instant::now()),
            _ = sleep_until_opt(deadline) => self.session.handle_timeout(Instant::now()),
        }
    }
}

/// Sleep until `deadline`, or for ever without one.
pub(crate) async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}
