//! Streams an upload into a temporary file beside the binary, verifies it and renames it into place.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use http_body_util::BodyExt;
use tokio::io::AsyncWriteExt;

use super::error::InstallError;
use super::verify::{Announced, Received, UploadError};

/// Prefix of temporary upload files (a leftover from a crash is recognisable and safe to delete).
pub const TEMP_PREFIX: &str = ".phirig-upload-";

/// A file removed on drop unless it was renamed into place.
struct TempFile {
    path: PathBuf,
    installed: bool,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.installed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn io(what: &'static str, path: &Path, source: std::io::Error) -> InstallError {
    InstallError::Store {
        what,
        path: path.to_path_buf(),
        source,
    }
}

/// Receives `body` into a temporary file in `target`'s directory (same file system, so the final
/// rename is atomic), checks it against `announced`, makes it executable and renames it over
/// `target`. On any error the temporary file is gone and `target` is untouched.
pub async fn receive<B>(
    body: B,
    target: &Path,
    announced: &Announced,
) -> Result<[u8; 32], InstallError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::fmt::Display,
{
    let dir = target
        .parent()
        .ok_or_else(|| InstallError::NoDirectory(target.to_path_buf()))?;
    let tmp_path = dir.join(format!("{TEMP_PREFIX}{:016x}", rand::random::<u64>()));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(&tmp_path)
        .map_err(|e| io("cannot create", &tmp_path, e))?;
    let mut tmp = TempFile {
        path: tmp_path,
        installed: false,
    };
    let mut file = tokio::fs::File::from_std(file);
    let mut received = Received::default();
    let mut body = body;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| UploadError::Truncated {
            // The connection ended (or broke) before the announced size arrived.
            received: received.bytes(),
            announced: announced.size,
        })?;
        if let Ok(chunk) = frame.into_data() {
            received.push(&chunk, announced)?;
            file.write_all(&chunk)
                .await
                .map_err(|e| io("cannot write", &tmp.path, e))?;
        }
    }
    let digest = received.finish(announced)?;
    file.sync_all()
        .await
        .map_err(|e| io("cannot sync", &tmp.path, e))?;
    drop(file);
    std::fs::set_permissions(&tmp.path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| io("cannot chmod", &tmp.path, e))?;
    std::fs::rename(&tmp.path, target).map_err(|e| io("cannot rename over", target, e))?;
    tmp.installed = true;
    Ok(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::Full;
    use sha3::{Digest, Sha3_256};

    fn announced_for(b: &[u8]) -> Announced {
        Announced {
            size: b.len() as u64,
            digest: Sha3_256::digest(b).into(),
        }
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(TEMP_PREFIX))
            .collect()
    }

    #[tokio::test]
    async fn good_body_replaces_the_target_bad_body_leaves_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("agent");
        std::fs::write(&target, b"\x7fELF old").expect("write");
        let new = b"\x7fELF new build".to_vec();
        let a = announced_for(&new);

        let mut flipped = new.clone();
        flipped[6] ^= 1;
        let err = receive(Full::new(Bytes::from(flipped)), &target, &a)
            .await
            .unwrap_err();
        assert_eq!(err.status(), 422);
        assert_eq!(std::fs::read(&target).expect("read"), b"\x7fELF old");
        assert!(leftovers(dir.path()).is_empty());

        // A body stream that breaks half-way, as when the sender's connection drops.
        let chunks: Vec<Result<hyper::body::Frame<Bytes>, std::io::Error>> = vec![
            Ok(hyper::body::Frame::data(Bytes::copy_from_slice(&new[..5]))),
            Err(std::io::Error::other("connection reset")),
        ];
        let err = receive(Scripted(chunks.into()), &target, &a)
            .await
            .unwrap_err();
        match err {
            InstallError::Refused(e) => assert_eq!(
                e,
                UploadError::Truncated {
                    received: 5,
                    announced: a.size
                }
            ),
            other => panic!("not a refusal: {other}"),
        }
        assert!(leftovers(dir.path()).is_empty());

        let digest = receive(Full::new(Bytes::from(new.clone())), &target, &a)
            .await
            .expect("installed");
        assert_eq!(digest, a.digest);
        assert_eq!(std::fs::read(&target).expect("read"), new);
        let mode = std::fs::metadata(&target)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(leftovers(dir.path()).is_empty());
    }

    /// A body replaying fixed frames and errors, as a dropped connection delivers them.
    struct Scripted(std::collections::VecDeque<Result<hyper::body::Frame<Bytes>, std::io::Error>>);

    impl hyper::body::Body for Scripted {
        type Data = Bytes;
        type Error = std::io::Error;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            _cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, std::io::Error>>> {
            std::task::Poll::Ready(self.0.pop_front())
        }
    }
}
