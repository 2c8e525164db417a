//! What backs RandomX's memory, and whether the machine has room for a full dataset.

use std::fmt;

/// The pages a region got, reported like the scratchpads' (`dataset on 2 MiB pages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backing {
    /// Explicit 2 MiB pages (`MAP_HUGETLB`, from `vm.nr_hugepages`).
    Huge2M,
    /// Normal pages with `MADV_HUGEPAGE`: the kernel may back them with transparent huge pages.
    Transparent,
    Normal,
}

impl fmt::Display for Backing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backing::Huge2M => "2 MiB pages",
            Backing::Transparent => "transparent huge pages (asked)",
            Backing::Normal => "normal pages",
        })
    }
}

/// Ask for transparent huge pages on a fresh, untouched region; `Normal` where refused.
pub(crate) fn advise_huge(ptr: *mut u8, len: usize) -> Backing {
    // madvise wants a page-aligned start: advise from the first whole page.
    let page = 4096usize;
    let start = (ptr as usize).next_multiple_of(page);
    let skip = start - ptr as usize;
    if len <= skip {
        return Backing::Normal;
    }
    // SAFETY: [start, start + len - skip) lies inside the caller's live allocation; the advice
    // changes how it is backed, never its contents.
    let rc = unsafe { libc::madvise(start as *mut libc::c_void, len - skip, libc::MADV_HUGEPAGE) };
    if rc == 0 {
        Backing::Transparent
    } else {
        Backing::Normal
    }
}

/// `MemAvailable` from `/proc/meminfo`, in bytes; `None` where it cannot be read.
pub fn mem_available() -> Option<u64> {
    meminfo("MemAvailable:")?.checked_mul(1024)
}

/// 2 MiB pages in use by anyone (`HugePages_Total - HugePages_Free`).
pub fn hugepages_in_use() -> Option<u64> {
    meminfo("HugePages_Total:")?.checked_sub(meminfo("HugePages_Free:")?)
}

/// 2 MiB pages a full epoch and `threads` VMs take: dataset, cache and scratchpads.
pub fn hugepages_for_full_mode(threads: usize) -> u64 {
    let huge = 2u64 << 20;
    (crate::dataset_bytes() as u64).div_ceil(huge) + (256u64 << 20).div_ceil(huge) + threads as u64
}

/// A `/proc/meminfo` field's number (kB for sizes, a count for huge pages).
fn meminfo(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
