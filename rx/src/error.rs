//! What can go wrong with RandomX, as one error type.

use crate::seed::SeedError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    #[error(transparent)]
    Seed(#[from] SeedError),
    #[error("RandomX could not allocate its 256 MiB cache")]
    CacheAlloc,
    #[error("RandomX could not allocate its {mib} MiB dataset (light mode needs only the cache)")]
    DatasetAlloc { mib: usize },
    #[error("RandomX could not create a VM (flags {flags:#x})")]
    VmCreate { flags: i32 },
    #[error("a dataset-building thread panicked")]
    InitPanicked,
    #[error("could not start the thread that builds a seed's memory: {0}")]
    Spawn(String),
}
