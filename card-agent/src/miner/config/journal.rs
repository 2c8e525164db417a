//! Where the event journal goes and how it is written, from the flags.

use std::time::Duration;

use crate::cli::MineArgs;
use phirig_journal::JournalConfig;

/// The journal file rig mode writes when no `--journal` is given.
pub const RIG_JOURNAL_FILE: &str = "phirig-agent.journal";

/// Where the journal goes: `--no-journal` wins, then `--journal FILE`, then rig mode's default.
pub fn journal_path(args: &MineArgs) -> Option<std::path::PathBuf> {
    if args.no_journal {
        return None;
    }
    args.journal
        .clone()
        .or_else(|| args.rig.then(|| std::path::PathBuf::from(RIG_JOURNAL_FILE)))
}

/// The journal's fsync interval and size cap from the flags.
pub fn journal_config(args: &MineArgs) -> JournalConfig {
    JournalConfig {
        fsync_interval: (args.journal_fsync > 0).then(|| Duration::from_secs(args.journal_fsync)),
        max_file_bytes: args.journal_max_mb.max(1) << 20,
        ..JournalConfig::default()
    }
}
