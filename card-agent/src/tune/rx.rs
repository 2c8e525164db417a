//! `tune --algo rx/0`: threads only (RandomX has no ways), 1 to one per core, compared in paired
//! rounds on one epoch that every setting shares, as the miner's threads share the card's.

use std::time::Duration;

use phirig_rx::{Backing, Epoch, RxOptions};
use phirig_wire::AlgoBest;

use super::{climb, round_length, AlgoTuned, TuneOptions};
use crate::bench::BenchError;
use crate::rx::bench::BENCH_SEED;
use crate::rx::hashing::Hashing;
use crate::worker::{plan, ThreadPlan, Topology};

/// Tunes rx/0's thread count, climbing from the miner's default (the threads CryptoNight's
/// 2 MiB pads get); the profile says whether it ran on the full dataset or in light mode.
pub fn tune_rx(
    opts: &TuneOptions,
    topo: &Topology,
    rx: &RxOptions,
) -> Result<AlgoTuned, BenchError> {
    let cores = topo.cores().max(1);
    let epoch = Epoch::build(BENCH_SEED, rx)?;
    let hashing = Hashing::start(&epoch, cores)?;
    let guess = crate::rx::pad_twin().map_or(1, |a| plan(topo, a).threads);
    let first_guess = ThreadPlan {
        threads: guess.clamp(1, cores),
        intensity: 1,
    };
    // One round of the first `at.threads` threads, the others idle.
    let round = |at: &ThreadPlan, span: Duration| -> f64 {
        hashing.set_active(at.threads);
        std::thread::sleep(span / 5);
        let hs = hashing.measure(span).iter().sum();
        hashing.set_active(0);
        hs
    };
    let climbed = climb(
        first_guess,
        opts.pairs,
        |at| neighbours(at, cores),
        Ok::<_, BenchError>,
        round,
        |first| round_length(opts.round, round(first, opts.round), cores),
    )?;
    let threads = climbed.setting.threads;
    let on_huge = hashing.scratchpads[..threads]
        .iter()
        .filter(|b| **b == Backing::Huge2M)
        .count();
    Ok(AlgoTuned {
        algo: phirig_rx::ALGO.to_string(),
        first_guess,
        best: AlgoBest {
            threads,
            intensity: 1,
            hs: climbed.hs(),
            hugepages: [on_huge, threads],
            aes: if rx.hard_aes { "aes-ni" } else { "soft" }.into(),
            rx_mode: Some(if epoch.is_full() { "full" } else { "light" }.into()),
        },
        tried: climbed.tried,
    })
}

/// One thread more or fewer, within `1..=cores`.
fn neighbours(at: ThreadPlan, cores: usize) -> Vec<ThreadPlan> {
    [at.threads + 1, at.threads.saturating_sub(1)]
        .into_iter()
        .filter(|t| (1..=cores).contains(t))
        .map(|threads| ThreadPlan {
            threads,
            intensity: 1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_neighbours_change_threads_only_within_the_cores() {
        let p = |threads| ThreadPlan {
            threads,
            intensity: 1,
        };
        assert_eq!(neighbours(p(1), 2), vec![p(2)]);
        assert_eq!(neighbours(p(2), 2), vec![p(1)]);
        assert_eq!(neighbours(p(2), 4), vec![p(3), p(1)]);
        assert!(neighbours(p(1), 1).is_empty());
    }
}
