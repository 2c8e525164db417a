//! The card's tuned profile on disk: stored beside the agent, ignored once its key is stale.

use std::path::{Path, PathBuf};

use phirig_kernel::cn::Algorithm;
use phirig_wire::{AlgoBest, Profile, ProfileKey};

use super::topology::ThreadPlan;

/// File name of the profile, in the agent binary's directory.
pub const PROFILE_FILE: &str = "phirig-agent.profile.json";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("reading the profile {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the profile {path} is not a profile: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing the profile {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where the profile lives: beside the running agent binary (the working directory if that is
/// unknown), so a card's profile stays with the agent deployed on it.
pub fn default_path() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join(PROFILE_FILE)))
        .unwrap_or_else(|| PathBuf::from(PROFILE_FILE))
}

/// The running agent's key: this CPU, this build, these page sizes.
pub fn current_key() -> ProfileKey {
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    ProfileKey {
        cpu_model: crate::system::cpu_brand(),
        build: crate::upgrade::build_id().to_string(),
        page_bytes: u64::try_from(page).unwrap_or(0),
        hugepage_bytes: hugepage_bytes(),
    }
}

fn hugepage_bytes() -> u64 {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("Hugepagesize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib << 10)
}

/// Reads the profile at `path`: `None` when there is none.
pub fn load(path: &Path) -> Result<Option<Profile>, ProfileError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ProfileError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|source| ProfileError::Parse {
            path: path.to_path_buf(),
            source,
        })
}

/// The profile at `path` if it was measured under `key`; a stale or unreadable one is reported
/// and left out, so the workers fall back to the CPUID plan.
pub fn load_current(path: &Path, key: &ProfileKey) -> Option<Profile> {
    match load(path) {
        Ok(Some(p)) if &p.key == key => Some(p),
        Ok(Some(p)) => {
            tracing::warn!(
                path = %path.display(),
                "profile is stale (measured on {:?}, build {}, pages {}/{}); run `phirig-agent tune`",
                p.key.cpu_model,
                p.key.build,
                p.key.page_bytes,
                p.key.hugepage_bytes
            );
            None
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("{e}; using the built-in plan");
            None
        }
    }
}

/// Writes the profile through a temporary file and a rename, so a reader never sees half of it.
pub fn save(profile: &Profile, path: &Path) -> Result<(), ProfileError> {
    let write = |source| ProfileError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_string_pretty(profile).map_err(|e| write(e.into()))?;
    std::fs::write(&tmp, text).map_err(write)?;
    std::fs::rename(&tmp, path).map_err(write)
}

/// The tuned threads and ways for `algo`, if the profile has them.
pub fn tuned_plan(profile: &Profile, algo: Algorithm) -> Option<ThreadPlan> {
    profile
        .algos
        .get(algo.name())
        .map(|b: &AlgoBest| ThreadPlan {
            threads: b.threads.max(1),
            intensity: b.intensity.max(1),
        })
}

/// The tuned rx/0 threads, if the profile has them (RandomX has no ways).
pub fn tuned_rx_threads(profile: &Profile) -> Option<usize> {
    profile.algos.get(phirig_rx::ALGO).map(|b| b.threads.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(key: ProfileKey) -> Profile {
        let mut p = Profile {
            key,
            ..Profile::default()
        };
        p.algos.insert(
            "cn/r".into(),
            AlgoBest {
                threads: 2,
                intensity: 3,
                hs: 220.0,
                hugepages: [6, 6],
                aes: "aes-ni".into(),
                rx_mode: None,
            },
        );
        p
    }

    #[test]
    fn a_saved_profile_is_used_until_its_key_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(PROFILE_FILE);
        assert!(load(&path).expect("missing is fine").is_none());
        let key = current_key();
        save(&sample(key.clone()), &path).expect("save");
        let p = load_current(&path, &key).expect("current profile");
        let plan = tuned_plan(&p, Algorithm::CnR).expect("cn/r tuned");
        assert_eq!((plan.threads, plan.intensity), (2, 3));
        assert!(tuned_plan(&p, Algorithm::Cn0).is_none());
        for stale in [
            ProfileKey {
                build: "other".into(),
                ..key.clone()
            },
            ProfileKey {
                cpu_model: "Other CPU".into(),
                ..key.clone()
            },
            ProfileKey {
                hugepage_bytes: key.hugepage_bytes + 1,
                ..key.clone()
            },
        ] {
            assert!(load_current(&path, &stale).is_none(), "{stale:?}");
        }
    }

    #[test]
    fn a_damaged_profile_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(PROFILE_FILE);
        std::fs::write(&path, "{not json").expect("write");
        assert!(matches!(load(&path), Err(ProfileError::Parse { .. })));
        assert!(load_current(&path, &current_key()).is_none());
    }
}
