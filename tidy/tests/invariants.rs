//! ARCHITECTURE.md's written invariants, checked over the whole workspace.

use std::path::Path;

use phirig_tidy::checks::{self, Violation};
use phirig_tidy::source::{workspace_sources, SourceFile};

/// Sans-I/O modules: driven by the lines and `Instant`s they are given, never the clock.
const NO_CLOCK: &[&str] = &["pool/src/session/"];

/// Where network or file input arrives, so bad input must be a typed error, never a panic. Path
/// prefixes, each with what arrives there.
const INPUT_MODULES: &[(&str, &str)] = &[
    ("pool/src/protocol/", "a pool's lines"),
    ("pool/src/session/", "a pool's parsed lines"),
    ("pool/src/client/", "sockets, TLS and certificate files"),
    ("pool/src/server/", "miners' lines"),
    ("journal/src/reader.rs", "a journal file"),
    ("journal/src/leb128.rs", "a journal file's bytes"),
    ("host/src/config/", "the config file"),
    ("host/src/proxy/", "cards' and the upstream pool's lines"),
    ("host/src/api/", "HTTP requests"),
    ("host/src/card_poll.rs", "cards' counter replies"),
    ("deploy/src/discovery/", "MPSS sysfs and card lists"),
    ("deploy/src/remote/", "remote commands' replies"),
    ("deploy/src/ssh/", "ssh's output"),
    ("deploy/src/upgrade/", "the new binary and cards' replies"),
    ("card-agent/src/miner/config", "the config file"),
    ("card-agent/src/miner/reload.rs", "the reloaded config file"),
    ("card-agent/src/miner/api.rs", "HTTP requests"),
    ("card-agent/src/http/", "HTTP requests"),
    ("card-agent/src/upgrade/", "an uploaded binary"),
    (
        "kernel/src/memory/",
        "/proc/meminfo and huge-page sysfs files",
    ),
];

const MAX_LINES: usize = 600;

/// Over [`MAX_LINES`] for good: the kernel's main loops, each one unrolled loop best read whole.
const LONG_FILES: &[&str] = &["kernel/src/cn/main_loop"];

fn sources() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let files = workspace_sources(&root).expect("read the workspace's .rs files");
    assert!(files.len() > 100, "only {} .rs files found", files.len());
    files
}

/// Files whose path starts with `prefix`; fails if there are none, so a moved module is noticed.
fn under<'a>(files: &'a [SourceFile], prefix: &str) -> Vec<&'a SourceFile> {
    let found: Vec<_> = files
        .iter()
        .filter(|f| f.path.starts_with(prefix))
        .collect();
    assert!(!found.is_empty(), "no file under {prefix}: update the list");
    found
}

fn assert_none(rule: &str, violations: Vec<Violation>) {
    let list: Vec<String> = violations.iter().map(|v| format!("  {v}")).collect();
    assert!(list.is_empty(), "{rule}:\n{}", list.join("\n"));
}

#[test]
fn every_file_opens_with_a_module_doc_line() {
    let found = sources()
        .iter()
        .filter_map(checks::missing_module_doc)
        .collect();
    assert_none("every .rs file opens with a `//!` line", found);
}

#[test]
fn sans_io_modules_read_no_clock() {
    let files = sources();
    let found = NO_CLOCK
        .iter()
        .flat_map(|prefix| under(&files, prefix))
        .flat_map(checks::clock_reads)
        .collect();
    assert_none("no clock reads in the sans-I/O session", found);
}

#[test]
fn input_modules_do_not_panic_on_input() {
    let files = sources();
    let found = INPUT_MODULES
        .iter()
        .flat_map(|(prefix, input)| under(&files, prefix).into_iter().map(move |f| (f, input)))
        .flat_map(|(f, input)| checks::unwraps(f, input))
        .collect();
    assert_none(
        "no unwrap()/expect() where network or file input arrives",
        found,
    );
}

#[test]
fn no_file_is_over_the_line_limit() {
    let files = sources();
    let allowed = |path: &str| LONG_FILES.iter().any(|p| path.starts_with(p));
    let found = files
        .iter()
        .filter(|f| !allowed(&f.path))
        .filter_map(|f| checks::too_long(f, MAX_LINES))
        .collect();
    assert_none("no .rs file over the line limit", found);
}
