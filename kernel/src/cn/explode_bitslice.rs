//! Explode and implode on the software path, bitsliced (`bitslice`): a way's eight blocks as
//! eight bit planes.
//!
//! The table round costs some sixty instructions per block, and explode and implode run ten of
//! them on every 16 bytes of the scratchpad. But a way's eight blocks are exactly what one 128-bit
//! bitsliced AES takes, and the same ten keys serve every chunk. So the keys are sliced once per
//! hash, and the state stays sliced across all rounds and chunks: explode un-slices a copy of each
//! chunk to store it, implode slices each loaded chunk and XORs it in (slicing is linear), and
//! only the final state is un-sliced. With AVX2, two ways go through together.
//!
//! Chosen per hasher from its [`Cpu`](crate::cpu::Cpu); the result is bit for bit the table
//! path's (`tests` check both).

use core::arch::x86_64::*;

use super::aesni::Hw;
use super::backend::{Backend, Soft};
use super::bitslice::{mix, ten_rounds, transpose, Lanes};
use super::explode::{blocks, explode_with, implode_with, keys, Fill, WideFill};
use super::keccak_state::State;
use super::kernel::Paths;

/// The ten round keys of each way from state lane `first` on, sliced, each byte XORed with the
/// S-box's constant (see `sbox_circuit`). Lanes past the ways get zeros.
#[inline(always)]
fn sliced_keys<L: Lanes>(sts: &[State], first: usize) -> [[L; 8]; 10] {
    let constant = Hw::set(0x6363_6363_6363_6363, 0x6363_6363_6363_6363);
    let mut ways = [[Hw::set(0, 0); 2]; 10];
    for (w, st) in sts.iter().enumerate() {
        for (r, k) in keys::<Hw>(st, first).into_iter().enumerate() {
            ways[r][w] = k.xor(constant);
        }
    }
    ways.map(|key| {
        let mut planes = [L::join(&key); 8];
        transpose(&mut planes);
        planes
    })
}

/// State bytes 64..192 of each way, sliced. Lanes past the ways get zeros.
#[inline(always)]
fn sliced_blocks<L: Lanes>(sts: &[State]) -> [L; 8] {
    let mut ways = [[Hw::set(0, 0); 2]; 8];
    for (w, st) in sts.iter().enumerate() {
        for (i, b) in blocks::<Hw>(st).into_iter().enumerate() {
            ways[i][w] = b;
        }
    }
    let mut planes = ways.map(|block| L::join(&block));
    transpose(&mut planes);
    planes
}

/// Up to [`Lanes::WAYS`] ways' planes and sliced keys, and their scratchpads; a lane without a
/// way runs on zeros and is never stored.
struct Sliced<'a, L: Lanes> {
    x: [L; 8],
    k: [[L; 8]; 10],
    sps: &'a [*mut u8],
}

impl<L: Lanes> Fill for Sliced<'_, L> {
    #[inline(always)]
    fn rounds(&mut self) {
        ten_rounds(&mut self.x, &self.k);
    }

    #[inline(always)]
    fn mix(&mut self) {
        mix(&mut self.x);
    }

    /// Un-slices a copy: the state itself stays sliced across the whole pad.
    #[inline(always)]
    unsafe fn store(&self, off: usize) {
        let mut out = self.x;
        transpose(&mut out);
        for (i, v) in out.iter().enumerate() {
            for (w, &sp) in self.sps.iter().enumerate() {
                // SAFETY: off + 16 i + 16 <= off + 128, inside the pad; aligned as sp is.
                unsafe { _mm_store_si128(sp.add(off + 16 * i) as *mut __m128i, v.lane(w)) };
            }
        }
    }

    /// Slices the loaded chunk and XORs it in (slicing is linear).
    #[inline(always)]
    unsafe fn absorb(&mut self, off: usize) {
        let mut chunk: [L; 8] = core::array::from_fn(|i| {
            let mut ways = [Hw::set(0, 0); 2];
            for (way, &sp) in ways.iter_mut().zip(self.sps) {
                // SAFETY: as in `store`.
                *way = unsafe { _mm_load_si128(sp.add(off + 16 * i) as *const __m128i) };
            }
            L::join(&ways)
        });
        transpose(&mut chunk);
        for (v, c) in self.x.iter_mut().zip(chunk) {
            *v = v.xor(c);
        }
    }
}

/// Fills `memory` bytes at each of `sps` as [`explode`](super::explode) does, one way per lane.
///
/// # Safety
/// The CPU has what `L` is compiled for (inlined into `explode_1` or `explode_2`); `sts` and
/// `sps` hold the same number of entries, at most [`Lanes::WAYS`]; each of `sps` is 16-byte
/// aligned and valid for `memory` bytes of writes; `memory` is a multiple of 128.
#[inline(always)]
unsafe fn explode_lanes<L: Lanes>(sts: &[State], sps: &[*mut u8], memory: usize, heavy: bool) {
    debug_assert!(sts.len() == sps.len() && sps.len() <= L::WAYS);
    let mut f = Sliced {
        x: sliced_blocks::<L>(sts),
        k: sliced_keys::<L>(sts, 0),
        sps,
    };
    // SAFETY: forwarded from the caller.
    unsafe { explode_with(&mut f, memory, heavy) };
}

/// Folds each way's scratchpad back into its state bytes 64..192 as
/// [`implode`](super::implode) does, one way per lane.
///
/// # Safety
/// As for [`explode_lanes`], for reads.
#[inline(always)]
unsafe fn implode_lanes<L: Lanes>(sts: &mut [State], sps: &[*mut u8], memory: usize, heavy: bool) {
    debug_assert!(sts.len() == sps.len() && sps.len() <= L::WAYS);
    let mut f = Sliced {
        x: sliced_blocks::<L>(sts),
        k: sliced_keys::<L>(sts, 4),
        sps,
    };
    // SAFETY: forwarded from the caller.
    unsafe { implode_with(&mut f, memory, heavy) };
    let mut x = f.x;
    transpose(&mut x);
    for (w, st) in sts.iter_mut().enumerate() {
        for (i, v) in x.iter().enumerate() {
            [st[8 + 2 * i], st[9 + 2 * i]] = Hw::halves(v.lane(w));
        }
    }
}

/// One way, in 128-bit registers.
///
/// # Safety
/// The CPU has SSSE3 ([`Cpu::bitslice_fill`](crate::cpu::Cpu::bitslice_fill)); as for
/// [`explode_lanes`] otherwise.
#[target_feature(enable = "ssse3")]
unsafe fn explode_1(sts: &[State], sps: &[*mut u8], memory: usize, heavy: bool) {
    // SAFETY: forwarded from the caller.
    unsafe { explode_lanes::<__m128i>(sts, sps, memory, heavy) }
}

/// # Safety
/// As for [`explode_1`], for reads.
#[target_feature(enable = "ssse3")]
unsafe fn implode_1(sts: &mut [State], sps: &[*mut u8], memory: usize, heavy: bool) {
    // SAFETY: forwarded from the caller.
    unsafe { implode_lanes::<__m128i>(sts, sps, memory, heavy) }
}

/// Up to two ways, one per 128-bit lane of 256-bit registers (an odd last way alone, its
/// partner lane idle: a 256-bit operation costs what a 128-bit one does on AVX2 cores).
///
/// # Safety
/// The CPU has AVX2 ([`Cpu::bitslice_pairs`](crate::cpu::Cpu::bitslice_pairs)); as for
/// [`explode_lanes`] otherwise.
#[target_feature(enable = "avx2")]
unsafe fn explode_2(sts: &[State], sps: &[*mut u8], memory: usize, heavy: bool) {
    // SAFETY: forwarded from the caller.
    unsafe { explode_lanes::<__m256i>(sts, sps, memory, heavy) }
}

/// # Safety
/// As for [`explode_2`], for reads.
#[target_feature(enable = "avx2")]
unsafe fn implode_2(sts: &mut [State], sps: &[*mut u8], memory: usize, heavy: bool) {
    // SAFETY: forwarded from the caller.
    unsafe { implode_lanes::<__m256i>(sts, sps, memory, heavy) }
}

impl WideFill for Soft {
    #[inline(always)]
    unsafe fn explode_wide<const W: usize>(
        states: &[State; W],
        sps: &[*mut u8; W],
        memory: usize,
        heavy: bool,
        paths: Paths,
    ) -> bool {
        let (group, fill) = if paths.pairs {
            (2, explode_2 as unsafe fn(&[State], &[*mut u8], usize, bool))
        } else {
            (1, explode_1 as unsafe fn(&[State], &[*mut u8], usize, bool))
        };
        for (sts, sps) in states.chunks(group).zip(sps.chunks(group)) {
            // SAFETY: the caller vouches for the CPU and the scratchpads.
            unsafe { fill(sts, sps, memory, heavy) };
        }
        true
    }

    #[inline(always)]
    unsafe fn implode_wide<const W: usize>(
        states: &mut [State; W],
        sps: &[*mut u8; W],
        memory: usize,
        heavy: bool,
        paths: Paths,
    ) -> bool {
        let (group, fold) = if paths.pairs {
            (
                2,
                implode_2 as unsafe fn(&mut [State], &[*mut u8], usize, bool),
            )
        } else {
            (
                1,
                implode_1 as unsafe fn(&mut [State], &[*mut u8], usize, bool),
            )
        };
        for (sts, sps) in states.chunks_mut(group).zip(sps.chunks(group)) {
            // SAFETY: the caller vouches for the CPU and the scratchpads.
            unsafe { fold(sts, sps, memory, heavy) };
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
    fn bitsliced_explode_and_implode_match_the_tables_at_one_to_five_ways() {
        if !test_can_run(CpuPath::Ssse3) {
            return;
        }
        // One way per register, then (where this CPU has AVX2) two.
        let mut fills = vec![false];
        if test_can_run(CpuPath::Avx2) {
            fills.push(true);
        }
        for pairs in fills {
            let paths = Paths {
                wide: true,
                pairs,
                asm: false,
            };
            for heavy in [false, true] {
                for seed in 0..3 {
                    // SAFETY: this CPU runs what `paths` turns on; the tables run anywhere.
                    unsafe {
                        wide_matches_narrow::<Soft, 1>(64 << 10, heavy, seed, paths);
                        wide_matches_narrow::<Soft, 2>(64 << 10, heavy, seed, paths);
                        wide_matches_narrow::<Soft, 3>(32 << 10, heavy, seed, paths);
                        wide_matches_narrow::<Soft, 4>(16 << 10, heavy, seed, paths);
                        wide_matches_narrow::<Soft, 5>(16 << 10, heavy, seed, paths);
                    }
                }
            }
        }
    }
}
