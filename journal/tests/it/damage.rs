//! Damaged journals: cut at every byte, bytes flipped, arbitrary bytes — never a panic.

use phirig_journal::format::{FileHeader, ThreadKind};
use phirig_journal::{
    dump, encode_buffer, read_bytes, report, Event, Problem, ReportOptions, SessionEvent,
    SubmitOutcome, TimedEvent, WorkerEvent,
};
use proptest::prelude::*;

fn header() -> FileHeader {
    FileHeader {
        major: 1,
        minor: 1,
        data_version: 1,
        pointer_size: 8,
        start_unix_ms: 1_795_267_941_000,
        start_monotonic_ns: 7,
        timer_overhead_ns: 25,
        flags: 0,
        pid: 99,
        api_port: 0,
        args: vec!["phirig-agent".into()],
        arch: "x86_64".into(),
        os: "linux".into(),
    }
}

/// One buffer to write: thread id, kind, and (time, event) pairs.
type Buffer = (u32, ThreadKind, Vec<(u64, Event)>);

/// A sample journal of five buffers from five threads; returns the bytes and each buffer's
/// (byte range, thread id).
fn sample() -> (Vec<u8>, Vec<(std::ops::Range<usize>, u32)>) {
    let mut bytes = header().encode();
    let mut ranges = Vec::new();
    let buffers: Vec<Buffer> = vec![
        (
            0,
            ThreadKind::Hash,
            vec![
                (10, Event::Worker(WorkerEvent::Start { cpu: Some(4) })),
                (1_000, Event::HashBatch { count: 512 }),
                (900_000_000, Event::HashBatch { count: 70_000 }),
            ],
        ),
        (
            100,
            ThreadKind::Pool,
            vec![
                (
                    20,
                    Event::Session(SessionEvent::Connected {
                        pool: "pool.example:3333".into(),
                    }),
                ),
                (
                    30,
                    Event::JobReceived {
                        job_id: "j1".into(),
                        algo: "cn/r".into(),
                        height: 2_000_000,
                        difficulty: 120_001,
                    },
                ),
            ],
        ),
        (
            1,
            ThreadKind::Hash,
            vec![
                (
                    50,
                    Event::ShareFound {
                        job_id: "j1".into(),
                        nonce: 0xdead_beef,
                        difficulty: 130_000,
                    },
                ),
                (60, Event::HashBatch { count: 3 }),
            ],
        ),
        (
            101,
            ThreadKind::Pool,
            vec![(
                70,
                Event::SubmitResult {
                    request_id: 4,
                    outcome: SubmitOutcome::Stale,
                    rtt_ns: 81_000_000,
                    reason: "job not found".into(),
                },
            )],
        ),
        (
            2,
            ThreadKind::Hash,
            vec![
                (80, Event::HashBatch { count: 1 }),
                (90, Event::HashBatch { count: 2 }),
            ],
        ),
    ];
    for (thread, kind, evs) in &buffers {
        let b = encode_buffer(*thread, *kind, evs);
        ranges.push((bytes.len()..bytes.len() + b.len(), *thread));
        bytes.extend(b);
    }
    (bytes, ranges)
}

#[test]
fn cut_at_every_offset_reads_a_prefix() {
    let (bytes, ranges) = sample();
    let full = read_bytes(&bytes).expect("intact");
    assert!(full.problems.is_empty());
    assert_eq!(full.events.len(), 10);
    let header_len = header().encode().len();
    for cut in 0..bytes.len() {
        match read_bytes(&bytes[..cut]) {
            Ok(j) => {
                assert!(cut >= header_len, "cut {cut}: header accepted");
                assert!(
                    full.events.starts_with(&j.events),
                    "cut {cut}: not a prefix: {:?}",
                    j.events
                );
                // A cut inside a buffer is reported; one between buffers cannot be told apart
                // from a file that simply ends there.
                if !ranges.iter().any(|(r, _)| r.start == cut) {
                    assert!(
                        matches!(j.problems.last(), Some(Problem::Truncated { .. })),
                        "cut {cut}: {:?}",
                        j.problems
                    );
                }
            }
            Err(_) => assert!(cut < header_len, "cut {cut}: rejected"),
        }
    }
}

#[test]
fn cut_inside_a_buffer_keeps_its_complete_events() {
    let (bytes, ranges) = sample();
    // Cut the first buffer one byte before its end: its first two events remain.
    let j = read_bytes(&bytes[..ranges[0].0.end - 1]).expect("header");
    assert_eq!(j.events.len(), 2);
}

/// Events of every thread except `skip`, as the intact file has them.
fn others(events: &[TimedEvent], skip: u32) -> Vec<TimedEvent> {
    events
        .iter()
        .filter(|e| e.thread_id != skip)
        .cloned()
        .collect()
}

#[test]
fn a_flipped_byte_only_costs_its_own_buffer() {
    let (bytes, ranges) = sample();
    let full = read_bytes(&bytes).expect("intact");
    for (range, thread) in &ranges {
        for at in range.clone() {
            for mask in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= mask;
                let j = read_bytes(&damaged).expect("header untouched");
                assert_eq!(
                    others(&j.events, *thread),
                    others(&full.events, *thread),
                    "flip {mask:#x} at {at} in buffer of thread {thread}"
                );
            }
        }
    }
}

#[test]
fn garbage_between_buffers_is_skipped() {
    let (bytes, ranges) = sample();
    let full = read_bytes(&bytes).expect("intact");
    let split = ranges[2].0.start;
    let mut damaged = bytes[..split].to_vec();
    damaged.extend([0u8; 37]);
    damaged.extend(b"PJBF and then nonsense");
    damaged.extend(&bytes[split..]);
    let j = read_bytes(&damaged).expect("header");
    assert_eq!(j.events, full.events);
    assert_eq!(j.problems.len(), 1, "{:?}", j.problems);
}

#[test]
fn unknown_event_type_ends_only_its_buffer() {
    let (bytes, ranges) = sample();
    let full = read_bytes(&bytes).expect("intact");
    // Type 15 is unassigned: rewrite the first event byte of thread 0's buffer, keeping the CRC
    // valid (the header is untouched), as a newer writer's unknown event would look.
    let mut damaged = bytes.clone();
    damaged[ranges[0].0.start + 25] = 0x0f;
    let j = read_bytes(&damaged).expect("header");
    assert_eq!(others(&j.events, 0), others(&full.events, 0));
    assert!(j.events.iter().all(|e| e.thread_id != 0));
    assert!(matches!(
        j.problems[..],
        [Problem::BadEvent { thread_id: 0, .. }]
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The CI fuzz target: arbitrary bytes, with and without a valid file header in front.
    #[test]
    fn arbitrary_bytes_never_panic(tail in prop::collection::vec(any::<u8>(), 0..512), with_header: bool) {
        let mut bytes = if with_header { header().encode() } else { Vec::new() };
        bytes.extend(&tail);
        // Whatever is read must also report and dump without panicking.
        if let Ok(j) = read_bytes(&bytes) {
            let _ = report(&j, &ReportOptions::default()).to_string();
            dump(&j, &mut std::io::sink()).expect("sink");
        }
    }

    /// Random corruption of a real journal: several bytes overwritten at random places.
    #[test]
    fn corrupted_sample_never_panics(edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8)) {
        let (mut bytes, _) = sample();
        for (i, b) in edits {
            let at = i.index(bytes.len());
            bytes[at] = b;
        }
        if let Ok(j) = read_bytes(&bytes) {
            prop_assert!(j.events.len() <= 64);
            let _ = report(&j, &ReportOptions::default()).to_string();
        }
    }
}
