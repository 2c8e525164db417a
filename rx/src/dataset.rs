//! The 2 GiB RandomX dataset of one seed, built once with every core and shared by all workers.

use std::ffi::c_ulong;
use std::time::{Duration, Instant};

use crate::cache::Cache;
use crate::error::RxError;
use crate::ffi;
use crate::options::RxOptions;
use crate::pages::{advise_huge, Backing};

/// An initialised dataset; read-only once built.
pub struct Dataset {
    raw: *mut ffi::RawDataset,
    backing: Backing,
    build_time: Duration,
}

// SAFETY: after every `randomx_init_dataset` call has returned, the dataset is only read.
unsafe impl Send for Dataset {}
// SAFETY: as above, shared reads only.
unsafe impl Sync for Dataset {}

/// Bytes of a full dataset (items × 64).
pub fn dataset_bytes() -> usize {
    item_count() * ffi::DATASET_ITEM_SIZE
}

fn item_count() -> usize {
    // SAFETY: a constant of the library's configuration.
    let n = unsafe { ffi::randomx_dataset_item_count() };
    usize::try_from(n).unwrap_or(usize::MAX / ffi::DATASET_ITEM_SIZE)
}

impl Dataset {
    /// Allocates (2 MiB pages, else transparent huge pages, else normal ones) and fills it from
    /// `cache` on `opts.threads()` threads, each a disjoint range of items.
    pub fn build(cache: &Cache, opts: &RxOptions) -> Result<Dataset, RxError> {
        let started = Instant::now();
        let (raw, backing) = alloc(opts)?;
        let items = item_count();
        let threads = opts.threads().clamp(1, items);
        let per = items.div_ceil(threads);
        let mut dataset = Dataset {
            raw,
            backing,
            build_time: Duration::ZERO,
        };
        let all_ok = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let start = t * per;
                    let count = per.min(items.saturating_sub(start));
                    let (dataset, cache) = (&dataset, cache);
                    s.spawn(move || {
                        // SAFETY: each thread writes its own item range of a dataset allocated
                        // for `items` items; the cache is initialised and only read.
                        unsafe {
                            ffi::randomx_init_dataset(
                                dataset.raw,
                                cache.raw(),
                                start as c_ulong,
                                count as c_ulong,
                            )
                        }
                    })
                })
                .collect();
            handles.into_iter().all(|h| h.join().is_ok())
        });
        if !all_ok {
            return Err(RxError::InitPanicked);
        }
        // Set in place: `..dataset` would copy the pointer and free the original on drop.
        dataset.build_time = started.elapsed();
        Ok(dataset)
    }

    pub fn backing(&self) -> Backing {
        self.backing
    }

    /// How long [`Dataset::build`] took, allocation included.
    pub fn build_time(&self) -> Duration {
        self.build_time
    }

    pub(crate) fn raw(&self) -> *mut ffi::RawDataset {
        self.raw
    }
}

fn alloc(opts: &RxOptions) -> Result<(*mut ffi::RawDataset, Backing), RxError> {
    if opts.huge_pages {
        // SAFETY: allocation only; null is checked.
        let raw = unsafe { ffi::randomx_alloc_dataset(ffi::FLAG_LARGE_PAGES) };
        if !raw.is_null() {
            return Ok((raw, Backing::Huge2M));
        }
    }
    // SAFETY: allocation only; null is checked.
    let raw = unsafe { ffi::randomx_alloc_dataset(0) };
    if raw.is_null() {
        return Err(RxError::DatasetAlloc {
            mib: dataset_bytes().div_ceil(1 << 20),
        });
    }
    let backing = if opts.huge_pages {
        // SAFETY: `raw` is a live dataset; its memory is `dataset_bytes()` long.
        let mem = unsafe { ffi::randomx_get_dataset_memory(raw) }.cast::<u8>();
        advise_huge(mem, dataset_bytes())
    } else {
        Backing::Normal
    };
    Ok((raw, backing))
}

impl Drop for Dataset {
    fn drop(&mut self) {
        // SAFETY: allocated by `randomx_alloc_dataset`; VMs using it hold the `Arc` this is in.
        unsafe { ffi::randomx_release_dataset(self.raw) };
    }
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset")
            .field("backing", &self.backing)
            .field("build_time", &self.build_time)
            .finish()
    }
}
