//! The 128-bit operations the hash loop is written against; one implementation per AES path.
//!
//! Every method is `#[inline(always)]` so that, once the loop is monomorphised over a backend,
//! no call or dispatch is left inside it.

use super::soft_aes;

/// 128-bit lane operations plus one AES round. `V` is the register type of the backend.
pub(crate) trait Backend {
    type V: Copy;

    /// Loads 16 bytes.
    ///
    /// # Safety
    /// `p` must be valid for a 16-byte read and 16-byte aligned.
    unsafe fn load(p: *const u8) -> Self::V;

    /// Stores 16 bytes.
    ///
    /// # Safety
    /// `p` must be valid for a 16-byte write and 16-byte aligned.
    unsafe fn store(p: *mut u8, v: Self::V);

    fn set(lo: u64, hi: u64) -> Self::V;
    fn lo(v: Self::V) -> u64;
    fn hi(v: Self::V) -> u64;
    fn xor(a: Self::V, b: Self::V) -> Self::V;
    /// Lane-wise 64-bit wrapping add.
    fn add64(a: Self::V, b: Self::V) -> Self::V;
    /// One AES encryption round with round key `key`.
    fn aesenc(v: Self::V, key: Self::V) -> Self::V;

    /// Variant 1's tweak of the first store: bits 4 and 5 of byte 11 flipped as a 3-bit selector
    /// from bits 0, 4 and 5 of the same byte says.
    #[inline(always)]
    fn v1_tweak(v: Self::V) -> Self::V {
        Self::set(Self::lo(v), v1_byte_tweak(Self::hi(v)))
    }

    #[inline(always)]
    fn from_halves(v: [u64; 2]) -> Self::V {
        Self::set(v[0], v[1])
    }

    #[inline(always)]
    fn halves(v: Self::V) -> [u64; 2] {
        [Self::lo(v), Self::hi(v)]
    }
}

/// [`Backend::v1_tweak`] on the high half (byte 11 of the block is byte 3 of `hi`).
#[inline(always)]
pub(crate) fn v1_byte_tweak(hi: u64) -> u64 {
    let tmp = (hi >> 24) as u8;
    let index = (((tmp >> 3) & 6) | (tmp & 1)) << 1;
    hi ^ ((((0x75310u32 >> index) & 0x30) as u64) << 24)
}

/// The flip mask [`v1_byte_tweak`] applies for each of the 8 selector values, shifted to bits 4-5.
pub(crate) const fn v1_flip(selector: u32) -> u8 {
    ((0x75310u32 >> (2 * selector)) & 0x30) as u8
}

/// Portable backend: two u64 halves and the T-table round.
pub(crate) struct Soft;

impl Backend for Soft {
    type V = [u64; 2];

    #[inline(always)]
    unsafe fn load(p: *const u8) -> [u64; 2] {
        // SAFETY: the caller guarantees a valid, aligned 16-byte region.
        unsafe { (p as *const [u64; 2]).read() }
    }

    #[inline(always)]
    unsafe fn store(p: *mut u8, v: [u64; 2]) {
        // SAFETY: the caller guarantees a valid, aligned 16-byte region.
        unsafe { (p as *mut [u64; 2]).write(v) }
    }

    #[inline(always)]
    fn set(lo: u64, hi: u64) -> [u64; 2] {
        [lo, hi]
    }

    #[inline(always)]
    fn lo(v: [u64; 2]) -> u64 {
        v[0]
    }

    #[inline(always)]
    fn hi(v: [u64; 2]) -> u64 {
        v[1]
    }

    #[inline(always)]
    fn xor(a: [u64; 2], b: [u64; 2]) -> [u64; 2] {
        [a[0] ^ b[0], a[1] ^ b[1]]
    }

    #[inline(always)]
    fn add64(a: [u64; 2], b: [u64; 2]) -> [u64; 2] {
        [a[0].wrapping_add(b[0]), a[1].wrapping_add(b[1])]
    }

    #[inline(always)]
    fn aesenc(v: [u64; 2], key: [u64; 2]) -> [u64; 2] {
        soft_aes::round(v, key)
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) use super::aesni::Hw;

/// Checks `B`'s [`Backend::v1_tweak`] against [`v1_byte_tweak`] for every value of byte 11, with
/// random neighbours that must come through untouched.
#[cfg(test)]
pub(crate) fn check_v1_tweak<B: Backend>() {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for byte in 0..=255u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let (lo, hi) = (x, (x.rotate_left(29) & !(0xff << 24)) | byte << 24);
        let got = B::halves(B::v1_tweak(B::set(lo, hi)));
        assert_eq!(got, [lo, v1_byte_tweak(hi)], "byte 11 = {byte:#04x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_byte_tweak_flips_only_bits_of_byte_11() {
        for byte in 0..=255u64 {
            let hi = byte << 24;
            let t = v1_byte_tweak(hi);
            assert_eq!(t & !(0x30 << 24), hi & !(0x30 << 24));
            let selector = (((byte >> 3) & 6) | (byte & 1)) as u32;
            assert_eq!(((t ^ hi) >> 24) as u8, v1_flip(selector));
        }
        check_v1_tweak::<Soft>();
    }
}
