//! The hardware backend: SSE2 registers and AES-NI `aesenc`.
//!
//! These methods are only ever inlined into functions compiled with
//! `#[target_feature(enable = "aes,sse2,sse4.1")]`, and those are only reached after
//! [`AesPath::hardware_available`](super::AesPath::hardware_available) said yes.

use core::arch::x86_64::*;

use super::backend::Backend;

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

    #[inline(always)]
    fn aesenc(v: __m128i, key: __m128i) -> __m128i {
        // SAFETY: only inlined into `#[target_feature(enable = "aes")]` kernels, which run only
        // after run-time detection found AES-NI (see the module comment).
        unsafe { _mm_aesenc_si128(v, key) }
    }
}
