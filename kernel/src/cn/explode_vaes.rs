//! Explode and implode on VAES (Ice Lake, Zen 3 and later): two AES blocks per `vaesenc`.
//!
//! Explode and implode run ten AES rounds on every 16 bytes of the scratchpad, several times the
//! main loop's AES work (one round per iteration, and an iteration covers 32 bytes of reads). On
//! AES-NI they are bound by `aesenc` throughput. With VAES, one 256-bit `vaesenc` rounds two
//! blocks at the cost of one, so the eight blocks of a way ride in four registers: block `2j` in
//! the low lane of register `j`, block `2j + 1` in the high one. Loads and stores move 32 bytes
//! at a time too. Two ways go through together (three where the count is odd), so that eight
//! or more independent rounds are in flight, at least as many as the 128-bit path has with one
//! way.
//!
//! Chosen per hasher from its [`Cpu`](crate::cpu::Cpu) (`--no-vaes` hands over one without VAES);
//! the result is bit-for-bit the AES-NI path's (`tests` check both, and `scripts/test.sh` runs
//! them under `qemu-x86_64 -cpu max` where this CPU has no VAES).

use core::arch::x86_64::*;
use core::ops::Range;

use super::aesni::Hw;
use super::backend::Backend;
use super::explode::{blocks, explode_with, implode_with, keys, Fill, WideFill};
use super::keccak_state::State;
use super::kernel::Paths;

/// A way's eight blocks, two per register.
type Blocks = [__m256i; 4];
/// A way's ten round keys, each in both lanes.
type Keys = [__m256i; 10];

#[inline(always)]
fn wide_keys(st: &State, first: usize) -> Keys {
    // SAFETY: AVX2 is enabled in every function this is inlined into (see `explode_n`).
    keys::<Hw>(st, first).map(|k| unsafe { _mm256_broadcastsi128_si256(k) })
}

#[inline(always)]
fn wide_blocks(st: &State) -> Blocks {
    let b = blocks::<Hw>(st);
    // SAFETY: AVX is enabled in every function this is inlined into.
    core::array::from_fn(|j| unsafe { _mm256_set_m128i(b[2 * j + 1], b[2 * j]) })
}

/// Writes the blocks back to state bytes 64..192.
#[inline(always)]
fn put_blocks(st: &mut State, x: &Blocks) {
    for (j, v) in x.iter().enumerate() {
        // SAFETY: AVX2 is enabled in every function this is inlined into.
        let (lo, hi) = unsafe {
            (
                _mm256_castsi256_si128(*v),
                _mm256_extracti128_si256::<1>(*v),
            )
        };
        st[8 + 4 * j] = Hw::lo(lo);
        st[9 + 4 * j] = Hw::hi(lo);
        st[10 + 4 * j] = Hw::lo(hi);
        st[11 + 4 * j] = Hw::hi(hi);
    }
}

#[inline(always)]
fn ten_rounds<const N: usize>(x: &mut [Blocks; N], k: &[Keys; N]) {
    for r in 0..10 {
        for (xw, kw) in x.iter_mut().zip(k) {
            for v in xw.iter_mut() {
                // SAFETY: VAES is enabled in every function this is inlined into.
                *v = unsafe { _mm256_aesenc_epi128(*v, kw[r]) };
            }
        }
    }
}

/// The heavy variants' `x[i] ^= x[i + 1]` (and `x[7] ^= x[0]`), with the neighbours one lane
/// along: register `j`'s high lane and register `j + 1`'s low one.
#[inline(always)]
fn mix<const N: usize>(x: &mut [Blocks; N]) {
    for xw in x.iter_mut() {
        // SAFETY: AVX2 is enabled in every function this is inlined into.
        let next: Blocks = core::array::from_fn(|j| unsafe {
            _mm256_permute2x128_si256::<0x21>(xw[j], xw[(j + 1) % 4])
        });
        for (v, n) in xw.iter_mut().zip(next) {
            // SAFETY: as above.
            *v = unsafe { _mm256_xor_si256(*v, n) };
        }
    }
}

/// `N` ways' blocks and keys, and their scratchpads.
struct Ways<const N: usize> {
    x: [Blocks; N],
    k: [Keys; N],
    sps: [*mut u8; N],
}

impl<const N: usize> Fill for Ways<N> {
    #[inline(always)]
    fn rounds(&mut self) {
        ten_rounds(&mut self.x, &self.k);
    }

    #[inline(always)]
    fn mix(&mut self) {
        mix(&mut self.x);
    }

    #[inline(always)]
    unsafe fn store(&self, off: usize) {
        for (xw, &sp) in self.x.iter().zip(&self.sps) {
            for (j, v) in xw.iter().enumerate() {
                // SAFETY: off + 32 j + 32 <= off + 128, inside the pad; aligned as sp is.
                unsafe { _mm256_store_si256(sp.add(off + 32 * j) as *mut __m256i, *v) };
            }
        }
    }

    #[inline(always)]
    unsafe fn absorb(&mut self, off: usize) {
        for (xw, &sp) in self.x.iter_mut().zip(&self.sps) {
            for (j, v) in xw.iter_mut().enumerate() {
                // SAFETY: as in `store`.
                let m = unsafe { _mm256_load_si256(sp.add(off + 32 * j) as *const __m256i) };
                // SAFETY: AVX2 is enabled in every function this is inlined into.
                *v = unsafe { _mm256_xor_si256(*v, m) };
            }
        }
    }
}

/// Explodes `N` ways at once.
///
/// # Safety
/// The CPU has VAES and AVX2 ([`Cpu::vaes_fill`](crate::cpu::Cpu::vaes_fill)); each `sps[w]` is
/// 32-byte aligned and valid for `memory` bytes of writes; `memory` is a multiple of 128.
#[target_feature(enable = "aes,avx,avx2,vaes")]
unsafe fn explode_n<const N: usize>(
    sts: [&State; N],
    sps: [*mut u8; N],
    memory: usize,
    heavy: bool,
) {
    let mut f = Ways {
        x: core::array::from_fn(|w| wide_blocks(sts[w])),
        k: core::array::from_fn(|w| wide_keys(sts[w], 0)),
        sps,
    };
    // SAFETY: forwarded from the caller.
    unsafe { explode_with(&mut f, memory, heavy) };
}

/// Implodes `N` ways at once.
///
/// # Safety
/// As for [`explode_n`], for reads.
#[target_feature(enable = "aes,avx,avx2,vaes")]
unsafe fn implode_n<const N: usize>(
    mut sts: [&mut State; N],
    sps: [*mut u8; N],
    memory: usize,
    heavy: bool,
) {
    let mut f = Ways {
        x: core::array::from_fn(|w| wide_blocks(sts[w])),
        k: core::array::from_fn(|w| wide_keys(sts[w], 4)),
        sps,
    };
    // SAFETY: forwarded from the caller.
    unsafe { implode_with(&mut f, memory, heavy) };
    for (st, xw) in sts.iter_mut().zip(&f.x) {
        put_blocks(st, xw);
    }
}

/// The ways that go through together, in order: pairs, but three first where the count is odd,
/// so that no way runs alone (one way keeps only four rounds in flight, half what `vaesenc` can
/// issue) unless it is the only one.
fn groups(ways: usize) -> impl Iterator<Item = Range<usize>> {
    let first = if ways % 2 == 1 && ways >= 3 {
        3
    } else {
        ways.min(2)
    };
    let rest = (first..ways).step_by(2).map(move |i| i..(i + 2).min(ways));
    core::iter::once(0..first)
        .filter(|g| !g.is_empty())
        .chain(rest)
}

impl WideFill for Hw {
    #[inline(always)]
    unsafe fn explode_wide<const W: usize>(
        states: &[State; W],
        sps: &[*mut u8; W],
        memory: usize,
        heavy: bool,
        _paths: Paths,
    ) -> bool {
        for g in groups(W) {
            // SAFETY: the caller vouches for the CPU and the scratchpads; a group is some of them.
            unsafe {
                match (&states[g.clone()], &sps[g]) {
                    ([a, b, c], &[pa, pb, pc]) => {
                        explode_n::<3>([a, b, c], [pa, pb, pc], memory, heavy)
                    }
                    ([a, b], &[pa, pb]) => explode_n::<2>([a, b], [pa, pb], memory, heavy),
                    ([a], &[pa]) => explode_n::<1>([a], [pa], memory, heavy),
                    _ => unreachable!("groups of one to three, split alike"),
                }
            }
        }
        true
    }

    #[inline(always)]
    unsafe fn implode_wide<const W: usize>(
        states: &mut [State; W],
        sps: &[*mut u8; W],
        memory: usize,
        heavy: bool,
        _paths: Paths,
    ) -> bool {
        for g in groups(W) {
            // SAFETY: the caller vouches for the CPU and the scratchpads; a group is some of them.
            unsafe {
                match (&mut states[g.clone()], &sps[g]) {
                    ([a, b, c], &[pa, pb, pc]) => {
                        implode_n::<3>([a, b, c], [pa, pb, pc], memory, heavy)
                    }
                    ([a, b], &[pa, pb]) => implode_n::<2>([a, b], [pa, pb], memory, heavy),
                    ([a], &[pa]) => implode_n::<1>([a], [pa], memory, heavy),
                    _ => unreachable!("groups of one to three, split alike"),
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cn::fill_check::wide_matches_narrow;
    use crate::cpu::{test_can_run, CpuPath};

    #[test]
    fn vaes_explode_and_implode_match_aes_ni_at_one_to_five_ways() {
        if !test_can_run(CpuPath::Vaes) {
            return;
        }
        let vaes = Paths {
            wide: true,
            pairs: false,
            asm: false,
        };
        for heavy in [false, true] {
            // SAFETY: this CPU runs VAES, and so AES-NI.
            unsafe {
                wide_matches_narrow::<Hw, 1>(64 << 10, heavy, 0, vaes);
                wide_matches_narrow::<Hw, 2>(64 << 10, heavy, 0, vaes);
                wide_matches_narrow::<Hw, 3>(128 << 10, heavy, 0, vaes);
                wide_matches_narrow::<Hw, 4>(64 << 10, heavy, 0, vaes);
                wide_matches_narrow::<Hw, 5>(64 << 10, heavy, 0, vaes);
            }
        }
    }

    #[test]
    fn ways_go_in_pairs_and_a_three_never_alone() {
        let split = |ways| groups(ways).map(|g| g.len()).collect::<Vec<_>>();
        assert_eq!(split(1), [1]);
        assert_eq!(split(2), [2]);
        assert_eq!(split(3), [3]);
        assert_eq!(split(4), [2, 2]);
        assert_eq!(split(5), [3, 2]);
        for ways in 1..=5 {
            // In order and without gaps: the groups tile 0..ways.
            let ends: Vec<usize> = groups(ways).map(|g| g.end).collect();
            let starts: Vec<usize> = groups(ways).map(|g| g.start).collect();
            assert_eq!(starts[0], 0);
            assert_eq!(starts[1..], ends[..ends.len() - 1]);
            assert_eq!(ends.last(), Some(&ways));
        }
    }
}
