//! Light-mode share verification keyed by seed: a pool's or proxy's check of rx/0 shares.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use crate::epoch::Epoch;
use crate::error::RxError;
use crate::options::RxOptions;
use crate::seed::Seed;

type Slot = Arc<OnceLock<Result<Arc<Epoch>, RxError>>>;

/// Hashes in light mode (256 MiB per seed, no dataset), keeping the caches of the last few
/// seeds so shares of the previous epoch still verify after a switch.
#[derive(Debug)]
pub struct LightVerifier {
    options: RxOptions,
    keep: usize,
    slots: Mutex<VecDeque<(Seed, Slot)>>,
}

impl LightVerifier {
    /// Keeps `keep` seeds' caches (at least one).
    pub fn new(keep: usize) -> Self {
        LightVerifier {
            options: RxOptions::light(),
            keep: keep.max(1),
            slots: Mutex::new(VecDeque::new()),
        }
    }

    /// RandomX of `input` under `seed`. The first hash of a seed builds its cache (about a
    /// second); threads asking for the same seed meanwhile wait for that one build.
    pub fn hash(&self, seed: Seed, input: &[u8]) -> Result<[u8; 32], RxError> {
        let slot = self.slot(seed);
        let epoch = slot
            .get_or_init(|| Epoch::build(seed, &self.options))
            .clone()?;
        Ok(epoch.vm()?.hash(input))
    }

    fn slot(&self, seed: Seed) -> Slot {
        // Plain data: a panic while held leaves it valid.
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, s)) = slots.iter().find(|(s, _)| *s == seed) {
            return Arc::clone(s);
        }
        let slot = Slot::default();
        slots.push_back((seed, Arc::clone(&slot)));
        while slots.len() > self.keep {
            slots.pop_front();
        }
        slot
    }
}
