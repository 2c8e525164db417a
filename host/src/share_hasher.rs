//! The kernel behind the pool server's `ShareHasher`: verifies shares by recomputing them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use phirig_pool::server::ShareHasher;

use phirig_kernel::cn::{AesPath, Algorithm, CnHasher};
use phirig_kernel::cpu::Cpu;
use phirig_kernel::memory::PagePolicy;
use phirig_rx::{LightVerifier, Seed};

/// Recomputes share hashes with the real kernel on the calling (blocking) thread.
///
/// Scratchpads are kept per thread and per algorithm, so a busy verifier does not map and unmap
/// 2 MiB for every share. rx/0 shares are hashed in RandomX's light mode, keyed by the job's
/// seed (the caches of the last two seeds are kept, so shares of the previous epoch verify too).
#[derive(Debug, Clone)]
pub struct KernelShareHasher {
    aes: AesPath,
    rx: Arc<LightVerifier>,
}

/// Seeds whose RandomX cache (256 MiB each) the verifier keeps.
const RX_SEEDS_KEPT: usize = 2;

impl KernelShareHasher {
    pub fn new(aes: AesPath) -> Self {
        Self {
            aes,
            rx: Arc::new(LightVerifier::new(RX_SEEDS_KEPT)),
        }
    }
}

impl Default for KernelShareHasher {
    fn default() -> Self {
        Self::new(Cpu::detect().best_aes())
    }
}

thread_local! {
    static HASHERS: RefCell<HashMap<(Algorithm, &'static str), CnHasher>> = RefCell::new(HashMap::new());
}

impl ShareHasher for KernelShareHasher {
    fn hash(&self, algo: &str, blob: &[u8], height: u64) -> Result<[u8; 32], String> {
        let algo: Algorithm = algo
            .parse()
            .map_err(|e: phirig_kernel::cn::KernelError| e.to_string())?;
        HASHERS.with(|cell| {
            let mut map = cell.borrow_mut();
            let key = (algo, self.aes.name());
            let hasher = match map.entry(key) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => v.insert(
                    CnHasher::new(algo, self.aes, 1, PagePolicy::default())
                        .map_err(|e| e.to_string())?,
                ),
            };
            hasher.hash(blob, height).map_err(|e| e.to_string())
        })
    }

    fn hash_seeded(
        &self,
        algo: &str,
        blob: &[u8],
        height: u64,
        seed_hash: Option<&str>,
    ) -> Result<[u8; 32], String> {
        if !phirig_rx::is_rx(algo) {
            return self.hash(algo, blob, height);
        }
        let seed = Seed::from_job(seed_hash).map_err(|e| e.to_string())?;
        self.rx.hash(seed, blob).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phirig_kernel::self_test::embedded_vectors;

    #[test]
    fn verifies_with_the_kernel() {
        let h = KernelShareHasher::default();
        for v in embedded_vectors()
            .iter()
            .filter(|v| v.algo.name() == "cn/0" || v.algo.needs_height())
            .take(3)
        {
            assert_eq!(h.hash(v.algo.name(), &v.input, v.height), Ok(v.expected));
            // Again on the cached scratchpad.
            assert_eq!(h.hash(v.algo.name(), &v.input, v.height), Ok(v.expected));
        }
        assert!(h
            .hash("cn/bogus", &[0; 76], 0)
            .unwrap_err()
            .contains("bogus"));
    }

    #[test]
    fn verifies_rx0_with_the_jobs_seed() {
        let h = KernelShareHasher::default();
        let seed = "00".repeat(32);
        let blob = b"This is a test";
        let expected =
            phirig_rx::Epoch::build(seed.parse().unwrap(), &phirig_rx::RxOptions::light())
                .unwrap()
                .vm()
                .unwrap()
                .hash(blob);
        assert_eq!(h.hash_seeded("rx/0", blob, 0, Some(&seed)), Ok(expected));
        assert_ne!(
            h.hash_seeded("rx/0", blob, 0, Some(&"01".repeat(32))),
            Ok(expected)
        );
        assert!(h
            .hash_seeded("rx/0", blob, 0, None)
            .unwrap_err()
            .contains("seed_hash"));
        // Without a seed the plain method cannot know rx/0.
        assert!(h.hash("rx/0", blob, 0).is_err());
    }
}
