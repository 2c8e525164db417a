//! Bitsliced AES rounds: eight blocks as eight bit planes, one way per 128-bit lane.
//!
//! Plane `i` holds bit `i` of all 128 bytes of a way's eight blocks: its byte `j` the bits of
//! state byte `j`, and within that byte, bit `k` that of block `k` (Käsper and Schwabe, CHES
//! 2009). SubBytes is then a boolean circuit over the planes ([`sbox_planes`]), and ShiftRows and
//! MixColumns' rotations move whole bytes, one `pshufb` per plane. A 256-bit register carries two
//! ways, since `vpshufb` gathers within each 128-bit lane.

use core::arch::x86_64::*;
use core::ops::{BitAnd, BitXor};

use super::sbox_circuit::sbox_planes;

/// A register of bit planes, one way's plane in each 128-bit lane: what the rounds are written
/// on.
pub(super) trait Lanes: Copy {
    /// Ways side by side.
    const WAYS: usize;
    /// [`shift_rows`] in every lane.
    const SHIFT_ROWS: Self;
    /// ShiftRows, then each column rotated up one row: MixColumns' `a[r + 1]` after ShiftRows.
    const SHIFT_ROWS_ROTATE_1: Self;
    /// [`rotate_rows`] by two in every lane.
    const ROTATE_2: Self;
    fn xor(self, other: Self) -> Self;
    fn and(self, other: Self) -> Self;
    fn or(self, other: Self) -> Self;
    /// `byte` in every byte.
    fn splat(byte: i8) -> Self;
    /// Each 64-bit lane shifted right by `N` bits.
    fn shr<const N: i32>(self) -> Self;
    /// Each 64-bit lane shifted left by `N` bits.
    fn shl<const N: i32>(self) -> Self;
    /// `pshufb`: each 128-bit lane gathered by the bytes of `m`'s.
    fn shuffle(self, m: Self) -> Self;
    /// One value per way, way `w` in lane `w`; `ways` holds [`Lanes::WAYS`].
    fn join(ways: &[__m128i]) -> Self;
    /// Way `w`'s lane.
    fn lane(self, w: usize) -> __m128i;
}

const fn gather(m: [u8; 16]) -> __m128i {
    // SAFETY: `__m128i` is 16 plain bytes; any bit pattern is a valid value.
    unsafe { core::mem::transmute::<[u8; 16], __m128i>(m) }
}

const fn gather2(m: [u8; 16]) -> __m256i {
    // SAFETY: `__m256i` is 32 plain bytes; any bit pattern is a valid value.
    unsafe { core::mem::transmute::<[[u8; 16]; 2], __m256i>([m, m]) }
}

impl Lanes for __m128i {
    const WAYS: usize = 1;
    const SHIFT_ROWS: __m128i = gather(shift_rows());
    const SHIFT_ROWS_ROTATE_1: __m128i = gather(then(shift_rows(), rotate_rows(1)));
    const ROTATE_2: __m128i = gather(rotate_rows(2));

    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        // SAFETY: SSE2 is part of x86-64.
        unsafe { _mm_xor_si128(self, other) }
    }

    #[inline(always)]
    fn and(self, other: Self) -> Self {
        // SAFETY: SSE2 is part of x86-64.
        unsafe { _mm_and_si128(self, other) }
    }

    #[inline(always)]
    fn or(self, other: Self) -> Self {
        // SAFETY: SSE2 is part of x86-64.
        unsafe { _mm_or_si128(self, other) }
    }

    #[inline(always)]
    fn splat(byte: i8) -> Self {
        // SAFETY: SSE2 is part of x86-64.
        unsafe { _mm_set1_epi8(byte) }
    }

    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        // SAFETY: SSE2 is part of x86-64.
        unsafe { _mm_srli_epi64::<N>(self) }
    }

    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        // SAFETY: SSE2 is part of x86-64.
        unsafe { _mm_slli_epi64::<N>(self) }
    }

    #[inline(always)]
    fn shuffle(self, m: Self) -> Self {
        // SAFETY: SSSE3 is enabled in every function this is inlined into (the fill's `explode_1` and its kin).
        unsafe { _mm_shuffle_epi8(self, m) }
    }

    #[inline(always)]
    fn join(ways: &[__m128i]) -> Self {
        ways[0]
    }

    #[inline(always)]
    fn lane(self, _w: usize) -> __m128i {
        self
    }
}

impl Lanes for __m256i {
    const WAYS: usize = 2;
    const SHIFT_ROWS: __m256i = gather2(shift_rows());
    const SHIFT_ROWS_ROTATE_1: __m256i = gather2(then(shift_rows(), rotate_rows(1)));
    const ROTATE_2: __m256i = gather2(rotate_rows(2));

    // SAFETY (every method): AVX2 is enabled in every function these are inlined into
    // (the fill's `explode_2` and `implode_2`).
    #[inline(always)]
    fn xor(self, other: Self) -> Self {
        // SAFETY: see above.
        unsafe { _mm256_xor_si256(self, other) }
    }

    #[inline(always)]
    fn and(self, other: Self) -> Self {
        // SAFETY: see above.
        unsafe { _mm256_and_si256(self, other) }
    }

    #[inline(always)]
    fn or(self, other: Self) -> Self {
        // SAFETY: see above.
        unsafe { _mm256_or_si256(self, other) }
    }

    #[inline(always)]
    fn splat(byte: i8) -> Self {
        // SAFETY: see above.
        unsafe { _mm256_set1_epi8(byte) }
    }

    #[inline(always)]
    fn shr<const N: i32>(self) -> Self {
        // SAFETY: see above.
        unsafe { _mm256_srli_epi64::<N>(self) }
    }

    #[inline(always)]
    fn shl<const N: i32>(self) -> Self {
        // SAFETY: see above.
        unsafe { _mm256_slli_epi64::<N>(self) }
    }

    #[inline(always)]
    fn shuffle(self, m: Self) -> Self {
        // SAFETY: see above.
        unsafe { _mm256_shuffle_epi8(self, m) }
    }

    #[inline(always)]
    fn join(ways: &[__m128i]) -> Self {
        // SAFETY: see above.
        unsafe { _mm256_set_m128i(ways[1], ways[0]) }
    }

    #[inline(always)]
    fn lane(self, w: usize) -> __m128i {
        // SAFETY: see above.
        unsafe {
            if w == 0 {
                _mm256_castsi256_si128(self)
            } else {
                _mm256_extracti128_si256::<1>(self)
            }
        }
    }
}

/// One plane register as the S-box circuit's bit type.
#[derive(Clone, Copy)]
struct Plane<L>(L);

impl<L: Lanes> BitXor for Plane<L> {
    type Output = Plane<L>;

    #[inline(always)]
    fn bitxor(self, other: Plane<L>) -> Plane<L> {
        Plane(self.0.xor(other.0))
    }
}

impl<L: Lanes> BitAnd for Plane<L> {
    type Output = Plane<L>;

    #[inline(always)]
    fn bitand(self, other: Plane<L>) -> Plane<L> {
        Plane(self.0.and(other.0))
    }
}

/// ShiftRows as a byte gather: output byte `4c + r` (column `c`, row `r`) is input byte
/// `4((c + r) mod 4) + r`.
const fn shift_rows() -> [u8; 16] {
    let mut m = [0u8; 16];
    let mut j = 0;
    while j < 16 {
        let (c, r) = (j / 4, j % 4);
        m[j] = (4 * ((c + r) % 4) + r) as u8;
        j += 1;
    }
    m
}

/// Each column's bytes rotated by `n` rows: output row `r` is input row `r + n mod 4`.
const fn rotate_rows(n: usize) -> [u8; 16] {
    let mut m = [0u8; 16];
    let mut j = 0;
    while j < 16 {
        m[j] = (4 * (j / 4) + (j % 4 + n) % 4) as u8;
        j += 1;
    }
    m
}

/// The gather of `first` then `then`, as one.
const fn then(first: [u8; 16], then: [u8; 16]) -> [u8; 16] {
    let mut m = [0u8; 16];
    let mut j = 0;
    while j < 16 {
        m[j] = first[then[j] as usize];
        j += 1;
    }
    m
}

/// Swaps the bits of `a` selected by `mask << N` with those of `b` selected by `mask`.
#[inline(always)]
fn swap_move<L: Lanes, const N: i32>(a: L, b: L, mask: L) -> (L, L) {
    let t = a.shr::<N>().xor(b).and(mask);
    (a.xor(t.shl::<N>()), b.xor(t))
}

/// Transposes, in every byte position at once, the 8 × 8 bit matrix of (register, bit): eight
/// blocks become eight planes, and the same call turns planes back into blocks.
///
/// Each stage swaps one bit of the register index with the same bit of the bit index, so the
/// stages are involutions that commute, and so is the whole.
#[inline(always)]
pub(super) fn transpose<L: Lanes>(r: &mut [L; 8]) {
    let (m1, m2, m4) = (L::splat(0x55), L::splat(0x33), L::splat(0x0f));
    for p in [0, 2, 4, 6] {
        (r[p], r[p + 1]) = swap_move::<L, 1>(r[p], r[p + 1], m1);
    }
    for p in [0, 1, 4, 5] {
        (r[p], r[p + 2]) = swap_move::<L, 2>(r[p], r[p + 2], m2);
    }
    for p in [0, 1, 2, 3] {
        (r[p], r[p + 4]) = swap_move::<L, 4>(r[p], r[p + 4], m4);
    }
}

/// One full AES round (SubBytes, ShiftRows, MixColumns, AddRoundKey) on the eight blocks of each
/// way.
///
/// `key` is the sliced round key with the S-box's constant 0x63 already XORed into every byte
/// (see [`sbox_planes`]).
#[inline(always)]
pub(super) fn round<L: Lanes>(x: &mut [L; 8], key: &[L; 8]) {
    let s = sbox_planes(x.map(Plane)).map(|p| p.0);
    // MixColumns per column: 2 a[r] ^ 3 a[r+1] ^ a[r+2] ^ a[r+3]
    //   = 2 (a[r] ^ a[r+1]) ^ a[r+1] ^ (a[r+2] ^ a[r+3]),
    // with a = ShiftRows(s), b = a rotated one row, t = a ^ b, and t rotated two rows.
    let b: [L; 8] = core::array::from_fn(|i| s[i].shuffle(L::SHIFT_ROWS_ROTATE_1));
    let t: [L; 8] = core::array::from_fn(|i| s[i].shuffle(L::SHIFT_ROWS).xor(b[i]));
    // Doubling in GF(2^8) on planes: bits move up one, and bit 7 folds back as 0x1b (bits 0, 1,
    // 3 and 4).
    let double: [L; 8] = [
        t[7],
        t[0].xor(t[7]),
        t[1],
        t[2].xor(t[7]),
        t[3].xor(t[7]),
        t[4],
        t[5],
        t[6],
    ];
    for (i, v) in x.iter_mut().enumerate() {
        let far = t[i].shuffle(L::ROTATE_2);
        *v = double[i].xor(b[i]).xor(far.xor(key[i]));
    }
}

#[inline(always)]
pub(super) fn ten_rounds<L: Lanes>(x: &mut [L; 8], k: &[[L; 8]; 10]) {
    for key in k {
        round(x, key);
    }
}

/// The heavy variants' `x[i] ^= x[i + 1]` (and `x[7] ^= x[0]`): on planes, each byte XORed with
/// itself rotated right one bit, since bit `k` of a byte belongs to block `k`.
#[inline(always)]
pub(super) fn mix<L: Lanes>(x: &mut [L; 8]) {
    let (low7, high) = (L::splat(0x7f), L::splat(-0x80));
    for v in x.iter_mut() {
        let rotated = v.shr::<1>().and(low7).or(v.shl::<7>().and(high));
        *v = v.xor(rotated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cn::aesni::Hw;
    use crate::cn::backend::{Backend, Soft};
    use crate::cpu::{test_can_run, CpuPath};

    fn has_ssse3() -> bool {
        test_can_run(CpuPath::Ssse3)
    }

    /// Reproducible, varied 64-bit values (xorshift).
    fn values(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn slicing_puts_bit_i_of_block_k_in_plane_i_and_undoes_itself() {
        let mut next = values(7);
        let blocks: [[u64; 2]; 8] = core::array::from_fn(|_| [next(), next()]);
        let mut planes = blocks.map(Hw::from_halves);
        transpose(&mut planes);
        let bytes = |v: [u64; 2]| {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&v[0].to_le_bytes());
            b[8..].copy_from_slice(&v[1].to_le_bytes());
            b
        };
        for (i, plane) in planes.iter().enumerate() {
            let plane = bytes(Hw::halves(*plane));
            for (k, block) in blocks.iter().enumerate() {
                for (j, byte) in bytes(*block).iter().enumerate() {
                    assert_eq!((plane[j] >> k) & 1, (byte >> i) & 1, "plane {i} block {k}");
                }
            }
        }
        transpose(&mut planes);
        assert_eq!(planes.map(Hw::halves), blocks);
    }

    /// One sliced round on one way, as the fill runs it.
    #[target_feature(enable = "ssse3")]
    unsafe fn sliced_round(blocks: [[u64; 2]; 8], key: [u64; 2]) -> [[u64; 2]; 8] {
        let mut x = blocks.map(Hw::from_halves);
        transpose(&mut x);
        let mut k = [Hw::from_halves(key).xor(Hw::from_halves([0x6363_6363_6363_6363; 2])); 8];
        transpose(&mut k);
        round(&mut x, &k);
        transpose(&mut x);
        x.map(Hw::halves)
    }

    #[test]
    fn a_sliced_round_is_the_table_round_on_each_block() {
        if !has_ssse3() {
            return;
        }
        let mut next = values(0x0123_4567_89ab_cdef);
        for _ in 0..64 {
            let blocks: [[u64; 2]; 8] = core::array::from_fn(|_| [next(), next()]);
            let key = [next(), next()];
            // SAFETY: this CPU has SSSE3.
            let got = unsafe { sliced_round(blocks, key) };
            assert_eq!(got, blocks.map(|b| Soft::aesenc(b, key)));
        }
    }
}
