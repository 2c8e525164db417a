//! Putting `phirig-agent` on every card at once in rig mode, and taking it off again.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use phirig_deploy::{AgentBinaries, Card, DeployConfig, DeployError, DeployerOps, SshOptions};
use tokio::task::JoinSet;

use crate::cli::RunArgs;
use crate::HostError;

/// Longest a card's stop may take before the rig gives up on it (ssh connect + TERM grace).
pub const STOP_BOUND: Duration = Duration::from_secs(20);

/// Why deploying to or stopping one card failed; the rig logs it and carries on with the others.
#[derive(Debug, thiserror::Error)]
pub enum DeployCardError {
    #[error(transparent)]
    Deploy(#[from] DeployError),
    #[error("no answer within {0:?}")]
    NoAnswer(Duration),
    /// The card's task ended without a result (it panicked or was cancelled).
    #[error("{0} task failed")]
    TaskFailed(&'static str),
}

/// What happened on one card, in the order the cards were given.
pub type CardResults = Vec<Result<String, DeployCardError>>;

/// One deploy config for every card: the per-card words (`{card}`, `{card_ip}`, `{host_ip}`)
/// are filled in by the deployer for each card, so the watchdog can hold a single one.
pub fn deploy_config(
    args: &RunArgs,
    cards: &[Card],
    pool_url: &str,
    token: &str,
) -> Result<DeployConfig, HostError> {
    let rig = &args.rig;
    let (binary, is_host) = crate::cards::agent_binary(&rig.binary)?;
    // `phirig` itself is the agent when run as `phirig agent …` (or copied as `phirig-agent`).
    let is_host = is_host || binary.file_name().is_some_and(|n| n == "phirig");
    let mut agent_args = Vec::new();
    if is_host {
        agent_args.push("agent".to_string());
    }
    agent_args.extend(
        [
            "--rig",
            "-o",
            pool_url,
            "-u",
            "{card}",
            "--http-host",
            "{card_ip}",
        ]
        .map(String::from),
    );
    if let Some(k) = args.tuning.intensity {
        agent_args.extend(["--intensity".to_string(), k.to_string()]);
    }
    // Threads and the API port may differ per card (`[[cards]]` / `--card-set`), so they are
    // given per card rather than once for all.
    let overrides = crate::config::card_overrides(args);
    let mut card_args = BTreeMap::new();
    let mut card_ports = BTreeMap::new();
    for card in cards {
        let o = overrides.get(&card.name);
        let port = o.and_then(|o| o.agent_port).unwrap_or(rig.reach.agent_port);
        let mut words = vec!["--http-port".to_string(), port.to_string()];
        // A card's own count is one number; the rig-wide one may be per algorithm.
        let threads = o
            .and_then(|o| o.threads)
            .map(|t| t.to_string())
            .or(args.threads.map(|t| t.to_string()));
        if let Some(t) = threads {
            words.extend(["-t".to_string(), t]);
        }
        card_args.insert(card.name.clone(), words);
        card_ports.insert(card.name.clone(), port);
    }
    if args.no_aesni {
        agent_args.push("--no-aesni".into());
    }
    Ok(DeployConfig {
        binaries: AgentBinaries {
            x86_64: Some(binary),
            k1om: None,
        },
        remote_dir: rig.remote_dir.clone(),
        agent_args,
        card_args,
        agent_port: rig.reach.agent_port,
        card_ports,
        token: Some(token.to_string()),
        ssh: SshOptions {
            extra_args: rig.reach.ssh_args.clone(),
            ..SshOptions::default()
        },
        ..DeployConfig::default()
    })
}

/// Deploys to every card concurrently; one result per card, in order. A card that fails does
/// not hold up or abort the others.
pub async fn deploy_all(ops: &Arc<DeployerOps>, cards: &[Card]) -> CardResults {
    let mut set = JoinSet::new();
    for (i, card) in cards.iter().cloned().enumerate() {
        let ops = ops.clone();
        set.spawn(async move {
            let r = ops.deployer.deploy(&card).await.map(|(up, start)| {
                // An agent still running from an earlier host (killed, crashed, power cut) is
                // replaced, never joined by a second one; the operator is told which it was.
                let replaced = start.replaced.map_or(String::new(), |r| {
                    format!(
                        ", replacing the agent an earlier host left running (pid {}, {:?})",
                        r.pid, r.outcome
                    )
                });
                format!(
                    "copied to {} (sha3-256 {} verified), pid {}{replaced}",
                    up.remote_binary, up.sha3_256, start.pid
                )
            });
            (i, r.map_err(DeployCardError::from))
        });
    }
    collect(set, cards.len(), "deploy").await
}

/// Stops the agent on every card concurrently, each bounded by [`STOP_BOUND`].
pub async fn stop_all(ops: &Arc<DeployerOps>, cards: &[Card]) -> CardResults {
    let mut set = JoinSet::new();
    for (i, card) in cards.iter().cloned().enumerate() {
        let ops = ops.clone();
        set.spawn(async move {
            let r = match tokio::time::timeout(STOP_BOUND, ops.deployer.stop(&card)).await {
                Ok(Ok(o)) => Ok(format!("{o:?}")),
                Ok(Err(e)) => Err(e.into()),
                Err(_) => Err(DeployCardError::NoAnswer(STOP_BOUND)),
            };
            (i, r)
        });
    }
    collect(set, cards.len(), "stop").await
}

async fn collect(
    mut set: JoinSet<(usize, Result<String, DeployCardError>)>,
    n: usize,
    what: &'static str,
) -> CardResults {
    let mut out: CardResults = (0..n)
        .map(|_| Err(DeployCardError::TaskFailed(what)))
        .collect();
    while let Some(done) = set.join_next().await {
        if let Ok((i, r)) = done {
            if let Some(slot) = out.get_mut(i) {
                *slot = r;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn run_args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["phirig", "run", "--binary", "/bin/true", "-t", "2"];
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Run(a) => a,
            other => panic!("not run: {other:?}"),
        }
    }

    /// The deploy config for two SSH cards, root@172.31.1.1 and root@172.31.2.1.
    fn two_cards(args: &RunArgs) -> DeployConfig {
        let a = Card::from_ssh("root@172.31.1.1".parse().expect("target"));
        let b = Card::from_ssh("root@172.31.2.1".parse().expect("target"));
        deploy_config(args, &[a, b], "stratum+tcp://{host_ip}:3334", "t").expect("config")
    }

    #[test]
    fn per_card_threads_and_ports_override_the_rig_wide_ones() {
        let args = run_args(&[
            "--card-set",
            "root@172.31.2.1.threads=6",
            "--card-set",
            "root@172.31.2.1.agent-port=8641",
        ]);
        let cfg = two_cards(&args);
        assert_eq!(
            cfg.card_args["root@172.31.1.1"],
            ["--http-port", "8640", "-t", "2"]
        );
        assert_eq!(
            cfg.card_args["root@172.31.2.1"],
            ["--http-port", "8641", "-t", "6"]
        );
        assert_eq!(cfg.card_ports["root@172.31.2.1"], 8641);
        assert!(!cfg
            .agent_args
            .iter()
            .any(|w| w == "-t" || w == "--http-port"));
    }

    #[tokio::test]
    async fn a_card_started_while_the_rig_is_paused_gets_pause_on_start() {
        let args = run_args(&[]);
        let cfg = two_cards(&args);
        let mut card = Card::from_ssh("root@172.31.2.1".parse().expect("target"));
        // `{host_ip}` is looked up in the routing table: loopback has a route on any machine.
        card.address = "127.0.0.2".into();
        let line = |paused| {
            phirig_deploy::agent_command_line(&cfg, &card, "/d/phirig-agent", false, paused)
        };
        let mining = line(false).await.expect("command line");
        let paused = line(true).await.expect("command line");
        assert_eq!(paused[..mining.len()], mining[..]);
        assert_eq!(paused[mining.len()..], ["--pause-on-start"]);
        // The agent reads it: the words after the binary, as the card's shell passes them.
        let agent = |argv: &[String]| {
            let words = argv[1..].iter().map(String::as_str);
            phirig_agent::cli::Cli::try_parse_from(std::iter::once("phirig-agent").chain(words))
                .expect("the agent parses what the host passes")
                .mine
        };
        assert!(!agent(&mining).pause_on_start);
        let mine = agent(&paused);
        assert!(mine.pause_on_start && mine.rig);
        assert_eq!(mine.user.as_deref(), Some("root@172.31.2.1"));
    }

    #[test]
    fn per_algorithm_threads_and_intensity_reach_the_agents_unchanged() {
        use phirig_agent::worker::PerAlgo;
        use phirig_kernel::cn::Algorithm::{CnPico, CnR};
        let mut args = run_args(&[
            "--intensity",
            "cn-pico=5,2",
            "--card-set",
            "root@172.31.2.1.threads=6",
        ]);
        args.threads = Some("2,cryptonight/r=1".parse().expect("threads"));
        let cfg = two_cards(&args);
        assert_eq!(
            cfg.card_args["root@172.31.1.1"],
            ["--http-port", "8640", "-t", "2,cn/r=1"]
        );
        assert_eq!(
            cfg.card_args["root@172.31.2.1"],
            ["--http-port", "8640", "-t", "6"],
            "a card's own count wins"
        );
        let k = cfg
            .agent_args
            .iter()
            .position(|w| w == "--intensity")
            .and_then(|i| cfg.agent_args.get(i + 1))
            .expect("--intensity passed");
        assert_eq!(k, "2,cn-pico=5");
        // The agent reads back exactly what was given.
        let agent = phirig_agent::cli::Cli::try_parse_from([
            "phirig-agent",
            "-t",
            "2,cn/r=1",
            "--intensity",
            k.as_str(),
        ])
        .expect("the agent parses what the host passes");
        assert_eq!(agent.mine.threads, Some(PerAlgo::all(2).with(CnR, 1)));
        assert_eq!(agent.mine.intensity, Some(PerAlgo::all(2).with(CnPico, 5)));
    }
}
