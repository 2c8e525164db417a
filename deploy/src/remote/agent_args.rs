//! Per-card agent arguments: `{card}`, `{card_ip}` and `{host_ip}` in the configured words.
//!
//! One [`super::DeployConfig`] serves every card (the watchdog holds one), yet each agent must
//! listen on its own card's address and reach the host at the host's address on that card's
//! link (MPSS: 172.31.(N+1).254). The placeholders say so once for all cards.

use super::config::DeployConfig;
use super::error::DeployError;
use crate::discovery::{Card, CardKind};
use std::net::{IpAddr, SocketAddr};

/// The card's name.
pub(super) const CARD: &str = "{card}";
/// The card's address as the host reaches it.
pub(super) const CARD_IP: &str = "{card_ip}";
/// This machine's address on the route to the card (where the card reaches the host).
pub(super) const HOST_IP: &str = "{host_ip}";

/// `args` with the placeholders replaced for `card`. Words without placeholders pass unchanged;
/// each word stays one argument (they are shell-quoted later, whatever they now contain).
pub async fn expand(args: &[String], card: &Card) -> Result<Vec<String>, DeployError> {
    let host_ip = if args.iter().any(|a| a.contains(HOST_IP)) {
        Some(host_ip_for(card).await?.to_string())
    } else {
        None
    };
    Ok(args
        .iter()
        .map(|a| {
            let mut a = a.replace(CARD, &card.name).replace(CARD_IP, &card.address);
            if let Some(h) = &host_ip {
                a = a.replace(HOST_IP, h);
            }
            a
        })
        .collect())
}

/// The agent's flag for starting with mining paused, given while the rig is paused.
pub const PAUSE_ON_START: &str = "--pause-on-start";

/// The whole command line the agent on `card` starts with: `binary`, the shared words, the
/// card's own, `--no-aesni` where the card lacks AES, and [`PAUSE_ON_START`] when `paused`, so
/// an agent (re)started while the rig is paused hashes nothing before it is told to resume.
pub async fn command_line(
    config: &DeployConfig,
    card: &Card,
    binary: &str,
    no_aesni: bool,
    paused: bool,
) -> Result<Vec<String>, DeployError> {
    let mut argv = vec![binary.to_string()];
    argv.extend(expand(&config.agent_args, card).await?);
    if let Some(extra) = config.card_args.get(&card.name) {
        argv.extend(expand(extra, card).await?);
    }
    if no_aesni {
        argv.push("--no-aesni".into());
    }
    if paused {
        argv.push(PAUSE_ON_START.into());
    }
    Ok(argv)
}

/// The local address the kernel picks to reach `card`: a UDP socket is "connected" to the card,
/// which only consults the routing table; no packet is sent.
pub async fn host_ip_for(card: &Card) -> Result<IpAddr, DeployError> {
    if card.kind == CardKind::Local {
        return Ok(IpAddr::from([127, 0, 0, 1]));
    }
    let fail = |detail: String| DeployError::HostAddress {
        card: card.name.clone(),
        detail,
    };
    let host = card.address.trim_start_matches('[').trim_end_matches(']');
    let target: SocketAddr = tokio::net::lookup_host((host, 9))
        .await
        .map_err(|e| fail(format!("cannot resolve {host}: {e}")))?
        .next()
        .ok_or_else(|| fail(format!("{host} resolves to no address")))?;
    let bind: SocketAddr = if target.is_ipv4() {
        (IpAddr::from([0, 0, 0, 0]), 0).into()
    } else {
        (IpAddr::from([0u16; 8]), 0).into()
    };
    let sock = tokio::net::UdpSocket::bind(bind)
        .await
        .map_err(|e| fail(format!("udp socket: {e}")))?;
    sock.connect(target)
        .await
        .map_err(|e| fail(format!("no route to {target}: {e}")))?;
    let local = sock
        .local_addr()
        .map_err(|e| fail(format!("local address: {e}")))?;
    Ok(local.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(w: &[&str]) -> Vec<String> {
        w.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn placeholders_expand_per_card() {
        let mut card = Card::local();
        card.kind = CardKind::Ssh;
        card.name = "mic7".into();
        card.address = "127.0.0.5".into();
        let out = expand(
            &words(&[
                "-o",
                "stratum+tcp://{host_ip}:3333",
                "--rig-id",
                "{card}",
                "--http-host",
                "{card_ip}",
                "{literal} $(x)",
            ]),
            &card,
        )
        .await
        .expect("expand");
        // Loopback is routed from loopback: the host side of 127.0.0.5 is 127.0.0.1.
        assert_eq!(
            out,
            words(&[
                "-o",
                "stratum+tcp://127.0.0.1:3333",
                "--rig-id",
                "mic7",
                "--http-host",
                "127.0.0.5",
                "{literal} $(x)",
            ])
        );
        let config = DeployConfig {
            agent_args: words(&["--rig", "-u", "{card}"]),
            card_args: [("mic7".to_string(), words(&["-t", "2"]))].into(),
            ..DeployConfig::default()
        };
        let line = |no_aesni, paused| command_line(&config, &card, "/d/agent", no_aesni, paused);
        assert_eq!(
            line(false, false).await.expect("line"),
            words(&["/d/agent", "--rig", "-u", "mic7", "-t", "2"])
        );
        assert_eq!(
            line(true, true).await.expect("line"),
            words(&[
                "/d/agent",
                "--rig",
                "-u",
                "mic7",
                "-t",
                "2",
                "--no-aesni",
                PAUSE_ON_START
            ])
        );
        card.address = "::1".into();
        assert_eq!(
            host_ip_for(&card).await.expect("v6"),
            "::1".parse::<IpAddr>().expect("ip")
        );
    }
}
