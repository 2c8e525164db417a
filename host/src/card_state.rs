//! A card's state in one word, decided once for the dashboard, `/1/workers`, the table and `/metrics`.

use serde::Serialize;

/// What an operator sees a card doing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CardState {
    /// Just started: its agent has not answered yet, within the start grace.
    #[default]
    Starting,
    Mining,
    /// Its agent answers and hashes nothing on purpose (the rig's pause).
    Paused,
    /// The operator stopped it (`phirig stop`): not a failure, and the watchdog leaves it alone.
    Stopped,
    /// The proxy refuses its shares: too many of them failed verification.
    Flagged,
    /// Its agent does not answer (the card's status says why).
    Unreachable,
}

impl CardState {
    /// Every state, for a metric family that lists each one.
    pub const ALL: [CardState; 6] = [
        CardState::Starting,
        CardState::Mining,
        CardState::Paused,
        CardState::Stopped,
        CardState::Flagged,
        CardState::Unreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CardState::Starting => "starting",
            CardState::Mining => "mining",
            CardState::Paused => "paused",
            CardState::Stopped => "stopped",
            CardState::Flagged => "flagged",
            CardState::Unreachable => "unreachable",
        }
    }

    /// From the card's status word (`mining`, `paused`, `starting`, `stopped`, else a poll
    /// error) and the proxy's flag, which beats everything: its shares go nowhere.
    pub fn of(status: &str, flagged: bool) -> CardState {
        match status {
            _ if flagged => CardState::Flagged,
            "mining" => CardState::Mining,
            "paused" => CardState::Paused,
            "starting" => CardState::Starting,
            "stopped" => CardState::Stopped,
            _ => CardState::Unreachable,
        }
    }
}

impl std::fmt::Display for CardState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_beats_the_status_and_errors_read_unreachable() {
        assert_eq!(CardState::of("mining", false), CardState::Mining);
        assert_eq!(CardState::of("stopped", false), CardState::Stopped);
        assert_eq!(CardState::of("stopped", true), CardState::Flagged);
        assert_eq!(
            CardState::of("unreachable: connection refused", false),
            CardState::Unreachable
        );
        for s in CardState::ALL {
            let flagged = s == CardState::Flagged;
            assert_eq!(CardState::of(s.as_str(), flagged), s);
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::json!(s.as_str())
            );
        }
    }
}
