//! One seed's RandomX memory: its cache and, in full mode, its dataset.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::cache::Cache;
use crate::dataset::{dataset_bytes, Dataset};
use crate::error::RxError;
use crate::options::{Mode, RxOptions};
use crate::pages::mem_available;
use crate::seed::Seed;
use crate::vm::Vm;

/// Headroom left free when `Mode::Auto` decides on a full dataset.
const FULL_MODE_SPARE: u64 = 512 << 20;

/// Everything hashes of one seed need; VMs keep it alive through an `Arc`.
#[derive(Debug)]
pub struct Epoch {
    /// The seed's bytes (any key, for the reference vectors).
    key: Vec<u8>,
    cache: Cache,
    dataset: Option<Dataset>,
    build_time: Duration,
    options: RxOptions,
}

impl Epoch {
    /// Builds the cache, then (full mode) the dataset with every core. Blocking: seconds for
    /// the cache alone, tens of seconds for a dataset.
    pub fn build(seed: Seed, options: &RxOptions) -> Result<Arc<Epoch>, RxError> {
        Epoch::build_with_key(seed.as_bytes(), options)
    }

    /// [`Epoch::build`] keyed by any bytes, as the reference vectors are.
    pub fn build_with_key(key: &[u8], options: &RxOptions) -> Result<Arc<Epoch>, RxError> {
        let started = Instant::now();
        let cache = Cache::new(key, options)?;
        let dataset = match resolve_mode(options.mode) {
            Mode::Light => None,
            _ => Some(Dataset::build(&cache, options)?),
        };
        Ok(Arc::new(Epoch {
            key: key.to_vec(),
            cache,
            dataset,
            build_time: started.elapsed(),
            options: *options,
        }))
    }

    /// The seed it was built for; `None` for a key that is not 32 bytes.
    pub fn seed(&self) -> Option<Seed> {
        self.key.clone().try_into().ok().map(Seed)
    }

    pub fn is_seed(&self, seed: &Seed) -> bool {
        self.key == seed.as_bytes()
    }

    pub fn is_full(&self) -> bool {
        self.dataset.is_some()
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    pub fn dataset(&self) -> Option<&Dataset> {
        self.dataset.as_ref()
    }

    /// Cache and dataset build time together.
    pub fn build_time(&self) -> Duration {
        self.build_time
    }

    pub fn options(&self) -> &RxOptions {
        &self.options
    }

    /// A VM for one thread on this epoch, on the epoch's paths.
    pub fn vm(self: &Arc<Self>) -> Result<Vm, RxError> {
        Vm::new(Arc::clone(self), &self.options)
    }

    /// A VM on other JIT/AES paths over the same memory (to check each against the vectors
    /// without building another dataset).
    pub fn vm_with(self: &Arc<Self>, jit: bool, hard_aes: bool) -> Result<Vm, RxError> {
        let options = RxOptions {
            jit,
            hard_aes,
            ..self.options
        };
        Vm::new(Arc::clone(self), &options)
    }

    /// One line for start-up and bench: mode, memory and what backs it.
    pub fn describe(&self) -> String {
        match &self.dataset {
            Some(d) => format!(
                "rx/0 full mode ({}): dataset {} MiB on {}, cache 256 MiB on {}, built in {:.1} s",
                self.options.path_name(),
                dataset_bytes().div_ceil(1 << 20),
                d.backing(),
                self.cache.backing(),
                self.build_time.as_secs_f64()
            ),
            None => format!(
                "rx/0 light mode ({}): cache 256 MiB on {}, no dataset, built in {:.1} s",
                self.options.path_name(),
                self.cache.backing(),
                self.build_time.as_secs_f64()
            ),
        }
    }
}

/// `Auto` becomes `Full` when `MemAvailable` holds a dataset with room to spare.
pub fn resolve_mode(mode: Mode) -> Mode {
    match mode {
        Mode::Auto => {
            let need = dataset_bytes() as u64 + FULL_MODE_SPARE;
            match mem_available() {
                Some(free) if free < need => Mode::Light,
                _ => Mode::Full,
            }
        }
        m => m,
    }
}
