//! MoneroOcean's algorithm offer — `algo`, `algo-perf`, `algo-min-time` — flattened into both
//! `login` and `getjob` params, so a switching pool reads one shape wherever it comes.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::algo_perf::AlgoPerf;

/// What a miner tells a switching pool: the algorithms it can mine, its H/s on each, and how long
/// it wants to stay on one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlgoOffer {
    /// Every algorithm we can mine, the configured one first.
    #[serde(default)]
    pub algo: Vec<String>,
    /// `algo-perf`: our H/s per algorithm, from which a switching pool chooses.
    #[serde(rename = "algo-perf", default, skip_serializing_if = "Option::is_none")]
    pub perf: Option<AlgoPerf>,
    /// `algo-min-time`: seconds a switching pool should keep us on one algorithm.
    #[serde(
        rename = "algo-min-time",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub min_time: Option<u64>,
}

impl AlgoOffer {
    /// The algorithms alone: nothing measured yet.
    pub fn new(algo: Vec<String>) -> Self {
        Self {
            algo,
            ..Self::default()
        }
    }

    /// No algorithms and no figures: a `getjob` then carries none of the three keys.
    pub fn is_empty(&self) -> bool {
        self.algo.is_empty() && self.perf.is_none() && self.min_time.is_none()
    }

    /// The H/s figures, when there are any to score (an empty map offers nothing).
    pub fn scored_perf(&self) -> Option<&AlgoPerf> {
        self.perf.as_ref().filter(|p| !p.is_empty())
    }

    /// `algo-min-time` as a duration; none asked for is none.
    pub fn min_duration(&self) -> Duration {
        Duration::from_secs(self.min_time.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{ClientMessage, GetJobParams, LoginParams};

    fn offer() -> AlgoOffer {
        AlgoOffer {
            algo: vec!["cn/r".into(), "cn-pico".into()],
            perf: Some(AlgoPerf::new([("cn/r".to_string(), 219.5)])),
            min_time: Some(60),
        }
    }

    fn login(offer: AlgoOffer) -> ClientMessage {
        ClientMessage::Login {
            id: 1,
            params: LoginParams {
                login: "w".into(),
                pass: "x".into(),
                agent: "a".into(),
                rigid: None,
                offer,
            },
        }
    }

    fn getjob_json(offer: AlgoOffer) -> String {
        let params = GetJobParams {
            id: "s1".into(),
            offer,
        };
        serde_json::to_string(&serde_json::to_value(&params).expect("value")).expect("encode")
    }

    #[test]
    fn login_and_getjob_carry_the_same_keys_and_read_back_equal() {
        let line = login(offer()).encode();
        assert_eq!(
            line,
            concat!(
                r#"{"id":1,"jsonrpc":"2.0","method":"login","params":{"agent":"a","#,
                r#""algo":["cn/r","cn-pico"],"algo-min-time":60,"algo-perf":{"cn/r":219.5},"#,
                r#""login":"w","pass":"x"}}"#,
                "\n"
            )
        );
        assert_eq!(ClientMessage::parse(&line).expect("login"), login(offer()));
        let getjob = getjob_json(offer());
        assert_eq!(
            getjob,
            r#"{"algo":["cn/r","cn-pico"],"algo-min-time":60,"algo-perf":{"cn/r":219.5},"id":"s1"}"#
        );
        let line = format!(r#"{{"id":2,"method":"getjob","params":{getjob}}}"#);
        let back = GetJobParams::of_line(&line).expect("params");
        assert_eq!(back.offer, offer());
        assert!(back.offer.scored_perf().is_some());
        assert_eq!(back.offer.min_duration(), Duration::from_secs(60));
    }

    #[test]
    fn a_login_always_names_its_list_and_a_plain_getjob_names_nothing() {
        // Pools have always seen `algo` in a login, even empty; a getjob without an offer is
        // the session id alone.
        let line = login(AlgoOffer::default()).encode();
        assert!(line.contains(r#""algo":[]"#), "{line}");
        assert!(!line.contains("algo-"), "{line}");
        assert_eq!(getjob_json(AlgoOffer::default()), r#"{"id":"s1"}"#);
        let no_figures = AlgoOffer::new(vec!["cn/r".into()]);
        assert_eq!(getjob_json(no_figures), r#"{"algo":["cn/r"],"id":"s1"}"#);
        let empty_perf = AlgoOffer {
            perf: Some(AlgoPerf::default()),
            ..AlgoOffer::default()
        };
        assert!(empty_perf.scored_perf().is_none());
        assert_eq!(empty_perf.min_duration(), Duration::ZERO);
    }
}
