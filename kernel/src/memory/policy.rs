//! What kind of pages a scratchpad may use, and what kind it got.

use std::fmt;

/// Which page kinds an allocation may try, best first: 1 GiB, 2 MiB hugetlb, transparent, plain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PagePolicy {
    /// Try explicit 2 MiB huge pages, then transparent huge pages.
    pub allow_huge: bool,
    /// Try 1 GiB pages first (only when `allow_huge` too).
    pub allow_1g: bool,
}

impl Default for PagePolicy {
    fn default() -> Self {
        Self {
            allow_huge: true,
            allow_1g: false,
        }
    }
}

impl PagePolicy {
    /// Plain pages only (for comparisons, or where huge pages misbehave).
    pub const fn normal_only() -> Self {
        Self {
            allow_huge: false,
            allow_1g: false,
        }
    }

    /// Everything, 1 GiB pages included.
    pub const fn gigantic() -> Self {
        Self {
            allow_huge: true,
            allow_1g: true,
        }
    }
}

/// What backs a scratchpad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PageKind {
    Huge1G,
    Huge2M,
    /// Plain mapping with `MADV_HUGEPAGE`: the kernel may or may not back it with huge pages.
    Transparent,
    Normal,
}

impl PageKind {
    /// Explicit (reserved, hugetlb) huge pages: the ones `nr_hugepages` controls.
    pub const fn is_huge(self) -> bool {
        matches!(self, PageKind::Huge1G | PageKind::Huge2M)
    }

    pub const fn name(self) -> &'static str {
        match self {
            PageKind::Huge1G => "1 GiB pages",
            PageKind::Huge2M => "2 MiB pages",
            PageKind::Transparent => "transparent huge pages",
            PageKind::Normal => "normal pages",
        }
    }
}

impl fmt::Display for PageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
