//! The Grafana dashboard and the Prometheus example in `deploy/` name only metrics the host serves,
//! and the card-state panel draws each state the host knows under its own name.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use phirig_host::api::render_metrics;
use phirig_host::card_state::CardState;
use phirig_host::snapshot::RigSnapshot;
use serde_json::Value;

use super::fixture::{card, snapshot};

fn dashboard() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/grafana/phirig.json");
    let text = std::fs::read_to_string(path).expect("dashboard");
    serde_json::from_str(&text).expect("dashboard is JSON")
}

/// Every `phirig_…` metric name in a text.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("phirig_") {
        let tail = &rest[at..];
        let end = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[test]
fn every_dashboard_query_names_a_served_family() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let json = dashboard();
    let exprs: Vec<&str> = json["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .filter_map(|t| t["expr"].as_str())
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    let served: BTreeSet<String> = render_metrics(&snapshot(100))
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect();
    let mut queried = BTreeSet::new();
    for expr in exprs {
        for name in metric_names(expr) {
            assert!(served.contains(&name), "{name} (in `{expr}`) is not served");
            queried.insert(name);
        }
    }
    assert!(queried.contains("phirig_card_state"), "{queried:?}");
    let example =
        std::fs::read_to_string(root.join("deploy/prometheus/phirig.yml")).expect("example");
    assert!(example.contains("job_name: phirig") && example.contains("metrics_path: /metrics"));
}

/// The card-state panel numbers each state (`state="paused"} * 3`) to draw one band per card;
/// its value mappings must name the same state for each number, for every state the host has.
/// Where Prometheus's `promtool` is installed, the panel's query is also evaluated over the
/// series the host serves for one card in each state.
#[test]
fn the_card_state_panel_names_every_state_the_host_serves() {
    let json = dashboard();
    let panel = json["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .find(|p| p["title"] == "Card state")
        .expect("a card-state panel");
    let expr = panel["targets"][0]["expr"].as_str().expect("expr");
    let mappings = &panel["fieldConfig"]["defaults"]["mappings"][0]["options"];
    for (i, state) in CardState::ALL.iter().enumerate() {
        let n = i + 1;
        let term = format!("state=\"{state}\"}} * {n}");
        assert!(expr.contains(&term), "no `{term}` in `{expr}`");
        assert_eq!(
            mappings[n.to_string()]["text"],
            state.as_str(),
            "{mappings}"
        );
    }
    assert_eq!(
        mappings.as_object().map(|m| m.len()),
        Some(CardState::ALL.len())
    );

    if !Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        println!("skipped the evaluation: promtool not installed (Debian's prometheus has it)");
        return;
    }
    // One card per state, as `/metrics` serves them, scraped with the label the job adds.
    let views: Vec<_> = (0..CardState::ALL.len())
        .map(|i| card(&format!("c{i}"), 100, 61))
        .collect();
    let mut snap = RigSnapshot::build(&views, None, 120);
    for (c, state) in snap.cards.iter_mut().zip(CardState::ALL) {
        c.state = state;
    }
    let series: Vec<String> = render_metrics(&snap)
        .lines()
        .filter_map(|l| l.strip_prefix("phirig_card_state{"))
        .filter_map(|l| l.rsplit_once(' '))
        .map(|(labels, v)| {
            format!("      - {{series: 'phirig_card_state{{rig=\"r\",{labels}', values: '{v}'}}")
        })
        .collect();
    assert_eq!(series.len(), CardState::ALL.len().pow(2), "{series:?}");
    let expected: Vec<String> = (0..CardState::ALL.len())
        .map(|i| {
            format!(
                "          - {{labels: 'state_code{{rig=\"r\",card=\"c{i}\"}}', value: {}}}",
                i + 1
            )
        })
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let rule = expr.replace("$rig", ".*").replace('\'', "''");
    let rules = [
        "groups:",
        "  - name: panel",
        "    rules:",
        "      - record: state_code",
        &format!("        expr: '{rule}'"),
    ];
    std::fs::write(dir.path().join("rules.yml"), rules.join("\n")).expect("rules");
    std::fs::write(
        dir.path().join("test.yml"),
        format!(
            "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    \
             input_series:\n{}\n    promql_expr_test:\n      - expr: state_code\n        \
             eval_time: 0m\n        exp_samples:\n{}\n",
            series.join("\n"),
            expected.join("\n")
        ),
    )
    .expect("test");
    let out = Command::new("promtool")
        .args(["test", "rules", "test.yml"])
        .current_dir(dir.path())
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
