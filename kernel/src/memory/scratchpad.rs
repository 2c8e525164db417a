//! One anonymous mapping for a hasher's scratchpads, on the best pages the policy and the system allow.

use std::ptr::NonNull;

use super::policy::{PageKind, PagePolicy};
use super::{HUGE_1G, HUGE_2M};

#[derive(Debug, thiserror::Error)]
pub enum MemoryError {
    #[error("cannot map {bytes} bytes even on normal pages: {source}")]
    Map {
        bytes: usize,
        source: std::io::Error,
    },
    #[error("a scratchpad of 0 bytes was asked for")]
    Empty,
    #[error("cannot reserve {asked} huge pages: {source}")]
    Reserve {
        asked: usize,
        source: std::io::Error,
    },
    #[error("asked the kernel for {asked} huge pages, it reserved only {got} (memory too fragmented or too small)")]
    ReservedTooFew { asked: usize, got: usize },
}

/// A page-aligned, zero-initialised mapping, unmapped on drop.
#[derive(Debug)]
pub struct Scratchpad {
    ptr: NonNull<u8>,
    /// Bytes usable by the caller.
    len: usize,
    /// Bytes actually mapped (rounded up to the page size).
    mapped: usize,
    kind: PageKind,
}

// SAFETY: the mapping is owned exclusively by this value; moving it between threads is fine.
unsafe impl Send for Scratchpad {}

fn round_up(n: usize, to: usize) -> usize {
    n.div_ceil(to) * to
}

/// `mmap` of anonymous private memory with extra flags; `None` when the kernel says no.
fn map(bytes: usize, extra: libc::c_int) -> Result<NonNull<u8>, std::io::Error> {
    // SAFETY: anonymous mapping with no address hint; the result is checked before use.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            bytes,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | extra,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(std::io::Error::last_os_error());
    }
    NonNull::new(p.cast::<u8>()).ok_or_else(|| std::io::Error::other("mmap returned null"))
}

impl Scratchpad {
    /// Maps `len` bytes, trying the page kinds the policy allows from best to plain.
    /// Falls back silently; [`Scratchpad::kind`] says what it got.
    pub fn new(len: usize, policy: PagePolicy) -> Result<Self, MemoryError> {
        if len == 0 {
            return Err(MemoryError::Empty);
        }
        if policy.allow_huge && policy.allow_1g {
            let mapped = round_up(len, HUGE_1G);
            // MAP_POPULATE: take the pages now, so running out shows here and not as SIGBUS later.
            if let Ok(ptr) = map(
                mapped,
                libc::MAP_HUGETLB | libc::MAP_HUGE_1GB | libc::MAP_POPULATE,
            ) {
                return Ok(Self {
                    ptr,
                    len,
                    mapped,
                    kind: PageKind::Huge1G,
                });
            }
        }
        if policy.allow_huge {
            let mapped = round_up(len, HUGE_2M);
            if let Ok(ptr) = map(
                mapped,
                libc::MAP_HUGETLB | libc::MAP_HUGE_2MB | libc::MAP_POPULATE,
            ) {
                return Ok(Self {
                    ptr,
                    len,
                    mapped,
                    kind: PageKind::Huge2M,
                });
            }
            if let Ok(ptr) = map(mapped, 0) {
                // SAFETY: advice on our own fresh mapping; failure only means no THP.
                let advised =
                    unsafe { libc::madvise(ptr.as_ptr().cast(), mapped, libc::MADV_HUGEPAGE) } == 0;
                let kind = if advised {
                    PageKind::Transparent
                } else {
                    PageKind::Normal
                };
                return Ok(Self {
                    ptr,
                    len,
                    mapped,
                    kind,
                });
            }
        }
        let mapped = round_up(len, 4096);
        map(mapped, 0)
            .map(|ptr| Self {
                ptr,
                len,
                mapped,
                kind: PageKind::Normal,
            })
            .map_err(|source| MemoryError::Map {
                bytes: mapped,
                source,
            })
    }

    pub fn kind(&self) -> PageKind {
        self.kind
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Start of the mapping: page aligned, so 64-byte aligned for the kernel's line accesses.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `len` bytes are mapped readable and initialised (anonymous memory is zeroed).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Scratchpad {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region we mapped; nothing borrows it past `self`.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.mapped) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_policy_gives_normal_pages() {
        let mut s = Scratchpad::new(1 << 20, PagePolicy::normal_only()).unwrap();
        assert_eq!(s.kind(), PageKind::Normal);
        assert_eq!(s.len(), 1 << 20);
        assert_eq!(s.as_mut_ptr() as usize % 4096, 0);
        assert!(s.as_slice().iter().all(|&b| b == 0));
    }

    #[test]
    fn some_memory_is_always_returned() {
        // Whatever is reserved on this machine, the default policy never fails for a small pad.
        for policy in [
            PagePolicy::default(),
            PagePolicy::gigantic(),
            PagePolicy::normal_only(),
        ] {
            let s = Scratchpad::new(256 << 10, policy).unwrap();
            assert!(!s.is_empty());
        }
    }

    #[test]
    fn empty_is_an_error() {
        assert!(matches!(
            Scratchpad::new(0, PagePolicy::default()),
            Err(MemoryError::Empty)
        ));
    }
}
