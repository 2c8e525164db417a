//! SSH targets (`user@host:port`, `host`, `[::1]:22`) and their parse errors.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where to reach a card over SSH. `user` and `port` left out fall back to the user's ssh config.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshTarget {
    pub user: Option<String>,
    /// Host name or address, without brackets for IPv6.
    pub host: String,
    pub port: Option<u16>,
}

/// Why a string is not a usable SSH target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetParseError {
    #[error("empty SSH target")]
    Empty,
    #[error("SSH target {0:?}: empty user before '@'")]
    EmptyUser(String),
    #[error("SSH target {0:?}: empty host")]
    EmptyHost(String),
    #[error("SSH target {0:?}: unclosed '[' in IPv6 address")]
    UnclosedBracket(String),
    #[error("SSH target {target:?}: bad port {port:?} (expected 1-65535)")]
    BadPort { target: String, port: String },
    // A leading '-' would be read by ssh as an option: refuse rather than quote.
    #[error("SSH target {0:?}: user and host may not start with '-' or contain whitespace, '@' or control characters")]
    BadCharacters(String),
}

impl SshTarget {
    /// A target with only a host.
    pub fn host(host: impl Into<String>) -> Self {
        SshTarget {
            user: None,
            host: host.into(),
            port: None,
        }
    }

    /// `user@host` as ssh wants it (IPv6 without brackets; the port goes to `-p`).
    pub fn destination(&self) -> String {
        match &self.user {
            Some(u) => format!("{u}@{}", self.host),
            None => self.host.clone(),
        }
    }

    /// The host as it appears in a URL (IPv6 in brackets).
    pub fn url_host(&self) -> String {
        url_host(&self.host)
    }
}

/// Brackets an IPv6 literal for use in a URL or `host:port`.
pub fn url_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

fn valid_word(w: &str) -> bool {
    !w.starts_with('-')
        && !w
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '@')
}

impl FromStr for SshTarget {
    type Err = TargetParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err(TargetParseError::Empty);
        }
        let (user, rest) = match s.rsplit_once('@') {
            Some(("", _)) => return Err(TargetParseError::EmptyUser(s.into())),
            Some((u, r)) => (Some(u.to_string()), r),
            None => (None, s),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let (h, after) = inner
                .split_once(']')
                .ok_or_else(|| TargetParseError::UnclosedBracket(s.into()))?;
            match after {
                "" => (h, None),
                p => match p.strip_prefix(':') {
                    Some(p) => (h, Some(p)),
                    None => return Err(TargetParseError::BadCharacters(s.into())),
                },
            }
        } else if rest.matches(':').count() > 1 {
            // A bare IPv6 literal: no port possible without brackets.
            (rest, None)
        } else {
            match rest.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(TargetParseError::EmptyHost(s.into()));
        }
        let port = match port {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    return Err(TargetParseError::BadPort {
                        target: s.into(),
                        port: p.into(),
                    })
                }
            },
        };
        if !valid_word(host) || user.as_deref().is_some_and(|u| !valid_word(u)) {
            return Err(TargetParseError::BadCharacters(s.into()));
        }
        Ok(SshTarget {
            user,
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for SshTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        match self.port {
            Some(p) => write!(f, "{}:{p}", url_host(&self.host)),
            None => write!(f, "{}", url_host(&self.host)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> SshTarget {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn forms() {
        assert_eq!(t("mic0"), SshTarget::host("mic0"));
        let full = t("root@172.31.1.1:2222");
        assert_eq!(full.user.as_deref(), Some("root"));
        assert_eq!(full.host, "172.31.1.1");
        assert_eq!(full.port, Some(2222));
        let v6 = t("[::1]:22");
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(22)));
        let v6u = t("me@[fe80::1]");
        assert_eq!(
            (v6u.user.as_deref(), v6u.host.as_str()),
            (Some("me"), "fe80::1")
        );
        assert_eq!(t("::1").host, "::1");
        assert_eq!(t("user@host:22").to_string(), "user@host:22");
        assert_eq!(t("[::1]:22").to_string(), "[::1]:22");
    }

    #[test]
    fn errors() {
        use TargetParseError::*;
        let e = |s: &str| s.parse::<SshTarget>().unwrap_err();
        assert_eq!(e(""), Empty);
        assert!(matches!(e("@host"), EmptyUser(_)));
        assert!(matches!(e("user@"), EmptyHost(_)));
        assert!(matches!(e("[::1"), UnclosedBracket(_)));
        assert!(matches!(e("host:0"), BadPort { .. }));
        assert!(matches!(e("host:99999"), BadPort { .. }));
        assert!(matches!(e("host:"), BadPort { .. }));
        assert!(matches!(e("-oProxyCommand=x"), BadCharacters(_)));
        assert!(matches!(e("-l@host"), BadCharacters(_)));
        assert!(matches!(e("ho st"), BadCharacters(_)));
        assert!(matches!(e("[::1]x"), BadCharacters(_)));
    }
}
