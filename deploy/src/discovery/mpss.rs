//! MPSS discovery: Xeon Phi cards from `<sysfs>/class/mic/micN` and addresses from `/etc/mpss`.

use super::card::{Card, CardKind, CardState};
use super::target::SshTarget;
use std::path::{Path, PathBuf};

/// Why MPSS discovery failed.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {reason}")]
    BadValue { path: PathBuf, reason: String },
}

/// Where MPSS keeps its view of the cards; both roots are overridable for tests and odd installs.
#[derive(Debug, Clone)]
pub struct MpssDiscovery {
    /// Normally `/sys` (the cards are under `class/mic`).
    pub sysfs_root: PathBuf,
    /// Normally `/etc` (card configs are `mpss/micN.conf`).
    pub etc_root: PathBuf,
    /// MPSS installs root's key on the card.
    pub ssh_user: String,
}

impl Default for MpssDiscovery {
    fn default() -> Self {
        MpssDiscovery {
            sysfs_root: PathBuf::from("/sys"),
            etc_root: PathBuf::from("/etc"),
            ssh_user: "root".into(),
        }
    }
}

/// N for a directory entry named exactly `mic<digits>`; `ctrl`, `scif`, `mic` and `micX` are not cards.
pub fn mic_index(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("mic")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// MPSS's default addressing: card N is 172.31.(N+1).1.
pub fn default_card_address(index: u32) -> Option<String> {
    (index < 254).then(|| format!("172.31.{}.1", index + 1))
}

impl MpssDiscovery {
    fn class_dir(&self) -> PathBuf {
        self.sysfs_root.join("class").join("mic")
    }

    /// The sysfs directory of card N.
    pub fn card_dir(&self, index: u32) -> PathBuf {
        self.class_dir().join(format!("mic{index}"))
    }

    /// All cards under `class/mic`, sorted by N. No `class/mic` directory means no MPSS: empty list.
    pub fn discover(&self) -> Result<Vec<Card>, DiscoveryError> {
        let dir = self.class_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(DiscoveryError::Io { path: dir, source }),
        };
        let mut indices = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| DiscoveryError::Io {
                path: dir.clone(),
                source,
            })?;
            if let Some(n) = entry.file_name().to_str().and_then(mic_index) {
                indices.push(n);
            }
        }
        // Numeric order: mic10 after mic9.
        indices.sort_unstable();
        indices.into_iter().map(|n| self.card(n)).collect()
    }

    /// Card N: from sysfs when present, otherwise the addressing rule with an unknown state
    /// (so `--card mic3` works on hosts where sysfs is elsewhere or the card is not up yet).
    pub fn card(&self, index: u32) -> Result<Card, DiscoveryError> {
        let dir = self.card_dir(index);
        let address = self.address(index)?;
        let present = dir.is_dir();
        let read = |rel: &[&str]| -> Option<String> {
            if !present {
                return None;
            }
            rel.iter().find_map(|r| read_trimmed(&dir.join(r)))
        };
        let state = read(&["state"])
            .map(|s| CardState::parse(&s))
            .unwrap_or(CardState::Unknown);
        let family = read(&["family", "info/mic_family"]);
        let serial = read(&["serialnumber", "info/serialnumber", "info/serial"]);
        let cores = match read(&["active_cores", "info/cores"]) {
            Some(s) => Some(
                parse_number(&s)
                    .and_then(|n| u32::try_from(n).ok())
                    .ok_or_else(|| DiscoveryError::BadValue {
                        path: dir.join("active_cores"),
                        reason: format!("not a core count: {s:?}"),
                    })?,
            ),
            None => None,
        };
        // MPSS reports memory in KiB.
        let memory_bytes = match read(&["memsize", "info/memsize"]) {
            Some(s) => Some(
                parse_number(&s)
                    .and_then(|kib| kib.checked_mul(1024))
                    .ok_or_else(|| DiscoveryError::BadValue {
                        path: dir.join("memsize"),
                        reason: format!("not a memory size in KiB: {s:?}"),
                    })?,
            ),
            None => None,
        };
        Ok(Card {
            name: format!("mic{index}"),
            address: address.clone(),
            kind: CardKind::Mpss,
            state,
            family,
            serial,
            cores,
            memory_bytes,
            ssh: Some(SshTarget {
                user: Some(self.ssh_user.clone()),
                host: address,
                port: None,
            }),
            mic_index: Some(index),
        })
    }

    /// The card's address: `micip=` in `mpss/micN.conf` when present, else the MPSS default.
    pub fn address(&self, index: u32) -> Result<String, DiscoveryError> {
        let conf = self.etc_root.join("mpss").join(format!("mic{index}.conf"));
        match std::fs::read_to_string(&conf) {
            Ok(text) => {
                if let Some(addr) = conf_card_ip(&text) {
                    return addr
                        .parse::<std::net::IpAddr>()
                        .map(|ip| ip.to_string())
                        .map_err(|_| DiscoveryError::BadValue {
                            path: conf.clone(),
                            reason: format!("micip is not an IP address: {addr:?}"),
                        });
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(DiscoveryError::Io { path: conf, source }),
        }
        default_card_address(index).ok_or_else(|| DiscoveryError::BadValue {
            path: self.card_dir(index),
            reason: "card index too large for the 172.31.(N+1).1 rule".into(),
        })
    }

    /// Current state of card N, read fresh (the watchdog polls this).
    pub fn read_state(&self, index: u32) -> Result<CardState, DiscoveryError> {
        let path = self.card_dir(index).join("state");
        std::fs::read_to_string(&path)
            .map(|s| CardState::parse(&s))
            .map_err(|source| DiscoveryError::Io { path, source })
    }

    /// Writes a command (`reset`, `boot`, `shutdown`) to card N's sysfs `state` file.
    pub fn write_state(&self, index: u32, command: &str) -> Result<(), DiscoveryError> {
        let path = self.card_dir(index).join("state");
        std::fs::write(&path, command).map_err(|source| DiscoveryError::Io { path, source })
    }
}

/// File contents trimmed (MPSS 3 prints no trailing newline, MPSS 4 does); empty counts as absent.
fn read_trimmed(path: &Path) -> Option<String> {
    let s = std::fs::read_to_string(path).ok()?;
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Decimal or `0x` hex, as sysfs attributes vary between MPSS releases.
fn parse_number(s: &str) -> Option<u64> {
    let s = s.trim();
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

/// `micip=ADDR` from an MPSS 3 `Network` line, skipping comments.
fn conf_card_ip(text: &str) -> Option<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .find_map(|w| w.strip_prefix("micip="))
        .map(|a| a.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(mic_index("mic0"), Some(0));
        assert_eq!(mic_index("mic12"), Some(12));
        for bad in ["ctrl", "scif", "mic", "micx", "mic1a", "mic-1", "xmic1"] {
            assert_eq!(mic_index(bad), None, "{bad}");
        }
    }

    #[test]
    fn conf_parsing() {
        let text = "# Network class=StaticPair micip=1.1.1.1\nNetwork class=StaticPair micip=172.31.9.1 hostip=172.31.9.254 netbits=24\n";
        assert_eq!(conf_card_ip(text), Some("172.31.9.1"));
        assert_eq!(conf_card_ip("Hostname \"mic0\"\n"), None);
    }

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0x10"), Some(16));
        assert_eq!(parse_number(" 61\n"), Some(61));
        assert_eq!(parse_number("lots"), None);
    }
}
