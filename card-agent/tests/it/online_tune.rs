//! The online tuner on live workers: it switches ways on the real job without stopping it (no
//! nonce hashed twice, shares still found across every switch), and `bench` measures its cost.

use std::collections::HashSet;
use std::time::Duration;

use phirig_agent::tune::online::OnlineConfig;
use phirig_agent::tune::online_driver::OnlineDriver;
use phirig_agent::worker::{MiningJob, NonceRange, PerAlgo, WorkerConfig, WorkerNote, Workers};
use phirig_kernel::cn::Algorithm;
use serde_json::Value;
use tokio::sync::mpsc::unbounded_channel;

use crate::support::{heavy, run_agent};

#[test]
fn the_online_tuner_switches_ways_on_the_live_job_and_every_share_still_counts() {
    let _one = heavy();
    let algo = Algorithm::CnPico;
    let (tx, mut rx) = unbounded_channel();
    // Ways left to the plan: the tuner only moves what no flag fixed.
    let base = WorkerConfig {
        threads: PerAlgo::all(1),
        pin: false,
        ..Default::default()
    };
    let workers = Workers::start(base.clone(), algo, tx);
    workers
        .set_job(MiningJob {
            seq: 1,
            job_id: "live".into(),
            blob: (0..76u8).collect(),
            // About one hash in 32 is a share.
            target: u64::MAX / 32,
            algo,
            height: 0,
            range: NonceRange::full(None),
        })
        .expect("job accepted");
    let mut driver = OnlineDriver::new(OnlineConfig::with_round(Duration::from_millis(300), 1));
    let before: u64 = workers.hash_counts().iter().sum();
    driver.run_for(
        &workers,
        &base,
        Duration::from_secs(5),
        Duration::from_millis(20),
    );
    let after: u64 = workers.hash_counts().iter().sum();
    workers.stop();

    let notes: Vec<WorkerNote> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    let ways: HashSet<usize> = notes
        .iter()
        .filter_map(|n| match n {
            WorkerNote::Ready { intensity, .. } => Some(*intensity),
            _ => None,
        })
        .collect();
    assert!(
        ways.len() >= 2,
        "the tuner never changed the ways: {ways:?}"
    );
    let nonces: Vec<u32> = notes
        .iter()
        .filter_map(|n| match n {
            WorkerNote::Share(s) => Some(s.nonce),
            _ => None,
        })
        .collect();
    let unique: HashSet<u32> = nonces.iter().copied().collect();
    assert!(nonces.len() >= 10, "{} shares", nonces.len());
    // The nonce cursor carried over every restart: nothing hashed twice, so nothing wasted.
    assert_eq!(unique.len(), nonces.len(), "a nonce was mined twice");
    assert!(after > before, "no hashes counted");
}

#[test]
fn bench_measures_the_online_tuners_cost() {
    let _one = heavy();
    let (status, out, err) = run_agent(
        &[
            "bench",
            "-a",
            "cn-pico",
            "-t",
            "1",
            "--seconds",
            "3",
            "--online-tune-round-ms",
            "300",
            "--json",
        ],
        Duration::from_secs(120),
    );
    assert!(status.success(), "{err}");
    let report: Value =
        serde_json::from_str(out.trim().lines().last().unwrap_or("")).expect("json");
    assert!(report["total_hs"].as_f64().unwrap_or(0.0) > 0.0, "{report}");
}
