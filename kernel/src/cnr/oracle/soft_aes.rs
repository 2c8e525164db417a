//! Byte-wise software AES for the oracle: the S-box computed from its definition, one encryption
//! round, and the AES-256 key schedule (CryptoNight uses its first ten round keys).

pub(super) type Block = [u8; 16];

/// Multiplication in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
fn gmul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

/// The AES S-box: multiplicative inverse followed by the affine map.
pub(super) struct SoftAes {
    sbox: [u8; 256],
}

impl SoftAes {
    pub(super) fn new() -> SoftAes {
        let mut sbox = [0u8; 256];
        for (x, out) in sbox.iter_mut().enumerate() {
            let x = x as u8;
            // x^254 is the inverse of x (and maps 0 to 0).
            let mut inv = 1u8;
            for _ in 0..254 {
                inv = gmul(inv, x);
            }
            if x == 0 {
                inv = 0;
            }
            *out = inv
                ^ inv.rotate_left(1)
                ^ inv.rotate_left(2)
                ^ inv.rotate_left(3)
                ^ inv.rotate_left(4)
                ^ 0x63;
        }
        SoftAes { sbox }
    }

    /// One full round, as x86 `aesenc`: SubBytes, ShiftRows, MixColumns, AddRoundKey.
    pub(super) fn round(&self, state: &mut Block, key: &Block) {
        let mut t = [0u8; 16];
        // Column-major layout: byte (row, col) sits at col * 4 + row; row r rotates left by r.
        for col in 0..4 {
            for row in 0..4 {
                t[col * 4 + row] = self.sbox[usize::from(state[((col + row) % 4) * 4 + row])];
            }
        }
        for col in 0..4 {
            let a = [t[col * 4], t[col * 4 + 1], t[col * 4 + 2], t[col * 4 + 3]];
            state[col * 4] = gmul(a[0], 2) ^ gmul(a[1], 3) ^ a[2] ^ a[3];
            state[col * 4 + 1] = a[0] ^ gmul(a[1], 2) ^ gmul(a[2], 3) ^ a[3];
            state[col * 4 + 2] = a[0] ^ a[1] ^ gmul(a[2], 2) ^ gmul(a[3], 3);
            state[col * 4 + 3] = gmul(a[0], 3) ^ a[1] ^ a[2] ^ gmul(a[3], 2);
        }
        for (s, k) in state.iter_mut().zip(key) {
            *s ^= k;
        }
    }

    /// The first ten round keys of the AES-256 schedule of `key`.
    pub(super) fn expand_key(&self, key: &[u8]) -> [Block; 10] {
        let mut w = [[0u8; 4]; 40];
        for (i, word) in w.iter_mut().take(8).enumerate() {
            word.copy_from_slice(&key[i * 4..i * 4 + 4]);
        }
        let mut rcon = 1u8;
        for i in 8..40 {
            let mut t = w[i - 1];
            if i % 8 == 0 {
                t = [t[1], t[2], t[3], t[0]].map(|b| self.sbox[usize::from(b)]);
                t[0] ^= rcon;
                rcon = gmul(rcon, 2);
            } else if i % 8 == 4 {
                t = t.map(|b| self.sbox[usize::from(b)]);
            }
            for k in 0..4 {
                w[i][k] = w[i - 8][k] ^ t[k];
            }
        }
        let mut keys = [[0u8; 16]; 10];
        for (r, rk) in keys.iter_mut().enumerate() {
            for c in 0..4 {
                rk[c * 4..c * 4 + 4].copy_from_slice(&w[r * 4 + c]);
            }
        }
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sbox_spot_values() {
        let aes = SoftAes::new();
        assert_eq!(aes.sbox[0x00], 0x63);
        assert_eq!(aes.sbox[0x01], 0x7c);
        assert_eq!(aes.sbox[0x53], 0xed);
        assert_eq!(aes.sbox[0xff], 0x16);
    }

    #[test]
    fn aes256_fips197_schedule() {
        // FIPS-197 appendix A.3: the third round key of key 00 01 .. 1f.
        let aes = SoftAes::new();
        let key: Vec<u8> = (0u8..32).collect();
        let keys = aes.expand_key(&key);
        assert_eq!(hex::encode(keys[2]), "a573c29fa176c498a97fce93a572c09c");
    }
}
