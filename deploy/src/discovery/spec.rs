//! `--card` values (`mic0`, `local`, `root@172.31.1.1`, `user@host:port`) and how they become cards.

use super::card::Card;
use super::mpss::{mic_index, DiscoveryError, MpssDiscovery};
use super::target::{SshTarget, TargetParseError};
use std::fmt;
use std::str::FromStr;

/// A card as named on the command line or in the config's static list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardSpec {
    /// `micN`: an MPSS card, looked up in sysfs.
    Mic(u32),
    /// `local`: this machine.
    Local,
    /// Anything else: an SSH target.
    Ssh(SshTarget),
}

impl FromStr for CardSpec {
    type Err = TargetParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "local" {
            return Ok(CardSpec::Local);
        }
        if let Some(n) = mic_index(s) {
            return Ok(CardSpec::Mic(n));
        }
        s.parse().map(CardSpec::Ssh)
    }
}

impl fmt::Display for CardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CardSpec::Mic(n) => write!(f, "mic{n}"),
            CardSpec::Local => f.write_str("local"),
            CardSpec::Ssh(t) => write!(f, "{t}"),
        }
    }
}

// As the plain string (`mic0`, `local`, `user@host:port`) in config files and `--json`.
impl serde::Serialize for CardSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for CardSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl CardSpec {
    /// The card this spec names; `micN` goes through MPSS discovery (sysfs, then the address rule).
    pub fn resolve(&self, mpss: &MpssDiscovery) -> Result<Card, DiscoveryError> {
        match self {
            CardSpec::Mic(n) => mpss.card(*n),
            CardSpec::Local => Ok(Card::local()),
            CardSpec::Ssh(t) => Ok(Card::from_ssh(t.clone())),
        }
    }
}

/// The cards to work on: the named ones when any were given, else every MPSS card plus the
/// static list from the config (in that order, duplicates by name dropped).
pub fn select_cards(
    named: &[CardSpec],
    static_list: &[CardSpec],
    mpss: &MpssDiscovery,
) -> Result<Vec<Card>, DiscoveryError> {
    let mut cards = Vec::new();
    if named.is_empty() {
        cards.extend(mpss.discover()?);
        for spec in static_list {
            cards.push(spec.resolve(mpss)?);
        }
    } else {
        for spec in named {
            cards.push(spec.resolve(mpss)?);
        }
    }
    let mut seen = std::collections::HashSet::new();
    cards.retain(|c| seen.insert(c.name.clone()));
    Ok(cards)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!("mic0".parse::<CardSpec>(), Ok(CardSpec::Mic(0)));
        assert_eq!("local".parse::<CardSpec>(), Ok(CardSpec::Local));
        match "root@172.31.1.1".parse::<CardSpec>() {
            Ok(CardSpec::Ssh(t)) => assert_eq!(t.host, "172.31.1.1"),
            other => panic!("{other:?}"),
        }
        match "user@host:2200".parse::<CardSpec>() {
            Ok(CardSpec::Ssh(t)) => assert_eq!(t.port, Some(2200)),
            other => panic!("{other:?}"),
        }
        // `micro` is a host name, not an MPSS card.
        assert!(matches!("micro".parse::<CardSpec>(), Ok(CardSpec::Ssh(_))));
        assert!("user@host:x".parse::<CardSpec>().is_err());
    }

    #[test]
    fn serde_as_strings() {
        let specs: Vec<CardSpec> =
            serde_json::from_str(r#"["mic0", "local", "me@[::1]:2222"]"#).expect("parse");
        assert_eq!(specs[0], CardSpec::Mic(0));
        assert_eq!(
            serde_json::to_string(&specs).expect("json"),
            r#"["mic0","local","me@[::1]:2222"]"#
        );
        assert!(serde_json::from_str::<Vec<CardSpec>>(r#"["-oProxyCommand=x"]"#).is_err());
    }

    #[test]
    fn mic_without_sysfs_uses_rule() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mpss = MpssDiscovery {
            sysfs_root: dir.path().join("sys"),
            etc_root: dir.path().join("etc"),
            ssh_user: "root".into(),
        };
        let card = CardSpec::Mic(3).resolve(&mpss).expect("resolve");
        assert_eq!(card.address, "172.31.4.1");
        assert_eq!(
            card.ssh.as_ref().map(|t| t.destination()).as_deref(),
            Some("root@172.31.4.1")
        );
    }
}
