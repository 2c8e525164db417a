//! MoneroOcean's algorithm-switching extension: the miner's H/s per algorithm, from which a
//! switching pool picks what it sends (`algo-perf` in an [`super::AlgoOffer`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// H/s per stratum algorithm name, e.g. `{"cn/r": 1234.5, "cn-pico": 9000}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AlgoPerf(BTreeMap<String, f64>);

// Every rate is finite (see `new`), so equality is an equivalence.
impl Eq for AlgoPerf {}

impl AlgoPerf {
    /// Keeps the finite, non-negative rates; anything else cannot be scored.
    pub fn new(rates: impl IntoIterator<Item = (String, f64)>) -> Self {
        Self(
            rates
                .into_iter()
                .filter(|(_, hs)| hs.is_finite() && *hs >= 0.0)
                .collect(),
        )
    }

    /// Per algorithm, the sum over several miners (a rig's cards behind one proxy).
    pub fn sum<'a>(all: impl IntoIterator<Item = &'a AlgoPerf>) -> Self {
        let mut sum = BTreeMap::new();
        for perf in all {
            for (algo, hs) in &perf.0 {
                *sum.entry(algo.clone()).or_insert(0.0) += hs;
            }
        }
        Self(sum)
    }

    pub fn get(&self, algo: &str) -> Option<f64> {
        self.0.get(algo).copied()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(a, hs)| (a.as_str(), *hs))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_finite_rates_and_sums_per_algorithm() {
        let a = AlgoPerf::new([
            ("cn/r".to_string(), 100.0),
            ("cn-pico".to_string(), f64::NAN),
            ("cn/0".to_string(), -1.0),
        ]);
        assert_eq!(a.iter().count(), 1);
        let b = AlgoPerf::new([("cn/r".to_string(), 50.5), ("cn-pico".to_string(), 900.0)]);
        let rig = AlgoPerf::sum([&a, &b]);
        assert_eq!(rig.get("cn/r"), Some(150.5));
        assert_eq!(rig.get("cn-pico"), Some(900.0));
        assert_eq!(
            serde_json::to_string(&rig).unwrap(),
            r#"{"cn-pico":900.0,"cn/r":150.5}"#
        );
    }
}
