//! `phirig-agent tune`: measure this card's fastest threads × ways per algorithm (threads only
//! for rx/0), the CPUID plan as the first guess, and keep the result as the card's profile.

pub mod online;
pub mod online_driver;
mod paired;
mod rx;

use std::time::Duration;

use phirig_kernel::cn::{AesPath, Algorithm};
use phirig_kernel::memory::PagePolicy;
use phirig_wire::{AlgoBest, Profile};

use crate::bench::{self, BenchError, BenchOptions, Running};
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
    /// Tune rx/0 too (after the CryptoNight algorithms), with these options.
    pub rx: Option<phirig_rx::RxOptions>,
}

/// What tuning one algorithm found, beside the CPUID plan it started from.
#[derive(Debug, Clone)]
pub struct AlgoTuned {
    /// The stratum name (a CryptoNight variant or rx/0).
    pub algo: String,
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
        profile.algos.insert(tuned.algo.clone(), tuned.best);
    }
    if let Some(rx) = &opts.rx {
        let tuned = rx::tune_rx(opts, &topo, rx)?;
        progress(&tuned);
        profile.algos.insert(tuned.algo.clone(), tuned.best);
    }
    Ok(profile)
}

/// Tunes one CryptoNight algorithm: threads × ways, climbing from the CPUID plan.
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
    let climbed = climb(
        first_guess,
        opts.pairs,
        |at| neighbours(at, algo, cores),
        |at| start_paused(opts, algo, at),
        round,
        |first| round_span(first, opts.round, max_ways(algo) * cores),
    )?;
    let incumbent = &climbed.setting;
    let workers = &incumbent.workers;
    Ok(AlgoTuned {
        algo: algo.name().to_string(),
        first_guess,
        best: AlgoBest {
            threads: workers.threads(),
            intensity: incumbent.intensity,
            hs: climbed.hs(),
            hugepages: workers.hugepages(),
            aes: incumbent.config.cpu().label(opts.aes).to_string(),
            rx_mode: None,
        },
        tried: climbed.tried,
    })
}

/// Where a hill-climb ended: the winning setting, its measured rounds, settings tried.
struct Climbed<S> {
    setting: S,
    rates: Vec<f64>,
    tried: usize,
}

impl<S> Climbed<S> {
    /// The winner's mean H/s over its rounds.
    fn hs(&self) -> f64 {
        self.rates.iter().sum::<f64>() / self.rates.len().max(1) as f64
    }
}

/// Hill-climbs from `first`: a neighbouring setting replaces the incumbent only when it wins a
/// paired comparison, and the climb ends when no untried neighbour does. `start` readies a
/// setting, `round` measures it for one round; `span_of` sets the round length from the first.
fn climb<S, E>(
    first: ThreadPlan,
    pairs: usize,
    neighbours: impl Fn(ThreadPlan) -> Vec<ThreadPlan>,
    mut start: impl FnMut(ThreadPlan) -> Result<S, E>,
    round: impl Fn(&S, Duration) -> f64,
    span_of: impl FnOnce(&S) -> Duration,
) -> Result<Climbed<S>, E> {
    let mut at = first;
    let mut incumbent = start(at)?;
    let span = span_of(&incumbent);
    let mut tried = vec![at];
    // The incumbent's rounds: what its H/s is reported from.
    let mut rates: Vec<f64> = Vec::new();
    'climb: loop {
        for next in neighbours(at) {
            if tried.contains(&next) {
                continue;
            }
            tried.push(next);
            let challenger = start(next)?;
            let (held, challenged) = compare(
                || round(&incumbent, span),
                || round(&challenger, span),
                pairs,
            );
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
        rates = (0..pairs.max(1)).map(|_| round(&incumbent, span)).collect();
    }
    Ok(Climbed {
        setting: incumbent,
        rates,
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
    incumbent: impl Fn() -> f64,
    challenger: impl Fn() -> f64,
    pairs: usize,
) -> (Vec<f64>, Vec<f64>) {
    let mut held = Vec::with_capacity(pairs);
    let mut challenged = Vec::with_capacity(pairs);
    for pair in 0..pairs.max(1) {
        if pair % 2 == 0 {
            held.push(incumbent());
            challenged.push(challenger());
        } else {
            challenged.push(challenger());
            held.push(incumbent());
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
