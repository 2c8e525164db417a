//! The new agent binary, mapped once and shared by every card's transfer.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha3::{Digest, Sha3_256};

use crate::zerocopy::SharedBuf;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0} is empty")]
    Empty(PathBuf),
    #[error("cannot map {path}: {source}")]
    Map {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A read-only mapping of the binary with its SHA3-256 and build fingerprint (first 16 hex
/// digits, as the agent reports it).
#[derive(Clone)]
pub struct BinaryImage {
    pub path: PathBuf,
    pub map: Arc<memmap2::Mmap>,
    pub digest: [u8; 32],
    pub build: String,
}

impl std::fmt::Debug for BinaryImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BinaryImage")
            .field("path", &self.path)
            .field("len", &self.map.len())
            .field("build", &self.build)
            .finish()
    }
}

impl BinaryImage {
    pub fn open(path: &Path) -> Result<Self, ImageError> {
        let file = std::fs::File::open(path).map_err(|source| ImageError::Open {
            path: path.into(),
            source,
        })?;
        let len = file
            .metadata()
            .map_err(|source| ImageError::Open {
                path: path.into(),
                source,
            })?
            .len();
        if len == 0 {
            return Err(ImageError::Empty(path.into()));
        }
        // SAFETY: the mapping is read-only; a concurrent writer to the file would change what is
        // sent, which the card's digest check then refuses.
        let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| ImageError::Map {
            path: path.into(),
            source,
        })?;
        let digest: [u8; 32] = Sha3_256::digest(&map[..]).into();
        Ok(Self {
            path: path.into(),
            map: Arc::new(map),
            build: hex::encode(&digest[..8]),
            digest,
        })
    }

    pub fn len(&self) -> u64 {
        self.map.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The mapping as a buffer senders share.
    pub fn shared(&self) -> SharedBuf {
        self.map.clone()
    }

    /// Senders (and their zero-copy sends) still holding the mapping, besides this image.
    pub fn holders(&self) -> usize {
        Arc::strong_count(&self.map) - 1
    }
}
