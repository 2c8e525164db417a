//! What to deploy where: binaries per platform, remote directory, agent arguments, token, timeouts.

use crate::ssh::SshOptions;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Agent builds available on the host, one per card platform.
#[derive(Debug, Clone, Default)]
pub struct AgentBinaries {
    /// For hosts and KNL (x200) cards.
    pub x86_64: Option<PathBuf>,
    /// For KNC (x100) cards, whose Linux reports `uname -m` = `k1om`.
    pub k1om: Option<PathBuf>,
}

/// How digests are computed on a card; detected once per card unless forced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DigestMethod {
    /// `openssl dgst -sha3-256` on the card.
    Openssl,
    /// `python3` `hashlib.sha3_256` on the card.
    Python3,
    /// The file is streamed back with `cat` and hashed on the host.
    Stream,
}

#[derive(Clone)]
pub struct DeployConfig {
    pub binaries: AgentBinaries,
    /// Directory on remote cards for the binary, pid file, log and token file.
    pub remote_dir: String,
    /// Directory on this machine for the local card's pid file, log and token file.
    pub local_dir: PathBuf,
    /// Directory on this machine recording which cards the operator stopped, so the watchdog
    /// leaves them stopped even after a card reboot wiped the card's own marker.
    pub stop_record_dir: PathBuf,
    /// Agent arguments (config path, pool, …); `--no-aesni` is appended where the card lacks AES.
    /// `{card}`, `{card_ip}` and `{host_ip}` in a word are replaced per card (see
    /// [`super::expand_agent_args`]), e.g. `-o stratum+tcp://{host_ip}:3333 --http-host {card_ip}`.
    pub agent_args: Vec<String>,
    /// Extra agent arguments for one card (by card name), after `agent_args`: per-card threads,
    /// ports and the like.
    pub card_args: BTreeMap<String, Vec<String>>,
    /// The agent's HTTP port on the card.
    pub agent_port: u16,
    /// A card's own agent port, where it differs from `agent_port`.
    pub card_ports: BTreeMap<String, u16>,
    /// Health check path; a 2xx answer means the agent is up.
    pub health_path: String,
    /// Bearer token for the agent API. Sent to the card on stdin into a 0600 file whose path the
    /// agent gets in `PHIRIG_TOKEN_FILE`; it never appears in arguments or logs.
    pub token: Option<String>,
    /// How long a freshly started agent has to answer its health check.
    pub health_timeout: Duration,
    /// TERM → KILL delay on stop.
    pub stop_grace: Duration,
    /// Skip detection and use this method (tests, odd cards).
    pub digest_method: Option<DigestMethod>,
    pub ssh: SshOptions,
}

impl Default for DeployConfig {
    fn default() -> Self {
        DeployConfig {
            binaries: AgentBinaries::default(),
            remote_dir: "/var/lib/phirig".into(),
            local_dir: std::env::temp_dir().join("phirig-local"),
            stop_record_dir: std::env::temp_dir().join("phirig-stopped"),
            agent_args: Vec::new(),
            card_args: BTreeMap::new(),
            agent_port: 8640,
            card_ports: BTreeMap::new(),
            health_path: "/v1/counters".into(),
            token: None,
            health_timeout: Duration::from_secs(15),
            stop_grace: Duration::from_secs(5),
            digest_method: None,
            ssh: SshOptions::default(),
        }
    }
}

// Written by hand so that `{:?}` of a config (in a log line, a panic) never shows the token.
impl std::fmt::Debug for DeployConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeployConfig")
            .field("binaries", &self.binaries)
            .field("remote_dir", &self.remote_dir)
            .field("local_dir", &self.local_dir)
            .field("stop_record_dir", &self.stop_record_dir)
            .field("agent_args", &self.agent_args)
            .field("card_args", &self.card_args)
            .field("agent_port", &self.agent_port)
            .field("card_ports", &self.card_ports)
            .field("health_path", &self.health_path)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("health_timeout", &self.health_timeout)
            .field("stop_grace", &self.stop_grace)
            .field("digest_method", &self.digest_method)
            .field("ssh", &self.ssh)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_token() {
        let c = DeployConfig {
            token: Some("s3cret-token".into()),
            ..DeployConfig::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("s3cret"), "{d}");
        assert!(d.contains("<redacted>"));
    }
}
