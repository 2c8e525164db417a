//! Network-namespace cards running the real agent, which is this crate's `phirig` binary (named
//! `phirig-agent` on a card): deploy, upgrade, the watchdog, `phirig run` as a rig and its
//! dashboard commands. Need root.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use phirig_test_support::testbed::stripped_copy;

mod dashboard_control;
mod deploy;
mod rig;
mod upgrade;
mod watchdog;

/// The `phirig` binary of this build, stripped once per test run for copying to cards. Cargo
/// builds it for this test target, so the cards never run an agent an older build left behind.
fn deployable_agent() -> PathBuf {
    static STRIPPED: OnceLock<PathBuf> = OnceLock::new();
    STRIPPED
        .get_or_init(|| stripped_copy(Path::new(env!("CARGO_BIN_EXE_phirig"))))
        .clone()
}
