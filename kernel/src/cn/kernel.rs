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

/// The faster forms a kernel takes where the CPU has them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paths {
    /// Explode and implode on the backend's wide path: VAES for AES-NI, bitsliced (SSSE3) for the
    /// software kernels.
    pub(crate) wide: bool,
    /// The bitsliced fill takes two ways at once (AVX2); software kernels only.
    pub(crate) pairs: bool,
    /// The hand-written main loops (AVX); hardware kernels only.
    pub(crate) asm: bool,
}

impl Paths {
    /// What hashes on `aes` may use on `cpu`.
    pub(crate) fn on(cpu: &Cpu, aes: AesPath) -> Paths {
        let hw = aes == AesPath::Hardware;
        Paths {
            wide: if hw {
                cpu.vaes_fill()
            } else {
                cpu.bitslice_fill()
            },
            pairs: !hw && cpu.bitslice_pairs(),
            asm: hw && cpu.asm_loops(),
        }
    }
}

/// What a kernel's own code is compiled for: the software path, AES-NI on SSE registers, or
/// AES-NI on EVEX (`benches/README.md`, "The AES-NI loop on EVEX").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    Soft,
    AesNi,
    /// AVX-512VL's 32 vector registers and three-operand forms (and VAES's `vaesenc` on the
    /// upper sixteen): fewer register copies and stack accesses per iteration.
    AesNiEvex,
}

impl Isa {
    /// The kernels hashes on `aes` run on `cpu`.
    pub(crate) fn on(cpu: &Cpu, aes: AesPath) -> Isa {
        match aes {
            AesPath::Software => Isa::Soft,
            AesPath::Hardware if cpu.evex_loop() => Isa::AesNiEvex,
            AesPath::Hardware => Isa::AesNi,
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
/// the 4 MiB heavy pads. The loop waits on its dependent scratchpad reads and on the division
/// and square-root chain, so more independent ways fill the wait, as far as the core's window
/// reaches ([`window_ways`]) and the caches hold the pads (`benches/README.md` has the numbers).
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
/// square root) and about 160 for cn/r (its random program runs in the loop), so the longer the
/// iteration the fewer ways. The rows are the best measured on each class (`benches/README.md`,
/// "The kernel's tuning numbers").
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
    unsafe { explode_ways::<B, W>(&states, &sps, p.memory, heavy, paths) };
    let mut lanes: [Lane<B>; W] =
        core::array::from_fn(|i| Lane::new::<ID>(&states[i], inputs[i], sps[i]));
    // SAFETY: as above.
    unsafe { run::<B, ID, W>(&mut lanes, prog, paths.asm) };
    // SAFETY: as above.
    unsafe { implode_ways::<B, W>(&mut states, &sps, p.memory, heavy, paths) };
    for (st, o) in states.iter_mut().zip(out.iter_mut()) {
        *o = finalize(st);
    }
}

/// The software kernels' backend: the loop's values in SSE2 registers on x86-64 (`soft_sse`),
/// plain words elsewhere.
#[cfg(target_arch = "x86_64")]
type SoftLoop = super::soft_sse::SoftSse;
#[cfg(not(target_arch = "x86_64"))]
type SoftLoop = Soft;

unsafe fn soft<S: AsmLoop + WideFill, const ID: usize, const W: usize>(
    inputs: &[&[u8]],
    base: *mut u8,
    prog: &RandomProgram,
    out: &mut [[u8; 32]],
    paths: Paths,
) {
    // SAFETY: forwarded from the caller.
    unsafe { hash_lanes::<S, ID, W>(inputs, base, prog, out, paths) }
}

/// An AES-NI kernel: [`hash_lanes`] on the hardware backend, compiled for `$features`.
macro_rules! aes_ni_kernel {
    ($(#[$doc:meta])* $name:ident, $features:literal) => {
        $(#[$doc])*
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $name<const ID: usize, const W: usize>(
            inputs: &[&[u8]],
            base: *mut u8,
            prog: &RandomProgram,
            out: &mut [[u8; 32]],
            paths: Paths,
        ) {
            // SAFETY: forwarded from the caller, who checked the CPU features ([`Isa::on`]).
            unsafe { hash_lanes::<super::backend::Hw, ID, W>(inputs, base, prog, out, paths) }
        }
    };
}

aes_ni_kernel!(hw, "aes,sse2,sse4.1");
aes_ni_kernel!(
    /// [`hw`] compiled for EVEX: the same code, with sixteen more vector registers to keep it in.
    hw_evex,
    "aes,sse2,sse4.1,avx,avx2,vaes,avx512f,avx512vl"
);

/// Variant 1's loop ran 8 % slower on SSE2 registers than on plain words (`benches/README.md`),
/// every other variant as fast or faster; so the software kernels of variant-1 rows keep the
/// plain words.
struct PlainWords<const ID: usize>;

impl<const ID: usize> PlainWords<ID> {
    const FOR_V1: bool = matches!(Row::<ID>::P.base, Base::V1);
}

fn pick<S: AsmLoop + WideFill, const ID: usize, const W: usize>(isa: Isa) -> Option<KernelFn> {
    match isa {
        // A constant condition: only the kernel it picks is compiled.
        Isa::Soft if PlainWords::<ID>::FOR_V1 => Some(soft::<Soft, ID, W> as KernelFn),
        Isa::Soft => Some(soft::<S, ID, W> as KernelFn),
        #[cfg(target_arch = "x86_64")]
        Isa::AesNi => Some(hw::<ID, W> as KernelFn),
        #[cfg(target_arch = "x86_64")]
        Isa::AesNiEvex => Some(hw_evex::<ID, W> as KernelFn),
        #[cfg(not(target_arch = "x86_64"))]
        Isa::AesNi | Isa::AesNiEvex => None,
    }
}

/// The kernel of `$algo` for `$w` ways on `$isa`, the software kernels on backend `$s`.
macro_rules! table {
    ($s:ty, $algo:expr, $isa:expr, $w:expr) => {
        table!($s, $algo, $isa, $w;
            two: CnHeavy0, CnHeavyTube, CnHeavyXhv;
            five: Cn0, Cn1, Cn2, CnR, CnFast, CnHalf, CnXao, CnRto, CnRwz, CnZls, CnDouble,
                CnCcx, CnLite0, CnLite1, CnPico, CnPicoTlo, CnUpx2)
    };
    ($s:ty, $algo:expr, $isa:expr, $w:expr; two: $($two:ident),*; five: $($five:ident),*) => {
        match $algo {
            $(Algorithm::$two => match $w {
                1 => pick::<$s, { Algorithm::$two as usize }, 1>($isa),
                2 => pick::<$s, { Algorithm::$two as usize }, 2>($isa),
                _ => None,
            },)*
            $(Algorithm::$five => match $w {
                1 => pick::<$s, { Algorithm::$five as usize }, 1>($isa),
                2 => pick::<$s, { Algorithm::$five as usize }, 2>($isa),
                3 => pick::<$s, { Algorithm::$five as usize }, 3>($isa),
                4 => pick::<$s, { Algorithm::$five as usize }, 4>($isa),
                5 => pick::<$s, { Algorithm::$five as usize }, 5>($isa),
                _ => None,
            },)*
        }
    };
}

/// The kernel for `ways` interleaved hashes (1..=[`kernel_ways`]) of `algo` on `isa`.
pub(crate) fn kernel(algo: Algorithm, isa: Isa, ways: usize) -> Option<KernelFn> {
    table!(SoftLoop, algo, isa, ways)
}

/// The software kernel on the plain-word backend, which x86-64 does not mine with: its loop is
/// still checked there, and measured against the SSE2 one.
#[cfg(all(test, target_arch = "x86_64"))]
pub(crate) fn portable_kernel(algo: Algorithm, ways: usize) -> Option<KernelFn> {
    table!(Soft, algo, Isa::Soft, ways)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_has_kernels_up_to_its_width() {
        for algo in Algorithm::ALL {
            for w in 1..=kernel_ways(algo) {
                assert!(kernel(algo, Isa::Soft, w).is_some(), "{algo} x{w}");
            }
            assert!(kernel(algo, Isa::Soft, kernel_ways(algo) + 1).is_none());
            assert!(kernel(algo, Isa::Soft, 0).is_none());
        }
    }

    #[test]
    fn each_cpu_value_gets_the_kernels_it_can_run() {
        let all = Cpu::every_path();
        let hw = |cpu: Cpu| Isa::on(&cpu, AesPath::Hardware);
        assert_eq!(hw(all), Isa::AesNiEvex);
        assert_eq!(Isa::on(&all, AesPath::Software), Isa::Soft);
        // EVEX needs AVX-512, VAES (`--no-vaes` too) and AVX; without any of them, SSE.
        for without in [
            Cpu {
                avx512: false,
                ..all
            },
            all.with_vaes(false),
            Cpu { avx: false, ..all },
            Cpu { avx2: false, ..all },
        ] {
            assert_eq!(hw(without), Isa::AesNi, "{without:?}");
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
