//! The software path's main loop on SSE2 registers: 128-bit values in xmm, only the table round's lookups in general registers.
//!
//! Held as two `u64`s ([`Soft`]), several ways' values and the round's byte indices compete for
//! the sixteen general registers and spill; SSE2 is in every x86-64 CPU, so every CPU without
//! AES-NI runs this. Measured against the plain words in `benches/README.md` ("The software main
//! loop on SSE2 registers").

use core::arch::x86_64::__m128i;

use super::aesni::Hw;
use super::backend::{Backend, Soft};
use super::explode::WideFill;
use super::keccak_state::State;
use super::kernel::Paths;
use super::main_loop::{AsmLoop, Conceal};
use super::soft_aes;

pub(crate) struct SoftSse;

impl Backend for SoftSse {
    type V = __m128i;

    #[inline(always)]
    unsafe fn load(p: *const u8) -> __m128i {
        // SAFETY: forwarded from the caller.
        unsafe { Hw::load(p) }
    }

    #[inline(always)]
    unsafe fn store(p: *mut u8, v: __m128i) {
        // SAFETY: forwarded from the caller.
        unsafe { Hw::store(p, v) }
    }

    #[inline(always)]
    fn set(lo: u64, hi: u64) -> __m128i {
        Hw::set(lo, hi)
    }

    #[inline(always)]
    fn lo(v: __m128i) -> u64 {
        Hw::lo(v)
    }

    #[inline(always)]
    fn hi(v: __m128i) -> u64 {
        Hw::hi(v)
    }

    #[inline(always)]
    fn xor(a: __m128i, b: __m128i) -> __m128i {
        Hw::xor(a, b)
    }

    #[inline(always)]
    fn add64(a: __m128i, b: __m128i) -> __m128i {
        Hw::add64(a, b)
    }

    #[inline(always)]
    fn aesenc(v: __m128i, key: __m128i) -> __m128i {
        Hw::from_halves(soft_aes::round(Hw::halves(v), Hw::halves(key)))
    }
}

impl Conceal for SoftSse {
    type F = <Hw as Conceal>::F;

    #[inline(always)]
    fn conceal_init() -> Self::F {
        Hw::conceal_init()
    }

    #[inline(always)]
    fn conceal(c: __m128i, conc: &mut Self::F) -> __m128i {
        Hw::conceal(c, conc)
    }
}

impl AsmLoop for SoftSse {}

impl WideFill for SoftSse {
    #[inline(always)]
    unsafe fn explode_wide<const W: usize>(
        states: &[State; W],
        sps: &[*mut u8; W],
        memory: usize,
        heavy: bool,
        paths: Paths,
    ) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { Soft::explode_wide(states, sps, memory, heavy, paths) }
    }

    #[inline(always)]
    unsafe fn implode_wide<const W: usize>(
        states: &mut [State; W],
        sps: &[*mut u8; W],
        memory: usize,
        heavy: bool,
        paths: Paths,
    ) -> bool {
        // SAFETY: forwarded from the caller.
        unsafe { Soft::implode_wide(states, sps, memory, heavy, paths) }
    }
}
