//! `phirig pool serve --algo-values FILE`: the switching pool's table of what one hash of each
//! algorithm is worth, a JSON object read at start and again whenever the file changes.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use phirig_kernel::cn::Algorithm;
use phirig_pool::server::AlgoValues;

/// How often the file's modification time is looked at.
pub const VALUES_POLL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum AlgoValuesError {
    #[error("--algo-values {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("--algo-values {}: not a JSON object of algorithm to value: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("--algo-values {}: {algo}: {why}", path.display())]
    Entry {
        path: PathBuf,
        algo: String,
        why: String,
    },
}

/// Reads the table: every key an algorithm the kernel can verify, every value finite and not
/// negative, at least one entry.
pub fn load(path: &Path) -> Result<AlgoValues, AlgoValuesError> {
    let text = std::fs::read_to_string(path).map_err(|source| AlgoValuesError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let values: AlgoValues =
        serde_json::from_str(&text).map_err(|source| AlgoValuesError::Parse {
            path: path.to_path_buf(),
            source,
        })?;
    let entry = |algo: &str, why: String| AlgoValuesError::Entry {
        path: path.to_path_buf(),
        algo: algo.to_string(),
        why,
    };
    if values.is_empty() {
        return Err(entry("(none)", "the table is empty".into()));
    }
    for (algo, value) in &values {
        algo.parse::<Algorithm>()
            .map_err(|e| entry(algo, e.to_string()))?;
        if !value.is_finite() || *value < 0.0 {
            return Err(entry(algo, format!("value {value} is not a number ≥ 0")));
        }
    }
    Ok(values)
}

/// The file's modification time when last looked at.
pub struct ValuesWatch {
    path: PathBuf,
    seen: Option<SystemTime>,
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl ValuesWatch {
    pub fn new(path: &Path) -> Self {
        Self {
            path: path.to_path_buf(),
            seen: modified(path),
        }
    }

    /// The new table when the file changed since the last look; a bad one is an error and the
    /// caller keeps the values it has.
    pub fn changed(&mut self) -> Option<Result<AlgoValues, AlgoValuesError>> {
        let now = modified(&self.path);
        if now == self.seen {
            return None;
        }
        self.seen = now;
        Some(load(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_table_refuses_bad_ones_and_sees_each_change() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("values.json");
        std::fs::write(&path, r#"{"cn-pico": 1.0, "cn-lite/1": 0.25}"#).expect("write");
        let values = load(&path).expect("good table");
        assert_eq!(values.get("cn-lite/1"), Some(&0.25));
        let mut watch = ValuesWatch::new(&path);
        assert!(watch.changed().is_none());
        for (bad, says) in [
            ("[1]", "JSON object"),
            ("{}", "empty"),
            (r#"{"sha256": 1}"#, "sha256"),
            (r#"{"cn/r": -1}"#, "≥ 0"),
        ] {
            std::fs::write(&path, bad).expect("write");
            let err = load(&path).expect_err(bad).to_string();
            assert!(err.contains(says), "{bad}: {err}");
        }
        // Written after the watch's last look: seen once, as an error that keeps the old table.
        std::thread::sleep(Duration::from_millis(10));
        std::fs::write(&path, "{").expect("write");
        assert!(matches!(watch.changed(), Some(Err(_))));
        assert!(watch.changed().is_none());
        assert!(load(&dir.path().join("missing.json")).is_err());
    }
}
