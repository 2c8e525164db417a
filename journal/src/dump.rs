//! `phirig log dump`: every event of a journal, one line each, in time order.

use super::reader::{JournalFile, TimedEvent};
use super::report::secs;
use super::report_text::utc;
use std::io::{self, Write};

/// Writes the header, then every event in time order, one per line, then any problems.
pub fn dump(journal: &JournalFile, out: &mut dyn Write) -> io::Result<()> {
    let h = &journal.header;
    writeln!(
        out,
        "# phirig journal {}.{} (data {}), started {} ({} ms), pid {}, {}/{}, {}-bit, api port {}, timer overhead {} ns, flags {:#x}",
        h.major,
        h.minor,
        h.data_version,
        utc(h.start_unix_ms),
        h.start_unix_ms,
        h.pid,
        h.arch,
        h.os,
        u32::from(h.pointer_size) * 8,
        h.api_port,
        h.timer_overhead_ns,
        h.flags
    )?;
    writeln!(out, "# args: {:?}", h.args)?;
    let mut events: Vec<&TimedEvent> = journal.events.iter().collect();
    events.sort_by_key(|e| e.time_ns);
    for e in events {
        writeln!(
            out,
            "{:>16.9} t{:<4} {:<7} {}",
            secs(e.time_ns),
            e.thread_id,
            e.thread_kind.name(),
            e.event
        )?;
    }
    for p in &journal.problems {
        writeln!(out, "# problem: {p}")?;
    }
    Ok(())
}
