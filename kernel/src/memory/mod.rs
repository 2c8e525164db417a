//! Scratchpad memory: 2 MiB / 1 GiB huge pages, transparent huge pages, plain pages, and what each thread got.

mod hugepages;
mod policy;
mod report;
mod scratchpad;

pub use hugepages::{
    hugepages_free, hugepages_needed, hugepages_total, reserve_hugepages, NR_HUGEPAGES,
};
pub use policy::{PageKind, PagePolicy};
pub use report::PageReport;
pub use scratchpad::{MemoryError, Scratchpad};

/// Size of an explicit (hugetlb) huge page on x86-64.
pub const HUGE_2M: usize = 2 << 20;
/// Size of a gigantic page.
pub const HUGE_1G: usize = 1 << 30;
