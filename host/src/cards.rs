//! `phirig cards | deploy | stop | restart | status`: the card commands, over `phirig-deploy`.

use std::path::PathBuf;
use std::sync::Arc;

use phirig_deploy::{
    card_rows, render_table, select_cards, AgentBinaries, Card, CardKind, CardSpec, DeployConfig,
    DeployError, Deployer, MpssDiscovery, SshOptions, StopOutcome,
};

use crate::cli::{CardArgs, CardReach, DeployArgs};
use crate::HostError;

/// How MPSS cards are found, from the card flags.
pub(crate) fn discovery(reach: &CardReach) -> MpssDiscovery {
    MpssDiscovery {
        sysfs_root: reach.sysfs_root.clone(),
        etc_root: reach.etc_root.clone(),
        ssh_user: reach.ssh_user.clone(),
    }
}

/// The cards named with `--card`, or every MPSS card.
pub fn cards(reach: &CardReach) -> Result<Vec<Card>, HostError> {
    let named = reach
        .cards
        .iter()
        .map(|c| {
            c.parse::<CardSpec>().map_err(|source| HostError::CardSpec {
                spec: c.clone(),
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(select_cards(&named, &[], &discovery(reach))?)
}

/// The binary to copy: `--binary`, else `phirig-agent` beside us, else ourselves (run as `phirig agent`).
pub(crate) fn agent_binary(explicit: &Option<PathBuf>) -> Result<(PathBuf, bool), HostError> {
    if let Some(p) = explicit {
        return Ok((p.clone(), false));
    }
    let me = std::env::current_exe().map_err(HostError::Executable)?;
    let sibling = me.with_file_name("phirig-agent");
    if sibling.is_file() {
        Ok((sibling, false))
    } else {
        Ok((me, true))
    }
}

/// Where the agent lives on the cards for `stop`, `status` and `cards --check`: the config
/// file's `[agent] remote-dir` (what `deploy -c` used), else the default. `deploy` and `restart`
/// take `--remote-dir` instead.
fn remote_dir(args: &CardArgs) -> Result<String, HostError> {
    let from_file = match &args.config {
        Some(path) => crate::config::load(path)?.agent.remote_dir,
        None => None,
    };
    Ok(from_file.unwrap_or_else(|| DeployConfig::default().remote_dir))
}

fn ssh_options(args: &CardArgs) -> SshOptions {
    SshOptions {
        extra_args: args.reach.ssh_args.clone(),
        ..SshOptions::default()
    }
}

/// A deployer for one card: the agent listens on the card's own address (loopback for `local`).
fn deployer_for(
    card: &Card,
    args: &CardArgs,
    deploy: Option<&DeployArgs>,
) -> Result<Deployer, HostError> {
    let mut agent_args = Vec::new();
    let mut binaries = AgentBinaries::default();
    let mut remote_dir = remote_dir(args)?;
    if let Some(d) = deploy {
        let (binary, is_host) = agent_binary(&d.binary)?;
        if is_host {
            agent_args.push("agent".to_string());
        }
        binaries.x86_64 = Some(binary);
        remote_dir = d.remote_dir.clone();
        for u in &d.url {
            agent_args.extend(["-o".to_string(), u.clone()]);
        }
        agent_args.extend([
            "-u".into(),
            d.user.clone(),
            "-p".into(),
            d.pass.clone(),
            "--rig-id".into(),
            card.name.clone(),
        ]);
        if let Some(a) = &d.algo {
            agent_args.extend(["-a".into(), a.clone()]);
        }
    }
    let host = if card.kind == CardKind::Local {
        "127.0.0.1".to_string()
    } else {
        card.address.clone()
    };
    agent_args.extend([
        "--http-host".into(),
        host,
        "--http-port".into(),
        args.reach.agent_port.to_string(),
    ]);
    Ok(Deployer::new(DeployConfig {
        binaries,
        remote_dir,
        agent_args,
        agent_port: args.reach.agent_port,
        token: args.token.clone(),
        ssh: ssh_options(args),
        ..DeployConfig::default()
    }))
}

pub async fn list(args: &CardArgs, check: bool, json: bool) -> Result<(), HostError> {
    let found = cards(&args.reach)?;
    let deployer = Arc::new(deployer_for(&Card::local(), args, None)?);
    let rows = card_rows(&deployer, &found, check).await;
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", render_table(&rows));
    }
    Ok(())
}

type CardTask = tokio::task::JoinHandle<(String, Result<String, DeployError>)>;

/// Waits for one task per card, prints a line for each, and fails if any card failed.
async fn report(tasks: Vec<CardTask>) -> Result<(), HostError> {
    let mut failed = 0;
    for t in tasks {
        match t.await {
            Ok((name, Ok(msg))) => println!("{name:<12} {msg}"),
            Ok((name, Err(msg))) => {
                failed += 1;
                println!("{name:<12} FAILED: {msg}");
            }
            Err(e) => {
                failed += 1;
                println!("(task) FAILED: {e}");
            }
        }
    }
    if failed > 0 {
        Err(HostError::CardsFailed { failed })
    } else {
        Ok(())
    }
}

/// Every card at once: a slow or dead card never holds up the others.
pub async fn deploy(args: DeployArgs, restart_only: bool) -> Result<(), HostError> {
    let mut tasks = Vec::new();
    for card in cards(&args.cards.reach)? {
        let d = deployer_for(&card, &args.cards, Some(&args))?;
        tasks.push(tokio::spawn(async move {
            // Both clear a `phirig stop`: the watchdog supervises the card again.
            let r = if restart_only {
                d.restart(&card)
                    .await
                    .map(|s| format!("restarted, pid {}, {}", s.pid, s.url))
            } else {
                d.deploy(&card).await.map(|(u, s)| {
                    format!(
                        "copied {} (sha3-256 {} verified), pid {}, {}",
                        u.remote_binary, u.sha3_256, s.pid, s.url
                    )
                })
            };
            (card.name.clone(), r)
        }));
    }
    report(tasks).await
}

pub async fn stop(args: CardArgs) -> Result<(), HostError> {
    let mut tasks = Vec::new();
    for card in cards(&args.reach)? {
        let d = deployer_for(&card, &args, None)?;
        tasks.push(tokio::spawn(async move {
            let r = d.stop(&card).await.map(|o| {
                let what = match o {
                    StopOutcome::NotRunning => "was not running",
                    StopOutcome::Terminated => "stopped",
                    StopOutcome::Killed => "killed (ignored TERM)",
                };
                format!("{what}; stays stopped (the watchdog leaves it) until restart or deploy")
            });
            (card.name.clone(), r)
        }));
    }
    report(tasks).await
}

pub async fn status(args: CardArgs) -> Result<(), HostError> {
    let mut tasks = Vec::new();
    for card in cards(&args.reach)? {
        let d = deployer_for(&card, &args, None)?;
        tasks.push(tokio::spawn(async move {
            let r = d.status(&card).await.map(|s| {
                let mut line = s.summary().to_string();
                if let Some(pid) = s.pid {
                    line.push_str(&format!(", pid {pid}"));
                }
                if s.stopped_by_operator {
                    line.push_str(" (by the operator: the watchdog leaves it stopped)");
                }
                line
            });
            (card.name.clone(), r)
        }));
    }
    report(tasks).await
}
