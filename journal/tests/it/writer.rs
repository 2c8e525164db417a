//! The journal writer: concurrent threads, hand-off by age, rotation, drops, and record cost.

use phirig_journal::format::ThreadKind;
use phirig_journal::rotation::{part_path, parts};
use phirig_journal::{
    read_file, read_parts, Event, HeaderInfo, Journal, JournalConfig, JournalError,
};
use std::time::{Duration, Instant};

#[test]
fn four_threads_record_concurrently_and_keep_their_order() {
    const PER_THREAD: u64 = 20_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j");
    // 4 × 20 000 small events in 4 KiB buffers is about 80 buffers: the queue of 256 cannot fill,
    // so nothing may be dropped and every event must be in the file.
    let config = JournalConfig {
        buffer_bytes: 4096,
        ..JournalConfig::default()
    };
    let journal = Journal::create(&path, config, HeaderInfo::default()).expect("create");
    std::thread::scope(|s| {
        for thread in 0..4u32 {
            let mut tj = journal.thread(thread, ThreadKind::Hash);
            s.spawn(move || {
                for i in 0..PER_THREAD {
                    tj.record(&Event::HashBatch { count: i });
                }
            });
        }
    });
    let stats = journal.close().expect("close");
    assert_eq!(stats.events_written, 4 * PER_THREAD);
    assert_eq!(stats.events_dropped, 0);

    let j = read_file(&path).expect("read");
    assert!(j.problems.is_empty(), "{:?}", j.problems);
    for thread in 0..4u32 {
        let mine: Vec<_> = j.events.iter().filter(|e| e.thread_id == thread).collect();
        let counts: Vec<u64> = mine
            .iter()
            .map(|e| match e.event {
                Event::HashBatch { count } => count,
                _ => u64::MAX,
            })
            .collect();
        assert_eq!(
            counts,
            (0..PER_THREAD).collect::<Vec<_>>(),
            "thread {thread}"
        );
        assert!(mine.windows(2).all(|w| w[0].time_ns <= w[1].time_ns));
    }
}

#[test]
fn a_buffer_older_than_the_flush_interval_is_handed_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j");
    let config = JournalConfig {
        flush_interval: Duration::from_millis(50),
        ..JournalConfig::default()
    };
    let journal = Journal::create(&path, config, HeaderInfo::default()).expect("create");
    let mut tj = journal.thread(9, ThreadKind::Hash);
    tj.record_at(&Event::HashBatch { count: 1 }, 0);
    tj.record_at(&Event::HashBatch { count: 2 }, 60_000_000);
    // Still held by `tj`, but handed off by age: the writer has it after a flush.
    journal.flush().expect("flush");
    assert_eq!(read_file(&path).expect("read").events.len(), 2);
    tj.record_at(&Event::HashBatch { count: 3 }, 60_000_001);
    tj.flush();
    journal.flush().expect("flush");
    assert_eq!(read_file(&path).expect("read").events.len(), 3);
    // An Instant the caller already took lands on the same clock, after the events before it.
    let before = journal.now_ns();
    tj.record_at_instant(&Event::HashBatch { count: 4 }, Instant::now());
    drop(tj);
    journal.flush().expect("flush");
    let last = read_file(&path).expect("read").events.pop().expect("event");
    assert!(last.time_ns >= before.max(60_000_001), "{last:?}");
    journal.close().expect("close");
}

#[test]
fn rotation_caps_size_and_keeps_k_parts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j");
    let max = 2_000u64;
    let config = JournalConfig {
        buffer_bytes: 200,
        max_file_bytes: max,
        keep_files: 2,
        ..JournalConfig::default()
    };
    let journal = Journal::create(&path, config, HeaderInfo::default()).expect("create");
    let mut tj = journal.thread(0, ThreadKind::Hash);
    for i in 0..5_000u64 {
        tj.record_at(&Event::HashBatch { count: i }, i * 1000);
    }
    drop(tj);
    let stats = journal.close().expect("close");
    assert!(stats.rotations >= 3, "{stats:?}");
    assert!(!part_path(&path, 3).exists());

    let files = parts(&path);
    assert_eq!(
        files,
        [part_path(&path, 2), part_path(&path, 1), path.clone()]
    );
    for f in &files {
        let len = std::fs::metadata(f).expect("metadata").len();
        assert!(len <= max, "{} is {len} bytes", f.display());
    }
    // The newest events survive, contiguous and in order, ending with the last one recorded.
    let j = read_parts(&files).expect("read parts");
    assert!(j.problems.is_empty(), "{:?}", j.problems);
    let counts: Vec<u64> = j
        .events
        .iter()
        .map(|e| match e.event {
            Event::HashBatch { count } => count,
            _ => u64::MAX,
        })
        .collect();
    let first = counts[0];
    assert_eq!(counts, (first..5_000).collect::<Vec<_>>());
    assert!(first > 0);
}

#[test]
fn create_keeps_the_previous_run_as_part_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j");
    for run in 0..2u64 {
        let journal = Journal::create(&path, JournalConfig::default(), HeaderInfo::default())
            .expect("create");
        let mut tj = journal.thread(0, ThreadKind::Hash);
        tj.record(&Event::HashBatch { count: run });
        drop(tj);
        journal.close().expect("close");
    }
    let old = read_file(part_path(&path, 1)).expect("previous run");
    let new = read_file(&path).expect("this run");
    assert_eq!(old.events[0].event, Event::HashBatch { count: 0 });
    assert_eq!(new.events[0].event, Event::HashBatch { count: 1 });
}

#[test]
fn recording_after_close_counts_drops_and_never_blocks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("j");
    let config = JournalConfig {
        buffer_bytes: 64,
        ..JournalConfig::default()
    };
    let journal = Journal::create(&path, config, HeaderInfo::default()).expect("create");
    let mut tj = journal.thread(0, ThreadKind::Hash);
    journal.close().expect("close");
    let t0 = Instant::now();
    for i in 0..1_000 {
        tj.record(&Event::HashBatch { count: i });
    }
    drop(tj);
    assert!(t0.elapsed() < Duration::from_secs(5));
}

#[test]
fn creating_in_a_missing_directory_is_an_io_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("no/such/dir/j");
    let err = Journal::create(&path, JournalConfig::default(), HeaderInfo::default())
        .expect_err("must fail");
    assert!(matches!(err, JournalError::Io { .. }), "{err}");
    assert!(err.to_string().contains("no/such/dir"), "{err}");
}

/// CPU time of the calling thread: unlike wall time, not inflated when the builders on a
/// shared machine preempt the benchmark.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec passed to it.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Cost of `record(HashBatch)` in the hot loop, in thread CPU time. Run with
/// `cargo test --release -p phirig-journal --test it writer::record_cost -- --ignored --nocapture`.
#[test]
#[ignore]
fn record_cost() {
    const N: u64 = 5_000_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let journal = Journal::create(
        dir.path().join("j"),
        JournalConfig::default(),
        HeaderInfo::default(),
    )
    .expect("create");
    let mut tj = journal.thread(0, ThreadKind::Hash);
    let per_call = |f: &mut dyn FnMut(u64)| {
        let t0 = thread_cpu_ns();
        for i in 0..N {
            f(i);
        }
        (thread_cpu_ns() - t0) as f64 / N as f64
    };
    let record =
        per_call(&mut |i| tj.record(std::hint::black_box(&Event::HashBatch { count: i & 0xfff })));
    // The same without the clock read, and the clock read alone: where the time goes.
    let encode = per_call(&mut |i| {
        tj.record_at(
            std::hint::black_box(&Event::HashBatch { count: i & 0xfff }),
            i * 1000,
        )
    });
    let clock = per_call(&mut |_| {
        std::hint::black_box(journal.now_ns());
    });
    drop(tj);
    let stats = journal.close().expect("close");
    println!(
        "record(HashBatch): {record:.1} ns per call (record_at without the clock: {encode:.1} ns; \
         clock read: {clock:.1} ns); {stats:?}"
    );
}
