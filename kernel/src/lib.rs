//! phirig-kernel: the CryptoNight hash, every variant, on huge-page scratchpads.
//!
//! One entry point per algorithm ([`cn::CnHasher`]), hardware and software AES behind it, the cn/r
//! random programs ([`cnr`]), scratchpad memory ([`memory`]) and the vectors a worker checks its
//! exact path against before it mines ([`self_test`]). No async runtime and no other phirig crate:
//! the only I/O is mapping scratchpads.
//!
//! ```
//! use phirig_kernel::cn::{AesPath, Algorithm, CnHasher};
//! use phirig_kernel::memory::PagePolicy;
//! let mut h = CnHasher::new(Algorithm::Cn0, AesPath::detect(), 1, PagePolicy::default())?;
//! let hash = h.hash(b"This is a test", 0)?;
//! assert_eq!(hash.len(), 32);
//! # Ok::<(), phirig_kernel::cn::KernelError>(())
//! ```

pub mod cn;
pub mod cnr;
pub mod memory;
pub mod self_test;
