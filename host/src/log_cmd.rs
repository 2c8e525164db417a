//! `phirig log report | dump`: read an event journal (with its rotated parts) and answer questions.

use std::io::Write;
use std::path::Path;

use phirig_journal::rotation::parts;
use phirig_journal::{dump, read_parts, report, ReportOptions};

use crate::HostError;

fn load(file: &Path) -> Result<phirig_journal::JournalFile, HostError> {
    // Oldest part first, so a thread's later buffers come after its earlier ones.
    let mut all = parts(file);
    if all.is_empty() {
        all.push(file.to_path_buf());
    }
    read_parts(&all).map_err(|source| HostError::ReadJournal {
        path: file.to_path_buf(),
        source,
    })
}

pub fn report_cmd(file: &Path, json: bool) -> Result<(), HostError> {
    let journal = load(file)?;
    let r = report(&journal, &ReportOptions::default());
    if json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print!("{r}");
    }
    Ok(())
}

pub fn dump_cmd(file: &Path) -> Result<(), HostError> {
    let journal = load(file)?;
    let mut out = std::io::stdout().lock();
    dump(&journal, &mut out)?;
    Ok(out.flush()?)
}
