//! The Grafana dashboard and the Prometheus example in `deploy/` name only metrics the host serves.

use std::collections::BTreeSet;

use phirig_host::api::render_metrics;

use super::fixture::snapshot;

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
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dashboard =
        std::fs::read_to_string(root.join("deploy/grafana/phirig.json")).expect("dashboard");
    let json: serde_json::Value = serde_json::from_str(&dashboard).expect("dashboard is JSON");
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
    for expr in exprs {
        for name in metric_names(expr) {
            assert!(served.contains(&name), "{name} (in `{expr}`) is not served");
        }
    }
    let example =
        std::fs::read_to_string(root.join("deploy/prometheus/phirig.yml")).expect("example");
    assert!(example.contains("job_name: phirig") && example.contains("metrics_path: /metrics"));
}
