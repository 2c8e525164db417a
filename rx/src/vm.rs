//! One thread's RandomX virtual machine: scratchpad, JIT buffer, and the epoch it reads.

use std::sync::Arc;

use crate::epoch::Epoch;
use crate::error::RxError;
use crate::ffi;
use crate::options::RxOptions;
use crate::pages::Backing;

/// Hashes on one thread; `Send` but not `Sync`, like the C VM.
pub struct Vm {
    raw: *mut ffi::RawVm,
    scratchpad: Backing,
    epoch: Arc<Epoch>,
    /// A pipelined hash is under way ([`Vm::hash_next`]).
    in_flight: bool,
}

// SAFETY: a VM may move between threads; it is only ever used by one at a time (`&mut self`).
unsafe impl Send for Vm {}

impl Vm {
    pub(crate) fn new(epoch: Arc<Epoch>, options: &RxOptions) -> Result<Vm, RxError> {
        let mut flags = options.base_flags();
        if epoch.is_full() {
            flags |= ffi::FLAG_FULL_MEM;
        }
        let mut tries = Vec::with_capacity(2);
        if options.huge_pages {
            tries.push((flags | ffi::FLAG_LARGE_PAGES, Backing::Huge2M));
        }
        tries.push((flags, Backing::Normal));
        let dataset = epoch.dataset().map_or(std::ptr::null_mut(), |d| d.raw());
        for (flags, scratchpad) in tries {
            // SAFETY: cache and dataset are initialised and outlive the VM (it holds `epoch`).
            let raw = unsafe { ffi::randomx_create_vm(flags, epoch.cache().raw(), dataset) };
            if !raw.is_null() {
                return Ok(Vm {
                    raw,
                    scratchpad,
                    epoch,
                    in_flight: false,
                });
            }
        }
        Err(RxError::VmCreate { flags })
    }

    /// RandomX of `input` under this VM's seed. Ends a pipeline under way, discarding its hash.
    pub fn hash(&mut self, input: &[u8]) -> [u8; 32] {
        let _ = self.finish();
        let mut out = [0u8; ffi::HASH_SIZE];
        // SAFETY: the VM is live and used by this thread only; input and output are valid for
        // their lengths (any input length is allowed, the output is 32 bytes).
        unsafe {
            ffi::randomx_calculate_hash(
                self.raw,
                input.as_ptr().cast(),
                input.len(),
                out.as_mut_ptr().cast(),
            )
        };
        out
    }

    /// Pipelined hashing, for mining: starts hashing `input` and returns the hash of the input
    /// given before (`None` on the first call). Finishing one hash while filling the next one's
    /// scratchpad saves a pass over it; the input is read before this returns.
    pub fn hash_next(&mut self, input: &[u8]) -> Option<[u8; 32]> {
        if !self.in_flight {
            // SAFETY: live VM, this thread only; the input is read (hashed) before returning.
            unsafe {
                ffi::randomx_calculate_hash_first(self.raw, input.as_ptr().cast(), input.len())
            };
            self.in_flight = true;
            return None;
        }
        let mut out = [0u8; ffi::HASH_SIZE];
        // SAFETY: a pipeline is under way (`first` ran); input read before returning; 32-byte output.
        unsafe {
            ffi::randomx_calculate_hash_next(
                self.raw,
                input.as_ptr().cast(),
                input.len(),
                out.as_mut_ptr().cast(),
            )
        };
        Some(out)
    }

    /// Ends a pipeline: the hash of the last input given to [`Vm::hash_next`], if any.
    pub fn finish(&mut self) -> Option<[u8; 32]> {
        if !std::mem::take(&mut self.in_flight) {
            return None;
        }
        let mut out = [0u8; ffi::HASH_SIZE];
        // SAFETY: a pipeline is under way; 32-byte output.
        unsafe { ffi::randomx_calculate_hash_last(self.raw, out.as_mut_ptr().cast()) };
        Some(out)
    }

    pub fn epoch(&self) -> &Arc<Epoch> {
        &self.epoch
    }

    /// What backs the 2 MiB scratchpad.
    pub fn scratchpad(&self) -> Backing {
        self.scratchpad
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        // SAFETY: created by `randomx_create_vm`, destroyed once.
        unsafe { ffi::randomx_destroy_vm(self.raw) };
    }
}

impl std::fmt::Debug for Vm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vm")
            .field("seed", &self.epoch.seed())
            .field("scratchpad", &self.scratchpad)
            .finish()
    }
}
