//! Per-pool RTT samples and their summary (min, median, p99, kernel-to-user receive gap).

use std::collections::VecDeque;
use std::time::Duration;

/// Samples kept per pool; older ones drop out so the summary follows recent conditions.
const WINDOW: usize = 1024;

/// Where the receive side of the RTT figures came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampSource {
    /// Every sample in the window had a kernel receive stamp.
    Kernel,
    /// Some samples had none (the kernel enables stamping lazily, so the first replies on a
    /// freshly booted host may come unstamped).
    Mixed,
    /// No kernel stamps (e.g. TLS, whose layer reads ahead): figures are user-space only.
    UserSpace,
}

/// Summary for one pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RttSummary {
    pub samples: usize,
    pub min: Duration,
    pub median: Duration,
    pub p99: Duration,
    /// Median measured with user-space stamps on both ends (kept for comparison).
    pub user_median: Duration,
    /// Median of (user-space receive stamp - kernel receive stamp): in-host receive latency.
    pub kernel_gap_median: Option<Duration>,
    pub source: StampSource,
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    /// Best RTT we have: send (user space) to kernel receive stamp, else to user-space receive.
    rtt: Duration,
    user_rtt: Duration,
    kernel_gap: Option<Duration>,
}

/// Collects RTT samples for one pool.
#[derive(Debug, Default, Clone)]
pub struct RttRecorder {
    samples: VecDeque<Sample>,
}

impl RttRecorder {
    /// Record a reply: `user_rtt` from send to user-space receive, and the kernel→user gap of
    /// the read that completed the reply, if the kernel stamped it.
    pub fn record(&mut self, user_rtt: Duration, kernel_gap: Option<Duration>) {
        let rtt = match kernel_gap {
            Some(gap) => user_rtt.saturating_sub(gap),
            None => user_rtt,
        };
        self.samples.push_back(Sample {
            rtt,
            user_rtt,
            kernel_gap,
        });
        if self.samples.len() > WINDOW {
            self.samples.pop_front();
        }
    }

    /// Min / median / p99 over the window, or `None` before the first reply.
    pub fn summary(&self) -> Option<RttSummary> {
        if self.samples.is_empty() {
            return None;
        }
        let mut rtts: Vec<Duration> = self.samples.iter().map(|s| s.rtt).collect();
        rtts.sort();
        let mut user: Vec<Duration> = self.samples.iter().map(|s| s.user_rtt).collect();
        user.sort();
        let mut gaps: Vec<Duration> = self.samples.iter().filter_map(|s| s.kernel_gap).collect();
        gaps.sort();
        let source = match gaps.len() {
            0 => StampSource::UserSpace,
            n if n == rtts.len() => StampSource::Kernel,
            _ => StampSource::Mixed,
        };
        Some(RttSummary {
            samples: rtts.len(),
            min: rtts[0],
            median: percentile(&rtts, 50),
            p99: percentile(&rtts, 99),
            user_median: percentile(&user, 50),
            kernel_gap_median: (!gaps.is_empty()).then(|| percentile(&gaps, 50)),
            source,
        })
    }
}

/// Nearest-rank percentile of a sorted, non-empty slice.
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let rank = (sorted.len() * pct).div_ceil(100).max(1);
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn summary_of_user_space_samples() {
        let mut r = RttRecorder::default();
        assert!(r.summary().is_none());
        for ms in 1..=100 {
            r.record(MS * ms, None);
        }
        let s = r.summary().unwrap();
        assert_eq!((s.min, s.median, s.p99), (MS, MS * 50, MS * 99));
        assert_eq!(s.source, StampSource::UserSpace);
        assert_eq!(s.kernel_gap_median, None);
    }

    #[test]
    fn kernel_gap_is_subtracted_and_reported() {
        let mut r = RttRecorder::default();
        r.record(MS * 10, Some(MS * 2));
        r.record(MS * 12, Some(MS * 2));
        let s = r.summary().unwrap();
        assert_eq!(s.min, MS * 8);
        assert_eq!(s.user_median, MS * 10);
        assert_eq!(s.kernel_gap_median, Some(MS * 2));
        assert_eq!(s.source, StampSource::Kernel);
        r.record(MS * 5, None);
        assert_eq!(r.summary().unwrap().source, StampSource::Mixed);
    }

    #[test]
    fn window_is_bounded() {
        let mut r = RttRecorder::default();
        for _ in 0..(WINDOW * 3) {
            r.record(MS, None);
        }
        assert_eq!(r.summary().unwrap().samples, WINDOW);
    }
}
