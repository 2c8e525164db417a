//! The 200-byte Keccak-f[1600] state CryptoNight starts from and ends with (original Keccak padding, rate 136).

/// Keccak rate for the 256-bit capacity CryptoNight uses.
pub const RATE: usize = 136;

/// The full Keccak state as 25 little-endian lanes.
pub type State = [u64; 25];

/// Absorbs `input` with the original Keccak padding (0x01 … 0x80) and returns the whole state.
pub fn absorb(input: &[u8]) -> State {
    let mut st = [0u64; 25];
    let mut blocks = input.chunks_exact(RATE);
    for block in &mut blocks {
        xor_block(&mut st, block);
        keccak::f1600(&mut st);
    }
    let rest = blocks.remainder();
    let mut last = [0u8; RATE];
    last[..rest.len()].copy_from_slice(rest);
    last[rest.len()] ^= 0x01;
    last[RATE - 1] ^= 0x80;
    xor_block(&mut st, &last);
    keccak::f1600(&mut st);
    st
}

fn xor_block(st: &mut State, block: &[u8]) {
    for (lane, bytes) in st.iter_mut().zip(block.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(bytes);
        *lane ^= u64::from_le_bytes(b);
    }
}

/// Monero's `cn_fast_hash`: the first 32 bytes of the absorbed state.
pub fn keccak256(input: &[u8]) -> [u8; 32] {
    let st = absorb(input);
    let mut out = [0u8; 32];
    for (o, lane) in out.chunks_exact_mut(8).zip(st.iter()) {
        o.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

/// The state in memory order, as the finalizers hash it.
pub fn to_bytes(st: &State) -> [u8; 200] {
    let mut out = [0u8; 200];
    for (o, lane) in out.chunks_exact_mut(8).zip(st.iter()) {
        o.copy_from_slice(&lane.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_is_keccak256_of_nothing() {
        assert_eq!(
            hex::encode(keccak256(b"")),
            "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
        );
    }

    #[test]
    fn inputs_spanning_blocks_are_absorbed() {
        // 136 bytes is exactly one rate block: the padding goes into a second block.
        let a = keccak256(&[7u8; RATE]);
        let b = keccak256(&[7u8; RATE - 1]);
        assert_ne!(a, b);
        let long = vec![1u8; 3 * RATE + 5];
        assert_ne!(keccak256(&long), keccak256(&long[..3 * RATE]));
    }
}
