//! The few functions of the reference RandomX's C API (`randomx.h`) that phirig calls.
//!
//! randomx-rs builds and links the library; its safe wrapper owns each dataset privately and
//! initialises it on one thread, which is why these are declared here.

use std::ffi::{c_int, c_ulong, c_void};

// Linking: the symbols below live in randomx-rs's static library, pulled in with the crate.
extern crate randomx_rs as _;

/// Opaque `randomx_cache`.
#[repr(C)]
pub struct RawCache {
    _private: [u8; 0],
}

/// Opaque `randomx_dataset`.
#[repr(C)]
pub struct RawDataset {
    _private: [u8; 0],
}

/// Opaque `randomx_vm`.
#[repr(C)]
pub struct RawVm {
    _private: [u8; 0],
}

/// `randomx_flags` bits.
pub const FLAG_LARGE_PAGES: c_int = 1;
pub const FLAG_HARD_AES: c_int = 2;
pub const FLAG_FULL_MEM: c_int = 4;
pub const FLAG_JIT: c_int = 8;
pub const FLAG_ARGON2_SSSE3: c_int = 32;
pub const FLAG_ARGON2_AVX2: c_int = 64;

/// `RANDOMX_HASH_SIZE`.
pub const HASH_SIZE: usize = 32;
/// `RANDOMX_DATASET_ITEM_SIZE`.
pub const DATASET_ITEM_SIZE: usize = 64;

extern "C" {
    pub fn randomx_get_flags() -> c_int;
    pub fn randomx_alloc_cache(flags: c_int) -> *mut RawCache;
    pub fn randomx_init_cache(cache: *mut RawCache, key: *const c_void, key_size: usize);
    pub fn randomx_release_cache(cache: *mut RawCache);
    pub fn randomx_alloc_dataset(flags: c_int) -> *mut RawDataset;
    pub fn randomx_dataset_item_count() -> c_ulong;
    pub fn randomx_init_dataset(
        dataset: *mut RawDataset,
        cache: *mut RawCache,
        start_item: c_ulong,
        item_count: c_ulong,
    );
    pub fn randomx_get_dataset_memory(dataset: *mut RawDataset) -> *mut c_void;
    pub fn randomx_release_dataset(dataset: *mut RawDataset);
    pub fn randomx_create_vm(
        flags: c_int,
        cache: *mut RawCache,
        dataset: *mut RawDataset,
    ) -> *mut RawVm;
    pub fn randomx_destroy_vm(vm: *mut RawVm);
    pub fn randomx_calculate_hash(
        vm: *mut RawVm,
        input: *const c_void,
        input_size: usize,
        output: *mut c_void,
    );
    pub fn randomx_calculate_hash_first(vm: *mut RawVm, input: *const c_void, input_size: usize);
    pub fn randomx_calculate_hash_next(
        vm: *mut RawVm,
        next_input: *const c_void,
        next_input_size: usize,
        output: *mut c_void,
    );
    pub fn randomx_calculate_hash_last(vm: *mut RawVm, output: *mut c_void);
}
