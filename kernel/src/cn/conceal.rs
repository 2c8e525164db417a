//! cn/ccx's "conceal" step: the line is mixed with a running float accumulator before the AES round.
//!
//! Single-precision arithmetic in round-to-nearest, exactly as SSE computes it; the scalar and SSE
//! versions give identical bits.

use super::backend::Soft;
use super::main_loop::Conceal;
use super::soft_aes::{from_words, to_words};

const KEEP: u32 = 0x807F_FFFF;
const EXP: u32 = 0x4000_0000;
const SCALE: f32 = 536_870_880.0;

impl Conceal for Soft {
    type F = [f32; 4];

    #[inline(always)]
    fn conceal_init() -> [f32; 4] {
        [0.0; 4]
    }

    #[inline(always)]
    fn conceal(c: [u64; 2], conc: &mut [f32; 4]) -> [u64; 2] {
        let w = to_words(c);
        let mut out = w;
        for i in 0..4 {
            let r = (w[i] as i32) as f32 + conc[i];
            let r = r * (r * r);
            // Keep sign and mantissa, force the exponent: a value in [2, 4) with r's bits.
            let r = f32::from_bits((r.to_bits() & KEEP) | EXP);
            let old = f32::from_bits((conc[i].to_bits() & KEEP) | EXP);
            conc[i] += r;
            out[i] = w[i] ^ ((old * SCALE) as i32 as u32);
        }
        from_words(out)
    }
}

#[cfg(target_arch = "x86_64")]
mod sse {
    use core::arch::x86_64::*;

    use super::super::aesni::Hw;
    use super::super::main_loop::Conceal;
    use super::{EXP, KEEP, SCALE};

    impl Conceal for Hw {
        type F = __m128;

        #[inline(always)]
        fn conceal_init() -> __m128 {
            // SAFETY: SSE2 is part of the x86-64 baseline.
            unsafe { _mm_setzero_ps() }
        }

        #[inline(always)]
        fn conceal(c: __m128i, conc: &mut __m128) -> __m128i {
            // SAFETY: SSE2 is part of the x86-64 baseline.
            unsafe {
                let keep = _mm_castsi128_ps(_mm_set1_epi32(KEEP as i32));
                let exp = _mm_castsi128_ps(_mm_set1_epi32(EXP as i32));
                let r = _mm_add_ps(_mm_cvtepi32_ps(c), *conc);
                let r = _mm_mul_ps(r, _mm_mul_ps(r, r));
                let r = _mm_or_ps(_mm_and_ps(keep, r), exp);
                let old = _mm_or_ps(_mm_and_ps(keep, *conc), exp);
                *conc = _mm_add_ps(*conc, r);
                let nc = _mm_mul_ps(old, _mm_set1_ps(SCALE));
                _mm_xor_si128(c, _mm_cvttps_epi32(nc))
            }
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::super::aesni::Hw;
    use super::super::backend::{Backend, Soft};
    use super::*;

    #[test]
    fn scalar_and_sse_agree() {
        let mut soft = Soft::conceal_init();
        let mut hw = Hw::conceal_init();
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let c = [x, x.rotate_left(29)];
            let a = Soft::conceal(c, &mut soft);
            let b = Hw::halves(Hw::conceal(Hw::from_halves(c), &mut hw));
            assert_eq!(a, b);
        }
    }
}
