//! What the API shows of the rx/0 workers: their threads, and the memory they share counted in
//! 2 MiB pages as xmrig's summary counts RandomX's (dataset, cache and scratchpads).

use phirig_rx::{dataset_bytes, Backing, Epoch, CACHE_BYTES, SCRATCHPAD_BYTES};
use phirig_wire::RxMemory;

const PAGE: usize = 2 << 20;

/// One rx/0 thread as `/2/backends` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxThreadInfo {
    /// The CPU it is pinned to.
    pub cpu: Option<usize>,
    /// What backs its scratchpad; `None` until its VM exists.
    pub scratchpad: Option<Backing>,
}

/// [2 MiB pages on explicit huge pages, 2 MiB pages in all] of the dataset (full mode), the
/// cache and the threads' scratchpads.
pub fn hugepages(dataset: Option<Backing>, cache: Backing, threads: &[RxThreadInfo]) -> [u64; 2] {
    let regions = dataset
        .map(|d| (d, dataset_bytes()))
        .into_iter()
        .chain(std::iter::once((cache, CACHE_BYTES)))
        .chain(
            threads
                .iter()
                .filter_map(|t| t.scratchpad.map(|b| (b, SCRATCHPAD_BYTES))),
        );
    let mut pages = [0u64; 2];
    for (backing, bytes) in regions {
        let n = bytes.div_ceil(PAGE) as u64;
        if backing == Backing::Huge2M {
            pages[0] += n;
        }
        pages[1] += n;
    }
    pages
}

/// The epoch's memory, for `/2/backends`.
pub fn memory(epoch: &Epoch) -> RxMemory {
    RxMemory {
        mode: if epoch.is_full() { "full" } else { "light" }.into(),
        seed: epoch.seed().map(|s| s.to_string()).unwrap_or_default(),
        dataset: epoch.dataset().map(|d| d.backing().to_string()),
        dataset_bytes: if epoch.is_full() {
            dataset_bytes() as u64
        } else {
            0
        },
        cache: epoch.cache().backing().to_string(),
        cache_bytes: CACHE_BYTES as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_count_dataset_cache_and_scratchpads_as_xmrig_does() {
        let t = |scratchpad| RxThreadInfo {
            cpu: None,
            scratchpad,
        };
        let huge = Some(Backing::Huge2M);
        // Light mode: the cache's 128 pages and one per scratchpad (one VM not made yet).
        let light = hugepages(None, Backing::Huge2M, &[t(huge), t(None)]);
        assert_eq!(light, [129, 129]);
        let full = hugepages(
            Some(Backing::Huge2M),
            Backing::Normal,
            &[t(huge), t(Some(Backing::Transparent))],
        );
        let dataset = dataset_bytes().div_ceil(PAGE) as u64;
        assert_eq!(full, [dataset + 1, dataset + 128 + 2]);
    }
}
