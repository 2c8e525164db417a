//! SHA3-256 of a file on the card, by the best tool it has, and of a file on the host.

use super::config::DigestMethod;
use super::error::DeployError;
use crate::discovery::Card;
use crate::ssh::{run, shell_quote, Input, SshOptions};
use sha3::{Digest, Sha3_256};
use std::path::Path;

/// Hex SHA3-256 of a local file.
pub async fn local_digest(path: &Path) -> Result<String, DeployError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| DeployError::LocalBinary {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(hex::encode(Sha3_256::digest(&bytes)))
}

/// The remote script that prints the digest of `path` (quoted) with `method`.
pub fn digest_script(method: DigestMethod, path: &str) -> String {
    let p = shell_quote(path);
    match method {
        // `< file` keeps openssl's output format to "…= <hex>" whatever the file name.
        DigestMethod::Openssl => format!("openssl dgst -sha3-256 < {p}"),
        DigestMethod::Python3 => format!(
            "python3 -c {} {p}",
            shell_quote(
                "import hashlib,sys\nh=hashlib.sha3_256()\nf=open(sys.argv[1],'rb')\nfor b in iter(lambda: f.read(1<<20), b''): h.update(b)\nprint(h.hexdigest())"
            )
        ),
        DigestMethod::Stream => format!("cat {p}"),
    }
}

/// Hex SHA3-256 of `path` on `card`.
pub async fn remote_digest(
    card: &Card,
    ssh: &SshOptions,
    method: DigestMethod,
    path: &str,
) -> Result<String, DeployError> {
    let out = run(card, ssh, &digest_script(method, path), Input::None).await?;
    if !out.success() {
        return Err(DeployError::RemoteCommand {
            card: card.name.clone(),
            step: "digest",
            code: out.code,
            stderr: out.stderr,
        });
    }
    if method == DigestMethod::Stream {
        return Ok(hex::encode(Sha3_256::digest(&out.stdout)));
    }
    let text = out.stdout_text();
    parse_digest_reply(&text).ok_or_else(|| DeployError::BadReply {
        card: card.name.clone(),
        step: "digest",
        reply: text,
    })
}

/// The hex digest at the end of an `openssl dgst` or python reply (the last word, 64 hex digits).
pub fn parse_digest_reply(text: &str) -> Option<String> {
    let hex = text.split_whitespace().last()?.to_ascii_lowercase();
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every method, run locally against a file with a hostile name, agrees with the host hash.
    #[tokio::test]
    async fn methods_agree_locally() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a b'$(x)");
        std::fs::write(&path, b"phirig agent bytes").expect("write");
        let want = local_digest(&path).await.expect("local");
        let card = Card::local();
        let ssh = SshOptions::default();
        let p = path.to_str().expect("utf8 path");
        for m in [
            DigestMethod::Openssl,
            DigestMethod::Python3,
            DigestMethod::Stream,
        ] {
            // openssl without SHA3 or a missing python3 only skips that method here.
            match remote_digest(&card, &ssh, m, p).await {
                Ok(got) => assert_eq!(got, want, "{m:?}"),
                Err(e) => eprintln!("skipping {m:?}: {e}"),
            }
        }
        let stream = remote_digest(&card, &ssh, DigestMethod::Stream, p)
            .await
            .expect("stream");
        assert_eq!(stream, want);
    }
}
