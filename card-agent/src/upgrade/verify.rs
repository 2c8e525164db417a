//! Pure checks of an upload: what the headers announce, and whether what arrived matches it.

use sha3::{Digest, Sha3_256};

/// Header carrying the SHA3-256 of the body, in hex.
pub const DIGEST_HEADER: &str = "x-phirig-sha3-256";

/// Largest binary accepted (the agent is a few MiB; this only stops a runaway upload).
pub const MAX_BINARY: u64 = 256 << 20;

/// The first bytes of every ELF file: anything else would not run after the swap.
const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

/// Size and digest promised before the body is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Announced {
    pub size: u64,
    pub digest: [u8; 32],
}

/// Why an upload was refused; each maps to one HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("Content-Length is required")]
    MissingLength,
    #[error("Content-Length {0:?} is not a number")]
    BadLength(String),
    #[error("header {DIGEST_HEADER} is required")]
    MissingDigest,
    #[error("header {DIGEST_HEADER} must be 64 hex digits, got {0:?}")]
    BadDigest(String),
    #[error("the body is empty")]
    Empty,
    #[error("{size} bytes is more than the {cap}-byte limit")]
    TooLarge { size: u64, cap: u64 },
    #[error("upload cut short: {received} of {announced} bytes arrived")]
    Truncated { received: u64, announced: u64 },
    #[error("more than the announced {announced} bytes arrived")]
    Overlong { announced: u64 },
    #[error("SHA3-256 mismatch: announced {announced}, received {actual}")]
    DigestMismatch { announced: String, actual: String },
    #[error("not an ELF executable")]
    NotElf,
    #[error("another upload is in progress")]
    Busy,
}

impl UploadError {
    /// The HTTP status answered for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            Self::MissingLength => 411,
            Self::BadLength(_) | Self::MissingDigest | Self::BadDigest(_) | Self::Empty => 400,
            Self::TooLarge { .. } => 413,
            Self::Truncated { .. } | Self::Overlong { .. } => 400,
            Self::DigestMismatch { .. } | Self::NotElf => 422,
            Self::Busy => 409,
        }
    }
}

/// Reads the announced size and digest; refuses a size above `cap` before any byte is read.
pub fn announced(
    content_length: Option<&str>,
    digest: Option<&str>,
    cap: u64,
) -> Result<Announced, UploadError> {
    let raw = content_length.ok_or(UploadError::MissingLength)?.trim();
    let size: u64 = raw
        .parse()
        .map_err(|_| UploadError::BadLength(raw.to_string()))?;
    if size == 0 {
        return Err(UploadError::Empty);
    }
    if size > cap {
        return Err(UploadError::TooLarge { size, cap });
    }
    let hex_digest = digest.ok_or(UploadError::MissingDigest)?.trim();
    let mut out = [0u8; 32];
    hex::decode_to_slice(hex_digest, &mut out)
        .map_err(|_| UploadError::BadDigest(hex_digest.chars().take(80).collect()))?;
    Ok(Announced { size, digest: out })
}

/// Incremental hash and byte count of what has arrived so far.
#[derive(Default)]
pub struct Received {
    hasher: Sha3_256,
    bytes: u64,
    head: Vec<u8>,
}

impl Received {
    /// Adds one chunk; refuses as soon as it goes beyond the announced size.
    pub fn push(&mut self, chunk: &[u8], announced: &Announced) -> Result<(), UploadError> {
        self.bytes += chunk.len() as u64;
        if self.bytes > announced.size {
            return Err(UploadError::Overlong {
                announced: announced.size,
            });
        }
        if self.head.len() < ELF_MAGIC.len() {
            let take = (ELF_MAGIC.len() - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.hasher.update(chunk);
        Ok(())
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The final verdict on the whole body; returns its digest.
    pub fn finish(self, announced: &Announced) -> Result<[u8; 32], UploadError> {
        let digest: [u8; 32] = self.hasher.finalize().into();
        check_received(announced, self.bytes, &self.head, &digest)?;
        Ok(digest)
    }
}

/// Whether `received` bytes starting with `head` and hashing to `actual` are what was announced.
pub fn check_received(
    announced: &Announced,
    received: u64,
    head: &[u8],
    actual: &[u8; 32],
) -> Result<(), UploadError> {
    if received < announced.size {
        return Err(UploadError::Truncated {
            received,
            announced: announced.size,
        });
    }
    if received > announced.size {
        return Err(UploadError::Overlong {
            announced: announced.size,
        });
    }
    if actual != &announced.digest {
        return Err(UploadError::DigestMismatch {
            announced: hex::encode(announced.digest),
            actual: hex::encode(actual),
        });
    }
    if !head.starts_with(ELF_MAGIC) {
        return Err(UploadError::NotElf);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(b: &[u8]) -> [u8; 32] {
        Sha3_256::digest(b).into()
    }

    fn elf(n: usize) -> Vec<u8> {
        let mut v = b"\x7fELF".to_vec();
        v.extend((0..n).map(|i| (i * 7) as u8));
        v
    }

    #[test]
    fn headers_are_checked_before_the_body() {
        let d = hex::encode([0xab; 32]);
        assert_eq!(
            announced(Some("10"), Some(&d), 100),
            Ok(Announced {
                size: 10,
                digest: [0xab; 32]
            })
        );
        assert_eq!(
            announced(None, Some(&d), 100),
            Err(UploadError::MissingLength)
        );
        assert_eq!(
            announced(Some("x1"), Some(&d), 100),
            Err(UploadError::BadLength("x1".into()))
        );
        assert_eq!(announced(Some("0"), Some(&d), 100), Err(UploadError::Empty));
        let big = announced(Some("101"), Some(&d), 100).unwrap_err();
        assert_eq!(
            big,
            UploadError::TooLarge {
                size: 101,
                cap: 100
            }
        );
        assert_eq!(big.status(), 413);
        assert_eq!(
            announced(Some("10"), None, 100),
            Err(UploadError::MissingDigest)
        );
        assert!(matches!(
            announced(Some("10"), Some("abc"), 100),
            Err(UploadError::BadDigest(_))
        ));
        assert!(matches!(
            announced(Some("10"), Some(&"zz".repeat(32)), 100),
            Err(UploadError::BadDigest(_))
        ));
    }

    #[test]
    fn a_matching_body_passes_in_any_chunking() {
        let body = elf(100_000);
        let a = Announced {
            size: body.len() as u64,
            digest: digest(&body),
        };
        for chunk in [1, 3, 4096, body.len()] {
            let mut r = Received::default();
            for c in body.chunks(chunk) {
                r.push(c, &a).expect("within size");
            }
            assert_eq!(r.finish(&a), Ok(a.digest), "chunk {chunk}");
        }
    }

    #[test]
    fn short_long_flipped_and_non_elf_bodies_are_refused() {
        let body = elf(1000);
        let a = Announced {
            size: body.len() as u64,
            digest: digest(&body),
        };
        let mut r = Received::default();
        r.push(&body[..500], &a).expect("push");
        let short = r.finish(&a).unwrap_err();
        assert_eq!(
            short,
            UploadError::Truncated {
                received: 500,
                announced: 1004
            }
        );
        assert_eq!(short.status(), 400);

        let mut r = Received::default();
        r.push(&body, &a).expect("push");
        assert_eq!(
            r.push(b"x", &a),
            Err(UploadError::Overlong { announced: 1004 })
        );

        let mut flipped = body.clone();
        flipped[600] ^= 0x01;
        let mut r = Received::default();
        r.push(&flipped, &a).expect("push");
        let bad = r.finish(&a).unwrap_err();
        assert!(matches!(bad, UploadError::DigestMismatch { .. }), "{bad}");
        assert_eq!(bad.status(), 422);

        let text = b"#!/bin/sh\necho hi\n".to_vec();
        let t = Announced {
            size: text.len() as u64,
            digest: digest(&text),
        };
        let mut r = Received::default();
        r.push(&text, &t).expect("push");
        assert_eq!(r.finish(&t), Err(UploadError::NotElf));
    }
}
