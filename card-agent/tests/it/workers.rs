//! The worker threads on the real kernel: shares found, verified, in range, never repeated; job switching.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use phirig_agent::worker::{MiningJob, NonceRange, PerAlgo, WorkerConfig, WorkerNote, Workers};
use phirig_kernel::cn::{self, AesPath, Algorithm};
use phirig_kernel::memory::PagePolicy;
use phirig_pool::protocol::hash_value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

fn config(threads: usize) -> WorkerConfig {
    WorkerConfig {
        threads: PerAlgo::all(threads),
        intensity: PerAlgo::all(2),
        pin: false,
        pages: PagePolicy::default(),
        ..Default::default()
    }
}

fn job(seq: u64, algo: Algorithm, target: u64, range: NonceRange) -> MiningJob {
    let mut blob: Vec<u8> = (0..76u8)
        .map(|i| i.wrapping_mul(7).wrapping_add(seq as u8))
        .collect();
    if let Some(b) = range.fixed_byte() {
        blob[42] = b;
    }
    MiningJob {
        seq,
        job_id: format!("job-{seq}"),
        blob,
        target,
        algo,
        height: 0,
        range,
    }
}

/// Collects notes until `done` says so or the time runs out.
fn collect(
    rx: &mut UnboundedReceiver<WorkerNote>,
    limit: Duration,
    mut done: impl FnMut(&[WorkerNote]) -> bool,
) -> Vec<WorkerNote> {
    let start = Instant::now();
    let mut notes = Vec::new();
    while start.elapsed() < limit && !done(&notes) {
        match rx.try_recv() {
            Ok(n) => notes.push(n),
            Err(_) => std::thread::sleep(Duration::from_millis(2)),
        }
    }
    notes
}

fn shares(notes: &[WorkerNote]) -> Vec<&phirig_agent::worker::FoundResult> {
    notes
        .iter()
        .filter_map(|n| {
            if let WorkerNote::Share(s) = n {
                Some(s)
            } else {
                None
            }
        })
        .collect()
}

#[test]
fn shares_are_real_in_range_and_unique() {
    let algo: Algorithm = "cn-pico".parse().expect("algo");
    let (tx, mut rx) = unbounded_channel();
    let workers = Workers::start(config(2), algo, tx);
    // An easy target: about one hash in four is a share.
    let range = NonceRange::new(1000, 1000 + 400, Some(0x5a));
    let j = job(1, algo, u64::MAX / 4, range);
    workers.set_job(j.clone()).expect("job accepted");
    let notes = collect(&mut rx, Duration::from_secs(60), |n| {
        n.iter().any(|x| matches!(x, WorkerNote::Exhausted { .. }))
    });
    let found = shares(&notes);
    assert!(
        notes
            .iter()
            .any(|x| matches!(x, WorkerNote::Exhausted { seq: 1 })),
        "range never exhausted: {notes:?}"
    );
    assert!(found.len() > 20, "too few shares: {}", found.len());
    let mut seen = HashSet::new();
    for s in &found {
        assert!(seen.insert(s.nonce), "nonce {} found twice", s.nonce);
        assert!(
            range.contains_nonce(s.nonce),
            "nonce {:#x} outside the slice",
            s.nonce
        );
        assert_eq!(s.nonce >> 24, 0x5a, "NiceHash byte changed");
        let mut blob = j.blob.clone();
        blob[39..43].copy_from_slice(&s.nonce.to_le_bytes());
        let again = cn::hash(algo, AesPath::Software, &blob, 0).expect("hash");
        assert_eq!(again, s.hash, "reported hash is not the hash of the nonce");
        assert!(hash_value(&again) < j.target);
    }
    // Exactly the slice was hashed: no nonce twice, none skipped.
    let total: u64 = workers.hash_counts().iter().sum();
    assert_eq!(total, 400);
    workers.stop();
}

#[test]
fn a_new_job_takes_over_within_a_batch_and_bad_jobs_are_refused() {
    let algo: Algorithm = "cn-pico".parse().expect("algo");
    let (tx, mut rx) = unbounded_channel();
    let workers = Workers::start(config(2), algo, tx);
    workers
        .set_job(job(1, algo, u64::MAX / 2, NonceRange::full(None)))
        .expect("job 1");
    let first = collect(&mut rx, Duration::from_secs(60), |n| shares(n).len() >= 4);
    assert!(shares(&first).len() >= 4);
    // A job with a zero target is refused and job 1 keeps running.
    let bad = MiningJob {
        target: 0,
        ..job(9, algo, 1, NonceRange::full(None))
    };
    assert!(workers.set_job(bad).is_err());
    assert_eq!(workers.current_job().map(|j| j.seq), Some(1));
    workers
        .set_job(job(2, algo, u64::MAX / 2, NonceRange::full(None)))
        .expect("job 2");
    let switched_at = Instant::now();
    let after = collect(&mut rx, Duration::from_secs(30), |n| {
        shares(n).iter().filter(|s| s.seq == 2).count() >= 4
    });
    let switch_time = switched_at.elapsed();
    assert!(
        shares(&after).iter().filter(|s| s.seq == 2).count() >= 4,
        "job 2 never mined"
    );
    // A thread may finish the batch it was in (that is the "one batch" allowed), but once a
    // thread has reported a job-2 share it never reports a job-1 share again.
    let all = shares(&after);
    for thread in 0..workers.threads() {
        let mine: Vec<u64> = all
            .iter()
            .filter(|s| s.thread == thread)
            .map(|s| s.seq)
            .collect();
        if let Some(first_new) = mine.iter().position(|&seq| seq == 2) {
            assert!(
                mine[first_new..].iter().all(|&seq| seq == 2),
                "thread {thread} mined job 1 after it started job 2: {mine:?}"
            );
        }
    }
    assert!(
        switch_time < Duration::from_secs(10),
        "switch took {switch_time:?}"
    );
    // Pausing stops hashing.
    workers.pause();
    std::thread::sleep(Duration::from_millis(200));
    let a: u64 = workers.hash_counts().iter().sum();
    std::thread::sleep(Duration::from_millis(300));
    let b: u64 = workers.hash_counts().iter().sum();
    assert_eq!(a, b, "hashing went on while paused");
    workers.resume();
    workers.stop();
}

#[test]
fn workers_journal_their_start_hashes_and_stop() {
    use phirig_journal::{read_file, Event, HeaderInfo, Journal, JournalConfig, WorkerEvent};
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("agent.journal");
    let journal = std::sync::Arc::new(
        Journal::create(&path, JournalConfig::default(), HeaderInfo::from_env(0, 0))
            .expect("journal"),
    );
    let algo: Algorithm = "cn-pico".parse().expect("algo");
    let (tx, mut rx) = unbounded_channel();
    let workers = Workers::start(
        WorkerConfig {
            journal: Some(journal.clone()),
            ..config(2)
        },
        algo,
        tx,
    );
    workers
        .set_job(job(1, algo, 1, NonceRange::new(0, 300, None)))
        .expect("job");
    let notes = collect(&mut rx, Duration::from_secs(60), |n| {
        n.iter().any(|x| matches!(x, WorkerNote::Exhausted { .. }))
    });
    assert!(
        notes
            .iter()
            .any(|x| matches!(x, WorkerNote::Exhausted { .. })),
        "{notes:?}"
    );
    workers.stop();
    drop(workers);
    let journal = std::sync::Arc::try_unwrap(journal).expect("workers released the journal");
    journal.close().expect("close");
    let file = read_file(&path).expect("read back");
    assert!(file.problems.is_empty(), "{:?}", file.problems);
    let starts = file
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::Worker(WorkerEvent::Start { .. })))
        .count();
    let stops: u64 = file
        .events
        .iter()
        .filter_map(|e| {
            if let Event::Worker(WorkerEvent::Stop { hashes }) = e.event {
                Some(hashes)
            } else {
                None
            }
        })
        .sum();
    let batches: u64 = file
        .events
        .iter()
        .filter_map(|e| {
            if let Event::HashBatch { count } = e.event {
                Some(count)
            } else {
                None
            }
        })
        .sum();
    assert_eq!(starts, 2);
    assert_eq!(stops, 300, "Stop events carry each thread's total");
    assert_eq!(batches, 300, "HashBatch events add up to the hashes done");
}

#[test]
fn a_panicking_worker_is_reported_restarted_and_keeps_its_count() {
    let algo: Algorithm = "cn-pico".parse().expect("algo");
    let (tx, mut rx) = unbounded_channel();
    let cfg = WorkerConfig {
        panic_once_on_job: Some(2),
        ..config(1)
    };
    let workers = Workers::start(cfg, algo, tx);
    // Large slices and an impossible target: the worker only hashes.
    let wait_hashes = |at_least: u64| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while workers.hash_counts()[0] < at_least && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        workers.hash_counts()[0]
    };
    workers
        .set_job(job(1, algo, 1, NonceRange::new(0, 1 << 24, None)))
        .expect("job 1 accepted");
    let before = wait_hashes(40);
    assert!(before >= 40, "job 1 never hashed");
    // Picking up job 2 panics thread 0 once; it must be reported, restarted, and mine job 2.
    workers
        .set_job(job(2, algo, 1, NonceRange::new(0, 1 << 24, None)))
        .expect("job 2 accepted");
    let notes = collect(&mut rx, Duration::from_secs(60), |n| {
        n.iter().any(|x| matches!(x, WorkerNote::Panicked { .. }))
    });
    let (thread, message) = notes
        .iter()
        .find_map(|n| match n {
            WorkerNote::Panicked { thread, message } => Some((*thread, message.clone())),
            _ => None,
        })
        .expect("the panic was reported");
    assert_eq!(thread, 0);
    assert!(message.contains("injected fault on job 2"), "{message}");
    let after_panic = workers.hash_counts()[0];
    assert!(after_panic >= before, "count lost at the restart");
    assert!(
        wait_hashes(after_panic + 40) >= after_panic + 40,
        "the restarted worker does not hash"
    );
    assert_eq!(workers.restarts(), vec![1], "restarted exactly once");
    workers.stop();
}

/// The `Ready` notes in `notes` for `algo`, as (thread, intensity).
fn ready(notes: &[WorkerNote], algo: Algorithm) -> Vec<(usize, usize)> {
    notes
        .iter()
        .filter_map(|n| match n {
            WorkerNote::Ready {
                thread,
                algo: a,
                intensity,
                ..
            } if *a == algo => Some((*thread, *intensity)),
            _ => None,
        })
        .collect()
}

#[test]
fn each_algorithm_gets_its_own_intensity_and_thread_count_on_a_job_switch() {
    use Algorithm::{CnPico, CnPicoTlo, CnUpx2};
    let (tx, mut rx) = unbounded_channel();
    // As a user would write them: `--threads 1,cn/upx2=2 --intensity 1,cn-pico=4`.
    let cfg = WorkerConfig {
        threads: "1,cn/upx2=2".parse().expect("threads"),
        intensity: "1,cn-pico=4".parse().expect("intensity"),
        ..config(1)
    };
    let workers = Workers::start(cfg.clone(), CnPico, tx);
    let mined = |notes: &[WorkerNote], seq: u64| shares(notes).iter().any(|s| s.seq == seq);
    let limit = Duration::from_secs(60);

    // cn-pico: its own intensity, on the default one thread.
    workers
        .set_job(job(1, CnPico, u64::MAX / 2, NonceRange::full(None)))
        .expect("job 1");
    let notes = collect(&mut rx, limit, |n| mined(n, 1));
    assert_eq!(ready(&notes, CnPico), vec![(0, 4)], "{notes:?}");
    assert!(mined(&notes, 1), "cn-pico never mined");
    assert_eq!(workers.threads(), 1);

    // cn-pico/tlo has no entry: the default intensity, same thread count, no restart.
    workers
        .set_job(job(2, CnPicoTlo, u64::MAX / 2, NonceRange::full(None)))
        .expect("job 2");
    let notes = collect(&mut rx, limit, |n| mined(n, 2));
    assert_eq!(ready(&notes, CnPicoTlo), vec![(0, 1)], "{notes:?}");
    assert!(mined(&notes, 2), "cn-pico/tlo never mined");
    assert_eq!(workers.threads(), 1);
    let before_restart: u64 = workers.hash_counts().iter().sum();

    // cn/upx2 has its own thread count: the workers restart on two threads for its job.
    assert_eq!(workers.threads_for(CnUpx2), 2);
    workers
        .set_job(job(3, CnUpx2, u64::MAX / 2, NonceRange::full(None)))
        .expect("job 3");
    assert_eq!(workers.threads(), 2);
    assert_eq!(workers.current_job().map(|j| j.seq), Some(3));
    let notes = collect(&mut rx, limit, |n| {
        let s = shares(n);
        (0..2).all(|t| s.iter().any(|x| x.seq == 3 && x.thread == t))
    });
    let mut upx = ready(&notes, CnUpx2);
    upx.sort_unstable();
    assert_eq!(upx, vec![(0, 1), (1, 1)], "{notes:?}");
    assert!(
        (0..2).all(|t| shares(&notes).iter().any(|x| x.seq == 3 && x.thread == t)),
        "not both threads mined cn/upx2: {notes:?}"
    );
    // The old threads were joined before the new ones started: once a new thread is ready,
    // every share is for job 3.
    let first_ready = notes
        .iter()
        .position(|n| matches!(n, WorkerNote::Ready { algo: CnUpx2, .. }))
        .expect("ready notes");
    assert!(
        shares(&notes[first_ready..]).iter().all(|s| s.seq == 3),
        "an old job was mined after the restart: {notes:?}"
    );
    let info = workers.thread_info();
    assert_eq!(info.len(), 2);
    assert!(info
        .iter()
        .all(|t| t.intensity == 1 && t.algo.as_deref() == Some("cn/upx2")));
    assert!(
        workers.hash_counts().iter().sum::<u64>() >= before_restart,
        "the restart lost hashes"
    );

    // Back to cn-pico: one thread again, with cn-pico's intensity.
    workers
        .set_job(job(4, CnPico, u64::MAX / 2, NonceRange::full(None)))
        .expect("job 4");
    assert_eq!(workers.threads(), 1);
    let notes = collect(&mut rx, limit, |n| mined(n, 4));
    assert_eq!(ready(&notes, CnPico), vec![(0, 4)], "{notes:?}");
    assert!(mined(&notes, 4), "cn-pico never mined again");
    assert_eq!(workers.thread_info()[0].intensity, 4);
    // A reload restart counts threads for the job being mined, not the configured algorithm.
    workers.restart(cfg, CnUpx2);
    assert_eq!(workers.threads(), 1, "the cn-pico job keeps one thread");
    let notes = collect(&mut rx, limit, |n| !ready(n, CnPico).is_empty());
    assert_eq!(ready(&notes, CnPico), vec![(0, 4)], "{notes:?}");
    assert_eq!(workers.restarts(), vec![0, 0], "no worker panicked");
    workers.stop();
}
