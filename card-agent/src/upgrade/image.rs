//! The running executable as found at start-up: its path, its argv and its build fingerprint.

use std::ffi::CString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
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

static IMAGE: OnceLock<Result<SelfImage, String>> = OnceLock::new();

/// The running executable; computed on first call (the miner calls it at start-up).
pub fn self_image() -> Result<&'static SelfImage, &'static str> {
    IMAGE.get_or_init(detect).as_ref().map_err(String::as_str)
}

/// The build fingerprint, or "unknown" when the executable cannot be read.
pub fn build_id() -> &'static str {
    self_image().map_or("unknown", |i| i.build.as_str())
}

fn detect() -> Result<SelfImage, String> {
    let path = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    let argv = std::env::args_os()
        .map(|a| CString::new(a.as_bytes()).map_err(|_| "argument holds a NUL byte".to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    // /proc/self/exe is the inode we run, even if the path was replaced before we got here.
    let digest = file_digest("/proc/self/exe")
        .or_else(|_| file_digest(&path))
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(SelfImage {
        path,
        argv,
        build: hex::encode(&digest[..8]),
    })
}

/// SHA3-256 of a file, read in 64 KiB pieces.
pub fn file_digest(path: impl AsRef<std::path::Path>) -> std::io::Result<[u8; 32]> {
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
