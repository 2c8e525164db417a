//! Where each card dials the proxy: this machine's address on the route to the card, or an override.

use std::net::{IpAddr, SocketAddr};

use phirig_deploy::Card;

/// The deploy placeholder for "this machine's address on the route to the card" (MPSS card N:
/// 172.31.(N+1).254). The deployer resolves it per card with a connected UDP socket, which
/// consults the routing table and sends nothing.
const HOST_IP: &str = "{host_ip}";

/// The pool URL an agent gets: the proxy's port at `host` (an explicit `--proxy-host`) or at
/// the per-card route address.
pub fn agent_pool_url(host: Option<IpAddr>, proxy: SocketAddr) -> String {
    let host = match host {
        Some(IpAddr::V6(a)) => format!("[{a}]"),
        Some(IpAddr::V4(a)) => a.to_string(),
        None => HOST_IP.to_string(),
    };
    format!("stratum+tcp://{host}:{}", proxy.port())
}

/// Why the cards cannot reach a proxy bound to `bind`, if they cannot: a loopback-only proxy
/// serves only the local card.
pub fn unreachable_from(bind: SocketAddr, cards: &[Card]) -> Option<String> {
    if !bind.ip().is_loopback() {
        return None;
    }
    let remote: Vec<&str> = cards
        .iter()
        .filter(|c| c.kind != phirig_deploy::CardKind::Local)
        .map(|c| c.name.as_str())
        .collect();
    (!remote.is_empty()).then(|| {
        format!(
            "--proxy-bind {bind} is loopback only, but {} cannot reach it",
            remote.join(", ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_uses_the_route_placeholder_unless_overridden() {
        let proxy: SocketAddr = "0.0.0.0:3334".parse().unwrap();
        assert_eq!(agent_pool_url(None, proxy), "stratum+tcp://{host_ip}:3334");
        assert_eq!(
            agent_pool_url(Some("172.31.1.254".parse().unwrap()), proxy),
            "stratum+tcp://172.31.1.254:3334"
        );
        assert_eq!(
            agent_pool_url(Some("::1".parse().unwrap()), proxy),
            "stratum+tcp://[::1]:3334"
        );
    }

    #[test]
    fn loopback_proxy_is_refused_for_remote_cards_only() {
        let lo: SocketAddr = "127.0.0.1:3334".parse().unwrap();
        assert!(unreachable_from(lo, &[Card::local()]).is_none());
        let remote = Card::from_ssh("root@172.31.1.1".parse().unwrap());
        assert!(unreachable_from(lo, std::slice::from_ref(&remote)).is_some());
        assert!(unreachable_from("0.0.0.0:1".parse().unwrap(), &[remote]).is_none());
    }
}
