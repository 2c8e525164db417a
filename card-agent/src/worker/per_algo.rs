//! A worker setting that may differ per algorithm (threads, intensity): `2,cn/r=1`, `{"default": 2, "cn/r": 1}`.

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::topology::MAX_INTENSITY;
use phirig_kernel::cn::Algorithm;

const ALGOS: usize = Algorithm::ALL.len();

/// The key of the value every algorithm without its own entry takes.
const DEFAULT_KEY: &str = "default";

/// One value per algorithm, with a default for the rest; nothing set means "choose from the caches".
///
/// Kept as a table indexed by `Algorithm as usize` rather than a list, so two settings that say the
/// same thing in a different order are equal (a reload that only reorders keys restarts nothing).
/// `NonZeroU32` keeps it small (it is `Copy` and sits in clap's argument structs) and 0 unsayable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PerAlgo {
    default: Option<NonZeroU32>,
    by_algo: [Option<NonZeroU32>; ALGOS],
}

/// A count from code (not from input): 0 counts as 1, as the workers treat it.
fn stored(value: usize) -> NonZeroU32 {
    NonZeroU32::new(u32::try_from(value).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

fn loaded(v: NonZeroU32) -> usize {
    v.get() as usize
}

/// Why a per-algorithm value was refused; `key` is `default` or the algorithm's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PerAlgoError {
    #[error("empty item in {0:?}: expected N, ALGO=N, or several separated by commas")]
    Empty(String),
    #[error("unknown algorithm {0:?}")]
    UnknownAlgorithm(String),
    #[error("{key}: {value} is not a number")]
    NotANumber { key: String, value: String },
    #[error("{key}: {value} is less than 1")]
    TooSmall { key: String, value: String },
    #[error("{key}: {value} is more than {max}")]
    TooLarge {
        key: String,
        value: usize,
        max: usize,
    },
    #[error("{key} is given twice")]
    Repeated { key: String },
}

impl PerAlgo {
    /// Every algorithm takes `value` (0 counts as 1).
    pub fn all(value: usize) -> Self {
        Self {
            default: Some(stored(value)),
            ..Self::default()
        }
    }

    /// The same with `algo`'s own value set (0 counts as 1).
    pub fn with(mut self, algo: Algorithm, value: usize) -> Self {
        self.by_algo[algo as usize] = Some(stored(value));
        self
    }

    /// The value for `algo`: its own entry, else the default; `None` means choose automatically.
    pub fn get(&self, algo: Algorithm) -> Option<usize> {
        self.by_algo[algo as usize].or(self.default).map(loaded)
    }

    /// The value of algorithms without their own entry.
    pub fn default_value(&self) -> Option<usize> {
        self.default.map(loaded)
    }

    /// Nothing set: every algorithm is chosen automatically.
    pub fn is_auto(&self) -> bool {
        self.default.is_none() && self.by_algo.iter().all(Option::is_none)
    }

    /// The algorithms with their own value, in table order.
    pub fn entries(&self) -> impl Iterator<Item = (Algorithm, usize)> + '_ {
        Algorithm::ALL
            .into_iter()
            .filter_map(|a| self.by_algo[a as usize].map(|v| (a, loaded(v))))
    }

    /// Refuses any value above `max`, naming where it is.
    pub fn check_max(self, max: usize) -> Result<Self, PerAlgoError> {
        let too_large = |key: String, value: usize| PerAlgoError::TooLarge { key, value, max };
        if let Some(v) = self.default_value().filter(|&v| v > max) {
            return Err(too_large(DEFAULT_KEY.into(), v));
        }
        match self.entries().find(|&(_, v)| v > max) {
            Some((a, v)) => Err(too_large(a.to_string(), v)),
            None => Ok(self),
        }
    }

    /// Sets `key` (`default` or an algorithm name) once.
    fn set(&mut self, key: &str, value: NonZeroU32) -> Result<(), PerAlgoError> {
        let (slot, name) = if key.eq_ignore_ascii_case(DEFAULT_KEY) {
            (&mut self.default, DEFAULT_KEY.to_string())
        } else {
            let algo: Algorithm = key
                .parse()
                .map_err(|_| PerAlgoError::UnknownAlgorithm(key.to_string()))?;
            (&mut self.by_algo[algo as usize], algo.to_string())
        };
        if slot.is_some() {
            return Err(PerAlgoError::Repeated { key: name });
        }
        *slot = Some(value);
        Ok(())
    }
}

/// Parses an intensity: the per-algorithm forms, each value 1 to [`MAX_INTENSITY`].
pub fn parse_intensity(s: &str) -> Result<PerAlgo, PerAlgoError> {
    s.parse::<PerAlgo>()?.check_max(MAX_INTENSITY)
}

/// A count of at least 1 from text, for `key`.
fn count(key: &str, text: &str) -> Result<NonZeroU32, PerAlgoError> {
    let text = text.trim();
    match text.parse::<i128>() {
        Ok(n) => whole(key, n),
        Err(_) => Err(PerAlgoError::NotANumber {
            key: key.to_string(),
            value: format!("{text:?}"),
        }),
    }
}

/// An integer that must be a count of at least 1.
impl PerAlgo {
    /// A plain number in a config file: the value for every algorithm.
    fn from_number(n: i128) -> Result<PerAlgo, PerAlgoError> {
        whole(DEFAULT_KEY, n).map(|v| PerAlgo {
            default: Some(v),
            ..PerAlgo::default()
        })
    }
}

fn whole(key: &str, n: i128) -> Result<NonZeroU32, PerAlgoError> {
    if n < 1 {
        return Err(PerAlgoError::TooSmall {
            key: key.to_string(),
            value: n.to_string(),
        });
    }
    match u32::try_from(n).ok().and_then(NonZeroU32::new) {
        Some(v) => Ok(v),
        None => Err(match usize::try_from(n) {
            Ok(value) => PerAlgoError::TooLarge {
                key: key.to_string(),
                value,
                max: u32::MAX as usize,
            },
            Err(_) => PerAlgoError::NotANumber {
                key: key.to_string(),
                value: n.to_string(),
            },
        }),
    }
}

impl FromStr for PerAlgo {
    type Err = PerAlgoError;

    /// `3` (every algorithm), `cn/2=3,cn-pico=5`, `2,cn/r=1`; `auto` for nothing set.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = PerAlgo::default();
        if s.trim().eq_ignore_ascii_case("auto") {
            return Ok(out);
        }
        for item in s.split(',').map(str::trim) {
            if item.is_empty() {
                return Err(PerAlgoError::Empty(s.to_string()));
            }
            match item.split_once('=') {
                Some((name, value)) => {
                    let name = name.trim();
                    if name.is_empty() {
                        return Err(PerAlgoError::Empty(s.to_string()));
                    }
                    // The name first: an unknown algorithm is the likelier mistake to report.
                    let key = match name.parse::<Algorithm>() {
                        Ok(a) => a.to_string(),
                        Err(_) if name.eq_ignore_ascii_case(DEFAULT_KEY) => DEFAULT_KEY.into(),
                        Err(_) => return Err(PerAlgoError::UnknownAlgorithm(name.to_string())),
                    };
                    out.set(&key, count(&key, value)?)?;
                }
                None => out.set(DEFAULT_KEY, count(DEFAULT_KEY, item)?)?,
            }
        }
        Ok(out)
    }
}

impl fmt::Display for PerAlgo {
    /// The command-line form, which [`FromStr`] reads back to the same value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_auto() {
            return f.write_str("auto");
        }
        let mut items: Vec<String> = self.default_value().iter().map(|v| v.to_string()).collect();
        items.extend(self.entries().map(|(a, v)| format!("{a}={v}")));
        f.write_str(&items.join(","))
    }
}

impl Serialize for PerAlgo {
    /// A plain number when only the default is set, a map otherwise, null when nothing is.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.default_value(), self.entries().next()) {
            (None, None) => s.serialize_none(),
            (Some(v), None) => s.serialize_u64(v as u64),
            _ => {
                let mut map = s.serialize_map(None)?;
                if let Some(v) = self.default_value() {
                    map.serialize_entry(DEFAULT_KEY, &v)?;
                }
                for (a, v) in self.entries() {
                    map.serialize_entry(a.name(), &v)?;
                }
                map.end()
            }
        }
    }
}

/// A map value as it came, judged once its key is known (so the error can name the key).
enum Number {
    Int(i128),
    Other(String),
}

impl<'de> Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number::Int(v.into()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::Int(v.into()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                Ok(Number::Other(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Number, E> {
                Ok(Number::Other(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Number, E> {
                Ok(Number::Other(format!("{v:?}")))
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for PerAlgo {
    /// A number (every algorithm) or a map of `default` and algorithm names to numbers.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PerAlgo;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, or a map of \"default\" and algorithm names to numbers")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<PerAlgo, E> {
                PerAlgo::from_number(v.into()).map_err(E::custom)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<PerAlgo, E> {
                PerAlgo::from_number(v.into()).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PerAlgo, A::Error> {
                let mut out = PerAlgo::default();
                while let Some(key) = map.next_key::<String>()? {
                    let value = match map.next_value::<Number>()? {
                        Number::Int(n) => whole(&key, n),
                        Number::Other(value) => Err(PerAlgoError::NotANumber {
                            key: key.clone(),
                            value,
                        }),
                    };
                    value
                        .and_then(|v| out.set(&key, v))
                        .map_err(de::Error::custom)?;
                }
                Ok(out)
            }
        }
        d.deserialize_any(V)
    }
}

/// An optional config-file value whose errors name its `key`, for `deserialize_with`: serde's
/// errors on a JSON `Value` carry no position, and the TOML parser adds the line but not the key.
pub fn deserialize_keyed<'de, D: Deserializer<'de>>(
    key: &str,
    d: D,
) -> Result<Option<PerAlgo>, D::Error> {
    Option::<PerAlgo>::deserialize(d).map_err(|e| de::Error::custom(format!("{key}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Algorithm::*;

    fn parse(s: &str) -> Result<PerAlgo, PerAlgoError> {
        s.parse()
    }

    #[test]
    fn command_line_forms_parse_and_an_algorithm_wins_over_the_default() {
        let one = parse("3").expect("plain");
        assert_eq!(one, PerAlgo::all(3));
        assert_eq!(one.get(Cn0), Some(3));
        assert_eq!(one.get(CnPico), Some(3));

        let map = parse("cn/2=3, cn-pico=5").expect("map");
        assert_eq!(map, PerAlgo::default().with(Cn2, 3).with(CnPico, 5));
        assert_eq!(map.get(Cn2), Some(3));
        assert_eq!(map.get(CnPico), Some(5));
        assert_eq!(map.get(Cn0), None, "no default: automatic");

        let both = parse("2,cn/r=1").expect("both");
        assert_eq!(both.get(CnR), Some(1));
        assert_eq!(both.get(Cn0), Some(2));
        assert_eq!(both.get(CnHeavy0), Some(2));
        assert_eq!(both.default_value(), Some(2));
        assert_eq!(both.entries().collect::<Vec<_>>(), vec![(CnR, 1)]);

        // Aliases go through the algorithm's own parser; `default=` is the bare number's key.
        let alias = parse("cryptonight/2=4,default=1").expect("alias");
        assert_eq!(alias, PerAlgo::all(1).with(Cn2, 4));
        assert_eq!(parse("auto").expect("auto"), PerAlgo::default());
        assert!(PerAlgo::default().is_auto() && !alias.is_auto());
    }

    #[test]
    fn every_bad_form_is_a_clear_error() {
        let cases: [(&str, PerAlgoError); 10] = [
            (
                "cn/nope=3",
                PerAlgoError::UnknownAlgorithm("cn/nope".into()),
            ),
            (
                "x",
                PerAlgoError::NotANumber {
                    key: "default".into(),
                    value: "\"x\"".into(),
                },
            ),
            (
                "cn/r=one",
                PerAlgoError::NotANumber {
                    key: "cn/r".into(),
                    value: "\"one\"".into(),
                },
            ),
            (
                "0",
                PerAlgoError::TooSmall {
                    key: "default".into(),
                    value: "0".into(),
                },
            ),
            (
                "cn-pico=-2",
                PerAlgoError::TooSmall {
                    key: "cn-pico".into(),
                    value: "-2".into(),
                },
            ),
            (
                "cn/2=3,cryptonight/2=4",
                PerAlgoError::Repeated { key: "cn/2".into() },
            ),
            (
                "2,3",
                PerAlgoError::Repeated {
                    key: "default".into(),
                },
            ),
            ("2,,cn/r=1", PerAlgoError::Empty("2,,cn/r=1".into())),
            ("", PerAlgoError::Empty(String::new())),
            ("=3", PerAlgoError::Empty("=3".into())),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), Err(want), "{text:?}");
        }
        let e = parse("cn/nope=3").unwrap_err().to_string();
        assert!(e.contains("cn/nope"), "{e}");
        let e = parse("cn/r=99999999999999999999999").unwrap_err();
        assert!(
            matches!(e, PerAlgoError::NotANumber { .. }),
            "too big for usize: {e}"
        );
        let e = parse("cn/r=4294967296").unwrap_err().to_string();
        assert_eq!(e, "cn/r: 4294967296 is more than 4294967295");
        assert_eq!(
            parse("4294967295").expect("the largest").get(Cn0),
            Some(u32::MAX as usize)
        );
        // From code, 0 counts as 1 (as the workers treat it): input can never say 0.
        assert_eq!(PerAlgo::all(0).get(Cn0), Some(1));
    }

    #[test]
    fn intensity_is_capped_and_the_error_names_the_algorithm() {
        assert_eq!(
            parse_intensity("5,cn/r=1"),
            Ok(PerAlgo::all(5).with(CnR, 1))
        );
        let e = parse_intensity("2,cn-pico=6").unwrap_err();
        assert_eq!(
            e,
            PerAlgoError::TooLarge {
                key: "cn-pico".into(),
                value: 6,
                max: MAX_INTENSITY
            }
        );
        assert_eq!(e.to_string(), "cn-pico: 6 is more than 5");
        assert!(parse_intensity("9")
            .unwrap_err()
            .to_string()
            .contains("default"));
        assert!(parse_intensity("0").is_err());
    }

    #[test]
    fn display_is_the_command_line_form_and_reads_back() {
        for (text, shown) in [
            ("3", "3"),
            ("cn-pico=5,cn/2=3", "cn/2=3,cn-pico=5"),
            ("cn/r=1, 2", "2,cn/r=1"),
            ("cryptonight_v8=2", "cn/2=2"),
            ("auto", "auto"),
        ] {
            let v = parse(text).expect(text);
            assert_eq!(v.to_string(), shown);
            assert_eq!(parse(shown).expect(shown), v, "{shown}");
        }
    }

    #[test]
    fn json_takes_a_number_or_a_map_and_writes_the_same_shape_back() {
        let n: PerAlgo = serde_json::from_str("2").expect("number");
        assert_eq!(n, PerAlgo::all(2));
        assert_eq!(serde_json::to_string(&n).expect("ser"), "2");

        let m: PerAlgo =
            serde_json::from_str(r#"{"default": 2, "cn/r": 1, "cryptonight-pico": 5}"#)
                .expect("map");
        assert_eq!(m, PerAlgo::all(2).with(CnR, 1).with(CnPico, 5));
        let back = serde_json::to_value(m).expect("ser");
        assert_eq!(
            back,
            serde_json::json!({"default": 2, "cn/r": 1, "cn-pico": 5})
        );
        assert_eq!(serde_json::from_value::<PerAlgo>(back).expect("again"), m);

        let only: PerAlgo = serde_json::from_str(r#"{"cn/2": 3}"#).expect("no default");
        assert_eq!(
            serde_json::to_value(only).expect("ser"),
            serde_json::json!({"cn/2": 3})
        );
        assert_eq!(
            serde_json::to_value(PerAlgo::default()).expect("ser"),
            serde_json::Value::Null
        );
    }

    #[test]
    fn bad_json_names_the_key_and_the_value() {
        for (json, words) in [
            (r#"{"cn/nope": 1}"#, &["cn/nope"][..]),
            (r#"{"cn/r": "x"}"#, &["cn/r", "\"x\"", "not a number"]),
            (r#"{"cn/r": 1.5}"#, &["cn/r", "1.5"]),
            (r#"{"cn-pico": 0}"#, &["cn-pico", "less than 1"]),
            (r#"{"cn/2": 1, "cryptonight/2": 2}"#, &["cn/2", "twice"]),
            ("0", &["default", "less than 1"]),
            ("-1", &["default", "-1"]),
            (r#""3""#, &["a number, or a map"]),
            ("[3]", &["a number, or a map"]),
        ] {
            let e = serde_json::from_str::<PerAlgo>(json)
                .expect_err(json)
                .to_string();
            for w in words {
                assert!(e.contains(w), "{json}: {e:?} lacks {w:?}");
            }
        }
    }
}
