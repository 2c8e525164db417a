//! Journal round trips: random events → bytes or file → reader gives them back exactly.

use phirig_journal::format::{FileHeader, ThreadKind, BUFFER_HEADER_LEN, FORMAT_MINOR};
use phirig_journal::{
    encode_buffer, read_bytes, read_file, Event, HeaderInfo, HugePageStatus, Journal,
    JournalConfig, SessionEvent, SubmitOutcome, SupervisionAction, TimedEvent, WorkerEvent,
};
use proptest::prelude::*;
use std::time::Duration;

fn text() -> impl Strategy<Value = String> {
    // Includes multi-byte characters, which must survive as whole UTF-8.
    "[a-z0-9 /:é€]{0,12}"
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (text(), text(), any::<u64>(), any::<u64>()).prop_map(
            |(job_id, algo, height, difficulty)| {
                Event::JobReceived {
                    job_id,
                    algo,
                    height,
                    difficulty,
                }
            }
        ),
        any::<u64>().prop_map(|count| Event::HashBatch { count }),
        (text(), any::<u32>(), any::<u64>()).prop_map(|(job_id, nonce, difficulty)| {
            Event::ShareFound {
                job_id,
                nonce,
                difficulty,
            }
        }),
        (any::<u64>(), text(), any::<u32>()).prop_map(|(request_id, job_id, nonce)| {
            Event::SubmitSent {
                request_id,
                job_id,
                nonce,
            }
        }),
        (any::<u64>(), 0..3u8, any::<u64>(), text()).prop_map(|(request_id, o, rtt_ns, reason)| {
            Event::SubmitResult {
                request_id,
                outcome: [
                    SubmitOutcome::Accepted,
                    SubmitOutcome::Rejected,
                    SubmitOutcome::Stale,
                ][o as usize],
                rtt_ns,
                reason,
            }
        }),
        prop_oneof![
            text().prop_map(|pool| SessionEvent::Connected { pool }),
            any::<bool>().prop_map(|ok| SessionEvent::Login { ok }),
            (text(), any::<u64>())
                .prop_map(|(timer, silent_ms)| SessionEvent::Hung { timer, silent_ms }),
            (text(), any::<u32>())
                .prop_map(|(cause, attempt)| SessionEvent::Reconnect { cause, attempt }),
            (text(), text()).prop_map(|(from, to)| SessionEvent::Failover { from, to }),
            text().prop_map(|reason| SessionEvent::Disconnected { reason }),
            (text(), text(), text()).prop_map(|(pool, method, result)| SessionEvent::Probe {
                pool,
                method,
                result
            }),
        ]
        .prop_map(Event::Session),
        (0..3u8, any::<u64>(), any::<u64>(), any::<i32>()).prop_map(|(s, r, h, errno)| {
            Event::HugePages {
                status: [
                    HugePageStatus::Allocated,
                    HugePageStatus::Partial,
                    HugePageStatus::Failed,
                ][s as usize],
                requested_bytes: r,
                huge_bytes: h,
                errno,
            }
        }),
        prop_oneof![
            any::<Option<u32>>().prop_map(|cpu| WorkerEvent::Start { cpu }),
            any::<u64>().prop_map(|hashes| WorkerEvent::Stop { hashes }),
            text().prop_map(|message| WorkerEvent::Panic { message }),
        ]
        .prop_map(Event::Worker),
        (any::<u32>(), any::<i64>(), any::<u64>()).prop_map(|(card, offset_ns, rtt_ns)| {
            Event::ClockOffset {
                card,
                offset_ns,
                rtt_ns,
            }
        }),
        (any::<u32>(), 0..5u8, text()).prop_map(|(card, a, detail)| Event::Supervision {
            card,
            action: [
                SupervisionAction::Deploy,
                SupervisionAction::Start,
                SupervisionAction::Stop,
                SupervisionAction::Restart,
                SupervisionAction::Unhealthy,
            ][a as usize],
            detail,
        }),
    ]
}

/// A header as `Journal::create` would write it, with a fixed minor.
fn header(minor: u16) -> FileHeader {
    FileHeader {
        major: 1,
        minor,
        data_version: 1,
        pointer_size: 8,
        start_unix_ms: 1_795_267_941_000,
        start_monotonic_ns: 42,
        timer_overhead_ns: 20,
        flags: 0,
        pid: 1234,
        api_port: if minor >= 1 { 8080 } else { 0 },
        args: vec!["phirig-agent".into(), "--journal".into(), "j".into()],
        arch: "x86_64".into(),
        os: "linux".into(),
    }
}

type Buffer = (u32, Vec<(u64, Event)>);

/// Buffers of (thread id, events with non-decreasing absolute times).
fn buffers() -> impl Strategy<Value = Vec<Buffer>> {
    let buffer = (
        0..8u32,
        any::<u32>().prop_map(u64::from),
        prop::collection::vec((0..5_000_000_000u64, event()), 1..12),
    )
        .prop_map(|(thread, base, evs)| {
            let mut t = base;
            let evs = evs
                .into_iter()
                .map(|(d, e)| {
                    t += d;
                    (t, e)
                })
                .collect();
            (thread, evs)
        });
    prop::collection::vec(buffer, 0..6)
}

fn expected(bufs: &[Buffer]) -> Vec<TimedEvent> {
    bufs.iter()
        .flat_map(|(thread, evs)| {
            evs.iter().map(move |(t, e)| TimedEvent {
                time_ns: *t,
                thread_id: *thread,
                thread_kind: ThreadKind::Hash,
                event: e.clone(),
            })
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn encoded_buffers_read_back_exactly(bufs in buffers()) {
        let mut bytes = header(FORMAT_MINOR).encode();
        for (thread, evs) in &bufs {
            bytes.extend(encode_buffer(*thread, ThreadKind::Hash, evs));
        }
        let j = read_bytes(&bytes).expect("header");
        prop_assert_eq!(j.header, header(FORMAT_MINOR));
        prop_assert!(j.problems.is_empty(), "{:?}", j.problems);
        prop_assert_eq!(j.events, expected(&bufs));
    }
}

proptest! {
    // Each case starts a writer thread and a file: keep the count small.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn written_journal_reads_back_exactly(bufs in buffers(), buffer_bytes in 32..512usize) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j");
        let config = JournalConfig { buffer_bytes, ..JournalConfig::default() };
        let journal = Journal::create(&path, config, HeaderInfo::default()).expect("create");
        // Times are explicit (record_at) so they can be compared; flush_interval is 1 s, so
        // large deltas also exercise hand-off by age.
        for (thread, evs) in &bufs {
            let mut tj = journal.thread(*thread, ThreadKind::Hash);
            for (t, e) in evs {
                tj.record_at(e, *t);
            }
        }
        let stats = journal.close().expect("close");
        let total: usize = bufs.iter().map(|(_, e)| e.len()).sum();
        prop_assert_eq!(stats.events_written, total as u64);
        prop_assert_eq!(stats.events_dropped, 0);
        let j = read_file(&path).expect("read");
        prop_assert!(j.problems.is_empty(), "{:?}", j.problems);
        prop_assert_eq!(j.events, expected(&bufs));
    }
}

#[test]
fn minor_zero_files_stay_readable() {
    // Format 1.0: no API port in the header, no reason string in SubmitResult.
    let mut bytes = header(0).encode();
    let mut events = vec![
        0x02, 0x00, 0x80, 0x02, // HashBatch, delta 0, count 256
        0x15, 0x05, 0x07, 0x90, 0x4e, // SubmitResult rejected, delta 5, id 7, RTT 10000
        0x05, 0x01, 0x08, 0x64, // SubmitResult accepted, delta 1, id 8, RTT 100
    ];
    let mut buf = encode_buffer(3, ThreadKind::Hash, &[]);
    // Patch the length into a header built for zero events, then append the 1.0 events.
    let h = phirig_journal::format::BufferHeader {
        len: events.len() as u32,
        time_base_ns: 1000,
        thread_id: 3,
        kind: ThreadKind::Hash as u8,
    };
    buf[..BUFFER_HEADER_LEN].copy_from_slice(&h.encode());
    buf.append(&mut events);
    bytes.extend(buf);

    let j = read_bytes(&bytes).expect("1.0 header");
    assert_eq!((j.header.minor, j.header.api_port), (0, 0));
    assert!(j.problems.is_empty(), "{:?}", j.problems);
    let got: Vec<(u64, Event)> = j.events.into_iter().map(|e| (e.time_ns, e.event)).collect();
    assert_eq!(
        got,
        [
            (1000, Event::HashBatch { count: 256 }),
            (
                1005,
                Event::SubmitResult {
                    request_id: 7,
                    outcome: SubmitOutcome::Rejected,
                    rtt_ns: 10_000,
                    reason: String::new(),
                }
            ),
            (
                1006,
                Event::SubmitResult {
                    request_id: 8,
                    outcome: SubmitOutcome::Accepted,
                    rtt_ns: 100,
                    reason: String::new(),
                }
            ),
        ]
    );
}

#[test]
fn later_minor_header_fields_are_skipped() {
    // A newer minor's writer appends a field this reader does not know; the header length
    // covers it.
    let mut h = header(1);
    h.minor = FORMAT_MINOR + 1;
    let mut bytes = h.encode();
    let len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    bytes[12..16].copy_from_slice(&(len + 3).to_le_bytes());
    bytes.extend([9, 9, 9]);
    bytes.extend(encode_buffer(
        1,
        ThreadKind::Pool,
        &[(5, Event::HashBatch { count: 1 })],
    ));
    let j = read_bytes(&bytes).expect("header");
    assert_eq!(j.header.api_port, 8080);
    assert_eq!(j.events.len(), 1);
}

#[test]
fn long_strings_are_cut_at_a_char_boundary() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j");
    let journal =
        Journal::create(&path, JournalConfig::default(), HeaderInfo::default()).expect("create");
    let mut tj = journal.thread(0, ThreadKind::Hash);
    tj.record(&Event::Worker(WorkerEvent::Panic {
        message: "é".repeat(2000),
    }));
    drop(tj);
    journal.close().expect("close");
    let j = read_file(&path).expect("read");
    match &j.events[..] {
        [TimedEvent {
            event: Event::Worker(WorkerEvent::Panic { message }),
            ..
        }] => assert_eq!(message.len(), 1024),
        other => panic!("{other:?}"),
    }
}

#[test]
fn record_stamps_increasing_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j");
    let journal = Journal::create(&path, JournalConfig::default(), HeaderInfo::from_env(0, 7))
        .expect("create");
    let mut tj = journal.thread(5, ThreadKind::Hash);
    for i in 0..100 {
        tj.record(&Event::HashBatch { count: i });
    }
    std::thread::sleep(Duration::from_millis(2));
    tj.record(&Event::HashBatch { count: 100 });
    drop(tj);
    journal.close().expect("close");
    let j = read_file(&path).expect("read");
    assert_eq!(j.header.api_port, 7);
    assert_eq!(j.header.pid, std::process::id());
    assert_eq!(j.events.len(), 101);
    assert!(j.events.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    assert!(j.events[100].time_ns - j.events[99].time_ns >= 2_000_000);
}
