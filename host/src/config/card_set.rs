//! `--card-set CARD.KEY=VALUE`: one card's own setting on the command line (the flag form of a
//! `[[cards]]` entry's keys), e.g. `--card-set mic0.threads=60 --card-set mic0.benchmark=450`.

use std::fmt;
use std::str::FromStr;

/// Settings a card may have of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CardKey {
    Threads,
    /// Expected H/s.
    Benchmark,
    AgentPort,
}

/// Why a `--card-set` value was refused; the value is quoted first.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CardSetError {
    #[error("{0:?}: expected CARD.KEY=VALUE with KEY threads, benchmark or agent-port")]
    Form(String),
    #[error("{setting:?}: {value:?} is not a number")]
    NotANumber { setting: String, value: String },
    #[error("{setting:?}: value out of range for {key}")]
    OutOfRange { setting: String, key: CardKey },
}

/// One parsed `--card-set`.
#[derive(Debug, Clone, PartialEq)]
pub struct CardSetting {
    pub card: String,
    pub key: CardKey,
    pub value: f64,
}

impl FromStr for CardSetting {
    type Err = CardSetError;

    fn from_str(s: &str) -> Result<Self, CardSetError> {
        let usage = || CardSetError::Form(s.to_string());
        let (lhs, value) = s.split_once('=').ok_or_else(usage)?;
        // Card names may hold dots (IP addresses); keys never do, so the last dot splits.
        let (card, key) = lhs.rsplit_once('.').ok_or_else(usage)?;
        if card.is_empty() {
            return Err(usage());
        }
        let key = match key {
            "threads" => CardKey::Threads,
            "benchmark" => CardKey::Benchmark,
            "agent-port" | "agent_port" => CardKey::AgentPort,
            _ => return Err(usage()),
        };
        let value: f64 = value.trim().parse().map_err(|_| CardSetError::NotANumber {
            setting: s.to_string(),
            value: value.to_string(),
        })?;
        let whole = value.fract() == 0.0 && value >= 1.0;
        let ok = match key {
            CardKey::Threads => whole && value <= 4096.0,
            CardKey::AgentPort => whole && value <= 65535.0,
            CardKey::Benchmark => value.is_finite() && value > 0.0,
        };
        if !ok {
            return Err(CardSetError::OutOfRange {
                setting: s.to_string(),
                key,
            });
        }
        Ok(CardSetting {
            card: card.to_string(),
            key,
            value,
        })
    }
}

impl fmt::Display for CardKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CardKey::Threads => "threads",
            CardKey::Benchmark => "benchmark",
            CardKey::AgentPort => "agent-port",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_card_names_with_dots_and_refuses_nonsense() {
        let s: CardSetting = "root@172.31.1.1.threads=4".parse().expect("valid");
        assert_eq!(s.card, "root@172.31.1.1");
        assert_eq!(s.key, CardKey::Threads);
        assert_eq!(s.value, 4.0);
        let b: CardSetting = "mic0.benchmark=450.5".parse().expect("valid");
        assert_eq!(b.value, 450.5);
        for bad in [
            "mic0.threads",
            "mic0=4",
            ".threads=4",
            "mic0.colour=4",
            "mic0.threads=0",
            "mic0.threads=1.5",
            "mic0.agent-port=70000",
            "mic0.benchmark=-1",
            "mic0.threads=x",
        ] {
            assert!(bad.parse::<CardSetting>().is_err(), "{bad} accepted");
        }
    }
}
