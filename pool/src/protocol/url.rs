//! Pool URLs: `stratum+tcp://host:port`, `stratum+ssl://host:port`, or bare `host:port`.

use std::fmt;
use std::str::FromStr;

/// Why a pool URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("pool URL {url:?}: unknown scheme {scheme:?} (use stratum+tcp:// or stratum+ssl://)")]
    UnknownScheme { url: String, scheme: String },
    #[error("pool URL {0:?}: missing host")]
    MissingHost(String),
    #[error("pool URL {0:?}: missing :port")]
    MissingPort(String),
    #[error("pool URL {url:?}: bad port {port:?}")]
    BadPort { url: String, port: String },
    #[error("pool URL {0:?}: unexpected path or query after the port")]
    TrailingPath(String),
}

/// Where a pool lives and whether to speak TLS to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PoolUrl {
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub tls: bool,
}

impl PoolUrl {
    /// Parse any accepted form.
    pub fn parse(url: &str) -> Result<PoolUrl, UrlError> {
        let trimmed = url.trim();
        let (tls, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "stratum+tcp" | "stratum" | "tcp" => (false, rest),
                "stratum+ssl" | "stratum+tls" | "ssl" | "tls" => (true, rest),
                other => {
                    return Err(UrlError::UnknownScheme {
                        url: url.into(),
                        scheme: other.into(),
                    })
                }
            },
            None => (false, trimmed),
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') || rest.contains('?') {
            return Err(UrlError::TrailingPath(url.into()));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| UrlError::MissingHost(url.into()))?;
            let port = after
                .strip_prefix(':')
                .ok_or_else(|| UrlError::MissingPort(url.into()))?;
            (host, port)
        } else {
            rest.rsplit_once(':')
                .ok_or_else(|| UrlError::MissingPort(url.into()))?
        };
        if host.is_empty() || (host.contains(':') && !rest.starts_with('[')) {
            return Err(UrlError::MissingHost(url.into()));
        }
        if port.is_empty() {
            return Err(UrlError::MissingPort(url.into()));
        }
        let port = port
            .parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| UrlError::BadPort {
                url: url.into(),
                port: port.into(),
            })?;
        Ok(PoolUrl {
            host: host.to_string(),
            port,
            tls,
        })
    }

    /// `host:port` as a socket address string (IPv6 bracketed).
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl FromStr for PoolUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PoolUrl::parse(s)
    }
}

impl fmt::Display for PoolUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.tls {
            "stratum+ssl"
        } else {
            "stratum+tcp"
        };
        write!(f, "{scheme}://{}", self.authority())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_forms() {
        let u = PoolUrl::parse("stratum+tcp://pool.example:3333").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.tls),
            ("pool.example", 3333, false)
        );
        let u = PoolUrl::parse("stratum+ssl://pool.example:443").unwrap();
        assert!(u.tls);
        let u = PoolUrl::parse("127.0.0.1:4444").unwrap();
        assert_eq!((u.host.as_str(), u.port, u.tls), ("127.0.0.1", 4444, false));
        let u = PoolUrl::parse("stratum+tcp://[::1]:5555").unwrap();
        assert_eq!(
            (u.host.as_str(), u.authority()),
            ("::1", "[::1]:5555".into())
        );
        assert_eq!(u.to_string(), "stratum+tcp://[::1]:5555");
    }

    #[test]
    fn refused_forms() {
        assert!(matches!(
            PoolUrl::parse("http://a:1"),
            Err(UrlError::UnknownScheme { .. })
        ));
        assert!(matches!(PoolUrl::parse("a"), Err(UrlError::MissingPort(_))));
        assert!(matches!(
            PoolUrl::parse(":1"),
            Err(UrlError::MissingHost(_))
        ));
        assert!(matches!(
            PoolUrl::parse("a:"),
            Err(UrlError::MissingPort(_))
        ));
        assert!(matches!(
            PoolUrl::parse("a:0"),
            Err(UrlError::BadPort { .. })
        ));
        assert!(matches!(
            PoolUrl::parse("a:99999"),
            Err(UrlError::BadPort { .. })
        ));
        assert!(matches!(
            PoolUrl::parse("a:1/x"),
            Err(UrlError::TrailingPath(_))
        ));
        assert!(matches!(
            PoolUrl::parse("::1:1"),
            Err(UrlError::MissingHost(_))
        ));
    }
}
