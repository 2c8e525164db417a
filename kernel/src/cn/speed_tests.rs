//! Hash-rate check, ignored by default: `cargo test --release -p phirig-kernel --lib speed -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use super::{AesPath, Algorithm, CnHasher};
use crate::memory::PagePolicy;

/// CPU time of the calling thread: the machine is shared, so wall-clock rates understate the kernel.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: valid out-pointer; the clock id is supported on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// (wall-clock H/s, H/s per CPU-second of this thread, page kind)
fn rate(
    algo: Algorithm,
    aes: AesPath,
    ways: usize,
    policy: PagePolicy,
    budget: Duration,
) -> (f64, f64, String) {
    match CnHasher::new(algo, aes, ways, policy) {
        Ok(mut h) => rate_of(&mut h, budget),
        Err(_) => (0.0, 0.0, "unavailable".into()),
    }
}

/// As [`rate`], on a hasher already built.
fn rate_of(h: &mut CnHasher, budget: Duration) -> (f64, f64, String) {
    let (algo, ways) = (h.algorithm(), h.ways());
    let blob: Vec<u8> = (0..76u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let inputs: Vec<&[u8]> = vec![&blob; ways];
    let mut out = vec![[0u8; 32]; ways];
    let height = if algo.needs_height() { 1_806_260 } else { 0 };
    // One batch to warm caches, TLB and the cn/r program cache.
    let _ = h.hash_ways(&inputs, height, &mut out);
    let t0 = Instant::now();
    let c0 = thread_cpu();
    let mut n = 0usize;
    while t0.elapsed() < budget && n < 1_000_000 {
        if h.hash_ways(&inputs, height, &mut out).is_err() {
            return (0.0, 0.0, "error".into());
        }
        n += ways;
    }
    let cpu = (thread_cpu() - c0).as_secs_f64().max(1e-9);
    (
        n as f64 / t0.elapsed().as_secs_f64(),
        n as f64 / cpu,
        format!("{:?}", h.pages()[0]),
    )
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// `PHIRIG_SPEED_CASES` as (algorithm, ways) pairs, or `default`.
fn cases(default: &str) -> Vec<(Algorithm, usize)> {
    let spec = std::env::var("PHIRIG_SPEED_CASES").unwrap_or_else(|_| default.into());
    spec.split(',')
        .map(|c| {
            let (a, w) = c.split_once(':').unwrap_or((c, "1"));
            let algo = a.parse().unwrap_or_else(|e| panic!("{a}: {e}"));
            (algo, w.parse().unwrap_or_else(|e| panic!("{w}: {e}")))
        })
        .collect()
}

#[test]
#[ignore]
fn speed() {
    let budget = Duration::from_millis(env_or("PHIRIG_SPEED_MS", 2000));
    // `PHIRIG_SPEED_CASES=cn/0:1,cn/0:3` picks algorithms and ways; `PHIRIG_SPEED_AES=soft`
    // (or `hw`) one AES path.
    let cases =
        cases("cn/0:1,cn/2:1,cn/half:1,cn/r:1,cn-lite/1:2,cn-heavy/0:1,cn-pico:5,cn/ccx:1,cn/2:2");
    let only = std::env::var("PHIRIG_SPEED_AES").unwrap_or_default();
    for (algo, ways) in cases {
        for (aes, policy, label) in [
            (AesPath::Hardware, PagePolicy::default(), "aes-ni huge"),
            (AesPath::Hardware, PagePolicy::normal_only(), "aes-ni 4k  "),
            (AesPath::Software, PagePolicy::default(), "soft   huge"),
        ] {
            if !only.is_empty() && !label.starts_with(if only == "hw" { "aes" } else { "soft" }) {
                continue;
            }
            let (hs, cpu_hs, pages) = rate(algo, aes, ways, policy, budget);
            println!(
                "{:<14} x{ways} {label} {hs:>9.1} H/s wall {cpu_hs:>9.1} H/s per cpu-s ({pages})",
                algo.name()
            );
        }
    }
}

/// The software main loop on SSE2 registers against the plain-word one, in one process: rounds
/// of `PHIRIG_SPEED_MS` (1500) alternating A B B A, `PHIRIG_SPEED_ROUNDS` (8) pairs per case,
/// thread CPU time; prints the median of the pairs' ratios (SSE2 ÷ plain). Variant-1 rows mine
/// on the plain words (`PlainWords`), so theirs compare the plain loop with itself.
/// `cargo test --release -p phirig-kernel --lib soft_loops -- --ignored --nocapture`
#[cfg(target_arch = "x86_64")]
#[test]
#[ignore]
fn soft_loops_paired() {
    let budget = Duration::from_millis(env_or("PHIRIG_SPEED_MS", 1500));
    let rounds = env_or("PHIRIG_SPEED_ROUNDS", 8usize).max(1);
    let policy = PagePolicy::default();
    for (algo, ways) in
        cases("cn/0:3,cn/1:3,cn/2:3,cn/r:2,cn/half:3,cn/ccx:3,cn-lite/1:5,cn-pico:5,cn-heavy/0:2")
    {
        let build = || CnHasher::new(algo, AesPath::Software, ways, policy).expect("hasher");
        let (mut sse, mut plain) = (build(), build().with_portable_loop());
        let mut ratios = Vec::with_capacity(rounds);
        let mut line = String::new();
        for r in 0..rounds {
            let (first_sse, mut a, mut b) = (r % 2 == 1, 0.0, 0.0);
            for sse_turn in [first_sse, !first_sse] {
                if sse_turn {
                    b = rate_of(&mut sse, budget).1;
                } else {
                    a = rate_of(&mut plain, budget).1;
                }
            }
            line += &format!(" ({a:.1}, {b:.1})");
            ratios.push(b / a);
        }
        ratios.sort_by(f64::total_cmp);
        let n = ratios.len();
        let median = (ratios[(n - 1) / 2] + ratios[n / 2]) / 2.0;
        println!(
            "{:<12} x{ways} plain, sse2 H/s per cpu-s:{line} median sse2/plain {median:.3}",
            algo.name()
        );
    }
}
