//! Portable AES: the S-box, T-tables, one encryption round and the CryptoNight key schedule.
//!
//! Tables are built at compile time. Nothing secret flows through them (the keys are the public
//! Keccak state), so the table lookups' timing does not matter here.

const fn xtime(x: u8) -> u8 {
    (x << 1) ^ (if x & 0x80 != 0 { 0x1B } else { 0 })
}

/// The AES S-box, from the multiplicative inverse and the affine map.
const fn make_sbox() -> [u8; 256] {
    let mut sbox = [0u8; 256];
    let mut p: u8 = 1;
    let mut q: u8 = 1;
    // p walks GF(2^8)* by powers of 3, q by powers of 3^-1 = 0xf6, so q = p^-1 throughout.
    loop {
        p ^= xtime(p);
        q ^= q << 1;
        q ^= q << 2;
        q ^= q << 4;
        if q & 0x80 != 0 {
            q ^= 0x09;
        }
        let x = q ^ q.rotate_left(1) ^ q.rotate_left(2) ^ q.rotate_left(3) ^ q.rotate_left(4);
        sbox[p as usize] = x ^ 0x63;
        if p == 1 {
            break;
        }
    }
    sbox[0] = 0x63;
    sbox
}

pub const SBOX: [u8; 256] = make_sbox();

/// T-table k: SubBytes + MixColumns for a byte in row k, as a little-endian column word.
const fn make_table(k: u32) -> [u32; 256] {
    let mut t = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let s = SBOX[i];
        let w =
            (xtime(s) as u32) | (s as u32) << 8 | (s as u32) << 16 | ((xtime(s) ^ s) as u32) << 24;
        t[i] = w.rotate_left(8 * k);
        i += 1;
    }
    t
}

pub static T0: [u32; 256] = make_table(0);
pub static T1: [u32; 256] = make_table(1);
pub static T2: [u32; 256] = make_table(2);
pub static T3: [u32; 256] = make_table(3);

#[inline(always)]
fn b(x: u32, n: u32) -> usize {
    ((x >> (8 * n)) & 0xff) as usize
}

/// One AES encryption round (SubBytes, ShiftRows, MixColumns, AddRoundKey) on four column words.
#[inline(always)]
pub fn round_words(x: [u32; 4], key: [u32; 4]) -> [u32; 4] {
    let [x0, x1, x2, x3] = x;
    [
        T0[b(x0, 0)] ^ T1[b(x1, 1)] ^ T2[b(x2, 2)] ^ T3[b(x3, 3)] ^ key[0],
        T0[b(x1, 0)] ^ T1[b(x2, 1)] ^ T2[b(x3, 2)] ^ T3[b(x0, 3)] ^ key[1],
        T0[b(x2, 0)] ^ T1[b(x3, 1)] ^ T2[b(x0, 2)] ^ T3[b(x1, 3)] ^ key[2],
        T0[b(x3, 0)] ^ T1[b(x0, 1)] ^ T2[b(x1, 2)] ^ T3[b(x2, 3)] ^ key[3],
    ]
}

#[inline(always)]
pub fn to_words(v: [u64; 2]) -> [u32; 4] {
    [
        v[0] as u32,
        (v[0] >> 32) as u32,
        v[1] as u32,
        (v[1] >> 32) as u32,
    ]
}

#[inline(always)]
pub fn from_words(w: [u32; 4]) -> [u64; 2] {
    [
        w[0] as u64 | (w[1] as u64) << 32,
        w[2] as u64 | (w[3] as u64) << 32,
    ]
}

/// One AES round on a 128-bit value held as two little-endian u64 halves.
#[inline(always)]
pub fn round(x: [u64; 2], key: [u64; 2]) -> [u64; 2] {
    from_words(round_words(to_words(x), to_words(key)))
}

/// cn-heavy/tube's round: the input inverted, and each column's result fed back into the input
/// before the next column reads it (so the columns depend on each other, unlike real AES).
#[inline(always)]
pub fn tweak_div_round(x: [u64; 2], key: [u64; 2]) -> [u64; 2] {
    let mut x = to_words([!x[0], !x[1]]);
    let mut k = to_words(key);
    k[0] ^= T0[b(x[0], 0)] ^ T1[b(x[1], 1)] ^ T2[b(x[2], 2)] ^ T3[b(x[3], 3)];
    x[0] ^= k[0];
    k[1] ^= T0[b(x[1], 0)] ^ T1[b(x[2], 1)] ^ T2[b(x[3], 2)] ^ T3[b(x[0], 3)];
    x[1] ^= k[1];
    k[2] ^= T0[b(x[2], 0)] ^ T1[b(x[3], 1)] ^ T2[b(x[0], 2)] ^ T3[b(x[1], 3)];
    x[2] ^= k[2];
    k[3] ^= T0[b(x[3], 0)] ^ T1[b(x[0], 1)] ^ T2[b(x[1], 2)] ^ T3[b(x[2], 3)];
    from_words(k)
}

fn sub_word(w: u32) -> u32 {
    let b = w.to_le_bytes();
    u32::from_le_bytes([
        SBOX[b[0] as usize],
        SBOX[b[1] as usize],
        SBOX[b[2] as usize],
        SBOX[b[3] as usize],
    ])
}

/// The first ten round keys of the AES-256 schedule for `key` (CryptoNight runs ten full rounds).
pub fn expand_key(key: &[u8; 32]) -> [[u64; 2]; 10] {
    let mut w = [0u32; 40];
    for (i, c) in key.chunks_exact(4).enumerate() {
        w[i] = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
    }
    let mut rcon = 1u32;
    for i in 8..40 {
        let mut t = w[i - 1];
        if i % 8 == 0 {
            t = sub_word(t.rotate_right(8)) ^ rcon;
            rcon <<= 1;
        } else if i % 8 == 4 {
            t = sub_word(t);
        }
        w[i] = w[i - 8] ^ t;
    }
    let mut out = [[0u64; 2]; 10];
    for (k, o) in out.iter_mut().enumerate() {
        *o = from_words([w[4 * k], w[4 * k + 1], w[4 * k + 2], w[4 * k + 3]]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes::cipher::generic_array::GenericArray;

    fn bytes(v: [u64; 2]) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&v[0].to_le_bytes());
        out[8..].copy_from_slice(&v[1].to_le_bytes());
        out
    }

    #[test]
    fn sbox_has_known_entries() {
        assert_eq!(SBOX[0x00], 0x63);
        assert_eq!(SBOX[0x01], 0x7c);
        assert_eq!(SBOX[0x53], 0xed);
        assert_eq!(SBOX[0xff], 0x16);
    }

    #[test]
    fn round_matches_the_aes_crate() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..64 {
            // xorshift: varied, reproducible blocks and keys
            let mut next = || {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x
            };
            let (block, key) = ([next(), next()], [next(), next()]);
            let mut want = GenericArray::clone_from_slice(&bytes(block));
            aes::hazmat::cipher_round(&mut want, &GenericArray::clone_from_slice(&bytes(key)));
            assert_eq!(bytes(round(block, key)), want.as_slice());
        }
    }

    #[test]
    fn key_schedule_starts_like_aes256() {
        let key: [u8; 32] = core::array::from_fn(|i| i as u8 * 7 + 1);
        let ks = expand_key(&key);
        assert_eq!(bytes(ks[0]), key[..16]);
        assert_eq!(bytes(ks[1]), key[16..]);
        // FIPS-197 appendix A.3: words w8..w11 of this key's expansion.
        let fips: [u8; 32] =
            hex::decode("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
                .unwrap()
                .try_into()
                .unwrap();
        assert_eq!(
            hex::encode(bytes(expand_key(&fips)[2])),
            "9ba354118e6925afa51a8b5f2067fcde"
        );
    }
}
