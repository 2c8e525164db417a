//! Whole-hash kernels (absorb, explode, main loop, implode, finalize) and the table that picks one.
//!
//! The choice of algorithm, AES path and way count is made once, when a hasher is built: it gets
//! a plain function pointer to a kernel compiled for exactly that combination, and the [`Paths`]
//! its CPU runs, which each hash reads once.

use super::aes_path::AesPath;
use super::algorithm::{Algorithm, Base, Heavy};
use super::backend::Soft;
use super::core_window::CoreWindow;
use super::explode::{explode_ways, implode_ways, WideFill};
use super::finalize::finalize;
use super::keccak_state::{absorb, State};
use super::main_loop::{run, AsmLoop, Lane, Row};
use super::random_math::RandomProgram;
use crate::cpu::Cpu;

/// The faster forms a hardware kernel takes where the CPU has them; the software kernels ignore
/// both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paths {
    /// Explode and implode on VAES.
    pub(crate) wide: bool,
    /// The hand-written main loops (AVX).
    pub(crate) asm: bool,
}

impl Paths {
    /// What hashes on `aes` may use on `cpu`.
    pub(crate) fn on(cpu: &Cpu, aes: AesPath) -> Paths {
        let hw = aes == AesPath::Hardware;
        Paths {
            wide: hw && cpu.vaes_fill(),
            asm: hw && cpu.asm_loops(),
        }
    }
}

/// Hashes `W` inputs into `out`, one scratchpad each; way `i`'s scratchpad starts at
/// `base + i * scratchpad size`.
///
/// # Safety
/// `inputs` and `out` hold at least `W` entries; `base` points to `W` consecutive 64-byte aligned
/// scratchpads of the algorithm's size; for the hardware path the CPU has AES-NI and SSE4.1, and
/// what `paths` turns on ([`Paths::on`] the CPU).
pub(crate) type KernelFn = unsafe fn(
    inputs: &[&[u8]],
    base: *mut u8,
    prog: &RandomProgram,
    out: &mut [[u8; 32]],
    paths: Paths,
);

/// Most hashes one kernel interleaves for a scratchpad of `bytes`: five up to 2 MiB, two for
/// the 4 MiB heavy pads. The loop is bound by the latency of its dependent scratchpad reads (L2
/// or L3) and of the division/square-root chain, so more independent ways fill the wait, as far
/// as the core's out-of-order window reaches ([`window_ways`] says how far that is) and the
/// caches hold the pads. Past three ways the compiled loop spills to the stack, and a wide core
/// still gains: on Zen 5, cn/0 ran 69/115/158/182/210 H/s at one to five ways on one thread.
pub const fn interleave_limit(bytes: usize) -> usize {
    if bytes <= 2 << 20 {
        5
    } else {
        2
    }
}

/// Most ways one kernel of `algo` interleaves.
pub(crate) const fn kernel_ways(algo: Algorithm) -> usize {
    interleave_limit(algo.scratchpad_bytes())
}

/// Most ways worth interleaving for `algo` on one core of class `window`, whatever the caches
/// allow.
///
/// Interleaving pays only while the core's out-of-order window holds an iteration of every way
/// at once, since each way's next read waits on its last. One iteration is about 30
/// instructions for cn/0 and cn/1, about 90 for the variant-2 family (shuffle, division and
/// square root) and about 160 for cn/r (its random program runs in the loop).
///
/// [`CoreWindow::Standard`] (about 220 micro-ops of window and a scheduler of about 100 on a
/// Skylake-class server core) was measured on a 2-vCPU Cascade Lake VM (one thread, best of four
/// or five alternating runs, H/s at 1/2/3 ways): cn/0 45/69/85, cn/2 45/69/87, cn/half
/// -/117/135, cn-pico 1149/1127/1061/1105 at 2 to 5; cn/r, medians of six: 41.9/57.2/43.9; the
/// heavy variants two ways against one 1.53 (cn-heavy/0, 8 rounds paired), 1.48 (xhv) and 1.40
/// (tube). So: cn/r two ways, the variant-2 family three, the others three for 2 MiB pads and
/// two for 4 MiB ones, five for smaller pads.
///
/// [`CoreWindow::Wide`] (Zen 5's 448 micro-ops) was measured on a 2-vCPU EPYC VM whose L3
/// other tenants share (medians of three or four alternating rounds, H/s at one to five ways).
/// One thread, quiet: cn/0 69/115/158/182/210, cn-pico 1018/1763/2521/2964/3070, cn/r
/// 66/93/111/64/48. One thread, busier: five ways of 2 MiB against three 1.34, 0.96, 0.94, 1.31
/// paired (cn/0, cn/1, cn/ccx, cn/fast), four 1.21, 1.09, 0.97, 1.20; for the variant-2 family
/// (cn/2, cn/double, cn/zls, cn/rwz, cn/half) four 1.03, 0.92, 1.12, 0.99, 1.15 and five as low
/// as 0.48 (likely the window: at about 90 instructions a way, five iterations fill it). Two
/// threads against two ways: cn/0 1.37/1.60/1.65 at three to five, cn/r 1.17 at three,
/// cn-pico 1.43/1.67/1.73, and the heavy variants' 4 MiB pads 0.71 at three (a 3-way kernel,
/// since removed: 24 MiB of pads is more than the neighbours leave of the L3); two threads,
/// four ways against three, six rounds: cn/0 1.09, cn/fast 1.05, cn/xao 1.06, and cn/ccx 0.80
/// (0.47 in four rounds before), whose concealing float work lengthens its iteration as the
/// variant-2 family's does. So: five for pads up to 1 MiB, four for the other 2 MiB ones,
/// three for cn/ccx, for the variant-2 family's 2 MiB pads and for cn/r, two for the heavy
/// variants.
pub const fn window_ways(algo: Algorithm, window: CoreWindow) -> usize {
    let p = algo.props();
    let bytes = algo.scratchpad_bytes();
    // The heavy variants' two is their kernel's width, which caps every class below.
    let w = match window {
        CoreWindow::Standard if p.random_math => 2,
        CoreWindow::Standard if matches!(p.base, Base::V2) || bytes > 1 << 20 => 3,
        CoreWindow::Wide if p.random_math => 3,
        CoreWindow::Wide if bytes > 1 << 20 && (matches!(p.base, Base::V2) || p.conceal) => 3,
        CoreWindow::Wide if bytes > 1 << 20 => 4,
        CoreWindow::Standard | CoreWindow::Wide => 5,
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
    paths: Paths,
) {
    let p = Row::<ID>::P;
    let heavy = p.heavy != Heavy::No;
    // One base register plus a constant displacement per way, rather than a pointer register
    // per way: with several ways in the loop the registers are what runs out first.
    // SAFETY: the caller hands us `W` consecutive scratchpads from `base`.
    let sps: [*mut u8; W] = core::array::from_fn(|i| unsafe { base.add(i * p.memory) });
    let mut states: [State; W] = core::array::from_fn(|i| absorb(inputs[i]));
    // SAFETY: the caller hands us scratchpads of `p.memory` bytes, and `paths` its CPU runs.
    unsafe { explode_ways::<B, W>(&states, &sps, p.memory, heavy, paths.wide) };
    let mut lanes: [Lane<B>; W] =
        core::array::from_fn(|i| Lane::new::<ID>(&states[i], inputs[i], sps[i]));
    // SAFETY: as above.
    unsafe { run::<B, ID, W>(&mut lanes, prog, paths.asm) };
    // SAFETY: as above.
    unsafe { implode_ways::<B, W>(&mut states, &sps, p.memory, heavy, paths.wide) };
    for (st, o) in states.iter_mut().zip(out.iter_mut()) {
        *o = finalize(st);
    }
}

unsafe fn soft<const ID: usize, const W: usize>(
    inputs: &[&[u8]],
    base: *mut u8,
    prog: &RandomProgram,
    out: &mut [[u8; 32]],
    paths: Paths,
) {
    // SAFETY: forwarded from the caller.
    unsafe { hash_lanes::<Soft, ID, W>(inputs, base, prog, out, paths) }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "aes,sse2,sse4.1")]
unsafe fn hw<const ID: usize, const W: usize>(
    inputs: &[&[u8]],
    base: *mut u8,
    prog: &RandomProgram,
    out: &mut [[u8; 32]],
    paths: Paths,
) {
    // SAFETY: forwarded from the caller, who checked the CPU features.
    unsafe { hash_lanes::<super::backend::Hw, ID, W>(inputs, base, prog, out, paths) }
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
    ($algo:expr, $aes:expr, $w:expr; two: $($two:ident),*; five: $($five:ident),*) => {
        match $algo {
            $(Algorithm::$two => match $w {
                1 => pick::<{ Algorithm::$two as usize }, 1>($aes),
                2 => pick::<{ Algorithm::$two as usize }, 2>($aes),
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
        five: Cn0, Cn1, Cn2, CnR, CnFast, CnHalf, CnXao, CnRto, CnRwz, CnZls, CnDouble, CnCcx,
            CnLite0, CnLite1, CnPico, CnPicoTlo, CnUpx2)
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

    #[test]
    fn windows_cap_the_ways_per_core_class() {
        use Algorithm::*;
        // (algorithm, standard, wide): the measured best on each class (see `window_ways`).
        let rows = [
            (Cn0, 3, 4),
            (Cn1, 3, 4),
            (CnCcx, 3, 3),
            (CnFast, 3, 4),
            (Cn2, 3, 3),
            (CnHalf, 3, 3),
            (CnDouble, 3, 3),
            (CnR, 2, 3),
            (CnLite1, 5, 5),
            (CnPico, 3, 5),
            (CnUpx2, 3, 5),
            (CnHeavy0, 2, 2),
            (CnHeavyXhv, 2, 2),
        ];
        for (algo, standard, wide) in rows {
            assert_eq!(window_ways(algo, CoreWindow::Standard), standard, "{algo}");
            assert_eq!(window_ways(algo, CoreWindow::Wide), wide, "{algo}");
        }
        for algo in Algorithm::ALL {
            for window in [CoreWindow::Standard, CoreWindow::Wide] {
                assert!(window_ways(algo, window) <= kernel_ways(algo), "{algo}");
            }
        }
    }
}
