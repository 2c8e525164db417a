//! `HostError`: every way a `phirig` command fails, with the error that caused it kept as its source.

use std::path::PathBuf;
use std::process::ExitStatus;

use phirig_deploy::discovery::{DiscoveryError, TargetParseError};
use phirig_deploy::upgrade::ImageError;
use phirig_journal::{JournalError, ReadError};
use phirig_kernel::cn::KernelError;
use phirig_pool::client::TlsConfigError;
use phirig_pool::protocol::UrlError;
use phirig_pool::server::{FaultParseError, ServerError};

use crate::config::ConfigError;
use crate::local_card::LocalCardError;
use crate::proxy::ProxyError;

/// Every failure of a `phirig` command; its `Display` is the one line the CLI prints.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// Flags or file values that cannot work together, said in full.
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Algorithm(#[from] KernelError),
    #[error("--card {spec}: {source}")]
    CardSpec {
        spec: String,
        #[source]
        source: TargetParseError,
    },
    #[error("--fault: {0}")]
    Fault(#[from] FaultParseError),
    #[error(transparent)]
    AlgoValues(#[from] crate::pool_values::AlgoValuesError),
    #[error("--tls-fingerprint: {0}")]
    Fingerprint(#[source] TlsConfigError),
    #[error("--intensity must be 1 to 5: {0}")]
    Intensity(#[source] phirig_agent::worker::PerAlgoError),
    #[error("pool {url}: {source}")]
    PoolUrl {
        url: String,
        #[source]
        source: UrlError,
    },
    #[error("pool: {0}")]
    Pool(#[from] ServerError),
    #[error("pool: {0}")]
    Proxy(#[from] ProxyError),
    #[error("card: {0}")]
    Discovery(#[from] DiscoveryError),
    #[error("card: {0}")]
    LocalCard(#[from] LocalCardError),
    #[error("card: the local agent exited ({status}); its log ends:\n{log_tail}")]
    LocalAgentExited {
        status: ExitStatus,
        log_tail: String,
    },
    /// Each card's own error was printed on its row already.
    #[error("card: {failed} card(s) failed")]
    CardsFailed { failed: usize },
    #[error("card: {failed} of {total} card(s) failed")]
    UpgradesFailed { failed: usize, total: usize },
    #[error("card: some cards could not be benchmarked")]
    BenchFailed,
    #[error("cannot find the phirig executable: {0}")]
    Executable(#[source] std::io::Error),
    #[error("no free port: {0}")]
    FreePort(#[source] std::io::Error),
    #[error(transparent)]
    Instance(#[from] crate::rig::InstanceError),
    #[error("cannot install the stop signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error(transparent)]
    Api(#[from] phirig_agent::http::HttpError),
    #[error("journal {}: {source}", path.display())]
    Journal {
        path: PathBuf,
        #[source]
        source: JournalError,
    },
    #[error("{}: {source}", path.display())]
    ReadJournal {
        path: PathBuf,
        #[source]
        source: ReadError,
    },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error("upgrade task: {0}")]
    UpgradeTask(#[source] tokio::task::JoinError),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// Writing the command's output failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use super::*;
    use crate::cli::CardReach;

    /// The printed line, and the type of the error kept as its source.
    fn line_and_source(e: &HostError) -> (String, &(dyn Error + 'static)) {
        (e.to_string(), e.source().expect("a source is kept"))
    }

    #[test]
    fn failures_print_one_line_and_keep_their_cause() {
        let reach = CardReach {
            cards: vec!["root@".into()],
            sysfs_root: "/nonexistent".into(),
            etc_root: "/nonexistent".into(),
            ssh_user: "root".into(),
            ssh_args: Vec::new(),
            agent_port: 8640,
        };
        let e = crate::cards::cards(&reach).expect_err("an empty host");
        let (line, source) = line_and_source(&e);
        assert!(line.starts_with("--card root@: "), "{line}");
        assert!(source.is::<TargetParseError>(), "{source:?}");

        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("none.journal");
        let e = crate::log_cmd::report_cmd(&missing, false).expect_err("no journal");
        let (line, source) = line_and_source(&e);
        assert!(line.starts_with(&missing.display().to_string()), "{line}");
        assert!(source.is::<ReadError>(), "{source:?}");

        let e = HostError::from(crate::config::load(&missing).expect_err("no config"));
        assert!(e.to_string().starts_with("cannot read config"), "{e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
