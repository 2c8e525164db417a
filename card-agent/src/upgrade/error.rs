//! `InstallError`: an upload refused, or this agent unable to store it or to replace itself.

use std::path::PathBuf;

use super::image::SelfImageError;
use super::verify::UploadError;

/// Why a new binary was not installed; each maps to one HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Refused(#[from] UploadError),
    #[error("this agent cannot replace itself: {0}")]
    NoImage(#[source] &'static SelfImageError),
    #[error("this agent cannot replace itself: {} has no directory", .0.display())]
    NoDirectory(PathBuf),
    #[error("cannot store the upload: {what} {}: {source}", path.display())]
    Store {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl InstallError {
    /// The HTTP status answered: the upload's own for a refusal, 500 for the agent's trouble.
    pub fn status(&self) -> u16 {
        match self {
            Self::Refused(e) => e.status(),
            Self::NoImage(_) | Self::NoDirectory(_) | Self::Store { .. } => 500,
        }
    }
}
