//! The 256 MiB RandomX cache of one seed: what light mode hashes from and datasets are built from.

use crate::error::RxError;
use crate::ffi;
use crate::options::RxOptions;
use crate::pages::Backing;

/// An initialised cache; read-only once built.
pub struct Cache {
    raw: *mut ffi::RawCache,
    backing: Backing,
}

// SAFETY: after `randomx_init_cache` returns the cache is only read (by VMs and dataset
// initialisation), which the reference implementation allows from any number of threads.
unsafe impl Send for Cache {}
// SAFETY: as above, shared reads only.
unsafe impl Sync for Cache {}

impl Cache {
    /// Allocates (huge pages first where asked) and runs Argon2 over `key` (a job's seed).
    pub fn new(key: &[u8], opts: &RxOptions) -> Result<Cache, RxError> {
        let flags = opts.base_flags() & !(ffi::FLAG_HARD_AES | ffi::FLAG_FULL_MEM);
        let mut tries = Vec::with_capacity(2);
        if opts.huge_pages {
            tries.push((flags | ffi::FLAG_LARGE_PAGES, Backing::Huge2M));
        }
        tries.push((flags, Backing::Normal));
        for (flags, backing) in tries {
            // SAFETY: allocation only; null is checked below.
            let raw = unsafe { ffi::randomx_alloc_cache(flags) };
            if raw.is_null() {
                continue;
            }
            // SAFETY: `raw` is a fresh cache; the key is readable for its length.
            unsafe { ffi::randomx_init_cache(raw, key.as_ptr().cast(), key.len()) };
            return Ok(Cache { raw, backing });
        }
        Err(RxError::CacheAlloc)
    }

    pub fn backing(&self) -> Backing {
        self.backing
    }

    pub(crate) fn raw(&self) -> *mut ffi::RawCache {
        self.raw
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        // SAFETY: allocated by `randomx_alloc_cache`; every VM and dataset build that used it
        // holds the `Arc` this lives in, so none is left.
        unsafe { ffi::randomx_release_cache(self.raw) };
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("backing", &self.backing)
            .finish()
    }
}
