//! The tuner's rules, free of threads and clocks: which settings neighbour one, and when a
//! challenger beats the incumbent over paired alternating rounds.

use std::time::Duration;

use phirig_kernel::cn::{interleave_limit, Algorithm};

use crate::worker::{ThreadPlan, MAX_INTENSITY};

/// Smallest mean gain a challenger must show besides winning every pair: below it a "win" is as
/// likely the machine's drift as the setting.
pub const MIN_GAIN: f64 = 0.01;

/// Least gain in every pair that fewer threads must show over more: on a loaded machine one
/// thread looks faster (the other core is busy elsewhere) and then loses once it is quiet.
pub const FEWER_THREADS_GAIN: f64 = 0.05;

/// Hashes one round must hold at least, so a slow algorithm (cn-heavy at tens of H/s) gets
/// rounds long enough that one batch more or less does not decide.
pub const MIN_HASHES_PER_ROUND: f64 = 64.0;

/// Batches of the widest setting a round should hold: counters only move when a batch ends.
pub const BATCHES_PER_ROUND: f64 = 6.0;

/// Longest round, so the slowest algorithm on a slow card still tunes in minutes.
pub const MAX_ROUND: Duration = Duration::from_secs(4);

/// How a challenger's thread count compares with the incumbent's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    Fewer,
    Same,
    More,
}

impl Threads {
    pub fn between(incumbent: ThreadPlan, challenger: ThreadPlan) -> Self {
        match challenger.threads.cmp(&incumbent.threads) {
            std::cmp::Ordering::Less => Threads::Fewer,
            std::cmp::Ordering::Equal => Threads::Same,
            std::cmp::Ordering::Greater => Threads::More,
        }
    }
}

/// How far one setting's rounds spread: (max − min) / mean; 0 with fewer than two rounds.
pub fn spread(rounds: &[f64]) -> f64 {
    if rounds.len() < 2 {
        return 0.0;
    }
    let max = rounds.iter().copied().fold(f64::MIN, f64::max);
    let min = rounds.iter().copied().fold(f64::MAX, f64::min);
    let mean = rounds.iter().sum::<f64>() / rounds.len() as f64;
    if mean > 0.0 {
        (max - min) / mean
    } else {
        0.0
    }
}

/// Whether `challenger` beat `incumbent`: both measured in alternating rounds, pair `i` being
/// (`incumbent[i]`, `challenger[i]`).
///
/// - Same threads (other ways): faster in every pair and by [`MIN_GAIN`] on average, because
///   these machines swing by a quarter between seconds and only a setting that wins side by
///   side each time is really faster.
/// - Fewer threads: faster in every pair by more than the rounds' own spread, and at least
///   [`FEWER_THREADS_GAIN`].
/// - More threads: kept unless the incumbent (the fewer) wins every pair by that margin, so
///   the choice between two thread counts is the same whichever came first.
pub fn paired_win(incumbent: &[f64], challenger: &[f64], threads: Threads) -> bool {
    if incumbent.is_empty() || incumbent.len() != challenger.len() {
        return false;
    }
    match threads {
        Threads::Same => {
            let ratios = ratios(incumbent, challenger);
            let mean = ratios.iter().sum::<f64>() / ratios.len() as f64;
            ratios.iter().all(|r| *r > 1.0) && mean >= 1.0 + MIN_GAIN
        }
        Threads::Fewer => fewer_clearly_faster(incumbent, challenger),
        Threads::More => !fewer_clearly_faster(challenger, incumbent),
    }
}

/// `fewer` (fewer threads) beats `more` in every pair by more than the measured spread.
fn fewer_clearly_faster(more: &[f64], fewer: &[f64]) -> bool {
    let margin = FEWER_THREADS_GAIN.max(spread(more)).max(spread(fewer));
    ratios(more, fewer).iter().all(|r| *r > 1.0 + margin)
}

/// Per pair, challenger ÷ incumbent (infinite where the incumbent measured nothing).
fn ratios(incumbent: &[f64], challenger: &[f64]) -> Vec<f64> {
    incumbent
        .iter()
        .zip(challenger)
        .map(|(i, c)| if *i > 0.0 { c / i } else { f64::INFINITY })
        .collect()
}

/// How long a round must be, from the incumbent's first measured rate `hs`: at least `least`,
/// long enough for [`BATCHES_PER_ROUND`] batches of the widest setting (`widest_hashes` a
/// batch) and for [`MIN_HASHES_PER_ROUND`] hashes, at most [`MAX_ROUND`] (never below `least`).
pub fn round_length(least: Duration, hs: f64, widest_hashes: usize) -> Duration {
    let hs = hs.max(1.0);
    let batches = BATCHES_PER_ROUND * widest_hashes as f64 / hs;
    let hashes = MIN_HASHES_PER_ROUND / hs;
    let wanted = batches.max(hashes).min(MAX_ROUND.as_secs_f64());
    least.max(Duration::from_secs_f64(wanted))
}

/// Most ways the kernel runs for `algo` (two for the 4 MiB heavy pads).
pub fn max_ways(algo: Algorithm) -> usize {
    interleave_limit(algo.scratchpad_bytes()).min(MAX_INTENSITY)
}

/// The settings one step from `at`: one way more or fewer, one thread more or fewer, within
/// `1..=cores` threads and the kernel's ways for `algo`. More ways first: that is where the
/// CPUID table most often falls short.
pub fn neighbours(at: ThreadPlan, algo: Algorithm, cores: usize) -> Vec<ThreadPlan> {
    let ways = max_ways(algo);
    let steps = [(0, 1), (0, -1), (1, 0), (-1, 0)];
    steps
        .iter()
        .filter_map(|&(dt, dk)| {
            let threads = at.threads.checked_add_signed(dt)?;
            let intensity = at.intensity.checked_add_signed(dk)?;
            ((1..=cores.max(1)).contains(&threads) && (1..=ways).contains(&intensity))
                .then_some(ThreadPlan { threads, intensity })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_ways_need_a_win_in_every_pair() {
        let same = Threads::Same;
        assert!(paired_win(
            &[100.0, 120.0, 90.0],
            &[110.0, 125.0, 95.0],
            same
        ));
        // Faster on average, but one pair lost: machine noise, not a better setting.
        assert!(!paired_win(
            &[100.0, 120.0, 90.0],
            &[150.0, 119.0, 95.0],
            same
        ));
        // Every pair won, by too little to tell.
        assert!(!paired_win(&[100.0, 100.0], &[100.2, 100.3], same));
        assert!(!paired_win(&[], &[], same));
        assert!(!paired_win(&[1.0], &[2.0, 3.0], same));
    }

    #[test]
    fn fewer_threads_must_win_every_pair_by_more_than_the_spread() {
        // The case that went wrong (cn-heavy/0 under load): one thread a little ahead in each
        // pair of noisy rounds. Two threads' rounds spread by 20 %; a 6 to 10 % lead is noise.
        let two = [50.0, 60.0, 55.0];
        let one = [55.0, 64.0, 59.0];
        assert!(spread(&two) > 0.15);
        assert!(
            paired_win(&two, &one, Threads::Same),
            "the old rule took it"
        );
        assert!(!paired_win(&two, &one, Threads::Fewer));
        // Steady rounds (2 % spread) and a 3 % lead: still under the 5 % floor.
        assert!(!paired_win(
            &[100.0, 101.0, 99.0],
            &[103.0, 104.0, 102.0],
            Threads::Fewer
        ));
        // A lead larger than every spread in every pair wins.
        assert!(paired_win(
            &[100.0, 101.0, 99.0],
            &[120.0, 121.0, 119.0],
            Threads::Fewer
        ));
        // One pair inside the margin is enough to keep more threads.
        assert!(!paired_win(
            &[100.0, 101.0, 99.0],
            &[120.0, 101.5, 119.0],
            Threads::Fewer
        ));
        // Both sides' spread counts: a wildly spread challenger proves nothing.
        assert!(!paired_win(
            &[100.0, 100.0, 100.0],
            &[112.0, 160.0, 112.0],
            Threads::Fewer
        ));
    }

    #[test]
    fn more_threads_are_kept_unless_fewer_clearly_win() {
        // Incumbent one thread, challenger two: a small or noisy loss still takes two threads.
        assert!(paired_win(
            &[55.0, 64.0, 59.0],
            &[50.0, 60.0, 55.0],
            Threads::More
        ));
        assert!(paired_win(&[100.0], &[98.0], Threads::More));
        // One thread clearly and steadily ahead: it stays.
        assert!(!paired_win(
            &[120.0, 121.0, 119.0],
            &[100.0, 101.0, 99.0],
            Threads::More
        ));
        // The verdict does not depend on which of the two came first.
        let (a, b) = ([100.0, 101.0, 99.0], [108.0, 109.0, 107.0]);
        assert_eq!(
            paired_win(&a, &b, Threads::Fewer),
            !paired_win(&b, &a, Threads::More)
        );
        let p = |threads| ThreadPlan {
            threads,
            intensity: 2,
        };
        assert_eq!(Threads::between(p(2), p(1)), Threads::Fewer);
        assert_eq!(Threads::between(p(2), p(2)), Threads::Same);
        assert_eq!(Threads::between(p(1), p(2)), Threads::More);
    }

    #[test]
    fn slow_algorithms_get_longer_rounds() {
        let least = Duration::from_millis(600);
        // cn-pico at 2000 H/s: the least is plenty.
        assert_eq!(round_length(least, 2000.0, 10), least);
        // cn-heavy at 32 H/s, 2 threads × 2 ways: 64 hashes take 2 s, more than 6 batches.
        assert_eq!(round_length(least, 32.0, 4), Duration::from_secs(2));
        // Slower still: capped, so a full tune stays in minutes.
        assert_eq!(round_length(least, 5.0, 4), MAX_ROUND);
        // Nothing measured is treated as 1 H/s, not a division by zero.
        assert_eq!(round_length(least, 0.0, 4), MAX_ROUND);
        // A round asked longer than the cap stays as asked.
        let long = Duration::from_secs(10);
        assert_eq!(round_length(long, 5.0, 4), long);
    }

    #[test]
    fn neighbours_stay_inside_cores_and_kernel_ways() {
        let p = |threads, intensity| ThreadPlan { threads, intensity };
        let n = neighbours(p(1, 1), Algorithm::Cn0, 2);
        assert_eq!(n, vec![p(1, 2), p(2, 1)]);
        let n = neighbours(p(2, 2), Algorithm::CnHeavy0, 2);
        assert_eq!(n, vec![p(2, 1), p(1, 2)]);
        let n = neighbours(p(2, 5), Algorithm::CnPico, 4);
        assert_eq!(n, vec![p(2, 4), p(3, 5), p(1, 5)]);
    }
}
