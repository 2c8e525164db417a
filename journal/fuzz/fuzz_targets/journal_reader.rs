//! Fuzz target: the journal reader must never panic, and what it returns must report cleanly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use phirig_journal::{dump, read_bytes, report, ReportOptions};

fuzz_target!(|data: &[u8]| {
    if let Ok(journal) = read_bytes(data) {
        let r = report(&journal, &ReportOptions::default());
        let _ = r.to_string();
        let _ = dump(&journal, &mut std::io::sink());
    }
});
