//! Scratchpad fill from the Keccak state ("explode") and the fold back into it ("implode").

use super::backend::Backend;
use super::keccak_state::State;
use super::kernel::Paths;
use super::soft_aes::expand_key;

/// Round keys from 32 bytes of the state starting at lane `first`.
#[inline(always)]
pub(super) fn keys<B: Backend>(st: &State, first: usize) -> [B::V; 10] {
    let mut key = [0u8; 32];
    for (k, lane) in key.chunks_exact_mut(8).zip(&st[first..first + 4]) {
        k.copy_from_slice(&lane.to_le_bytes());
    }
    expand_key(&key).map(B::from_halves)
}

/// The eight 16-byte blocks at state bytes 64..192.
#[inline(always)]
pub(super) fn blocks<B: Backend>(st: &State) -> [B::V; 8] {
    core::array::from_fn(|i| B::set(st[8 + 2 * i], st[9 + 2 * i]))
}

#[inline(always)]
fn ten_rounds<B: Backend>(x: &mut [B::V; 8], k: &[B::V; 10]) {
    for key in k {
        for v in x.iter_mut() {
            *v = B::aesenc(*v, *key);
        }
    }
}

/// The heavy variants' extra diffusion between the eight blocks.
#[inline(always)]
fn mix<B: Backend>(x: &mut [B::V; 8]) {
    let first = x[0];
    for i in 0..7 {
        x[i] = B::xor(x[i], x[i + 1]);
    }
    x[7] = B::xor(x[7], first);
}

/// A wider AES than the backend's one round per block for explode and implode, where the backend
/// has one: VAES for AES-NI (`explode_vaes`), bitsliced for the table path (`explode_bitslice`).
pub(crate) trait WideFill: Backend {
    /// Explodes every way's scratchpad and returns true, or returns false having done nothing.
    ///
    /// # Safety
    /// As for [`explode`], for each way; the CPU has the wide path's features
    /// ([`Cpu::vaes_fill`](crate::cpu::Cpu::vaes_fill) for AES-NI,
    /// [`Cpu::bitslice_fill`](crate::cpu::Cpu::bitslice_fill) for the table path, and
    /// [`Cpu::bitslice_pairs`](crate::cpu::Cpu::bitslice_pairs) where `paths.pairs`).
    #[inline(always)]
    unsafe fn explode_wide<const W: usize>(
        _states: &[State; W],
        _sps: &[*mut u8; W],
        _memory: usize,
        _heavy: bool,
        _paths: Paths,
    ) -> bool {
        false
    }

    /// Implodes every way's scratchpad and returns true, or returns false having done nothing.
    ///
    /// # Safety
    /// As for [`implode`], for each way; the CPU has the wide path's features.
    #[inline(always)]
    unsafe fn implode_wide<const W: usize>(
        _states: &mut [State; W],
        _sps: &[*mut u8; W],
        _memory: usize,
        _heavy: bool,
        _paths: Paths,
    ) -> bool {
        false
    }
}

// On x86-64 the table path's fill is bitsliced (`explode_bitslice`); elsewhere it has none.
#[cfg(not(target_arch = "x86_64"))]
impl WideFill for super::backend::Soft {}

/// Explodes every way's scratchpad: with `paths.wide`, on the wide path where there is one, else
/// way by way.
///
/// # Safety
/// As for [`explode`], for each way; the CPU runs what `paths` turns on.
#[inline(always)]
pub(crate) unsafe fn explode_ways<B: WideFill, const W: usize>(
    states: &[State; W],
    sps: &[*mut u8; W],
    memory: usize,
    heavy: bool,
    paths: Paths,
) {
    // SAFETY: forwarded from the caller.
    if paths.wide && unsafe { B::explode_wide(states, sps, memory, heavy, paths) } {
        return;
    }
    for (st, &sp) in states.iter().zip(sps) {
        // SAFETY: forwarded from the caller.
        unsafe { explode::<B>(st, sp, memory, heavy) };
    }
}

/// Implodes every way's scratchpad, as [`explode_ways`] explodes them.
///
/// # Safety
/// As for [`implode`], for each way; the CPU runs what `paths` turns on.
#[inline(always)]
pub(crate) unsafe fn implode_ways<B: WideFill, const W: usize>(
    states: &mut [State; W],
    sps: &[*mut u8; W],
    memory: usize,
    heavy: bool,
    paths: Paths,
) {
    // SAFETY: forwarded from the caller.
    if paths.wide && unsafe { B::implode_wide(states, sps, memory, heavy, paths) } {
        return;
    }
    for (st, &sp) in states.iter_mut().zip(sps) {
        // SAFETY: forwarded from the caller.
        unsafe { implode::<B>(st, sp, memory, heavy) };
    }
}

/// What explode and implode carry through the scratchpads: the eight blocks of one or more ways
/// and their ten round keys, in a layout of the fill's own (one way in the backend's values,
/// several in VAES or bitsliced registers). [`explode_with`] and [`implode_with`] hold
/// CryptoNight's schedule once for all of them.
pub(super) trait Fill {
    /// Ten AES rounds on every block.
    fn rounds(&mut self);
    /// The heavy variants' diffusion between each way's eight blocks.
    fn mix(&mut self);
    /// Stores each way's blocks as the 128 bytes at `off` of its scratchpad.
    ///
    /// # Safety
    /// `off + 128` is within every way's scratchpad, `off` a multiple of 128.
    unsafe fn store(&self, off: usize);
    /// XORs the 128 bytes at `off` of each way's scratchpad into its blocks.
    ///
    /// # Safety
    /// As for [`Fill::store`].
    unsafe fn absorb(&mut self, off: usize);
}

/// Explode: (heavy variants: 16 rounds and mixes first) then ten rounds per 128 bytes, stored.
///
/// # Safety
/// Every way's scratchpad holds `memory` bytes, a multiple of 128.
#[inline(always)]
pub(super) unsafe fn explode_with<F: Fill>(f: &mut F, memory: usize, heavy: bool) {
    if heavy {
        for _ in 0..16 {
            f.rounds();
            f.mix();
        }
    }
    let mut off = 0;
    while off < memory {
        f.rounds();
        // SAFETY: off + 128 <= memory.
        unsafe { f.store(off) };
        off += 128;
    }
}

/// Implode: each 128 bytes XORed in, then ten rounds (and a mix for the heavy variants, which
/// also take the pad twice and end with 16 rounds and mixes).
///
/// # Safety
/// As for [`explode_with`].
#[inline(always)]
pub(super) unsafe fn implode_with<F: Fill>(f: &mut F, memory: usize, heavy: bool) {
    let passes = if heavy { 2 } else { 1 };
    for _ in 0..passes {
        let mut off = 0;
        while off < memory {
            // SAFETY: off + 128 <= memory.
            unsafe { f.absorb(off) };
            f.rounds();
            if heavy {
                f.mix();
            }
            off += 128;
        }
    }
    if heavy {
        for _ in 0..16 {
            f.rounds();
            f.mix();
        }
    }
}

/// One way on the backend's own values.
struct Narrow<B: Backend> {
    x: [B::V; 8],
    k: [B::V; 10],
    sp: *mut u8,
}

impl<B: Backend> Fill for Narrow<B> {
    #[inline(always)]
    fn rounds(&mut self) {
        ten_rounds::<B>(&mut self.x, &self.k);
    }

    #[inline(always)]
    fn mix(&mut self) {
        mix::<B>(&mut self.x);
    }

    #[inline(always)]
    unsafe fn store(&self, off: usize) {
        for (i, v) in self.x.iter().enumerate() {
            // SAFETY: off + 16 * i + 16 <= off + 128, inside the pad; aligned as sp is.
            unsafe { B::store(self.sp.add(off + 16 * i), *v) };
        }
    }

    #[inline(always)]
    unsafe fn absorb(&mut self, off: usize) {
        for (i, v) in self.x.iter_mut().enumerate() {
            // SAFETY: as in `store`.
            *v = B::xor(*v, unsafe { B::load(self.sp.add(off + 16 * i)) });
        }
    }
}

/// Fills `memory` bytes at `sp` with the AES stream seeded by the state.
///
/// # Safety
/// `sp` must be 16-byte aligned and valid for `memory` bytes of writes; `memory` a multiple of 128.
#[inline(always)]
unsafe fn explode<B: Backend>(st: &State, sp: *mut u8, memory: usize, heavy: bool) {
    let mut f = Narrow::<B> {
        x: blocks::<B>(st),
        k: keys::<B>(st, 0),
        sp,
    };
    // SAFETY: forwarded from the caller.
    unsafe { explode_with(&mut f, memory, heavy) };
}

/// Folds the scratchpad back into state bytes 64..192.
///
/// # Safety
/// As for [`explode`], for reads.
#[inline(always)]
unsafe fn implode<B: Backend>(st: &mut State, sp: *const u8, memory: usize, heavy: bool) {
    let mut f = Narrow::<B> {
        x: blocks::<B>(st),
        k: keys::<B>(st, 4),
        // Only read through: `absorb` loads.
        sp: sp.cast_mut(),
    };
    // SAFETY: forwarded from the caller.
    unsafe { implode_with(&mut f, memory, heavy) };
    for (i, v) in f.x.iter().enumerate() {
        st[8 + 2 * i] = B::lo(*v);
        st[9 + 2 * i] = B::hi(*v);
    }
}
