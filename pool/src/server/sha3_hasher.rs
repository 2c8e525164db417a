//! A cheap stand-in for the kernel: SHA3-256 of the blob. For tests and kernel-less demos only.

use sha3::{Digest, Sha3_256};

use super::verify::ShareHasher;

/// Hashes any algorithm name with SHA3-256 of the blob (ignoring height). Shares it accepts are
/// not CryptoNight shares; it exists so the server, the client and their tests can run fast.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sha3ShareHasher;

impl ShareHasher for Sha3ShareHasher {
    fn hash(&self, _algo: &str, blob: &[u8], _height: u64) -> Result<[u8; 32], String> {
        Ok(Sha3_256::digest(blob).into())
    }
}
