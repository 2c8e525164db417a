//! Why the kernel refused to hash: every bad input or missing resource is a typed error, never a panic.

use super::algorithm::Algorithm;
use crate::memory::MemoryError;

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    #[error("{algo} needs at least {min} bytes of input, got {len}")]
    InputTooShort {
        algo: Algorithm,
        len: usize,
        min: usize,
    },
    #[error("{algo} accepts at most {max} bytes of input, got {len}")]
    InputTooLong {
        algo: Algorithm,
        len: usize,
        max: usize,
    },
    #[error("{0} needs a block height (it seeds the random program); got none or 0")]
    MissingHeight(Algorithm),
    #[error("AES-NI was asked for but this CPU does not have it")]
    AesUnavailable,
    #[error("the kernel was asked to use {0}, which this CPU does not have")]
    CpuLacks(&'static str),
    #[error("scratchpad memory: {0}")]
    Memory(#[from] MemoryError),
    #[error("ways (intensity) must be 1..={max}, got {got}")]
    BadWays { got: usize, max: usize },
    #[error("hash_ways got {inputs} inputs and {outputs} output slots for a {ways}-way hasher")]
    WaysMismatch {
        ways: usize,
        inputs: usize,
        outputs: usize,
    },
}
