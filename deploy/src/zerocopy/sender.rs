//! A TCP sender that uses `MSG_ZEROCOPY` for large chunks of a shared buffer and keeps that buffer
//! alive until the kernel has acknowledged every zero-copy send.

use std::io::Write;
use std::net::TcpStream;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::errqueue::{self, SO_ZEROCOPY};
use super::stats::{Fallback, ZcStats};

/// A buffer the kernel may read from after `send` returned: shared, never mutated.
pub type SharedBuf = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// How a sender sends.
#[derive(Debug, Clone, Copy)]
pub struct SendOptions {
    /// Ask for zero-copy at all.
    pub zerocopy: bool,
    /// Chunks below this go out with plain `send` (page pinning and notifications cost more than
    /// copying small sends — the MSG_ZEROCOPY paper's Figure 3).
    pub threshold: usize,
    /// Bytes per `send` call.
    pub chunk: usize,
    /// How long to wait for outstanding completions before giving up on them.
    pub completion_timeout: Duration,
    /// Stop using zero-copy once the kernel reports it copied anyway (off only to measure that
    /// cost, as the benchmark does).
    pub stop_on_copied: bool,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            zerocopy: true,
            threshold: 32 * 1024,
            chunk: 256 * 1024,
            completion_timeout: Duration::from_secs(10),
            stop_on_copied: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("send: {0}")]
    Io(#[from] std::io::Error),
    #[error("{pending} zero-copy sends still unacknowledged after {waited:?}")]
    CompletionsTimedOut { pending: u64, waited: Duration },
    #[error("range {start}..{end} is outside the {len}-byte buffer")]
    Range {
        start: usize,
        end: usize,
        len: usize,
    },
}

/// One socket sending from one shared buffer. The buffer is held (an `Arc`) until every
/// zero-copy send has its completion; if the kernel never answers, the buffer is leaked rather
/// than unmapped under it.
pub struct ZcSender {
    stream: TcpStream,
    data: SharedBuf,
    zc: bool,
    opts: SendOptions,
    stats: ZcStats,
}

impl ZcSender {
    /// Enables `SO_ZEROCOPY` on `stream` when asked; falls back to plain sends if refused.
    pub fn new(stream: TcpStream, data: SharedBuf, opts: SendOptions) -> Self {
        let mut stats = ZcStats::default();
        let zc = if !opts.zerocopy {
            stats.fallback = Some(Fallback::Disabled);
            false
        } else if let Err(e) = enable_zerocopy(stream.as_raw_fd()) {
            tracing::debug!("SO_ZEROCOPY refused ({e}); sending with copies");
            stats.fallback = Some(Fallback::Unsupported);
            false
        } else {
            true
        };
        Self {
            stream,
            data,
            zc,
            opts,
            stats,
        }
    }

    pub fn stats(&self) -> ZcStats {
        self.stats
    }

    /// Whether the next large chunk would go out zero-copy.
    pub fn zerocopy_active(&self) -> bool {
        self.zc
    }

    /// The socket, for small writes (headers) and reading the answer.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    /// Plain write of bytes that are not part of the shared buffer (e.g. HTTP headers).
    pub fn write_plain(&mut self, bytes: &[u8]) -> Result<(), SendError> {
        self.stream.write_all(bytes)?;
        self.stats.plain_sends += 1;
        self.stats.bytes_plain += bytes.len() as u64;
        Ok(())
    }

    /// Sends `data[start..end]`; `progress` gets the bytes of this range sent so far.
    pub fn send_range(
        &mut self,
        start: usize,
        end: usize,
        progress: &mut dyn FnMut(u64),
    ) -> Result<(), SendError> {
        let data = self.data.clone();
        let all = (*data).as_ref();
        let len = all.len();
        let buf = all
            .get(start..end)
            .ok_or(SendError::Range { start, end, len })?;
        let mut off = 0usize;
        while off < buf.len() {
            let take = (buf.len() - off).min(self.opts.chunk.max(1));
            off += self.send_chunk(&buf[off..off + take])?;
            progress(off as u64);
        }
        Ok(())
    }

    fn send_chunk(&mut self, chunk: &[u8]) -> Result<usize, SendError> {
        let fd = self.stream.as_raw_fd();
        // Bounded: each ENOBUFS round waits for completions or falls back to a plain send.
        for _ in 0..10_000 {
            let zc = self.zc && chunk.len() >= self.opts.threshold;
            let flags = libc::MSG_NOSIGNAL | if zc { libc::MSG_ZEROCOPY } else { 0 };
            // SAFETY: the chunk lies in `self.data`, which stays alive until its completion.
            let rc = unsafe { libc::send(fd, chunk.as_ptr().cast(), chunk.len(), flags) };
            if rc >= 0 {
                let n = rc as usize;
                if zc && n > 0 {
                    self.stats.zc_sends += 1;
                    self.stats.bytes_zc += n as u64;
                } else {
                    self.stats.plain_sends += 1;
                    self.stats.bytes_plain += n as u64;
                }
                if self.stats.pending() > 0 {
                    self.reap()?;
                }
                return Ok(n);
            }
            let e = std::io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                // Out of optmem or locked memory: completions free both.
                Some(libc::ENOBUFS) if zc => {
                    self.stats.enobufs += 1;
                    if self.stats.pending() == 0 {
                        return self.send_copy(chunk);
                    }
                    self.wait_some(Duration::from_millis(100))?;
                }
                _ => return Err(e.into()),
            }
        }
        self.send_copy(chunk)
    }

    /// One plain send of a chunk (the ENOBUFS escape hatch).
    fn send_copy(&mut self, chunk: &[u8]) -> Result<usize, SendError> {
        let n = self.stream.write(chunk)?;
        self.stats.plain_sends += 1;
        self.stats.bytes_plain += n as u64;
        Ok(n)
    }

    /// Reads the notifications queued so far (never blocks).
    fn reap(&mut self) -> Result<usize, SendError> {
        let got = errqueue::drain(self.stream.as_raw_fd())?;
        for c in &got {
            self.stats.notifications += 1;
            self.stats.completions += c.count();
            if c.copied {
                self.stats.copied += c.count();
                if self.zc && self.opts.stop_on_copied {
                    tracing::debug!("kernel copied zero-copy sends; plain sends from now on");
                    self.zc = false;
                    self.stats.fallback = Some(Fallback::KernelCopied);
                }
            }
        }
        Ok(got.len())
    }

    /// Waits up to `limit` for at least one notification.
    fn wait_some(&mut self, limit: Duration) -> Result<(), SendError> {
        wait_errqueue(self.stream.as_raw_fd(), limit);
        self.reap()?;
        Ok(())
    }

    /// Waits until every zero-copy send so far has its completion.
    pub fn wait_completions(&mut self, timeout: Duration) -> Result<(), SendError> {
        let start = Instant::now();
        self.reap()?;
        while self.stats.pending() > 0 {
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(SendError::CompletionsTimedOut {
                    pending: self.stats.pending(),
                    waited: start.elapsed(),
                });
            }
            wait_errqueue(self.stream.as_raw_fd(), left.min(Duration::from_millis(50)));
            if self.reap()? == 0 && self.stats.pending() > 0 {
                // POLLERR may also mean a socket error with an empty queue: do not spin.
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        Ok(())
    }

    /// Waits for the outstanding completions and hands back the counters and the socket.
    pub fn finish(mut self) -> Result<(TcpStream, ZcStats), SendError> {
        let timeout = self.opts.completion_timeout;
        self.wait_completions(timeout)?;
        let stats = self.stats;
        let stream = self.stream.try_clone()?;
        Ok((stream, stats))
    }
}

impl Drop for ZcSender {
    fn drop(&mut self) {
        if self.stats.pending() == 0 {
            return;
        }
        let _ = self.wait_completions(self.opts.completion_timeout);
        if self.stats.pending() > 0 {
            // The kernel may still read these pages: never unmap or reuse them.
            tracing::warn!(
                "{} zero-copy sends never completed; keeping their buffer mapped",
                self.stats.pending()
            );
            std::mem::forget(self.data.clone());
        }
    }
}

/// `setsockopt(SO_ZEROCOPY, 1)`.
pub fn enable_zerocopy(fd: RawFd) -> std::io::Result<()> {
    let one: libc::c_int = 1;
    // SAFETY: a c_int option value of the right size on a socket we own.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            SO_ZEROCOPY,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Blocks until the error queue has something (POLLERR is always reported) or `limit` passes.
fn wait_errqueue(fd: RawFd, limit: Duration) {
    let mut p = libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    };
    let ms = limit.as_millis().min(i32::MAX as u128) as libc::c_int;
    // SAFETY: one pollfd we own.
    unsafe { libc::poll(&mut p, 1, ms) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    /// Sends `len` patterned bytes over loopback; returns what arrived and the sender's counters.
    fn loopback(len: usize, opts: SendOptions) -> (Vec<u8>, Vec<u8>, ZcStats) {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let rx = std::thread::spawn(move || {
            let (mut c, _) = l.accept().expect("accept");
            c.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            let mut got = Vec::new();
            c.read_to_end(&mut got).expect("read");
            got
        });
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let shared: SharedBuf = Arc::new(data.clone());
        let stream = TcpStream::connect(addr).expect("connect");
        let mut s = ZcSender::new(stream, shared.clone(), opts);
        let mut last = 0;
        s.send_range(0, len, &mut |n| last = n).expect("send");
        assert_eq!(last, len as u64);
        let (stream, stats) = s.finish().expect("completions");
        // Every zero-copy send acknowledged: only our own reference to the buffer is left.
        assert_eq!(Arc::strong_count(&shared), 1);
        drop(stream);
        (data, rx.join().expect("receiver"), stats)
    }

    #[test]
    fn loopback_reports_copied_and_the_sender_falls_back() {
        let opts = SendOptions {
            chunk: 64 * 1024,
            ..SendOptions::default()
        };
        let (sent, got, st) = loopback(16 << 20, opts);
        assert!(got == sent, "data arrived intact");
        assert!(st.zc_sends >= 1, "{st:?}");
        assert_eq!(st.completions, st.zc_sends, "{st:?}");
        assert!(st.copied >= 1, "loopback copies: {st:?}");
        assert_eq!(st.fallback, Some(Fallback::KernelCopied), "{st:?}");
        assert!(
            st.plain_sends >= 1,
            "sends after the fallback are plain: {st:?}"
        );
        assert_eq!(st.bytes(), 16 << 20);
        assert!(st.notifications >= 1 && st.notifications <= st.completions);
    }

    #[test]
    fn small_chunks_and_disabled_zerocopy_send_plainly() {
        let small = SendOptions {
            chunk: 4096,
            threshold: 32 * 1024,
            ..SendOptions::default()
        };
        let (sent, got, st) = loopback(1 << 20, small);
        assert!(got == sent);
        assert_eq!((st.zc_sends, st.completions), (0, 0), "{st:?}");
        assert_eq!(st.plain_sends, 256);
        let off = SendOptions {
            zerocopy: false,
            ..SendOptions::default()
        };
        let (sent, got, st) = loopback(1 << 20, off);
        assert!(got == sent);
        assert_eq!(st.zc_sends, 0);
        assert_eq!(st.fallback, Some(Fallback::Disabled));
    }

    #[test]
    fn out_of_range_is_an_error_not_a_panic() {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let stream = TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
        let mut s = ZcSender::new(stream, Arc::new(vec![0u8; 10]), SendOptions::default());
        assert!(matches!(
            s.send_range(5, 11, &mut |_| {}),
            Err(SendError::Range { len: 10, .. })
        ));
    }
}
