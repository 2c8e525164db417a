//! The card record every command works on: where it is, what kind, what state.

use super::target::SshTarget;
use serde::{Deserialize, Serialize};
use std::fmt;

/// How a card is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardKind {
    /// A Xeon Phi card found through MPSS sysfs (or named `micN`), reached by SSH as root.
    Mpss,
    /// Any SSH host from the config or the command line.
    Ssh,
    /// This machine: no copy, the agent runs in place.
    Local,
}

impl fmt::Display for CardKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CardKind::Mpss => "mpss",
            CardKind::Ssh => "ssh",
            CardKind::Local => "local",
        })
    }
}

/// MPSS card state as sysfs reports it; unknown words are kept, not rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardState {
    Ready,
    Booting,
    Online,
    Shutdown,
    Resetting,
    Error,
    Lost,
    /// Not an MPSS card, or the state was not read.
    Unknown,
    Other(String),
}

impl CardState {
    /// Parses the (trimmed) contents of `micN/state`.
    pub fn parse(s: &str) -> CardState {
        match s.trim() {
            "ready" => CardState::Ready,
            "booting" => CardState::Booting,
            "online" => CardState::Online,
            "shutdown" | "shutting_down" => CardState::Shutdown,
            "resetting" | "reset" => CardState::Resetting,
            "error" => CardState::Error,
            "lost" => CardState::Lost,
            "" | "unknown" => CardState::Unknown,
            other => CardState::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            CardState::Ready => "ready",
            CardState::Booting => "booting",
            CardState::Online => "online",
            CardState::Shutdown => "shutdown",
            CardState::Resetting => "resetting",
            CardState::Error => "error",
            CardState::Lost => "lost",
            CardState::Unknown => "unknown",
            CardState::Other(s) => s,
        }
    }
}

impl fmt::Display for CardState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// Serialised as the plain sysfs word so `--json` output reads like the sysfs file.
impl Serialize for CardState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for CardState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(CardState::parse(&s))
    }
}

/// One card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// `mic0`, the SSH target as written, or `local`.
    pub name: String,
    /// IP address or host name the agent's HTTP API is reached on.
    pub address: String,
    pub kind: CardKind,
    pub state: CardState,
    /// MPSS family (`x100` = KNC, `x200` = KNL) when known.
    pub family: Option<String>,
    pub serial: Option<String>,
    pub cores: Option<u32>,
    pub memory_bytes: Option<u64>,
    /// How to reach it; `None` for the local card.
    pub ssh: Option<SshTarget>,
    /// N of `micN` for MPSS cards (sysfs state writes go to `class/mic/micN/state`).
    pub mic_index: Option<u32>,
}

impl Card {
    /// This machine as a card.
    pub fn local() -> Card {
        Card {
            name: "local".into(),
            address: "127.0.0.1".into(),
            kind: CardKind::Local,
            state: CardState::Unknown,
            family: None,
            serial: None,
            cores: None,
            memory_bytes: None,
            ssh: None,
            mic_index: None,
        }
    }

    /// A plain SSH host as a card; the card is named after the target as written.
    pub fn from_ssh(target: SshTarget) -> Card {
        Card {
            name: target.to_string(),
            address: target.host.clone(),
            kind: CardKind::Ssh,
            state: CardState::Unknown,
            family: None,
            serial: None,
            cores: None,
            memory_bytes: None,
            ssh: Some(target),
            mic_index: None,
        }
    }

    /// True for KNC (x100) cards, which need a k1om build.
    pub fn is_knc(&self) -> bool {
        self.family
            .as_deref()
            .is_some_and(|f| f.trim().eq_ignore_ascii_case("x100"))
    }
}
