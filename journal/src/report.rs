//! `phirig log report` and `phirig log dump`: a journal turned into answers, or into lines.

use super::event::{Event, HugePageStatus, SessionEvent, SubmitOutcome, WorkerEvent};
use super::format::ThreadKind;
use super::reader::{JournalFile, TimedEvent};
use super::report_host::{card_clocks, supervision, CardClock, SupervisionStep};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// Most buckets a report holds; longer journals get wider buckets.
pub const MAX_BUCKETS: u64 = 10_000;

/// What the report computes with.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// A hashing thread silent for longer than this is a gap.
    pub gap_threshold: Duration,
    /// Width of one hash-rate bucket (one table row, one sparkline step).
    pub bucket: Duration,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            gap_threshold: Duration::from_secs(10),
            bucket: Duration::from_secs(60),
        }
    }
}

/// The answers; `Serialize` for `--json`, `Display` for text. Times are seconds since the
/// journal started.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub start_unix_ms: u64,
    pub duration_s: f64,
    pub events: usize,
    pub bucket_s: f64,
    pub threads: Vec<ThreadRate>,
    /// Sum over threads, per bucket.
    pub total_hs: Vec<f64>,
    pub shares: Shares,
    pub submit_rtt: Option<Rtt>,
    pub reconnects: Vec<Reconnect>,
    pub huge_pages: Vec<HugePages>,
    pub gaps: Vec<Gap>,
    /// Host journals: each card's clock against the host's.
    pub card_clocks: Vec<CardClock>,
    /// Host journals: every deployment and supervision step.
    pub supervision: Vec<SupervisionStep>,
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ThreadRate {
    pub thread_id: u32,
    pub hashes: u64,
    /// Hashes over the thread's span (first to last event).
    pub average_hs: f64,
    pub per_bucket_hs: Vec<f64>,
    pub sparkline: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Shares {
    pub found: u64,
    pub submitted: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub stale: u64,
    /// Rejection and stale reasons as the pool gave them, with counts.
    pub reasons: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Rtt {
    pub count: usize,
    pub min_ms: f64,
    pub median_ms: f64,
    pub p99_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reconnect {
    pub at_s: f64,
    /// The cause the session gave when it decided to reconnect.
    pub cause: String,
    /// What preceded it: the hung timer that fired, or the disconnect reason.
    pub trigger: Option<String>,
    pub attempts: u32,
    pub failover_to: Option<String>,
    /// Until the session was connected again; `None` if it never was in this journal.
    pub duration_s: Option<f64>,
    pub connected_to: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct HugePages {
    pub at_s: f64,
    pub thread_id: u32,
    pub status: HugePageStatus,
    pub requested_bytes: u64,
    pub huge_bytes: u64,
    pub errno: i32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub thread_id: u32,
    pub from_s: f64,
    pub to_s: f64,
    /// The gap runs to the end of the journal and the thread never said it stopped.
    pub open: bool,
}

pub(super) fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Computes the report of a journal (or of rotated parts read with [`super::read_parts`]).
pub fn report(journal: &JournalFile, options: &ReportOptions) -> Report {
    let mut events: Vec<&TimedEvent> = journal.events.iter().collect();
    // Stable: a thread's own order is kept among equal times.
    events.sort_by_key(|e| e.time_ns);
    let end_ns = events.last().map_or(0, |e| e.time_ns);
    // A damaged delta can put an event centuries out; widen the buckets rather than allocate
    // one per minute of that.
    let bucket_ns = u64::try_from(options.bucket.as_nanos())
        .unwrap_or(u64::MAX)
        .max(end_ns.div_ceil(MAX_BUCKETS))
        .max(1);
    // An event exactly at the end belongs to the last bucket, not to a new empty one.
    let buckets = end_ns.div_ceil(bucket_ns).max(1) as usize;

    let threads = hash_rates(&events, bucket_ns, buckets, end_ns);
    let total_hs = (0..buckets)
        .map(|b| threads.iter().map(|t| t.per_bucket_hs[b]).sum())
        .collect();

    let mut shares = Shares::default();
    let mut rtts = Vec::new();
    let mut huge_pages = Vec::new();
    for e in &events {
        match &e.event {
            Event::ShareFound { .. } => shares.found += 1,
            Event::SubmitSent { .. } => shares.submitted += 1,
            Event::SubmitResult {
                outcome,
                rtt_ns,
                reason,
                ..
            } => {
                match outcome {
                    SubmitOutcome::Accepted => shares.accepted += 1,
                    SubmitOutcome::Rejected => shares.rejected += 1,
                    SubmitOutcome::Stale => shares.stale += 1,
                }
                if *outcome != SubmitOutcome::Accepted {
                    let key = if reason.is_empty() {
                        outcome.to_string()
                    } else {
                        reason.clone()
                    };
                    *shares.reasons.entry(key).or_default() += 1;
                }
                rtts.push(*rtt_ns);
            }
            Event::HugePages {
                status,
                requested_bytes,
                huge_bytes,
                errno,
            } => huge_pages.push(HugePages {
                at_s: secs(e.time_ns),
                thread_id: e.thread_id,
                status: *status,
                requested_bytes: *requested_bytes,
                huge_bytes: *huge_bytes,
                errno: *errno,
            }),
            _ => {}
        }
    }

    Report {
        start_unix_ms: journal.header.start_unix_ms,
        duration_s: secs(end_ns),
        events: events.len(),
        bucket_s: secs(bucket_ns),
        threads,
        total_hs,
        shares,
        submit_rtt: rtt_stats(rtts),
        reconnects: reconnects(&events),
        huge_pages,
        gaps: gaps(&events, options.gap_threshold, end_ns),
        card_clocks: card_clocks(&events),
        supervision: supervision(&events),
        problems: journal.problems.iter().map(|p| p.to_string()).collect(),
    }
}

fn hash_rates(
    events: &[&TimedEvent],
    bucket_ns: u64,
    buckets: usize,
    end_ns: u64,
) -> Vec<ThreadRate> {
    struct Acc {
        hashes: u64,
        first: u64,
        last: u64,
        per_bucket: Vec<u64>,
    }
    let mut by_thread: BTreeMap<u32, Acc> = BTreeMap::new();
    for e in events {
        if let Event::HashBatch { count } = e.event {
            let acc = by_thread.entry(e.thread_id).or_insert_with(|| Acc {
                hashes: 0,
                first: e.time_ns,
                last: e.time_ns,
                per_bucket: vec![0; buckets],
            });
            acc.hashes = acc.hashes.saturating_add(count);
            acc.last = e.time_ns;
            let b = ((e.time_ns / bucket_ns) as usize).min(buckets - 1);
            acc.per_bucket[b] = acc.per_bucket[b].saturating_add(count);
        }
    }
    // A thread's span starts at its first event of any kind (its start), not its first batch.
    for e in events {
        if let Some(acc) = by_thread.get_mut(&e.thread_id) {
            acc.first = acc.first.min(e.time_ns);
        }
    }
    // The last bucket is usually partial; dividing by its full width would show a false drop.
    let width = |b: usize| {
        let start = (b as u64).saturating_mul(bucket_ns);
        secs(bucket_ns.min(end_ns.saturating_sub(start)).max(1))
    };
    let mut rates: Vec<ThreadRate> = by_thread
        .into_iter()
        .map(|(thread_id, acc)| {
            let span = acc.last.saturating_sub(acc.first);
            ThreadRate {
                thread_id,
                hashes: acc.hashes,
                average_hs: if span == 0 {
                    0.0
                } else {
                    acc.hashes as f64 / secs(span)
                },
                per_bucket_hs: acc
                    .per_bucket
                    .iter()
                    .enumerate()
                    .map(|(b, &n)| n as f64 / width(b))
                    .collect(),
                sparkline: String::new(),
            }
        })
        .collect();
    // One scale for all threads, so a slow thread looks lower than its neighbours.
    let max = rates
        .iter()
        .flat_map(|t| t.per_bucket_hs.iter().copied())
        .fold(0.0, f64::max);
    for t in &mut rates {
        t.sparkline = sparkline(&t.per_bucket_hs, max, 100);
    }
    rates
}

/// Eight-level bars, one per bucket (averaged down to at most `width` characters).
fn sparkline(values: &[f64], max: f64, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let group = values.len().div_ceil(width.max(1)).max(1);
    values
        .chunks(group)
        .map(|c| {
            let v = c.iter().sum::<f64>() / c.len() as f64;
            if v <= 0.0 || max <= 0.0 {
                ' '
            } else {
                let i = ((v / max) * (BARS.len() - 1) as f64).round() as usize;
                BARS[i.min(BARS.len() - 1)]
            }
        })
        .collect()
}

fn rtt_stats(mut rtts: Vec<u64>) -> Option<Rtt> {
    if rtts.is_empty() {
        return None;
    }
    rtts.sort_unstable();
    // Nearest-rank percentiles: always a value that was actually measured.
    let rank = |p: f64| rtts[((p * rtts.len() as f64).ceil() as usize).clamp(1, rtts.len()) - 1];
    let ms = |ns: u64| ns as f64 / 1e6;
    Some(Rtt {
        count: rtts.len(),
        min_ms: ms(rtts[0]),
        median_ms: ms(rank(0.5)),
        p99_ms: ms(rank(0.99)),
    })
}

fn reconnects(events: &[&TimedEvent]) -> Vec<Reconnect> {
    let mut out: Vec<Reconnect> = Vec::new();
    let mut open: Option<(usize, u64)> = None;
    let mut trigger: Option<String> = None;
    for e in events {
        let Event::Session(s) = &e.event else {
            continue;
        };
        match s {
            SessionEvent::Hung { timer, silent_ms } => {
                trigger = Some(format!("hung: {timer} timer fired after {silent_ms} ms"));
            }
            SessionEvent::Disconnected { reason } => {
                trigger = Some(format!("disconnected: {reason}"));
            }
            SessionEvent::Reconnect { cause, .. } => match open {
                Some((i, _)) => out[i].attempts += 1,
                None => {
                    open = Some((out.len(), e.time_ns));
                    out.push(Reconnect {
                        at_s: secs(e.time_ns),
                        cause: cause.clone(),
                        trigger: trigger.take(),
                        attempts: 1,
                        failover_to: None,
                        duration_s: None,
                        connected_to: None,
                    });
                }
            },
            SessionEvent::Failover { from, to } => {
                let i = match open {
                    Some((i, _)) => i,
                    None => {
                        open = Some((out.len(), e.time_ns));
                        out.push(Reconnect {
                            at_s: secs(e.time_ns),
                            cause: format!("failover from {from}"),
                            trigger: trigger.take(),
                            attempts: 0,
                            failover_to: None,
                            duration_s: None,
                            connected_to: None,
                        });
                        out.len() - 1
                    }
                };
                out[i].failover_to = Some(to.clone());
            }
            SessionEvent::Connected { pool } => {
                if let Some((i, since)) = open.take() {
                    out[i].duration_s = Some(secs(e.time_ns.saturating_sub(since)));
                    out[i].connected_to = Some(pool.clone());
                }
                trigger = None;
            }
            // A probe that fails is followed by the disconnect it causes, which names it.
            SessionEvent::Login { .. } | SessionEvent::Probe { .. } => {}
        }
    }
    out
}

fn gaps(events: &[&TimedEvent], threshold: Duration, end_ns: u64) -> Vec<Gap> {
    let limit = u64::try_from(threshold.as_nanos()).unwrap_or(u64::MAX);
    // (last event time, stopped) per hashing thread; other threads are legitimately quiet.
    let mut last: HashMap<u32, (u64, bool)> = HashMap::new();
    let mut out = Vec::new();
    for e in events.iter().filter(|e| e.thread_kind == ThreadKind::Hash) {
        if let Some((t, _)) = last.get(&e.thread_id) {
            if e.time_ns - t > limit {
                out.push(Gap {
                    thread_id: e.thread_id,
                    from_s: secs(*t),
                    to_s: secs(e.time_ns),
                    open: false,
                });
            }
        }
        let stopped = matches!(
            e.event,
            Event::Worker(WorkerEvent::Stop { .. } | WorkerEvent::Panic { .. })
        );
        last.insert(e.thread_id, (e.time_ns, stopped));
    }
    for (&thread_id, &(t, stopped)) in &last {
        if !stopped && end_ns - t > limit {
            out.push(Gap {
                thread_id,
                from_s: secs(t),
                to_s: secs(end_ns),
                open: true,
            });
        }
    }
    out.sort_by(|a, b| {
        (a.thread_id, a.from_s)
            .partial_cmp(&(b.thread_id, b.from_s))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let r = rtt_stats((1..=100).map(|ms| ms * 1_000_000).collect()).expect("some");
        assert_eq!((r.min_ms, r.median_ms, r.p99_ms), (1.0, 50.0, 99.0));
        assert!(rtt_stats(Vec::new()).is_none());
    }

    #[test]
    fn sparkline_scales_and_downsamples() {
        assert_eq!(sparkline(&[0.0, 1.0, 2.0], 2.0, 10), " ▅█");
        assert_eq!(sparkline(&[2.0; 300], 2.0, 100).chars().count(), 100);
    }
}
