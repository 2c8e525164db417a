//! The journal clock: monotonic ns since the journal started, what reading it costs, and the
//! absolute clock readings the journal header and the agent's counters carry.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The journal's time origin, taken once at creation and shared by every thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: Instant,
}

impl Clock {
    pub(crate) fn start() -> Self {
        Clock {
            start: Instant::now(),
        }
    }

    /// ns since the journal started; `Instant` is CLOCK_MONOTONIC on Linux (vDSO, no syscall).
    #[inline]
    pub(crate) fn now_ns(&self) -> u64 {
        self.ns_at(Instant::now())
    }

    /// `at` as ns since the journal started (0 if before it).
    #[inline]
    pub(crate) fn ns_at(&self, at: Instant) -> u64 {
        // u64 ns lasts 584 years; saturate rather than wrap if it ever did not.
        u64::try_from(at.saturating_duration_since(self.start).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Wall-clock ms since the Unix epoch (0 if the system clock is before 1970).
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Wall-clock ns since the Unix epoch (0 if the system clock is before 1970): host↔card offsets.
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// CLOCK_MONOTONIC in ns, the same clock `Instant` reads (0 if it cannot be read): the file
/// header's origin and the agent's own time line for `/v1/counters`.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec we pass; CLOCK_MONOTONIC always exists.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc != 0 {
        return 0;
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// Mean cost of one clock read, in ns: recorded in the header so readers know the resolution
/// floor of event deltas. The median of a few rounds, so a preemption does not skew it.
pub(crate) fn measure_overhead_ns() -> u32 {
    const READS: u32 = 1000;
    let mut rounds = [0u128; 5];
    for r in &mut rounds {
        let t0 = Instant::now();
        for _ in 0..READS {
            std::hint::black_box(Instant::now());
        }
        *r = t0.elapsed().as_nanos() / u128::from(READS);
    }
    rounds.sort_unstable();
    u32::try_from(rounds[rounds.len() / 2]).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_clocks_read_and_move_forward() {
        let (m0, w0) = (monotonic_ns(), wall_ns());
        std::thread::sleep(std::time::Duration::from_millis(2));
        let (m1, w1) = (monotonic_ns(), wall_ns());
        assert!(m0 > 0 && m1 >= m0 + 2_000_000, "{m0} {m1}");
        // 2020-01-01 in ns: a zero or a seconds-for-ns slip would fall below it.
        assert!(w0 > 1_577_836_800_000_000_000 && w1 > w0, "{w0} {w1}");
    }
}
