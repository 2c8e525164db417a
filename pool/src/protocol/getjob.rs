//! `getjob` params: the session id, and (MoneroOcean's way to re-offer without a new login) the
//! miner's [`AlgoOffer`], from which a switching pool re-scores.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::algo_offer::AlgoOffer;

/// `getjob` is not a [`super::ClientMessage`]: pools, the client and the phirig proxy read it
/// by method name.
pub const GETJOB_METHOD: &str = "getjob";

/// `getjob` params; everything but the session id is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetJobParams {
    /// Session id from the login result.
    #[serde(default)]
    pub id: String,
    /// Left out entirely when empty, so a plain request for work is the session id alone.
    #[serde(flatten, skip_serializing_if = "AlgoOffer::is_empty")]
    pub offer: AlgoOffer,
}

impl GetJobParams {
    /// Just the session id: a request for work.
    pub fn plain(id: String) -> Self {
        Self {
            id,
            ..Self::default()
        }
    }

    /// The params of a `getjob` request line; `None` when the line has no params object. An
    /// offer we cannot read (another shape of `algo` or `algo-perf`) still leaves the session
    /// id, so the request is answered as a plain `getjob`.
    pub fn of_line(line: &str) -> Option<Self> {
        let v = serde_json::from_str::<Value>(line).ok()?;
        let params = v.get("params")?;
        serde_json::from_value(params.clone()).ok().or_else(|| {
            let id = params.get("id")?.as_str()?;
            Some(Self::plain(id.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_moneroocean_getjob_params_and_plain_ones() {
        let line = r#"{"id":3,"method":"getjob","params":{"id":"s1","algo":["cn/r"],"algo-perf":{"cn/r":120.5},"algo-min-time":30}}"#;
        let p = GetJobParams::of_line(line).expect("params");
        assert_eq!(p.id, "s1");
        assert_eq!(p.offer.algo, ["cn/r"]);
        assert_eq!(
            p.offer.scored_perf().and_then(|a| a.get("cn/r")),
            Some(120.5)
        );
        assert_eq!(p.offer.min_time, Some(30));
        let plain = GetJobParams::of_line(r#"{"id":4,"method":"getjob","params":{"id":"s1"}}"#)
            .expect("params");
        assert!(plain.offer.scored_perf().is_none());
        assert_eq!(
            serde_json::to_string(&plain).expect("encode"),
            r#"{"id":"s1"}"#
        );
        let odd =
            r#"{"id":6,"method":"getjob","params":{"id":"s1","algo":"cn/r","algo-perf":[1]}}"#;
        assert_eq!(
            GetJobParams::of_line(odd),
            Some(GetJobParams::plain("s1".into()))
        );
        assert!(GetJobParams::of_line(r#"{"id":5,"method":"getjob"}"#).is_none());
        assert!(GetJobParams::of_line("junk").is_none());
    }
}
