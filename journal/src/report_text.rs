//! The text form of a [`Report`]: what `phirig log report` prints without `--json`.

use super::event::HugePageStatus;
use super::report::{Report, ThreadRate};
use std::fmt;

/// `+HH:MM:SS.s` since the journal start.
fn clock(s: f64) -> String {
    let total = s.max(0.0);
    let h = (total / 3600.0) as u64;
    let m = ((total % 3600.0) / 60.0) as u64;
    format!("+{h:02}:{m:02}:{:04.1}", total % 60.0)
}

/// `YYYY-MM-DD HH:MM:SS UTC` from ms since the Unix epoch (civil-from-days, no date crate).
pub(super) fn utc(unix_ms: u64) -> String {
    let secs = unix_ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

impl Report {
    /// One row per bucket: every thread's H/s when they fit on a line, otherwise the total with
    /// the slowest and fastest thread (the full table is in `--json`).
    fn fmt_bucket_table(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX_COLUMNS: usize = 8;
        let wide = self.threads.len() <= MAX_COLUMNS;
        write!(f, "\n  {:<11} {:>10}", "bucket", "total H/s")?;
        if wide {
            for t in &self.threads {
                write!(f, " {:>10}", format!("t{}", t.thread_id))?;
            }
        } else {
            write!(f, "   {:<18}  fastest thread", "slowest thread")?;
        }
        writeln!(f)?;
        for (b, total) in self.total_hs.iter().enumerate() {
            write!(
                f,
                "  {:<11} {:>10.1}",
                clock(b as f64 * self.bucket_s),
                total
            )?;
            if wide {
                for t in &self.threads {
                    write!(f, " {:>10.1}", t.per_bucket_hs[b])?;
                }
            } else {
                let at = |t: &&ThreadRate| t.per_bucket_hs[b];
                let cmp = |a: &&ThreadRate, c: &&ThreadRate| at(a).total_cmp(&at(c));
                let show = |t: Option<&ThreadRate>| {
                    t.map_or(String::new(), |t| {
                        format!("t{} {:.1}", t.thread_id, t.per_bucket_hs[b])
                    })
                };
                let lo = show(self.threads.iter().min_by(cmp));
                let hi = show(self.threads.iter().max_by(cmp));
                write!(f, "   {lo:<18}  {hi}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "journal started {}, covers {} ({} events)",
            utc(self.start_unix_ms),
            clock(self.duration_s),
            self.events
        )?;

        writeln!(
            f,
            "\nhash rate per thread ({} s buckets, one scale)",
            self.bucket_s
        )?;
        if self.threads.is_empty() {
            writeln!(f, "  no hash batches recorded")?;
        }
        for t in &self.threads {
            writeln!(
                f,
                "  t{:<4} {:>12} hashes {:>10.1} H/s  |{}|",
                t.thread_id, t.hashes, t.average_hs, t.sparkline
            )?;
        }
        if !self.threads.is_empty() {
            self.fmt_bucket_table(f)?;
        }

        let s = &self.shares;
        writeln!(
            f,
            "\nshares: {} found, {} submitted, {} accepted, {} rejected, {} stale",
            s.found, s.submitted, s.accepted, s.rejected, s.stale
        )?;
        for (reason, n) in &s.reasons {
            writeln!(f, "  {n:>6} × {reason}")?;
        }
        match &self.submit_rtt {
            Some(r) => writeln!(
                f,
                "submit RTT: min {:.1} ms, median {:.1} ms, p99 {:.1} ms ({} results)",
                r.min_ms, r.median_ms, r.p99_ms, r.count
            )?,
            None => writeln!(f, "submit RTT: no results")?,
        }

        writeln!(f, "\nreconnects: {}", self.reconnects.len())?;
        for r in &self.reconnects {
            let down = r.duration_s.map_or("never reconnected".to_string(), |d| {
                format!("down {d:.1} s")
            });
            write!(f, "  {}  {}", clock(r.at_s), r.cause)?;
            if let Some(t) = &r.trigger {
                write!(f, " ({t})")?;
            }
            write!(f, ", {} attempt(s), {down}", r.attempts)?;
            if let Some(to) = &r.failover_to {
                write!(f, ", failover to {to}")?;
            }
            writeln!(f)?;
        }

        let ok = self
            .huge_pages
            .iter()
            .filter(|h| h.status == HugePageStatus::Allocated)
            .count();
        writeln!(
            f,
            "\nhuge pages: {ok} of {} allocations fully on huge pages",
            self.huge_pages.len()
        )?;
        for h in self
            .huge_pages
            .iter()
            .filter(|h| h.status != HugePageStatus::Allocated)
        {
            writeln!(
                f,
                "  t{} {}: {} of {} bytes on huge pages (errno {})",
                h.thread_id, h.status, h.huge_bytes, h.requested_bytes, h.errno
            )?;
        }

        writeln!(
            f,
            "\ngaps (hash threads silent too long): {}",
            self.gaps.len()
        )?;
        for g in &self.gaps {
            let end = if g.open {
                " (to the end, no stop recorded)"
            } else {
                ""
            };
            writeln!(
                f,
                "  t{:<4} silent {:.1} s from {} to {}{end}",
                g.thread_id,
                g.to_s - g.from_s,
                clock(g.from_s),
                clock(g.to_s)
            )?;
        }

        if !self.card_clocks.is_empty() {
            writeln!(
                f,
                "\ncard clocks (card - host, from the fastest round trip):"
            )?;
            for c in &self.card_clocks {
                writeln!(
                    f,
                    "  card {:<3} {:+.3} ms ± {:.3} ms  (min RTT {:.3} ms, {} samples, raw spread {:.3} ms)",
                    c.card, c.offset_ms, c.bound_ms, c.min_rtt_ms, c.samples, c.offset_spread_ms
                )?;
            }
        }
        if !self.supervision.is_empty() {
            writeln!(f, "\nsupervision: {} step(s)", self.supervision.len())?;
            for s in &self.supervision {
                writeln!(
                    f,
                    "  {}  card {:<3} {:<9} {}",
                    clock(s.at_s),
                    s.card,
                    s.action.to_string(),
                    s.detail
                )?;
            }
        }

        if !self.problems.is_empty() {
            writeln!(f, "\nproblems reading the journal: {}", self.problems.len())?;
            for p in &self.problems {
                writeln!(f, "  {p}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_known_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_267_941_000), "2026-11-21 13:32:21 UTC");
    }

    #[test]
    fn clock_format() {
        assert_eq!(clock(3723.25), "+01:02:03.2");
    }
}
