//! `phirig upgrade`: replace the running agent on every card with a new binary, sent to all cards
//! at once from one mapping (zero-copy where the kernel does it), then checked to be running.

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_deploy::upgrade::{upgrade_card, BinaryImage, CardUpgrade, Progress, UpgradeError};
use phirig_deploy::zerocopy::{SendOptions, ZcStats};
use phirig_deploy::{Card, CardKind};

use crate::cli::UpgradeArgs;
use crate::HostError;

/// How often progress lines are printed while transfers run.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// Why one card was not upgraded; printed on its row.
#[derive(Debug, thiserror::Error)]
pub enum CardUpgradeError {
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{host} has no address")]
    NoAddress { host: String },
    #[error(transparent)]
    Upgrade(#[from] UpgradeError),
    #[error("upgrade thread panicked")]
    Panicked,
}

/// The agent API address of `card`.
fn api_addr(card: &Card, port: u16) -> Result<SocketAddr, CardUpgradeError> {
    let host = if card.kind == CardKind::Local {
        "127.0.0.1"
    } else {
        card.address.as_str()
    };
    (host, port)
        .to_socket_addrs()
        .map_err(|source| CardUpgradeError::Resolve {
            host: host.to_string(),
            source,
        })?
        .next()
        .ok_or_else(|| CardUpgradeError::NoAddress {
            host: host.to_string(),
        })
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// One result-table row.
pub fn render_row(name: &str, r: &Result<CardUpgrade, CardUpgradeError>) -> String {
    match r {
        Ok(u) => format!(
            "{name:<20} {} → {}  {:>8.1} MiB {:>7.2} s {:>7.2} s  {:>6} {:>6} {:>6} {:>6}  ok",
            u.old_build,
            u.new_build,
            mib(u.bytes),
            u.seconds,
            u.restart_seconds,
            u.stats.zc_sends,
            u.stats.copied,
            u.stats.completions,
            u.stats.plain_sends,
        ),
        Err(e) => format!("{name:<20} FAILED: {e}"),
    }
}

pub fn table_header() -> String {
    format!(
        "{:<20} {:<35} {:>13} {:>9} {:>9}  {:>6} {:>6} {:>6} {:>6}",
        "CARD", "BUILD (old → new)", "SENT", "XFER", "RESTART", "ZC", "COPIED", "DONE", "PLAIN"
    )
}

/// Upgrades every selected card concurrently; fails if any card did not come back as the new build.
pub async fn upgrade(mut args: UpgradeArgs) -> Result<(), HostError> {
    args.cards.reach.cards.append(&mut args.card_names);
    let cards = crate::cards::cards(&args.cards.reach)?;
    if cards.is_empty() {
        return Err(HostError::Usage("no cards found or named".into()));
    }
    let token = args.cards.token.clone().ok_or_else(|| {
        HostError::Usage(
            "upgrading needs the agents' API token: --http-access-token or PHIRIG_HTTP_TOKEN"
                .into(),
        )
    })?;
    // `--binary`, else `phirig-agent` beside us, else `phirig` itself (it is the agent too).
    let (path, _) = crate::cards::agent_binary(&args.binary)?;
    let image = Arc::new(BinaryImage::open(&path)?);
    println!(
        "upgrading {} card(s) to {} (build {}, {:.1} MiB)",
        cards.len(),
        path.display(),
        image.build,
        mib(image.len())
    );
    let opts = SendOptions {
        zerocopy: !args.no_zerocopy,
        ..SendOptions::default()
    };
    let port = args.cards.reach.agent_port;
    let restart = Duration::from_secs(args.restart_timeout);
    let results =
        tokio::task::spawn_blocking(move || fan_out(&cards, port, &token, &image, opts, restart))
            .await
            .map_err(HostError::UpgradeTask)?;
    println!("{}", table_header());
    let mut total = ZcStats::default();
    let mut failed = 0;
    for (name, r) in &results {
        println!("{}", render_row(name, r));
        match r {
            Ok(u) => total.add(&u.stats),
            Err(_) => failed += 1,
        }
    }
    println!(
        "zero-copy sends {} completed {} (copied by the kernel {}), plain sends {}",
        total.zc_sends, total.completions, total.copied, total.plain_sends
    );
    if failed > 0 {
        return Err(HostError::UpgradesFailed {
            failed,
            total: results.len(),
        });
    }
    Ok(())
}

/// One thread per card, all sending from the same mapping; progress printed from this thread.
fn fan_out(
    cards: &[Card],
    port: u16,
    token: &str,
    image: &BinaryImage,
    opts: SendOptions,
    restart: Duration,
) -> Vec<(String, Result<CardUpgrade, CardUpgradeError>)> {
    let (tx, rx) = mpsc::channel::<(usize, Progress)>();
    std::thread::scope(|scope| {
        let handles: Vec<_> = cards
            .iter()
            .enumerate()
            .map(|(i, card)| {
                let tx = tx.clone();
                scope.spawn(move || {
                    let addr = api_addr(card, port)?;
                    let mut last = Instant::now();
                    upgrade_card(addr, Some(token), image, opts, restart, &mut |p| {
                        if last.elapsed() >= PROGRESS_EVERY || p.sent == p.total {
                            last = Instant::now();
                            let _ = tx.send((i, p));
                        }
                    })
                    .map_err(CardUpgradeError::from)
                })
            })
            .collect();
        drop(tx);
        // Ends when every sender thread has dropped its channel end.
        for (i, p) in rx {
            println!(
                "{:<20} {:>8.1} / {:.1} MiB  {:>8.1} MiB/s",
                cards[i].name,
                mib(p.sent),
                mib(p.total),
                mib(p.rate() as u64)
            );
        }
        cards
            .iter()
            .zip(handles)
            .map(|(card, h)| {
                let r = h.join().unwrap_or(Err(CardUpgradeError::Panicked));
                (card.name.clone(), r)
            })
            .collect()
    })
}
