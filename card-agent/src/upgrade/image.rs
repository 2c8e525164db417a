//! The running executable as found at start-up: its path, its argv and its build fingerprint.

use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sha3::{Digest, Sha3_256};

/// What re-executing needs, resolved once: after the file is replaced, `/proc/self/exe` names
/// "<path> (deleted)", so the path must be known before any upgrade.
#[derive(Debug, Clone)]
pub struct SelfImage {
    pub path: PathBuf,
    pub argv: Vec<CString>,
    /// First 16 hex digits of the SHA3-256 of the executable: tells two builds apart.
    pub build: String,
}

/// Why the running executable could not be resolved; the agent then cannot replace itself.
#[derive(Debug, thiserror::Error)]
pub enum SelfImageError {
    #[error("cannot find own executable: {0}")]
    Exe(#[source] std::io::Error),
    #[error("argument holds a NUL byte")]
    NulInArgument(#[source] std::ffi::NulError),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

static IMAGE: OnceLock<Result<SelfImage, SelfImageError>> = OnceLock::new();

/// The running executable; computed on first call (the miner calls it at start-up).
pub fn self_image() -> Result<&'static SelfImage, &'static SelfImageError> {
    IMAGE.get_or_init(detect).as_ref()
}

/// The build fingerprint, or "unknown" when the executable cannot be read.
pub fn build_id() -> &'static str {
    self_image().map_or("unknown", |i| i.build.as_str())
}

fn detect() -> Result<SelfImage, SelfImageError> {
    let path = std::env::current_exe().map_err(SelfImageError::Exe)?;
    let argv = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()).map_err(SelfImageError::NulInArgument))
        .collect::<Result<Vec<_>, _>>()?;
    // /proc/self/exe is the inode we run, even if the path was replaced before we got here.
    let digest = file_digest("/proc/self/exe")
        .or_else(|_| file_digest(&path))
        .map_err(|source| SelfImageError::Read {
            path: path.clone(),
            source,
        })?;
    Ok(SelfImage {
        path,
        argv,
        build: hex::encode(&digest[..8]),
    })
}

/// SHA3-256 of a file, read in 64 KiB pieces.
pub fn file_digest(path: impl AsRef<Path>) -> std::io::Result<[u8; 32]> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha3_256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_image_is_found_and_fingerprinted() {
        let img = self_image().expect("test binary readable");
        assert!(img.path.is_file(), "{}", img.path.display());
        assert_eq!(img.build.len(), 16);
        assert!(img.build.chars().all(|c| c.is_ascii_hexdigit()));
        let full = file_digest(&img.path).expect("digest");
        assert_eq!(hex::encode(&full[..8]), img.build);
        assert!(!img.argv.is_empty());
    }
}
