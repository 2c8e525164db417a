//! phirig-kernel: the CryptoNight hash, every variant, on huge-page scratchpads.
//!
//! One entry point per algorithm ([`cn::CnHasher`]), hardware and software AES behind it chosen
//! from what the CPU runs ([`cpu`]), the cn/r random programs ([`cnr`]), scratchpad memory
//! ([`memory`]) and the vectors a worker checks its exact path against before it mines
//! ([`self_test`]). No async runtime and no other phirig crate:
//! the only I/O is mapping scratchpads.
//!
//! ```
//! use phirig_kernel::cn::{Algorithm, CnHasher};
//! use phirig_kernel::cpu::Cpu;
//! use phirig_kernel::memory::PagePolicy;
//! let cpu = Cpu::detect();
//! let mut h = CnHasher::with_cpu(cpu, Algorithm::Cn0, cpu.best_aes(), 1, PagePolicy::default())?;
//! let hash = h.hash(b"This is a test", 0)?;
//! assert_eq!(hash.len(), 32);
//! # Ok::<(), phirig_kernel::cn::KernelError>(())
//! ```

pub mod cn;
pub mod cnr;
pub mod cpu;
pub mod memory;
pub mod self_test;
