//! Self-upgrade: `PUT /v1/binary` streams a new executable beside the running one, verifies its
//! size and SHA3-256, renames it over the binary and re-executes (same argv and environment).
//!
//! The HTTP server authorises first (the token is always required), then hands the unread body
//! here; a refused upload leaves the old binary and no temporary file behind.

mod error;
mod image;
mod receive;
mod reexec;
mod verify;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{HeaderMap, CONTENT_LENGTH};
use hyper::StatusCode;
use serde_json::json;

use crate::http::ApiResponse;
pub use error::InstallError;
pub use image::{build_id, file_digest, self_image, SelfImage, SelfImageError};
pub use receive::{receive, TEMP_PREFIX};
pub use reexec::reexec;
pub use verify::{
    announced, check_received, Announced, Received, UploadError, DIGEST_HEADER, MAX_BINARY,
};

/// The path of the upload endpoint.
pub const BINARY_PATH: &str = "/v1/binary";

/// Time given to the 200 answer to reach the sender before the process starts shutting down.
const ANSWER_GRACE: Duration = Duration::from_millis(200);

/// Accepts one upload at a time and, once one is installed, asks the miner to stop and re-execute.
pub struct Upgrader {
    cap: u64,
    busy: AtomicBool,
    installed: AtomicBool,
    on_installed: Arc<dyn Fn() + Send + Sync>,
}

/// Releases the one-upload-at-a-time flag however the upload ends.
struct BusyGuard<'a>(&'a AtomicBool);

impl Drop for BusyGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl Upgrader {
    /// `on_installed` runs shortly after a new binary is in place (the miner's stop request).
    pub fn new(on_installed: impl Fn() + Send + Sync + 'static) -> Self {
        // Resolve the path and fingerprint now, before any upload can replace the file.
        let _ = self_image();
        Self {
            cap: MAX_BINARY,
            busy: AtomicBool::new(false),
            installed: AtomicBool::new(false),
            on_installed: Arc::new(on_installed),
        }
    }

    /// A smaller size limit (tests).
    pub fn with_cap(mut self, cap: u64) -> Self {
        self.cap = cap;
        self
    }

    /// True once a new binary replaced ours: the miner re-executes instead of exiting.
    pub fn installed(&self) -> bool {
        self.installed.load(Ordering::Acquire)
    }

    /// Re-executes the installed binary; returns only on failure.
    pub fn reexec(&self) -> std::io::Error {
        match self_image() {
            Ok(img) => reexec(img),
            Err(e) => std::io::Error::other(e.to_string()),
        }
    }

    /// Handles an authorised `PUT /v1/binary`: checks the headers before touching the body.
    pub async fn handle<B>(&self, headers: &HeaderMap, body: B) -> ApiResponse
    where
        B: hyper::body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        match self.install(headers, body).await {
            Ok(reply) => reply,
            Err(e) => {
                tracing::warn!("upgrade refused: {e}");
                let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST);
                ApiResponse::error(status, &e.to_string())
            }
        }
    }

    async fn install<B>(&self, headers: &HeaderMap, body: B) -> Result<ApiResponse, InstallError>
    where
        B: hyper::body::Body<Data = Bytes> + Unpin,
        B::Error: std::fmt::Display,
    {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let announced = announced(
            header(CONTENT_LENGTH.as_str()),
            header(DIGEST_HEADER),
            self.cap,
        )?;
        let image = self_image().map_err(InstallError::NoImage)?;
        if self.installed() || self.busy.swap(true, Ordering::AcqRel) {
            return Err(UploadError::Busy.into());
        }
        let _busy = BusyGuard(&self.busy);
        let digest = receive(body, &image.path, &announced).await?;
        self.installed.store(true, Ordering::Release);
        let new_build = hex::encode(&digest[..8]);
        tracing::info!(
            "new binary installed at {} (build {} → {new_build}, {} bytes); re-executing",
            image.path.display(),
            image.build,
            announced.size
        );
        let on_installed = self.on_installed.clone();
        tokio::spawn(async move {
            tokio::time::sleep(ANSWER_GRACE).await;
            on_installed();
        });
        Ok(ApiResponse::ok(json!({
            "status": "installed",
            "bytes": announced.size,
            "sha3_256": hex::encode(digest),
            "old_build": image.build,
            "new_build": new_build,
            "restarting": true,
        })))
    }
}
