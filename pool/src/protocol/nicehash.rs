//! NiceHash detection: when it applies, the pool owns blob byte 42 and miners must leave it alone.

use super::{NICEHASH_BYTE_OFFSET, NONCE_LEN, NONCE_OFFSET};

/// Extension name a NiceHash-style pool advertises in its login result.
pub const NICEHASH_EXTENSION: &str = "nicehash";

/// Whether a host belongs to NiceHash (which always needs NiceHash mode).
pub fn is_nicehash_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "nicehash.com" || host.ends_with(".nicehash.com")
}

/// Whether a job blob arrives with a non-zero nonce: the pool pre-set part of it for us.
pub fn blob_has_nicehash_nonce(blob: &[u8]) -> bool {
    blob.get(NONCE_OFFSET..NONCE_OFFSET + NONCE_LEN)
        .is_some_and(|nonce| nonce.iter().any(|&b| b != 0))
}

// The fixed byte is the nonce's most significant byte (little-endian), a fact other crates rely on.
const _: () = assert!(NICEHASH_BYTE_OFFSET == NONCE_OFFSET + NONCE_LEN - 1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert!(is_nicehash_host("randomxmonero.auto.nicehash.com"));
        assert!(is_nicehash_host("NiceHash.com."));
        assert!(!is_nicehash_host("notnicehash.com"));
        assert!(!is_nicehash_host("127.0.0.1"));
    }

    #[test]
    fn blob_nonce() {
        let mut blob = vec![0u8; 76];
        assert!(!blob_has_nicehash_nonce(&blob));
        blob[NICEHASH_BYTE_OFFSET] = 7;
        assert!(blob_has_nicehash_nonce(&blob));
        assert!(!blob_has_nicehash_nonce(&blob[..40]));
    }
}
