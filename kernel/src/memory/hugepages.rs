//! How many 2 MiB huge pages a rig needs, how many the system has, and reserving them as root.

use std::io;

use super::scratchpad::MemoryError;
use super::HUGE_2M;
use crate::cn::Algorithm;

/// The sysctl file holding the number of reserved 2 MiB huge pages.
pub const NR_HUGEPAGES: &str = "/proc/sys/vm/nr_hugepages";

/// 2 MiB pages for `threads` hashers of `ways` scratchpads each (each hasher maps its ways in one
/// region, so small scratchpads share pages).
pub fn hugepages_needed(threads: usize, ways: usize, algo: Algorithm) -> usize {
    threads * (ways.max(1) * algo.scratchpad_bytes()).div_ceil(HUGE_2M)
}

fn meminfo(field: &str) -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().parse().ok())
}

/// Reserved 2 MiB pages (`HugePages_Total`), if the system says.
pub fn hugepages_total() -> Option<usize> {
    meminfo("HugePages_Total:")
}

/// Reserved pages not yet in use (`HugePages_Free`).
pub fn hugepages_free() -> Option<usize> {
    meminfo("HugePages_Free:")
}

/// Makes sure at least `pages` 2 MiB pages are reserved (needs root). Never lowers the count.
pub fn reserve_hugepages(pages: usize) -> Result<(), MemoryError> {
    let read = || -> io::Result<usize> {
        std::fs::read_to_string(NR_HUGEPAGES)?
            .trim()
            .parse()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    };
    let err = |source| MemoryError::Reserve {
        asked: pages,
        source,
    };
    let now = read().map_err(err)?;
    if now >= pages {
        return Ok(());
    }
    std::fs::write(NR_HUGEPAGES, pages.to_string()).map_err(err)?;
    let got = read().map_err(err)?;
    if got < pages {
        return Err(MemoryError::ReservedTooFew { asked: pages, got });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needed_pages_per_algorithm() {
        assert_eq!(hugepages_needed(1, 1, Algorithm::Cn0), 1);
        assert_eq!(hugepages_needed(4, 2, Algorithm::Cn2), 8);
        assert_eq!(hugepages_needed(2, 1, Algorithm::CnHeavy0), 4);
        assert_eq!(hugepages_needed(3, 2, Algorithm::CnLite1), 3);
        assert_eq!(hugepages_needed(1, 5, Algorithm::CnPico), 1);
        assert_eq!(hugepages_needed(2, 0, Algorithm::Cn0), 2);
    }

    #[test]
    fn reserving_what_is_already_there_is_a_no_op() {
        // Asking for 0 pages never writes the sysctl, so this is safe on any machine.
        if std::path::Path::new(NR_HUGEPAGES).exists() {
            reserve_hugepages(0).unwrap();
        }
    }
}
