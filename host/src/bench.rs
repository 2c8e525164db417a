//! `phirig bench`: every card runs the agent's benchmark at once; one row per card and a rig total.
//! With `--all` every card tunes every algorithm instead: a card × algorithm table.

use std::collections::BTreeMap;
use std::fmt::Write;

use phirig_agent::bench::BenchReport;
use phirig_deploy::ssh::{run as ssh_run, shell_join, Input, SshError};
use phirig_deploy::{Card, CardKind, SshOptions};
use phirig_wire::Profile;
use serde::de::DeserializeOwned;

use crate::cards::cards;
use crate::cli::BenchArgs;
use crate::HostError;

/// Why one card gave no benchmark; printed on its row.
#[derive(Debug, thiserror::Error)]
pub enum CardBenchError {
    #[error(transparent)]
    Ssh(#[from] SshError),
    #[error("no benchmark result in: {output}")]
    NoResult { output: String },
    #[error("benchmark failed (see the card's stderr)")]
    Failed,
    #[error(transparent)]
    Task(#[from] tokio::task::JoinError),
}

/// The agent's command line on one card, up to its subcommand.
fn agent_words(card: &Card, args: &BenchArgs) -> Result<Vec<String>, HostError> {
    Ok(match card.kind {
        CardKind::Local => {
            let me = std::env::current_exe().map_err(HostError::Executable)?;
            vec![me.display().to_string(), "agent".into()]
        }
        _ => vec![format!(
            "{}/phirig-agent",
            args.remote_dir.trim_end_matches('/')
        )],
    })
}

/// The benchmark command line for one card.
fn bench_script(card: &Card, args: &BenchArgs) -> Result<String, HostError> {
    let mut words = agent_words(card, args)?;
    if args.all {
        words.extend(["tune".into(), "--json".into()]);
    } else {
        words.extend([
            "bench".into(),
            "--algo".into(),
            args.algo.clone(),
            "--seconds".into(),
            args.seconds.to_string(),
            "--json".into(),
        ]);
    }
    if let Some(mode) = args.rx_mode {
        words.extend(["--rx-mode".into(), mode.to_string()]);
    }
    if args.all {
        return Ok(shell_join(&words));
    }
    if let Some(t) = args.threads {
        words.extend(["--threads".into(), t.to_string()]);
    }
    if let Some(k) = args.intensity {
        words.extend(["--intensity".into(), k.to_string()]);
    }
    Ok(shell_join(&words))
}

/// Runs the script on one card and parses its last JSON line as `T`.
async fn bench_card<T: DeserializeOwned>(
    card: Card,
    script: String,
    ssh: SshOptions,
) -> (String, Result<T, CardBenchError>) {
    let out = match ssh_run(&card, &ssh, &script, Input::None).await {
        Ok(o) => o,
        Err(e) => return (card.name, Err(e.into())),
    };
    let text = out.stdout_text();
    let parsed = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<T>(l).ok())
        .ok_or_else(|| {
            if out.success() {
                CardBenchError::NoResult {
                    output: text.trim().to_string(),
                }
            } else {
                CardBenchError::Failed
            }
        });
    (card.name, parsed)
}

/// Every card's result, in card order.
async fn on_every_card<T: DeserializeOwned + Send + 'static>(
    args: &BenchArgs,
) -> Result<Vec<(String, Result<T, CardBenchError>)>, HostError> {
    let mut reach = args.cards.reach.clone();
    if reach.cards.is_empty() && !reach.sysfs_root.join("class/mic").exists() {
        // No cards named and no MPSS: benchmark this machine.
        reach.cards.push("local".into());
    }
    let found = cards(&reach)?;
    let ssh = SshOptions {
        extra_args: reach.ssh_args.clone(),
        ..SshOptions::default()
    };
    let mut tasks = Vec::new();
    for card in found {
        let script = bench_script(&card, args)?;
        tasks.push(tokio::spawn(bench_card::<T>(card, script, ssh.clone())));
    }
    let mut results = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => results.push(r),
            Err(e) => results.push(("(task)".into(), Err(e.into()))),
        }
    }
    Ok(results)
}

pub async fn bench(args: BenchArgs) -> Result<(), HostError> {
    if args.all {
        return tune_all(&args).await;
    }
    let results = on_every_card::<BenchReport>(&args).await?;
    if args.json {
        let rows: Vec<_> = results
            .iter()
            .map(|(name, r)| match r {
                Ok(b) => serde_json::json!({"card": name, "result": b}),
                Err(e) => serde_json::json!({"card": name, "error": e.to_string()}),
            })
            .collect();
        let total: f64 = results
            .iter()
            .filter_map(|(_, r)| r.as_ref().ok())
            .map(|b| b.total_hs)
            .sum();
        println!(
            "{}",
            serde_json::json!({"algo": args.algo, "cards": rows, "total_hs": total})
        );
    } else {
        print!("{}", render(&results));
    }
    if results.iter().any(|(_, r)| r.is_err()) {
        return Err(HostError::BenchFailed);
    }
    Ok(())
}

/// `--all`: every card tunes every algorithm and keeps the result as its profile.
async fn tune_all(args: &BenchArgs) -> Result<(), HostError> {
    let results = on_every_card::<Profile>(args).await?;
    if args.json {
        let rows: Vec<_> = results
            .iter()
            .map(|(name, r)| match r {
                Ok(p) => serde_json::json!({"card": name, "profile": p}),
                Err(e) => serde_json::json!({"card": name, "error": e.to_string()}),
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"cards": rows, "rig_hs": rig_perf(&results)})
        );
    } else {
        print!("{}", render_profiles(&results));
    }
    if results.iter().any(|(_, r)| r.is_err()) {
        return Err(HostError::BenchFailed);
    }
    Ok(())
}

/// The rig's H/s per algorithm: each card's tuned rate, summed.
fn rig_perf(results: &[(String, Result<Profile, CardBenchError>)]) -> BTreeMap<String, f64> {
    let mut sum = BTreeMap::new();
    for p in results.iter().filter_map(|(_, r)| r.as_ref().ok()) {
        for (algo, hs) in p.algo_perf() {
            *sum.entry(algo).or_insert(0.0) += hs;
        }
    }
    sum
}

/// One row per algorithm, one column per card (H/s and threads × ways, or threads and mode for
/// rx/0), and the rig's sum.
pub fn render_profiles(results: &[(String, Result<Profile, CardBenchError>)]) -> String {
    const CELL: usize = 18;
    let mut out = String::new();
    let _ = write!(out, "{:<14}", "algo");
    for (name, _) in results {
        let _ = write!(out, " {name:>CELL$}");
    }
    let _ = writeln!(out, " {:>10}", "RIG");
    for (algo, total) in rig_perf(results) {
        let _ = write!(out, "{algo:<14}");
        for (_, r) in results {
            let cell = match r.as_ref().ok().and_then(|p| p.algos.get(&algo)) {
                // rx/0 has threads only, and a mode that decides its rate.
                Some(b) => match &b.rx_mode {
                    Some(mode) => format!("{:.1} ({} {mode})", b.hs, b.threads),
                    None => format!("{:.1} ({}x{})", b.hs, b.threads, b.intensity),
                },
                None => "-".into(),
            };
            let _ = write!(out, " {cell:>CELL$}");
        }
        let _ = writeln!(out, " {total:>10.1}");
    }
    for (name, r) in results {
        if let Err(e) = r {
            let _ = writeln!(out, "{name}: FAILED: {e}");
        }
    }
    out
}

/// One row per card plus the rig total.
pub fn render(results: &[(String, Result<BenchReport, CardBenchError>)]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<12} {:>10} {:>8} {:>9} {:>10} {:>11}",
        "card", "H/s", "threads", "intensity", "huge pages", "aes"
    );
    let mut total = 0.0;
    for (name, r) in results {
        match r {
            Ok(b) => {
                total += b.total_hs;
                let pages = format!("{}/{}", b.hugepages[0], b.hugepages[1]);
                let _ = writeln!(
                    out,
                    "{:<12} {:>10.1} {:>8} {:>9} {:>10} {:>11}",
                    name,
                    b.total_hs,
                    b.threads,
                    b.intensity,
                    pages,
                    b.aes_label()
                );
            }
            Err(e) => {
                let _ = writeln!(out, "{name:<12} FAILED: {e}");
            }
        }
    }
    let _ = writeln!(out, "{:<12} {:>10.1}", "RIG", total);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use phirig_wire::AlgoBest;

    fn profile(rates: &[(&str, f64, usize)]) -> Profile {
        let mut p = Profile::default();
        for &(algo, hs, ways) in rates {
            p.algos.insert(
                algo.into(),
                AlgoBest {
                    threads: 2,
                    intensity: ways,
                    hs,
                    hugepages: [4, 4],
                    aes: "aes-ni".into(),
                    rx_mode: None,
                },
            );
        }
        p
    }

    fn script(words: &[&str]) -> String {
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from(
            ["phirig", "bench"].iter().chain(words),
        )
        .expect("flags parse");
        let crate::cli::Command::Bench(args) = cli.command else {
            panic!("not bench");
        };
        let card = Card::from_ssh("root@10.0.0.9".parse().expect("target"));
        // Quotes off: these words need none.
        bench_script(&card, &args)
            .expect("script")
            .replace('\'', "")
    }

    #[test]
    fn the_rx_mode_reaches_tune_and_bench_on_the_card() {
        let all = script(&["--all", "--rx-mode", "light"]);
        assert!(
            all.ends_with("phirig-agent tune --json --rx-mode light"),
            "{all}"
        );
        let one = script(&["-a", "rx/0", "--rx-mode", "full", "-t", "2"]);
        assert!(one.contains(" bench --algo rx/0 "), "{one}");
        assert!(one.contains(" --rx-mode full"), "{one}");
        assert!(one.contains(" --threads 2"), "{one}");
        // Not given: the card's own default, no flag.
        assert!(!script(&["--all"]).contains("rx-mode"));
        assert!(<crate::cli::Cli as clap::Parser>::try_parse_from([
            "phirig",
            "bench",
            "--rx-mode",
            "fast"
        ])
        .is_err());
    }

    #[test]
    fn the_table_has_a_row_per_algorithm_and_sums_the_rig() {
        let results = vec![
            (
                "mic0".to_string(),
                Ok(profile(&[("cn/r", 100.0, 2), ("cn-pico", 900.0, 5)])),
            ),
            ("mic1".to_string(), Ok(profile(&[("cn/r", 50.5, 3)]))),
            ("mic2".to_string(), Err(CardBenchError::Failed)),
        ];
        assert_eq!(rig_perf(&results)["cn/r"], 150.5);
        let table = render_profiles(&results);
        let row = |algo: &str| {
            table
                .lines()
                .find(|l| l.starts_with(algo))
                .unwrap_or_else(|| panic!("no {algo} row in\n{table}"))
                .to_string()
        };
        let cnr = row("cn/r ");
        assert!(
            cnr.contains("100.0 (2x2)") && cnr.contains("50.5 (2x3)"),
            "{cnr}"
        );
        assert!(cnr.trim_end().ends_with("150.5"), "{cnr}");
        assert!(row("cn-pico").contains(" - "), "{table}");
        let mut rx = profile(&[("rx/0", 512.0, 1)]);
        if let Some(b) = rx.algos.get_mut("rx/0") {
            b.rx_mode = Some("full".into());
        }
        let rx_table = render_profiles(&[("mic0".to_string(), Ok(rx))]);
        assert!(rx_table.contains("512.0 (2 full)"), "{rx_table}");
        assert!(table.contains("mic2: FAILED"), "{table}");
    }
}
