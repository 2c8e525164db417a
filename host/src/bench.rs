//! `phirig bench`: every card runs the agent's benchmark at once; one row per card and a rig total.

use std::fmt::Write;

use phirig_agent::bench::BenchReport;
use phirig_deploy::ssh::{run as ssh_run, shell_join, Input, SshError};
use phirig_deploy::{Card, CardKind, SshOptions};

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

/// The benchmark command line for one card.
fn bench_script(card: &Card, args: &BenchArgs) -> Result<String, HostError> {
    let mut words: Vec<String> = match card.kind {
        CardKind::Local => {
            let me = std::env::current_exe().map_err(HostError::Executable)?;
            vec![me.display().to_string(), "agent".into()]
        }
        _ => vec![format!(
            "{}/phirig-agent",
            args.remote_dir.trim_end_matches('/')
        )],
    };
    words.extend([
        "bench".into(),
        "--algo".into(),
        args.algo.clone(),
        "--seconds".into(),
        args.seconds.to_string(),
        "--json".into(),
    ]);
    if let Some(t) = args.threads {
        words.extend(["--threads".into(), t.to_string()]);
    }
    if let Some(k) = args.intensity {
        words.extend(["--intensity".into(), k.to_string()]);
    }
    Ok(shell_join(&words))
}

/// Runs the benchmark on one card and parses its JSON line.
async fn bench_card(
    card: Card,
    script: String,
    ssh: SshOptions,
) -> (String, Result<BenchReport, CardBenchError>) {
    let out = match ssh_run(&card, &ssh, &script, Input::None).await {
        Ok(o) => o,
        Err(e) => return (card.name, Err(e.into())),
    };
    let text = out.stdout_text();
    let parsed = text
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<BenchReport>(l).ok())
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

pub async fn bench(args: BenchArgs) -> Result<(), HostError> {
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
        let script = bench_script(&card, &args)?;
        tasks.push(tokio::spawn(bench_card(card, script, ssh.clone())));
    }
    let mut results = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => results.push(r),
            Err(e) => results.push(("(task)".into(), Err(e.into()))),
        }
    }
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
