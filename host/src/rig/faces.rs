//! What the rig shows each refresh: the snapshot on the watch channel (host API), the status file, the live table.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::snapshot::RigSnapshot;
use crate::table;
use crate::HostError;

/// The run loop's outputs; see the module doc.
pub struct Faces {
    tx: watch::Sender<Arc<RigSnapshot>>,
    status_json: Option<PathBuf>,
    tty: bool,
    refresh: Duration,
    last_print: Option<Instant>,
    printed_lines: usize,
    /// The host API task, kept so it lives as long as the run.
    api: Option<tokio::task::JoinHandle<()>>,
}

impl Faces {
    /// Starts the host API when `--http-port` asks for it.
    pub async fn start(
        http: &crate::cli::HttpArgs,
        status_json: Option<PathBuf>,
        refresh: Duration,
    ) -> Result<Self, HostError> {
        Self::start_with_control(http, status_json, refresh, None).await
    }

    /// [`Faces::start`], with the dashboard's commands sent to `control`.
    pub async fn start_with_control(
        http: &crate::cli::HttpArgs,
        status_json: Option<PathBuf>,
        refresh: Duration,
        control: Option<tokio::sync::mpsc::Sender<crate::api::RigCommand>>,
    ) -> Result<Self, HostError> {
        let (tx, rx) = watch::channel(Arc::new(RigSnapshot::default()));
        let api = match crate::api::start_with_control(http, false, rx, control).await? {
            Some((addr, task)) => {
                tracing::info!(%addr, "host API listening");
                eprintln!("phirig: host API on http://{addr}/1/summary");
                Some(task)
            }
            None => None,
        };
        Ok(Faces {
            tx,
            status_json,
            tty: std::io::stdout().is_terminal(),
            refresh,
            last_print: None,
            printed_lines: 0,
            api,
        })
    }

    /// Publishes `snap` (API, status file) and prints the table when a refresh is due (or `force`).
    pub fn show(&mut self, snap: RigSnapshot, pool_line: &str, force: bool) {
        let snap = Arc::new(snap);
        self.tx.send_replace(snap.clone());
        if let Some(path) = &self.status_json {
            if let Err(e) = write_atomic(path, &snap) {
                tracing::warn!(path = %path.display(), error = %e, "status file not written");
            }
        }
        let due = self.last_print.is_none_or(|t| t.elapsed() >= self.refresh);
        if !(due || force) {
            return;
        }
        self.last_print = Some(Instant::now());
        let text = table::render(&snap, pool_line);
        let mut out = std::io::stdout();
        if self.tty {
            let _ = write!(out, "{}{}", table::rewind(self.printed_lines), text);
            self.printed_lines = text.lines().count();
        } else {
            let _ = write!(out, "{text}");
        }
        let _ = out.flush();
    }
}

impl Drop for Faces {
    fn drop(&mut self) {
        if let Some(api) = self.api.take() {
            api.abort();
        }
    }
}

/// Writes the snapshot to a temporary file beside `path` and renames it over `path`, so a
/// reader never sees half a document.
pub fn write_atomic(path: &Path, snap: &RigSnapshot) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(snap).map_err(std::io::Error::other)?;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_file_is_replaced_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("status.json");
        let mut snap = RigSnapshot {
            uptime_s: 1,
            ..RigSnapshot::default()
        };
        write_atomic(&path, &snap).expect("write");
        snap.uptime_s = 2;
        write_atomic(&path, &snap).expect("rewrite");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
        assert_eq!(v["uptime_s"], 2);
        assert!(!dir.path().join("status.json.tmp").exists());
    }
}
