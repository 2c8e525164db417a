//! Writing a journal: lock-free per-thread buffers handed to one writer thread that owns the file.
//!
//! A hashing thread must never wait on the journal. Each thread owns a [`ThreadJournal`] and
//! appends encoded events to its own `Vec`; a full (or one-second-old) buffer is offered to the
//! writer thread with a non-blocking `try_send` on a bounded channel. If the writer is behind, the
//! buffer is dropped and counted ([`Stats::events_dropped`]) instead of blocking, and its `Vec` is
//! reused. The writer thread appends buffers to the file, flushes every `flush_interval`, fsyncs
//! every `fsync_interval`, and rotates the file when it would exceed `max_file_bytes`.

use super::clock::{self, Clock};
use super::error::JournalError;
use super::event::Event;
use super::format::{
    BufferHeader, FileHeader, ThreadKind, BUFFER_HEADER_LEN, DATA_VERSION, FORMAT_MAJOR,
    FORMAT_MINOR,
};
use super::rotation;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How a journal buffers, flushes, syncs and rotates. `Default` suits a rig.
#[derive(Debug, Clone)]
pub struct JournalConfig {
    /// A thread's buffer is handed to the writer once it holds this many bytes (41 B … 16 MiB).
    pub buffer_bytes: usize,
    /// Buffers that may wait for the writer before further ones are dropped.
    pub queue_buffers: usize,
    /// How often buffered data reaches the file; also the longest a thread holds an event
    /// (checked when it records its next one).
    pub flush_interval: Duration,
    /// How often the file is fsynced; `None` leaves it to the OS.
    pub fsync_interval: Option<Duration>,
    /// The file is rotated before a write would take it past this size.
    pub max_file_bytes: u64,
    /// Rotated parts kept (`file.1` … `file.K`); the oldest beyond that is deleted.
    pub keep_files: usize,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            buffer_bytes: 64 * 1024,
            queue_buffers: 256,
            flush_interval: Duration::from_secs(1),
            fsync_interval: Some(Duration::from_secs(10)),
            max_file_bytes: 64 * 1024 * 1024,
            keep_files: 4,
        }
    }
}

/// What the caller knows for the file header; the rest (times, pid, arch…) is filled in.
#[derive(Debug, Clone, Default)]
pub struct HeaderInfo {
    /// [`super::FLAG_HOST`] for the host; 0 for an agent.
    pub flags: u32,
    /// The API port, 0 if none.
    pub api_port: u16,
    pub args: Vec<String>,
}

impl HeaderInfo {
    /// The header info of this process: its command line, with the given flags and API port.
    pub fn from_env(flags: u32, api_port: u16) -> Self {
        HeaderInfo {
            flags,
            api_port,
            // Lossy rather than `env::args`, which panics on an argument that is not UTF-8.
            args: std::env::args_os()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        }
    }
}

/// What a journal wrote and lost, returned by [`Journal::close`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub buffers_written: u64,
    pub events_written: u64,
    pub bytes_written: u64,
    /// Buffers dropped because the writer was behind, had stopped, or could not write.
    pub buffers_dropped: u64,
    pub events_dropped: u64,
    pub rotations: u64,
}

/// Drop counters shared between the thread journals and the writer.
#[derive(Debug, Default)]
struct Drops {
    buffers: AtomicU64,
    events: AtomicU64,
}

impl Drops {
    fn add(&self, events: u32) {
        self.buffers.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(u64::from(events), Ordering::Relaxed);
    }
}

enum Msg {
    /// A complete buffer (header included) and the number of events in it.
    Buffer(Vec<u8>, u32),
    Flush(SyncSender<()>),
    Close,
}

/// An open journal file and its writer thread. Dropping it closes it (ignoring errors).
pub struct Journal {
    tx: SyncSender<Msg>,
    writer: Option<JoinHandle<Result<Stats, JournalError>>>,
    clock: Clock,
    drops: Arc<Drops>,
    buffer_bytes: usize,
    flush_after_ns: u64,
}

impl std::fmt::Debug for Journal {
    // The channel and thread handle say nothing useful; the buffer settings do.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("buffer_bytes", &self.buffer_bytes)
            .field("flush_after_ns", &self.flush_after_ns)
            .finish_non_exhaustive()
    }
}

impl Journal {
    /// Creates the journal at `path` and starts its writer thread. A non-empty file already at
    /// `path` (the previous run's journal, often the one that explains a crash) is rotated to
    /// `path.1` rather than overwritten.
    pub fn create(
        path: impl AsRef<Path>,
        config: JournalConfig,
        info: HeaderInfo,
    ) -> Result<Journal, JournalError> {
        let path = path.as_ref().to_path_buf();
        let io_err = |source| JournalError::Io {
            path: path.clone(),
            source,
        };
        let overhead = clock::measure_overhead_ns();
        let clock = Clock::start();
        let header = FileHeader {
            major: FORMAT_MAJOR,
            minor: FORMAT_MINOR,
            data_version: DATA_VERSION,
            pointer_size: std::mem::size_of::<usize>() as u8,
            start_unix_ms: clock::unix_ms(),
            start_monotonic_ns: clock::monotonic_ns(),
            timer_overhead_ns: overhead,
            flags: info.flags,
            pid: std::process::id(),
            api_port: info.api_port,
            args: info.args,
            arch: std::env::consts::ARCH.to_string(),
            os: std::env::consts::OS.to_string(),
        }
        .encode();
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
            rotation::rotate(&path, config.keep_files).map_err(io_err)?;
        }
        let file = open_with_header(&path, &header).map_err(io_err)?;
        let (tx, rx) = mpsc::sync_channel(config.queue_buffers.max(1));
        let drops = Arc::new(Drops::default());
        let mut state = WriterState {
            file: BufWriter::with_capacity(256 * 1024, file),
            file_bytes: header.len() as u64,
            header,
            path,
            stats: Stats::default(),
            error: None,
            drops: drops.clone(),
            config: config.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("journal-writer".into())
            .spawn(move || state.run(rx))
            .map_err(JournalError::Spawn)?;
        Ok(Journal {
            tx,
            writer: Some(writer),
            clock,
            drops,
            // The upper bound keeps a buffer's length well inside its u32 header field.
            buffer_bytes: config.buffer_bytes.clamp(BUFFER_HEADER_LEN + 16, 16 << 20),
            flush_after_ns: u64::try_from(config.flush_interval.as_nanos()).unwrap_or(u64::MAX),
        })
    }

    /// A journal for one thread, to be moved into it. `thread_id` is the caller's numbering
    /// (worker index, or an id per service thread); the reader groups events by it.
    pub fn thread(&self, thread_id: u32, kind: ThreadKind) -> ThreadJournal {
        ThreadJournal {
            tx: self.tx.clone(),
            clock: self.clock,
            drops: self.drops.clone(),
            thread_id,
            kind,
            buf: ThreadJournal::fresh_buffer(self.buffer_bytes),
            events: 0,
            time_base_ns: 0,
            last_ns: 0,
            buffer_bytes: self.buffer_bytes,
            flush_after_ns: self.flush_after_ns,
        }
    }

    /// ns since the journal started, on the clock events are stamped with.
    pub fn now_ns(&self) -> u64 {
        self.clock.now_ns()
    }

    /// Waits until every buffer handed off so far is written to the OS (not fsynced). Buffers
    /// still held by thread journals are theirs to hand off ([`ThreadJournal::flush`]).
    pub fn flush(&self) -> Result<(), JournalError> {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        self.tx
            .send(Msg::Flush(ack_tx))
            .map_err(|_| JournalError::WriterGone)?;
        ack_rx.recv().map_err(|_| JournalError::WriterGone)
    }

    /// Writes everything handed off so far, fsyncs, and stops the writer. Thread journals should
    /// be flushed or dropped first: what they hand off afterwards is counted as dropped (that
    /// count is not in the returned stats).
    pub fn close(mut self) -> Result<Stats, JournalError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<Stats, JournalError> {
        let Some(writer) = self.writer.take() else {
            return Err(JournalError::WriterGone);
        };
        // If the writer already died, join below reports why.
        let _ = self.tx.send(Msg::Close);
        let mut stats = writer.join().map_err(|_| JournalError::WriterPanicked)??;
        stats.buffers_dropped += self.drops.buffers.load(Ordering::Relaxed);
        stats.events_dropped += self.drops.events.load(Ordering::Relaxed);
        Ok(stats)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if self.writer.is_some() {
            if let Err(e) = self.stop() {
                tracing::warn!("journal: {e}");
            }
        }
    }
}

/// One thread's journal: [`record`](Self::record) appends to a buffer only this thread touches.
pub struct ThreadJournal {
    tx: SyncSender<Msg>,
    clock: Clock,
    drops: Arc<Drops>,
    thread_id: u32,
    kind: ThreadKind,
    /// Buffer header space, then encoded events.
    buf: Vec<u8>,
    events: u32,
    time_base_ns: u64,
    last_ns: u64,
    buffer_bytes: usize,
    flush_after_ns: u64,
}

impl ThreadJournal {
    /// Records `ev` stamped with the current time. No lock, no syscall, never blocks: at worst
    /// a full buffer is dropped (and counted) because the writer is behind. The only allocation
    /// is a fresh buffer each time one is handed off (every `buffer_bytes`).
    #[inline]
    pub fn record(&mut self, ev: &Event) {
        let now = self.clock.now_ns();
        self.record_at(ev, now);
    }

    /// Records `ev` at `time_ns` (ns since the journal start; see [`Journal::now_ns`]), for
    /// replaying or for events timed elsewhere. Times earlier than this thread's previous event
    /// are moved up to it, since buffers only hold forward deltas.
    #[inline]
    pub fn record_at(&mut self, ev: &Event, time_ns: u64) {
        // Clamped across buffers too: a thread's later buffers must hold later events.
        let t = time_ns.max(self.last_ns);
        if self.events == 0 {
            self.time_base_ns = t;
            self.last_ns = t;
        }
        ev.encode(t - self.last_ns, &mut self.buf);
        self.last_ns = t;
        self.events += 1;
        if self.buf.len() >= self.buffer_bytes || t - self.time_base_ns >= self.flush_after_ns {
            self.hand_off(false);
        }
    }

    /// Records `ev` at an `Instant` the caller already has (a hash loop timing its batch), which
    /// saves the clock read — the larger part of what [`record`](Self::record) costs.
    #[inline]
    pub fn record_at_instant(&mut self, ev: &Event, at: Instant) {
        let t = self.clock.ns_at(at);
        self.record_at(ev, t);
    }

    /// Hands the current buffer to the writer without waiting (dropped and counted if the
    /// writer is behind).
    pub fn flush(&mut self) {
        self.hand_off(false);
    }

    pub fn thread_id(&self) -> u32 {
        self.thread_id
    }

    fn fresh_buffer(buffer_bytes: usize) -> Vec<u8> {
        // Slack for the event that crosses the threshold, so the Vec does not grow in the loop.
        let mut buf = Vec::with_capacity(buffer_bytes + 64);
        buf.resize(BUFFER_HEADER_LEN, 0);
        buf
    }

    fn hand_off(&mut self, wait: bool) {
        if self.events == 0 {
            return;
        }
        let header = BufferHeader {
            len: (self.buf.len() - BUFFER_HEADER_LEN) as u32,
            time_base_ns: self.time_base_ns,
            thread_id: self.thread_id,
            kind: self.kind as u8,
        };
        self.buf[..BUFFER_HEADER_LEN].copy_from_slice(&header.encode());
        let events = std::mem::replace(&mut self.events, 0);
        let full = std::mem::take(&mut self.buf);
        let msg = Msg::Buffer(full, events);
        let rejected = if wait {
            self.tx.send(msg).err().map(|e| e.0)
        } else {
            match self.tx.try_send(msg) {
                Ok(()) => None,
                Err(TrySendError::Full(m) | TrySendError::Disconnected(m)) => Some(m),
            }
        };
        self.buf = match rejected {
            None => Self::fresh_buffer(self.buffer_bytes),
            Some(Msg::Buffer(mut b, n)) => {
                self.drops.add(n);
                b.truncate(BUFFER_HEADER_LEN);
                b
            }
            Some(_) => Self::fresh_buffer(self.buffer_bytes),
        };
    }
}

impl Drop for ThreadJournal {
    /// Hands off the last buffer, waiting for room if the writer is busy: a thread's final events
    /// (its stop or panic) matter most, and a thread that is ending is not hashing. Never waits
    /// on a closed journal (the send fails at once and the events are counted as dropped).
    fn drop(&mut self) {
        self.hand_off(true);
    }
}

/// The writer thread's side: the open file and its bookkeeping.
struct WriterState {
    file: BufWriter<File>,
    file_bytes: u64,
    header: Vec<u8>,
    path: PathBuf,
    stats: Stats,
    error: Option<std::io::Error>,
    drops: Arc<Drops>,
    config: JournalConfig,
}

impl WriterState {
    fn run(&mut self, rx: Receiver<Msg>) -> Result<Stats, JournalError> {
        let mut next_flush = Instant::now() + self.config.flush_interval;
        let mut last_sync = Instant::now();
        loop {
            let wait = next_flush.saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Msg::Buffer(b, n)) => self.write_buffer(&b, n),
                Ok(Msg::Flush(ack)) => {
                    self.flush();
                    let _ = ack.send(());
                }
                Ok(Msg::Close) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() >= next_flush {
                self.flush();
                next_flush = Instant::now() + self.config.flush_interval;
                if self
                    .config
                    .fsync_interval
                    .is_some_and(|every| last_sync.elapsed() >= every)
                {
                    self.sync();
                    last_sync = Instant::now();
                }
            }
        }
        // Buffers that raced the close are already queued; write them rather than lose them.
        while let Ok(msg) = rx.try_recv() {
            if let Msg::Buffer(b, n) = msg {
                self.write_buffer(&b, n);
            }
        }
        self.flush();
        self.sync();
        match self.error.take() {
            Some(source) => Err(JournalError::Io {
                path: self.path.clone(),
                source,
            }),
            None => Ok(self.stats.clone()),
        }
    }

    fn write_buffer(&mut self, buf: &[u8], events: u32) {
        let len = buf.len() as u64;
        if self.file_bytes + len > self.config.max_file_bytes
            && self.file_bytes > self.header.len() as u64
        {
            if let Err(e) = self.rotate() {
                self.fail(e);
            }
        }
        match self.file.write_all(buf) {
            Ok(()) => {
                self.file_bytes += len;
                self.stats.buffers_written += 1;
                self.stats.events_written += u64::from(events);
                self.stats.bytes_written += len;
            }
            Err(e) => {
                self.drops.add(events);
                self.fail(e);
            }
        }
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file.flush()?;
        self.file.get_ref().sync_data()?;
        rotation::rotate(&self.path, self.config.keep_files)?;
        let file = open_with_header(&self.path, &self.header)?;
        // The old BufWriter is empty after the flush above, so replacing it loses nothing.
        self.file = BufWriter::with_capacity(256 * 1024, file);
        self.file_bytes = self.header.len() as u64;
        self.stats.rotations += 1;
        self.stats.bytes_written += self.header.len() as u64;
        Ok(())
    }

    fn flush(&mut self) {
        if let Err(e) = self.file.flush() {
            self.fail(e);
        }
    }

    fn sync(&mut self) {
        if let Err(e) = self.file.get_ref().sync_data() {
            self.fail(e);
        }
    }

    /// Keeps the first error for `close` and logs it once; the writer carries on, since a
    /// transient failure (disk briefly full) should not end journaling for the run.
    fn fail(&mut self, e: std::io::Error) {
        if self.error.is_none() {
            tracing::warn!("journal {}: {e}", self.path.display());
            self.error = Some(e);
        }
    }
}

fn open_with_header(path: &Path, header: &[u8]) -> std::io::Result<File> {
    let mut file = File::create(path)?;
    file.write_all(header)?;
    Ok(file)
}

/// Encodes one buffer of `(time_ns, event)` pairs as a thread would write it, for tools and
/// tests that build journals directly. Times must not go backwards (later ones are clamped).
pub fn encode_buffer(thread_id: u32, kind: ThreadKind, events: &[(u64, Event)]) -> Vec<u8> {
    let mut buf = vec![0u8; BUFFER_HEADER_LEN];
    let base = events.first().map_or(0, |(t, _)| *t);
    let mut last = base;
    for (t, ev) in events {
        let t = (*t).max(last);
        ev.encode(t - last, &mut buf);
        last = t;
    }
    let header = BufferHeader {
        len: (buf.len() - BUFFER_HEADER_LEN) as u32,
        time_base_ns: base,
        thread_id,
        kind: kind as u8,
    };
    buf[..BUFFER_HEADER_LEN].copy_from_slice(&header.encode());
    buf
}
