//! The tuner's rules, free of threads and clocks: which settings neighbour one, and when a
//! challenger beats the incumbent over paired alternating rounds.

use phirig_kernel::cn::{interleave_limit, Algorithm};

use crate::worker::{ThreadPlan, MAX_INTENSITY};

/// Smallest mean gain a challenger must show besides winning every pair: below it a "win" is as
/// likely the machine's drift as the setting.
pub const MIN_GAIN: f64 = 0.01;

/// Whether `challenger` beat `incumbent`: both measured in alternating rounds, pair `i` being
/// (`incumbent[i]`, `challenger[i]`). It must be faster in every pair and by [`MIN_GAIN`] on
/// average, because these machines swing by a quarter between seconds and only a setting that
/// wins side by side each time is really faster.
pub fn paired_win(incumbent: &[f64], challenger: &[f64]) -> bool {
    if incumbent.is_empty() || incumbent.len() != challenger.len() {
        return false;
    }
    let every = incumbent.iter().zip(challenger).all(|(i, c)| c > i);
    let ratio: f64 = incumbent
        .iter()
        .zip(challenger)
        .map(|(i, c)| if *i > 0.0 { c / i } else { f64::INFINITY })
        .sum::<f64>()
        / incumbent.len() as f64;
    every && ratio >= 1.0 + MIN_GAIN
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
    fn only_a_win_in_every_pair_counts() {
        assert!(paired_win(&[100.0, 120.0, 90.0], &[110.0, 125.0, 95.0]));
        // Faster on average, but one pair lost: machine noise, not a better setting.
        assert!(!paired_win(&[100.0, 120.0, 90.0], &[150.0, 119.0, 95.0]));
        // Every pair won, by too little to tell.
        assert!(!paired_win(&[100.0, 100.0], &[100.2, 100.3]));
        assert!(!paired_win(&[], &[]));
        assert!(!paired_win(&[1.0], &[2.0, 3.0]));
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
