//! Size-capped rotation: `file` is current, `file.1` the newest full part, `file.K` the oldest.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};

/// The path of rotated part `n` (`n` ≥ 1) of `path`: `path` with `.n` appended.
pub fn part_path(path: &Path, n: usize) -> PathBuf {
    let mut s: OsString = path.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

/// Shifts `path` → `path.1` → … → `path.keep`, dropping what was `path.keep`.
/// With `keep == 0` the current file is simply removed.
pub fn rotate(path: &Path, keep: usize) -> io::Result<()> {
    if keep == 0 {
        return remove_if_exists(path);
    }
    remove_if_exists(&part_path(path, keep))?;
    for n in (1..keep).rev() {
        rename_if_exists(&part_path(path, n), &part_path(path, n + 1))?;
    }
    rename_if_exists(path, &part_path(path, 1))
}

/// The existing parts of a rotated journal, oldest first, ending with `path` itself if it exists.
/// Stops at the first missing number, so stale parts from an older, longer chain are not mixed in.
pub fn parts(path: &Path) -> Vec<PathBuf> {
    let mut rotated = Vec::new();
    // Bounded: nobody keeps ten thousand parts, and an odd directory cannot make this loop long.
    for n in 1..10_000 {
        let p = part_path(path, n);
        if !p.exists() {
            break;
        }
        rotated.push(p);
    }
    rotated.reverse();
    if path.exists() {
        rotated.push(path.to_path_buf());
    }
    rotated
}

fn remove_if_exists(p: &Path) -> io::Result<()> {
    match std::fs::remove_file(p) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

fn rename_if_exists(from: &Path, to: &Path) -> io::Result<()> {
    match std::fs::rename(from, to) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_keeps_k_parts_oldest_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("j.bin");
        for i in 0..5u8 {
            std::fs::write(&path, [i]).expect("write");
            rotate(&path, 3).expect("rotate");
        }
        std::fs::write(&path, [5]).expect("write");
        let parts = parts(&path);
        let contents: Vec<u8> = parts
            .iter()
            .map(|p| std::fs::read(p).expect("read")[0])
            .collect();
        assert_eq!(contents, [2, 3, 4, 5]);
        assert!(!part_path(&path, 4).exists());
    }
}
