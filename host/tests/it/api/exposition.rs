//! A Prometheus text-format (0.0.4) parser, strict enough to catch what a scraper rejects.

use std::collections::{BTreeMap, BTreeSet};

pub struct Parsed {
    pub types: BTreeMap<String, String>,
    pub samples: Vec<ParsedSample>,
}

pub struct ParsedSample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

fn valid_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_value(v: &str) -> Option<f64> {
    match v {
        "NaN" => Some(f64::NAN),
        "+Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => v.parse().ok(),
    }
}

fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    let mut rest = s;
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_name(name) || name.contains(':') {
            return Err(format!("bad label name {name:?}"));
        }
        let mut chars = rest[eq + 1..].char_indices();
        if chars.next().map(|(_, c)| c) != Some('"') {
            return Err("label value not quoted".into());
        }
        let mut value = String::new();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break eq + 1 + i + 1,
                Some((_, '\\')) => match chars.next().map(|(_, c)| c) {
                    Some('\\') => value.push('\\'),
                    Some('"') => value.push('"'),
                    Some('n') => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("raw newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("label {name} twice"));
        }
        rest = &rest[end..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
}

pub fn parse_exposition(text: &str) -> Result<Parsed, String> {
    if !text.is_empty() && !text.ends_with('\n') {
        return Err("the last line does not end in a newline".into());
    }
    let mut types = BTreeMap::new();
    let mut helps = BTreeSet::new();
    let mut samples = Vec::new();
    let mut finished: BTreeSet<String> = BTreeSet::new();
    let mut current: Option<String> = None;
    let mut seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let (kw, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            match kw {
                "HELP" | "TYPE" => {
                    if !valid_name(name) {
                        return Err(err("bad metric name".into()));
                    }
                    if current.as_deref() != Some(name) {
                        if finished.contains(name) {
                            return Err(err("family split".into()));
                        }
                        if let Some(c) = current.take() {
                            finished.insert(c);
                        }
                        current = Some(name.to_string());
                    }
                }
                _ => {}
            }
            if kw == "HELP" && !helps.insert(name.to_string()) {
                return Err(err("HELP twice".into()));
            }
            if kw == "TYPE" {
                let t = parts.next().unwrap_or("");
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) {
                    return Err(err(format!("bad type {t}")));
                }
                if samples.iter().any(|s: &ParsedSample| s.name == name) {
                    return Err(err("TYPE after samples".into()));
                }
                if types.insert(name.to_string(), t.to_string()).is_some() {
                    return Err(err("TYPE twice".into()));
                }
                if t == "counter" && !name.ends_with("_total") {
                    return Err(err("counter not named *_total".into()));
                }
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .ok_or_else(|| err("no value".into()))?;
        let name = &line[..name_end];
        if !valid_name(name) {
            return Err(err("bad metric name".into()));
        }
        if !name.starts_with("phirig_") {
            return Err(err("not under the phirig_ prefix".into()));
        }
        if current.as_deref() != Some(name) {
            return Err(err(
                "sample outside its family (no HELP/TYPE just before)".into()
            ));
        }
        let (labels, rest) = match line[name_end..].strip_prefix('{') {
            Some(r) => parse_labels(r).map_err(err)?,
            None => (BTreeMap::new(), &line[name_end..]),
        };
        let mut fields = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no space before value".into()))?
            .split(' ');
        let value = fields
            .next()
            .and_then(parse_value)
            .ok_or_else(|| err("bad value".into()))?;
        if let Some(ts) = fields.next() {
            ts.parse::<i64>().map_err(|_| err("bad timestamp".into()))?;
        }
        if fields.next().is_some() {
            return Err(err("trailing fields".into()));
        }
        if !seen.insert((name.to_string(), format!("{labels:?}"))) {
            return Err(err("duplicate series".into()));
        }
        samples.push(ParsedSample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    Ok(Parsed { types, samples })
}

#[test]
fn the_test_parser_rejects_what_a_scraper_would() {
    let ok = "# HELP phirig_x_total X.\n# TYPE phirig_x_total counter\nphirig_x_total{card=\"a\\\"b\"} 1\n";
    let p = parse_exposition(ok).expect("valid");
    assert_eq!(p.samples[0].labels["card"], "a\"b");
    for bad in [
        "# TYPE phirig_x counter\nphirig_x 1\n",
        "# TYPE phirig_x gauge\nphirig_x{card=\"a\"b\"} 1\n",
        "# TYPE phirig_x gauge\nphirig_x{card=a} 1\n",
        "# TYPE phirig_x gauge\nphirig_x one\n",
        "phirig_x 1\n",
        "# TYPE phirig_x gauge\nphirig_x 1",
        "# TYPE phirig_x gauge\nphirig_x 1\n# TYPE phirig_y gauge\nphirig_y 1\n# TYPE phirig_x gauge\n",
        "# TYPE phirig_x gauge\nphirig_x{a=\"1\"} 1\nphirig_x{a=\"1\"} 2\n",
        "# TYPE phirig_x gauge\nphirig_x{a=\"\\t\"} 1\n",
    ] {
        assert!(parse_exposition(bad).is_err(), "accepted: {bad:?}");
    }
}
