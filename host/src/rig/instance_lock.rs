//! One `phirig run` per journal and proxy port: a second one is refused before it starts anything.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Why this run may not start beside another.
#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("another `phirig run` ({holder}) writes the journal {}: stop it first, or give this one its own --journal", journal.display())]
    JournalHeld { journal: PathBuf, holder: String },
    #[error("cannot lock the journal {}: {source}", lock.display())]
    Lock {
        lock: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the proxy port {addr} is taken, most likely by another `phirig run`: stop it first, or give this one its own --proxy-bind")]
    ProxyPortInUse {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// Held for the whole run: an exclusive lock on `JOURNAL.lock`, which the kernel drops when the
/// process ends however it ends (so a host killed with -9 leaves no stale lock behind).
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Locks `journal` for this process, or says which process holds it. Taken before the
    /// journal is opened: opening truncates it, which would wipe the other run's record.
    pub fn acquire(journal: &Path) -> Result<Self, InstanceError> {
        let mut name = journal.as_os_str().to_owned();
        name.push(".lock");
        let lock = PathBuf::from(name);
        let err = |source| InstanceError::Lock {
            lock: lock.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(err)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut pid = String::new();
                let holder = match file.read_to_string(&mut pid) {
                    Ok(_) if !pid.trim().is_empty() => format!("pid {}", pid.trim()),
                    _ => "pid unknown".into(),
                };
                return Err(InstanceError::JournalHeld {
                    journal: journal.to_path_buf(),
                    holder,
                });
            }
            Err(TryLockError::Error(e)) => return Err(err(e)),
        }
        // Who holds it, for the next run's message; the lock itself is what counts.
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| write!(file, "{}", std::process::id()))
            .map_err(err)?;
        Ok(Self { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_journal_is_refused_naming_the_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let journal = dir.path().join("phirig.journal");
        let first = InstanceLock::acquire(&journal).expect("first");
        let e = InstanceLock::acquire(&journal).expect_err("second");
        let line = e.to_string();
        assert!(
            line.contains(&format!("pid {}", std::process::id())) && line.contains("--journal"),
            "{line}"
        );
        assert!(InstanceLock::acquire(&dir.path().join("other.journal")).is_ok());
        drop(first);
        InstanceLock::acquire(&journal).expect("free again once the first is dropped");
    }
}
