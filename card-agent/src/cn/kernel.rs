//! Whole-hash kernels (absorb, explode, main loop, implode, finalize) and the table that picks one.
//!
//! The choice of algorithm, AES path and way count is made once, when a hasher is built: it gets
//! a plain function pointer to a kernel compiled for exactly that combination.

use super::aes_path::AesPath;
use super::algorithm::{Algorithm, Base, Heavy};
use super::backend::Soft;
use super::explode::{explode_ways, implode_ways, WideFill};
use super::finalize::finalize;
use super::keccak_state::{absorb, State};
use super::main_loop::{run, AsmLoop, Lane, Row};
use super::random_math::RandomProgram;

/// Hashes `W` inputs into `out`, one scratchpad each; way `i`'s scratchpad starts at
/// `base + i * scratchpad size`.
///
/// # Safety
/// `inputs` and `out` hold at least `W` entries; `base` points to `W` consecutive 64-byte aligned
/// scratchpads of the algorithm's size; for the hardware path the CPU has AES-NI and SSE4.1.
pub(crate) type KernelFn =
    unsafe fn(inputs: &[&[u8]], base: *mut u8, prog: &RandomProgram, out: &mut [[u8; 32]]);

/// Most hashes one kernel interleaves for a scratchpad of `bytes`. The loop is bound by the
/// latency of its dependent scratchpad reads (L2 or L3) and of the division/square-root chain,
/// so more independent ways fill the wait: small scratchpads gain up to 5, 2 MiB ones up to 3
/// (their reads mostly miss a 1 MiB L2, and three pads per core still fit a server L3), the
/// 4 MiB heavy ones 2. More ways than that run out of registers.
pub const fn interleave_limit(bytes: usize) -> usize {
    if bytes <= 1 << 20 {
        5
    } else if bytes <= 2 << 20 {
        3
    } else {
        2
    }
}

/// Most ways one kernel of `algo` interleaves.
pub(crate) const fn kernel_ways(algo: Algorithm) -> usize {
    interleave_limit(algo.scratchpad_bytes())
}

/// Most ways worth interleaving for `algo` on one core, whatever the caches allow.
///
/// Interleaving pays only while the core's out-of-order window (about 220 micro-ops and a
/// scheduler of about 100 on a Skylake-class server core) holds an iteration of every way at
/// once, since each way's next read waits on its last. One iteration is about 30 instructions
/// for cn/0 and cn/1, about 90 for the variant-2 family (shuffle, division and square root)
/// and about 160 for cn/r (its random program runs in the loop; two ways still overlap one
/// way's program with the other's reads); the heavy variants put a 64-bit division on the
/// address chain, and take the two ways their 4 MiB pads allow. Measured on a 2-vCPU Cascade
/// Lake VM (one thread, best of four or five alternating runs, H/s at 1/2/3 ways): cn/0
/// 45/69/85, cn/2 45/69/87, cn/half -/117/135, cn-pico 1149/1127/1061/1105 at 2 to 5; cn/r,
/// medians of six: 41.9/57.2/43.9. The heavy variants measured 28/27 in a quiet spell before the
/// compiled loop deferred its second read (session 6); since, two ways against one measured
/// 1.53 (cn-heavy/0, 8 rounds paired), 1.48 (xhv) and 1.40 (tube, 6 rounds each), in contention.
pub const fn window_ways(algo: Algorithm) -> usize {
    let p = algo.props();
    let w = if p.random_math {
        2
    } else if matches!(p.base, Base::V2) {
        3
    } else {
        kernel_ways(algo)
    };
    if w < kernel_ways(algo) {
        w
    } else {
        kernel_ways(algo)
    }
}

#[inline(always)]
unsafe fn hash_lanes<B: AsmLoop + WideFill, const ID: usize, const W: usize>(
    inputs: &[&[u8]],
    base: *mut u8,
    prog: &RandomProgram,
    out: &mut [[u8; 32]],
) {
    let p = Row::<ID>::P;
    let heavy = p.heavy != Heavy::No;
    // One base register plus a constant displacement per way, rather than a pointer register
    // per way: with several ways in the loop the registers are what runs out first.
    // SAFETY: the caller hands us `W` consecutive scratchpads from `base`.
    let sps: [*mut u8; W] = core::array::from_fn(|i| unsafe { base.add(i * p.memory) });
    let mut states: [State; W] = core::array::from_fn(|i| absorb(inputs[i]));
    // SAFETY: the caller hands us scratchpads of `p.memory` bytes.
    unsafe { explode_ways::<B, W>(&states, &sps, p.memory, heavy) };
    let mut lanes: [Lane<B>; W] =
        core::array::from_fn(|i| Lane::new::<ID>(&states[i], inputs[i], sps[i]));
    // SAFETY: as above.
    unsafe { run::<B, ID, W>(&mut lanes, prog) };
    // SAFETY: as above.
    unsafe { implode_ways::<B, W>(&mut states, &sps, p.memory, heavy) };
    for (st, o) in states.iter_mut().zip(out.iter_mut()) {
        *o = finalize(st);
    }
}

unsafe fn soft<const ID: usize, const W: usize>(
    inputs: &[&[u8]],
    base: *mut u8,
    prog: &RandomProgram,
    out: &mut [[u8; 32]],
) {
    // SAFETY: forwarded from the caller.
    unsafe { hash_lanes::<Soft, ID, W>(inputs, base, prog, out) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "aes,sse2,sse4.1")]
unsafe fn hw<const ID: usize, const W: usize>(
    inputs: &[&[u8]],
    base: *mut u8,
    prog: &RandomProgram,
    out: &mut [[u8; 32]],
) {
    // SAFETY: forwarded from the caller, who checked the CPU features.
    unsafe { hash_lanes::<super::backend::Hw, ID, W>(inputs, base, prog, out) }
}

fn pick<const ID: usize, const W: usize>(aes: AesPath) -> Option<KernelFn> {
    match aes {
        AesPath::Software => Some(soft::<ID, W> as KernelFn),
        #[cfg(target_arch = "x86_64")]
        AesPath::Hardware => Some(hw::<ID, W> as KernelFn),
        #[cfg(not(target_arch = "x86_64"))]
        AesPath::Hardware => None,
    }
}

macro_rules! table {
    ($algo:expr, $aes:expr, $w:expr; two: $($two:ident),*; three: $($three:ident),*;
     five: $($five:ident),*) => {
        match $algo {
            $(Algorithm::$two => match $w {
                1 => pick::<{ Algorithm::$two as usize }, 1>($aes),
                2 => pick::<{ Algorithm::$two as usize }, 2>($aes),
                _ => None,
            },)*
            $(Algorithm::$three => match $w {
                1 => pick::<{ Algorithm::$three as usize }, 1>($aes),
                2 => pick::<{ Algorithm::$three as usize }, 2>($aes),
                3 => pick::<{ Algorithm::$three as usize }, 3>($aes),
                _ => None,
            },)*
            $(Algorithm::$five => match $w {
                1 => pick::<{ Algorithm::$five as usize }, 1>($aes),
                2 => pick::<{ Algorithm::$five as usize }, 2>($aes),
                3 => pick::<{ Algorithm::$five as usize }, 3>($aes),
                4 => pick::<{ Algorithm::$five as usize }, 4>($aes),
                5 => pick::<{ Algorithm::$five as usize }, 5>($aes),
                _ => None,
            },)*
        }
    };
}

/// The kernel for `ways` interleaved hashes (1..=[`kernel_ways`]) of `algo` on `aes`.
pub(crate) fn kernel(algo: Algorithm, aes: AesPath, ways: usize) -> Option<KernelFn> {
    table!(algo, aes, ways;
        two: CnHeavy0, CnHeavyTube, CnHeavyXhv;
        three: Cn0, Cn1, Cn2, CnR, CnFast, CnHalf, CnXao, CnRto, CnRwz, CnZls, CnDouble, CnCcx;
        five: CnLite0, CnLite1, CnPico, CnPicoTlo, CnUpx2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_has_kernels_up_to_its_width() {
        for algo in Algorithm::ALL {
            for w in 1..=kernel_ways(algo) {
                assert!(kernel(algo, AesPath::Software, w).is_some(), "{algo} x{w}");
            }
            assert!(kernel(algo, AesPath::Software, kernel_ways(algo) + 1).is_none());
            assert!(kernel(algo, AesPath::Software, 0).is_none());
        }
    }
}
