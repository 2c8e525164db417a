//! The last step: Keccak-f over the state, then one of four hashes picked by its low two bits.

use super::keccak_state::{to_bytes, State};

/// Permutes the state once more and hashes all 200 bytes with BLAKE-256, Groestl-256, JH-256 or
/// Skein-512-256, as `state[0] & 3` says.
pub(crate) fn finalize(st: &mut State) -> [u8; 32] {
    keccak::f1600(st);
    let bytes = to_bytes(st);
    let mut out = [0u8; 32];
    match st[0] & 3 {
        0 => {
            use blake_hash::Digest;
            out.copy_from_slice(&blake_hash::Blake256::digest(&bytes));
        }
        1 => {
            use groestl::Digest;
            out.copy_from_slice(&groestl::Groestl256::digest(bytes));
        }
        2 => {
            use jh::Digest;
            out.copy_from_slice(&jh::Jh256::digest(bytes));
        }
        _ => {
            use skein::Digest;
            out.copy_from_slice(&skein::Skein512::<skein::consts::U32>::digest(bytes));
        }
    }
    out
}
