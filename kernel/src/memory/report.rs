//! One thread's huge-page summary, and the exact command that fixes a shortfall.

use std::fmt;

use super::hugepages::{hugepages_needed, NR_HUGEPAGES};
use super::policy::PageKind;
use super::HUGE_2M;
use crate::cn::Algorithm;

/// `huge pages 100% 2/2 (2 MiB)`: 2 MiB pages a thread got out of those it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageReport {
    pub got: usize,
    pub wanted: usize,
    /// `nr_hugepages` value that would cover every thread of the rig.
    pub rig_needs: usize,
}

impl PageReport {
    /// Summarises one hasher's pages (`pages()` of a `CnHasher`) for a rig of `threads` like it.
    pub fn new(pages: &[PageKind], algo: Algorithm, threads: usize) -> Self {
        let ways = pages.len().max(1);
        let wanted = hugepages_needed(1, ways, algo);
        let got = if !pages.is_empty() && pages.iter().all(|p| p.is_huge()) {
            wanted
        } else {
            0
        };
        Self {
            got,
            wanted,
            rig_needs: hugepages_needed(threads, ways, algo),
        }
    }

    pub fn percent(&self) -> usize {
        (self.got * 100).checked_div(self.wanted).unwrap_or(100)
    }
}

impl fmt::Display for PageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "huge pages {}% {}/{} ({} MiB)",
            self.percent(),
            self.got,
            self.wanted,
            HUGE_2M >> 20
        )?;
        if self.percent() < 100 {
            write!(f, "\necho {} > {}", self.rig_needs, NR_HUGEPAGES)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_report_has_no_fix_line() {
        let r = PageReport::new(&[PageKind::Huge2M, PageKind::Huge2M], Algorithm::Cn2, 4);
        assert_eq!(r.to_string(), "huge pages 100% 2/2 (2 MiB)");
    }

    #[test]
    fn shortfall_prints_the_fix() {
        let r = PageReport::new(&[PageKind::Normal, PageKind::Normal], Algorithm::Cn2, 4);
        assert_eq!(
            r.to_string(),
            "huge pages 0% 0/2 (2 MiB)\necho 8 > /proc/sys/vm/nr_hugepages"
        );
    }
}
