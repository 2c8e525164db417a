//! What a card is (architecture, AES, digest tool), probed once, and which agent build it gets.

use super::config::{AgentBinaries, DigestMethod};
use super::error::DeployError;
use crate::discovery::Card;
use std::path::PathBuf;

/// Facts about a card that decide what is copied and how it is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardProfile {
    /// `uname -m`: `x86_64` for hosts and KNL, `k1om` for KNC.
    pub arch: String,
    /// The CPU advertises AES-NI (`aes` in `/proc/cpuinfo` flags).
    pub aes: bool,
    pub digest: DigestMethod,
}

/// One round trip: `uname -m`, the count of `aes` flag lines, and the best digest tool present.
/// Fixed text, nothing pasted in.
pub const PROBE_SCRIPT: &str = r#"uname -m
n=$(grep -c -w aes /proc/cpuinfo 2>/dev/null); echo "${n:-0}"
if command -v openssl >/dev/null 2>&1 && echo | openssl dgst -sha3-256 >/dev/null 2>&1; then echo openssl
elif command -v python3 >/dev/null 2>&1 && python3 -c 'import hashlib; hashlib.sha3_256()' >/dev/null 2>&1; then echo python3
else echo stream; fi"#;

/// Parses the probe's three lines.
pub fn parse_probe(card: &str, reply: &str) -> Result<CardProfile, DeployError> {
    let bad = || DeployError::BadReply {
        card: card.into(),
        step: "probe",
        reply: reply.into(),
    };
    let mut lines = reply.lines().map(str::trim);
    let arch = lines.next().filter(|a| !a.is_empty()).ok_or_else(bad)?;
    let aes_lines: u64 = lines.next().and_then(|n| n.parse().ok()).ok_or_else(bad)?;
    let digest = match lines.next() {
        Some("openssl") => DigestMethod::Openssl,
        Some("python3") => DigestMethod::Python3,
        Some("stream") => DigestMethod::Stream,
        _ => return Err(bad()),
    };
    Ok(CardProfile {
        arch: arch.to_string(),
        aes: aes_lines > 0,
        digest,
    })
}

/// The build to copy, and whether the software AES path must be forced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryChoice {
    pub path: PathBuf,
    pub no_aesni: bool,
}

/// Picks the agent build for `card`; a KNC card without a k1om build is refused, not guessed at.
pub fn choose_binary(
    card: &Card,
    profile: &CardProfile,
    binaries: &AgentBinaries,
) -> Result<BinaryChoice, DeployError> {
    let refuse = |reason: &str| DeployError::NoSuitableBinary {
        card: card.name.clone(),
        arch: profile.arch.clone(),
        reason: reason.into(),
    };
    let path = match profile.arch.as_str() {
        "k1om" => binaries.k1om.clone().ok_or_else(|| {
            refuse("KNC (x100 / k1om) cards need a k1om build of phirig-agent; none configured")
        })?,
        _ if card.is_knc() => {
            return Err(refuse(
                "card reports MPSS family x100 (KNC), which needs a k1om build",
            ))
        }
        "x86_64" => binaries
            .x86_64
            .clone()
            .ok_or_else(|| refuse("no x86-64 build of phirig-agent configured"))?,
        _ => return Err(refuse("only x86_64 and k1om cards are supported")),
    };
    Ok(BinaryChoice {
        path,
        no_aesni: !profile.aes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bins() -> AgentBinaries {
        AgentBinaries {
            x86_64: Some("/b/x86".into()),
            k1om: None,
        }
    }

    #[test]
    fn probe_reply() {
        let p = parse_probe("c", "x86_64\n4\nopenssl\n").expect("parse");
        assert_eq!(p.arch, "x86_64");
        assert!(p.aes);
        assert_eq!(p.digest, DigestMethod::Openssl);
        let p = parse_probe("c", "k1om\n0\nstream\n").expect("parse");
        assert!(!p.aes);
        assert!(parse_probe("c", "x86_64\n").is_err());
        assert!(parse_probe("c", "x86_64\nlots\nstream").is_err());
    }

    #[test]
    fn choice() {
        let host = Card::local();
        let p = CardProfile {
            arch: "x86_64".into(),
            aes: false,
            digest: DigestMethod::Stream,
        };
        let c = choose_binary(&host, &p, &bins()).expect("x86");
        assert!(c.no_aesni);
        let knc = CardProfile {
            arch: "k1om".into(),
            ..p.clone()
        };
        let err = choose_binary(&host, &knc, &bins()).unwrap_err();
        assert!(err.to_string().contains("k1om build"), "{err}");
        let mut x100 = Card::local();
        x100.family = Some("x100".into());
        assert!(choose_binary(&x100, &p, &bins()).is_err());
        let odd = CardProfile {
            arch: "aarch64".into(),
            ..p
        };
        assert!(choose_binary(&host, &odd, &bins()).is_err());
    }
}
