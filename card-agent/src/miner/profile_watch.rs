//! Picks up a changed profile file while mining (a new `phirig-agent tune`, a copied file):
//! re-plans the workers and offers the pool the new algo-perf, without a config reload.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::info;

use super::config::{offered_perf, MinerConfig};
use super::state::{lock, MinerState};
use crate::worker::profile;

/// How often the file's stamp is looked at: a stat, slow enough to cost nothing.
pub const PROFILE_POLL: Duration = Duration::from_secs(2);

/// The profile file's modification time and length when last looked at.
pub struct ProfileWatch {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
}

fn stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl ProfileWatch {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            seen: stamp(path),
        }
    }

    /// True once for each change of the file (written, replaced, removed).
    pub fn changed(&mut self) -> bool {
        let now = stamp(&self.path);
        let changed = now != self.seen;
        self.seen = now;
        changed
    }

    /// Follows a config reload that may name another file.
    pub fn follow(&mut self, path: &Path) {
        if path != self.path {
            *self = Self::new(path);
        }
    }
}

/// Reads the profile again and applies what changed: workers re-planned, algo-perf offered in
/// a `getjob`. A stale or unreadable file counts as no profile, as at start-up.
pub fn apply_changed_profile(state: &MinerState, config: &mut MinerConfig) {
    let new = profile::load_current(&config.profile_path, &profile::current_key()).map(Arc::new);
    if new.as_deref() == config.workers.profile.as_deref() {
        return;
    }
    info!(path = %config.profile_path.display(), "profile changed: re-planning the workers");
    config.workers.profile = new;
    config.client.offer.perf = offered_perf(config.workers.profile.as_deref());
    // Joining waits at most one hash batch per thread.
    tokio::task::block_in_place(|| state.workers.restart(config.workers.clone(), config.algo));
    if let Some(client) = lock(&state.client).as_ref() {
        client.offer_perf(config.client.offer.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_change_of_the_file_is_seen_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("p.json");
        let mut watch = ProfileWatch::new(&path);
        assert!(!watch.changed(), "still no file");
        std::fs::write(&path, "{}").expect("write");
        assert!(watch.changed());
        assert!(!watch.changed());
        std::fs::write(&path, "{\"x\":1}").expect("rewrite");
        assert!(watch.changed());
        std::fs::remove_file(&path).expect("remove");
        assert!(watch.changed());
    }
}
