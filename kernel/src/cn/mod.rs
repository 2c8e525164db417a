//! The CryptoNight kernel: one entry point per algorithm, hardware and software AES behind it.

mod aes_path;
#[cfg(target_arch = "x86_64")]
mod aesni;
mod algorithm;
mod backend;
#[cfg(target_arch = "x86_64")]
mod bitslice;
mod conceal;
mod core_window;
mod error;
mod explode;
#[cfg(target_arch = "x86_64")]
mod explode_bitslice;
#[cfg(target_arch = "x86_64")]
mod explode_vaes;
#[cfg(test)]
mod fill_check;
mod finalize;
mod hasher;
pub mod keccak_state;
mod kernel;
mod main_loop;
mod random_math;
#[cfg(target_arch = "x86_64")]
mod sbox_circuit;
mod soft_aes;
#[cfg(target_arch = "x86_64")]
mod soft_sse;

pub use aes_path::AesPath;
pub use algorithm::{Algorithm, Base, Heavy, Props, MAX_INPUT_LEN, V1_MIN_INPUT_LEN};
pub use core_window::CoreWindow;
pub use error::KernelError;
pub use hasher::{hash, CnHasher, MAX_WAYS};
pub use keccak_state::keccak256;
pub use kernel::{interleave_limit, window_ways};

#[cfg(test)]
mod speed_tests;
