//! The generator's random bytes: a 32-byte buffer seeded with the height, re-hashed with
//! Blake-256 whenever a read would run past its end.

use blake_hash::{Blake256, Digest};

const BUF_LEN: usize = 32;

fn seed(height: u64) -> [u8; BUF_LEN] {
    let mut buf = [0u8; BUF_LEN];
    buf[..8].copy_from_slice(&height.to_le_bytes());
    buf[20] = 0xda;
    buf
}

/// Deterministic byte source for one height.
pub(crate) struct ByteStream {
    buf: [u8; BUF_LEN],
    pos: usize,
}

impl ByteStream {
    /// The buffer starts as the little-endian height, zeros, and one fixed byte (0xda at offset
    /// 20, which final cn/r added so its programs differ from the pre-release draft's); it is
    /// hashed before the first read (the position starts at the end).
    pub(crate) fn new(height: u64) -> ByteStream {
        ByteStream {
            buf: seed(height),
            pos: BUF_LEN,
        }
    }

    /// Takes `n` bytes. When fewer than `n` remain, the leftover bytes are dropped and the whole
    /// buffer is replaced by its own hash: that is what the reference does, so a 4-byte read near
    /// the end skips up to 3 bytes.
    fn take<const N: usize>(&mut self) -> [u8; N] {
        if self.pos + N > BUF_LEN {
            let digest = Blake256::digest(&self.buf);
            self.buf.copy_from_slice(&digest);
            self.pos = 0;
        }
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        out
    }

    pub(crate) fn byte(&mut self) -> u8 {
        let [b] = self.take::<1>();
        b
    }

    pub(crate) fn u32_le(&mut self) -> u32 {
        u32::from_le_bytes(self.take::<4>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_bytes_are_the_hash_of_the_seed() {
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&1_806_260u64.to_le_bytes());
        seed[20] = 0xda;
        let expected = Blake256::digest(&seed);
        let mut s = ByteStream::new(1_806_260);
        let got: Vec<u8> = (0..32).map(|_| s.byte()).collect();
        assert_eq!(got.as_slice(), expected.as_slice());
        // The 33rd byte comes from the hash of the hash.
        let next = Blake256::digest(&expected);
        assert_eq!(s.byte(), next[0]);
    }

    #[test]
    fn word_reads_skip_a_short_tail() {
        let mut s = ByteStream::new(7);
        for _ in 0..30 {
            s.byte();
        }
        let mut fresh = ByteStream::new(7);
        let first = {
            for _ in 0..32 {
                fresh.byte();
            }
            Blake256::digest(&fresh.buf)
        };
        // Two bytes left, four wanted: the tail is dropped and the word starts the next block.
        assert_eq!(
            s.u32_le(),
            u32::from_le_bytes([first[0], first[1], first[2], first[3]])
        );
    }
}
