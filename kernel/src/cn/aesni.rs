//! The hardware backend: SSE2 registers and AES-NI `aesenc`.
//!
//! These methods are only ever inlined into functions compiled with at least
//! `#[target_feature(enable = "aes,sse2,sse4.1")]`, and those are only reached after
//! [`Cpu::aes_ni`](crate::cpu::Cpu::aes_ni) said yes.

use core::arch::x86_64::*;

use super::backend::{v1_flip, Backend};

/// Builds a vector constant from its 16 bytes, in memory order.
const fn bytes(b: [u8; 16]) -> __m128i {
    // SAFETY: any 16 bytes are a valid `__m128i`.
    unsafe { core::mem::transmute::<[u8; 16], __m128i>(b) }
}

/// 16 bytes, all zero but byte 11.
const fn at_byte_11(v: u8) -> __m128i {
    let mut b = [0u8; 16];
    b[11] = v;
    bytes(b)
}

/// `pshufb` table of variant 1's flip masks: entries 8-15 for the eight selectors, 0-7 zero (the
/// index every other byte gets).
const V1_FLIPS: __m128i = {
    let mut b = [0u8; 16];
    let mut i = 0;
    while i < 8 {
        b[8 + i] = v1_flip(i as u32);
        i += 1;
    }
    bytes(b)
};

pub(crate) struct Hw;

impl Backend for Hw {
    type V = __m128i;

    #[inline(always)]
    unsafe fn load(p: *const u8) -> __m128i {
        // SAFETY: the caller guarantees a valid, 16-byte aligned region.
        unsafe { _mm_load_si128(p as *const __m128i) }
    }

    #[inline(always)]
    unsafe fn store(p: *mut u8, v: __m128i) {
        // SAFETY: the caller guarantees a valid, 16-byte aligned region.
        unsafe { _mm_store_si128(p as *mut __m128i, v) }
    }

    #[inline(always)]
    fn set(lo: u64, hi: u64) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_set_epi64x(hi as i64, lo as i64) }
    }

    #[inline(always)]
    fn lo(v: __m128i) -> u64 {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_cvtsi128_si64(v) as u64 }
    }

    #[inline(always)]
    fn hi(v: __m128i) -> u64 {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_cvtsi128_si64(_mm_unpackhi_epi64(v, v)) as u64 }
    }

    #[inline(always)]
    fn xor(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_xor_si128(a, b) }
    }

    #[inline(always)]
    fn add64(a: __m128i, b: __m128i) -> __m128i {
        // SAFETY: SSE2 is part of the x86-64 baseline.
        unsafe { _mm_add_epi64(a, b) }
    }

    /// Byte 11's selector built in place (bits 4-5 shifted down to 1-2, bit 0, and 8 to pick the
    /// table's upper half; every other byte's index is 0, whose entry is 0), one `pshufb` for the
    /// flip mask and one xor: seven vector operations where the scalar form takes two lane
    /// extractions, a dozen integer operations and an insertion.
    #[inline(always)]
    fn v1_tweak(v: __m128i) -> __m128i {
        // SAFETY: only inlined into `#[target_feature(enable = "sse4.1")]` kernels (SSE4.1
        // implies the SSSE3 of `pshufb`), which run only after run-time detection (module comment).
        unsafe {
            let bits45 = _mm_and_si128(_mm_srli_epi16::<3>(v), at_byte_11(0x06));
            let bit0 = _mm_and_si128(v, at_byte_11(0x01));
            let index = _mm_or_si128(_mm_or_si128(bits45, bit0), at_byte_11(0x08));
            _mm_xor_si128(v, _mm_shuffle_epi8(V1_FLIPS, index))
        }
    }

    #[inline(always)]
    fn aesenc(v: __m128i, key: __m128i) -> __m128i {
        // SAFETY: only inlined into `#[target_feature(enable = "aes")]` kernels, which run only
        // after run-time detection found AES-NI (see the module comment).
        unsafe { _mm_aesenc_si128(v, key) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cn::backend::check_v1_tweak;
    use crate::cpu::{test_can_run, CpuPath};

    #[test]
    fn vector_v1_tweak_equals_the_scalar_one_for_every_byte_11() {
        if test_can_run(CpuPath::Aes) {
            check_v1_tweak::<Hw>();
        }
    }
}
