//! The event journal: a compact, versioned binary log of what every thread did, and its reader.
//!
//! Rate averages hide what an operator needs when a rig underperforms: when a thread stalled, how
//! long shares take to be accepted, why the session reconnected. Each thread records [`Event`]s
//! into its own [`ThreadJournal`] (no lock, never blocks the hash loop); one writer thread appends
//! the buffers to a size-capped, rotated file. [`read_file`] turns a file back into
//! [`TimedEvent`]s, skipping past damage; [`report()`] and [`dump()`] are what `phirig log report`
//! and `phirig log dump` print.
//!
//! The byte format and its version history are documented in [`format`](mod@format); the event
//! table in [`event`].
//!
//! ```no_run
//! use phirig_journal::{Event, HeaderInfo, Journal, JournalConfig, ThreadKind};
//! let journal = Journal::create("agent.journal", JournalConfig::default(), HeaderInfo::from_env(0, 0))?;
//! let mut tj = journal.thread(0, ThreadKind::Hash);
//! tj.record(&Event::HashBatch { count: 256 });
//! drop(tj); // hands off its last buffer
//! let stats = journal.close()?;
//! # Ok::<(), phirig_journal::JournalError>(())
//! ```

// Items reachable only inside the crate say so, so the public API is what `pub` marks.
#![warn(unreachable_pub)]

mod clock;
mod dump;
mod error;
pub mod event;
pub mod format;
mod leb128;
mod reader;
pub mod report;
pub mod report_host;
mod report_text;
pub mod rotation;
mod writer;

pub use clock::{monotonic_ns, wall_ns};
pub use dump::dump;
pub use error::{DecodeError, JournalError, Problem, ReadError};
pub use event::{
    Event, HugePageStatus, SessionEvent, SubmitOutcome, SupervisionAction, WorkerEvent,
};
pub use format::{FileHeader, ThreadKind, FLAG_HOST};
pub use reader::{read_bytes, read_file, read_parts, JournalFile, TimedEvent};
pub use report::{report, Report, ReportOptions};
pub use writer::{encode_buffer, HeaderInfo, Journal, JournalConfig, Stats, ThreadJournal};
