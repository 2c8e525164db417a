//! `report` and `dump` on a journal built to a known scenario.

use phirig_journal::format::{FileHeader, ThreadKind};
use phirig_journal::{
    dump, encode_buffer, read_bytes, report, Event, HugePageStatus, JournalFile, ReportOptions,
    SessionEvent, SubmitOutcome, WorkerEvent,
};

const S: u64 = 1_000_000_000;

fn batches(from_s: u64, to_s: u64, count: u64) -> Vec<(u64, Event)> {
    (from_s..to_s)
        .map(|k| (k * S + S / 2, Event::HashBatch { count }))
        .collect()
}

fn huge(status: HugePageStatus, huge_bytes: u64) -> (u64, Event) {
    (
        0,
        Event::HugePages {
            status,
            requested_bytes: 2 << 20,
            huge_bytes,
            errno: if huge_bytes == 0 { 12 } else { 0 },
        },
    )
}

fn submit(t: u64, outcome: SubmitOutcome, rtt_ms: u64, reason: &str) -> (u64, Event) {
    (
        t,
        Event::SubmitResult {
            request_id: t,
            outcome,
            rtt_ns: rtt_ms * 1_000_000,
            reason: reason.into(),
        },
    )
}

fn session(t: u64, s: SessionEvent) -> (u64, Event) {
    (t, Event::Session(s))
}

/// Three hash threads over 180 s and a pool thread with two reconnects.
fn scenario() -> JournalFile {
    let header = FileHeader {
        major: 1,
        minor: 1,
        data_version: 1,
        pointer_size: 8,
        start_unix_ms: 1_795_267_941_000,
        start_monotonic_ns: 0,
        timer_overhead_ns: 20,
        flags: 0,
        pid: 1,
        api_port: 0,
        args: vec![],
        arch: "x86_64".into(),
        os: "linux".into(),
    };
    let mut bytes = header.encode();

    let mut t0 = vec![
        (0, Event::Worker(WorkerEvent::Start { cpu: Some(1) })),
        huge(HugePageStatus::Allocated, 2 << 20),
    ];
    t0.extend(batches(0, 180, 100));
    // Thread 1 stalls from 60.5 s to 100.5 s.
    let mut t1 = vec![huge(HugePageStatus::Allocated, 2 << 20)];
    t1.extend(batches(0, 61, 50));
    t1.extend(batches(100, 180, 50));
    // Thread 2 runs on normal pages and goes silent at 30.5 s without saying it stopped.
    let mut t2 = vec![huge(HugePageStatus::Failed, 0)];
    t2.extend(batches(0, 31, 10));

    let pool = vec![
        session(
            0,
            SessionEvent::Connected {
                pool: "a:3333".into(),
            },
        ),
        submit(S, SubmitOutcome::Accepted, 40, ""),
        submit(2 * S, SubmitOutcome::Accepted, 60, ""),
        submit(3 * S, SubmitOutcome::Rejected, 80, "low difficulty"),
        submit(4 * S, SubmitOutcome::Stale, 500, "job not found"),
        session(
            50 * S,
            SessionEvent::Hung {
                timer: "job".into(),
                silent_ms: 90_000,
            },
        ),
        session(
            50 * S,
            SessionEvent::Reconnect {
                cause: "hung".into(),
                attempt: 1,
            },
        ),
        session(
            52 * S,
            SessionEvent::Reconnect {
                cause: "hung".into(),
                attempt: 2,
            },
        ),
        session(
            53 * S + S / 2,
            SessionEvent::Connected {
                pool: "a:3333".into(),
            },
        ),
        session(
            120 * S,
            SessionEvent::Disconnected {
                reason: "eof".into(),
            },
        ),
        session(
            121 * S,
            SessionEvent::Failover {
                from: "a:3333".into(),
                to: "b:3333".into(),
            },
        ),
        session(
            122 * S,
            SessionEvent::Connected {
                pool: "b:3333".into(),
            },
        ),
        (180 * S, Event::Session(SessionEvent::Login { ok: true })),
    ];

    for (id, kind, evs) in [
        (0, ThreadKind::Hash, t0),
        (1, ThreadKind::Hash, t1),
        (2, ThreadKind::Hash, t2),
        (100, ThreadKind::Pool, pool),
    ] {
        bytes.extend(encode_buffer(id, kind, &evs));
    }
    read_bytes(&bytes).expect("scenario")
}

#[test]
fn report_answers_the_scenario() {
    let j = scenario();
    let r = report(&j, &ReportOptions::default());

    assert_eq!(r.duration_s, 180.0);
    assert_eq!(r.threads.len(), 3);
    assert_eq!(r.threads[0].per_bucket_hs, [100.0, 100.0, 100.0]);
    assert_eq!(r.threads[0].hashes, 18_000);
    let t1 = &r.threads[1];
    assert!(
        (t1.per_bucket_hs[1] - 21.0 * 50.0 / 60.0).abs() < 1e-9,
        "{t1:?}"
    );
    assert_eq!(r.threads[2].per_bucket_hs[1..], [0.0, 0.0]);
    assert_eq!(r.total_hs.len(), 3);
    assert_eq!(r.threads[0].sparkline.chars().count(), 3);

    assert_eq!(
        (r.shares.accepted, r.shares.rejected, r.shares.stale),
        (2, 1, 1)
    );
    assert_eq!(r.shares.reasons.get("low difficulty"), Some(&1));
    let rtt = r.submit_rtt.as_ref().expect("rtt");
    assert_eq!((rtt.min_ms, rtt.median_ms, rtt.p99_ms), (40.0, 60.0, 500.0));

    assert_eq!(r.reconnects.len(), 2);
    let first = &r.reconnects[0];
    assert_eq!(first.cause, "hung");
    assert_eq!(
        first.trigger.as_deref(),
        Some("hung: job timer fired after 90000 ms")
    );
    assert_eq!(first.attempts, 2);
    assert_eq!(first.duration_s, Some(3.5));
    let second = &r.reconnects[1];
    assert_eq!(second.failover_to.as_deref(), Some("b:3333"));
    assert_eq!(second.trigger.as_deref(), Some("disconnected: eof"));
    assert_eq!(second.duration_s, Some(1.0));

    assert_eq!(r.huge_pages.len(), 3);
    assert_eq!(
        r.huge_pages
            .iter()
            .filter(|h| h.status == HugePageStatus::Failed)
            .count(),
        1
    );

    let gaps: Vec<(u32, f64, f64, bool)> = r
        .gaps
        .iter()
        .map(|g| (g.thread_id, g.from_s, g.to_s, g.open))
        .collect();
    assert_eq!(gaps, [(1, 60.5, 100.5, false), (2, 30.5, 180.0, true)]);

    let text = r.to_string();
    for needle in [
        "journal started 2026-11-21 13:32:21 UTC",
        "2 accepted, 1 rejected, 1 stale",
        "median 60.0 ms",
        "hung (hung: job timer fired after 90000 ms), 2 attempt(s), down 3.5 s",
        "failover to b:3333",
        "2 of 3 allocations fully on huge pages",
        "t2 failed: 0 of 2097152 bytes",
        "t1    silent 40.0 s from +00:01:00.5 to +00:01:40.5",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }

    let json = serde_json::to_value(&r).expect("json");
    assert_eq!(json["shares"]["stale"], 1);
    assert_eq!(json["huge_pages"][2]["status"], "failed");
}

#[test]
fn dump_prints_one_line_per_event() {
    let j = scenario();
    let mut out = Vec::new();
    dump(&j, &mut out).expect("dump");
    let text = String::from_utf8(out).expect("utf8");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2 + j.events.len());
    assert!(lines[0].starts_with("# phirig journal 1.1"), "{}", lines[0]);
    assert!(
        text.contains("t100  pool    session hung timer=\"job\" silent_ms=90000"),
        "{text}"
    );
    // Time order across threads.
    let times: Vec<f64> = lines[2..]
        .iter()
        .map(|l| {
            l.split_whitespace()
                .next()
                .expect("time")
                .parse()
                .expect("f64")
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn empty_journal_reports_nothing_without_panicking() {
    let mut j = scenario();
    j.events.clear();
    let r = report(&j, &ReportOptions::default());
    assert!(r.threads.is_empty() && r.reconnects.is_empty() && r.submit_rtt.is_none());
    assert!(r.to_string().contains("no hash batches"));
}

#[test]
fn a_wild_timestamp_widens_buckets_instead_of_allocating() {
    let mut j = scenario();
    let mut far = j.events[0].clone();
    far.time_ns = u64::MAX - 1;
    j.events.push(far);
    let r = report(&j, &ReportOptions::default());
    assert!(r.total_hs.len() as u64 <= phirig_journal::report::MAX_BUCKETS);
    assert!(r.bucket_s > 60.0);
    let _ = r.to_string();
}
