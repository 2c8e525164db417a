//! `phirig-agent tune`: measure this card's fastest threads × ways per algorithm, the CPUID plan
//! as the first guess, and keep the result as the card's profile.

pub mod online;
pub mod online_driver;
mod paired;

use std::time::Duration;

use phirig_kernel::cn::{AesPath, Algorithm};
use phirig_kernel::memory::PagePolicy;
use phirig_wire::{AlgoBest, Profile};

use crate::bench::{self, aes_label, BenchError, BenchOptions, Running};
use crate::worker::profile::current_key;
use crate::worker::{plan, PerAlgo, ThreadPlan, Topology};
pub use paired::{max_ways, neighbours, paired_win, round_length, spread, Threads, MIN_GAIN};

pub struct TuneOptions {
    pub algos: Vec<Algorithm>,
    /// Length of one measured round (each round also settles for a fifth of this first).
    pub round: Duration,
    /// Rounds of each side per comparison.
    pub pairs: usize,
    pub aes: AesPath,
    pub vaes: bool,
    pub pages: PagePolicy,
}

/// What tuning one algorithm found, beside the CPUID plan it started from.
#[derive(Debug, Clone)]
pub struct AlgoTuned {
    pub algo: Algorithm,
    pub first_guess: ThreadPlan,
    pub best: AlgoBest,
    /// Settings measured, the first guess included.
    pub tried: usize,
}

/// Tunes every algorithm in `opts` in turn, telling `progress` as each one is done.
pub fn tune(
    opts: &TuneOptions,
    mut progress: impl FnMut(&AlgoTuned),
) -> Result<Profile, BenchError> {
    let topo = Topology::detect();
    let mut profile = Profile {
        key: current_key(),
        ..Profile::default()
    };
    for &algo in &opts.algos {
        let tuned = tune_algo(opts, &topo, algo)?;
        progress(&tuned);
        profile.algos.insert(algo.name().to_string(), tuned.best);
    }
    Ok(profile)
}

/// Hill-climbs from the CPUID plan: a neighbouring setting replaces the incumbent only when it
/// wins a paired comparison, and the climb ends when no untried neighbour does.
fn tune_algo(
    opts: &TuneOptions,
    topo: &Topology,
    algo: Algorithm,
) -> Result<AlgoTuned, BenchError> {
    let cores = topo.cores();
    let guess = plan(topo, algo);
    let first_guess = ThreadPlan {
        threads: guess.threads.clamp(1, cores),
        intensity: guess.intensity.clamp(1, max_ways(algo)),
    };
    let mut at = first_guess;
    let mut incumbent = start_paused(opts, algo, at)?;
    let span = round_span(&incumbent, opts.round, max_ways(algo) * cores);
    let mut tried = vec![at];
    // The incumbent's rounds: what its H/s is reported from.
    let mut rates: Vec<f64> = Vec::new();
    'climb: loop {
        for next in neighbours(at, algo, cores) {
            if tried.contains(&next) {
                continue;
            }
            tried.push(next);
            let challenger = start_paused(opts, algo, next)?;
            let (held, challenged) = compare(&incumbent, &challenger, opts.pairs, span);
            if paired_win(&held, &challenged, Threads::between(at, next)) {
                incumbent = challenger;
                at = next;
                rates = challenged;
                continue 'climb;
            }
            rates.extend(held);
        }
        break;
    }
    if rates.is_empty() {
        rates = (0..opts.pairs.max(1))
            .map(|_| round(&incumbent, span))
            .collect();
    }
    let workers = &incumbent.workers;
    Ok(AlgoTuned {
        algo,
        first_guess,
        best: AlgoBest {
            threads: workers.threads(),
            intensity: incumbent.intensity,
            hs: rates.iter().sum::<f64>() / rates.len() as f64,
            hugepages: workers.hugepages(),
            aes: aes_label(opts.aes.name(), opts.aes.wide()),
        },
        tried: tried.len(),
    })
}

/// Workers for one setting, self-tested and holding their memory, paused until their round.
fn start_paused(
    opts: &TuneOptions,
    algo: Algorithm,
    at: ThreadPlan,
) -> Result<Running, BenchError> {
    let running = bench::start(&BenchOptions {
        algo,
        threads: PerAlgo::all(at.threads),
        intensity: PerAlgo::all(at.intensity),
        seconds: opts.round.as_secs_f64(),
        aes: opts.aes,
        vaes: opts.vaes,
        pages: opts.pages,
        online: None,
    })?;
    running.workers.pause();
    Ok(running)
}

/// Alternating rounds, the order swapped every pair so a drift favours neither side:
/// (incumbent's H/s, challenger's H/s) per pair.
fn compare(
    incumbent: &Running,
    challenger: &Running,
    pairs: usize,
    span: Duration,
) -> (Vec<f64>, Vec<f64>) {
    let mut held = Vec::with_capacity(pairs);
    let mut challenged = Vec::with_capacity(pairs);
    for pair in 0..pairs.max(1) {
        if pair % 2 == 0 {
            held.push(round(incumbent, span));
            challenged.push(round(challenger, span));
        } else {
            challenged.push(round(challenger, span));
            held.push(round(incumbent, span));
        }
    }
    (held, challenged)
}

/// How long a round must be for `running`'s algorithm ([`round_length`]); its first round is
/// also the warm-up.
fn round_span(running: &Running, least: Duration, widest_hashes: usize) -> Duration {
    round_length(least, round(running, least), widest_hashes)
}

/// One round: the setting hashes alone, settles for a fifth of `span`, is measured for `span`,
/// and pauses again.
fn round(running: &Running, span: Duration) -> f64 {
    running.workers.resume();
    std::thread::sleep(span / 5);
    let hs = running.measure(span).iter().sum();
    running.workers.pause();
    hs
}
