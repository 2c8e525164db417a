//! Nonce ranges: the slice of the 32-bit nonce space a card or thread may use, handed out without repeats.

use std::sync::atomic::{AtomicU64, Ordering};

use phirig_pool::protocol::{NONCE_LEN, NONCE_OFFSET};

/// A half-open range of nonce *counters* `[start, end)`.
///
/// Without NiceHash a counter is the nonce itself (end ≤ 2^32). With NiceHash the counter is the
/// low 24 bits and the pool's fixed byte is OR-ed on top, so a worker can never change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NonceRange {
    start: u64,
    end: u64,
    fixed_byte: Option<u8>,
}

impl NonceRange {
    /// The whole space: all 2^32 nonces, or the 2^24 beneath a NiceHash fixed byte.
    pub fn full(fixed_byte: Option<u8>) -> Self {
        let end = if fixed_byte.is_some() {
            1 << 24
        } else {
            1 << 32
        };
        Self {
            start: 0,
            end,
            fixed_byte,
        }
    }

    /// A slice `[start, end)` of counters, clamped to the space the mode allows.
    pub fn new(start: u64, end: u64, fixed_byte: Option<u8>) -> Self {
        let limit = Self::full(fixed_byte).end;
        let end = end.min(limit);
        Self {
            start: start.min(end),
            end,
            fixed_byte,
        }
    }

    pub fn start(&self) -> u64 {
        self.start
    }

    pub fn end(&self) -> u64 {
        self.end
    }

    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub fn fixed_byte(&self) -> Option<u8> {
        self.fixed_byte
    }

    /// The nonce a counter stands for.
    pub fn nonce(&self, counter: u64) -> u32 {
        match self.fixed_byte {
            Some(b) => (u32::from(b) << 24) | (counter as u32 & 0x00ff_ffff),
            None => counter as u32,
        }
    }

    /// Whether `nonce` could have come from this range (used to check results from cards).
    pub fn contains_nonce(&self, nonce: u32) -> bool {
        let counter = match self.fixed_byte {
            Some(b) if (nonce >> 24) as u8 != b => return false,
            Some(_) => u64::from(nonce & 0x00ff_ffff),
            None => u64::from(nonce),
        };
        counter >= self.start && counter < self.end
    }
}

/// Hands out disjoint runs of counters from one range to any number of threads.
///
/// One atomic add per batch: cheap next to a hash, and it makes repeats impossible.
#[derive(Debug)]
pub struct NonceCursor {
    range: NonceRange,
    next: AtomicU64,
}

impl NonceCursor {
    pub fn new(range: NonceRange) -> Self {
        Self {
            next: AtomicU64::new(range.start),
            range,
        }
    }

    pub fn range(&self) -> NonceRange {
        self.range
    }

    /// Claims up to `n` consecutive counters; `None` once the range is used up.
    pub fn claim(&self, n: u64) -> Option<std::ops::Range<u64>> {
        let first = self.next.fetch_add(n, Ordering::Relaxed);
        if first >= self.range.end {
            // Keep the counter from wrapping if callers keep asking after exhaustion.
            self.next.store(self.range.end, Ordering::Relaxed);
            return None;
        }
        Some(first..(first + n).min(self.range.end))
    }

    /// Counters claimed so far.
    pub fn used(&self) -> u64 {
        self.next.load(Ordering::Relaxed).min(self.range.end) - self.range.start
    }
}

/// Writes `nonce` into a hashing blob at the Monero nonce offset (a too-short blob is left alone).
pub fn put_nonce(blob: &mut [u8], nonce: u32) {
    if let Some(slot) = blob.get_mut(NONCE_OFFSET..NONCE_OFFSET + NONCE_LEN) {
        slot.copy_from_slice(&nonce.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn nicehash_keeps_the_fixed_byte() {
        let r = NonceRange::full(Some(0xab));
        assert_eq!(r.len(), 1 << 24);
        for c in [0u64, 1, 0x00ff_ffff] {
            assert_eq!(r.nonce(c) >> 24, 0xab);
        }
        assert!(r.contains_nonce(0xab00_0001));
        assert!(!r.contains_nonce(0xac00_0001));
    }

    #[test]
    fn slices_are_clamped_to_the_mode() {
        let r = NonceRange::new(10, 1 << 40, Some(1));
        assert_eq!(r.end(), 1 << 24);
        let r = NonceRange::new(50, 20, None);
        assert!(r.is_empty());
    }

    #[test]
    fn cursor_never_repeats_across_threads() {
        let cursor =
            std::sync::Arc::new(NonceCursor::new(NonceRange::new(100, 100 + 10_000, None)));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let c = cursor.clone();
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while let Some(run) = c.claim(3) {
                        got.extend(run);
                    }
                    got
                })
            })
            .collect();
        let mut all = HashSet::new();
        let mut count = 0;
        for h in handles {
            for n in h.join().expect("thread") {
                assert!((100..10_100).contains(&n));
                all.insert(n);
                count += 1;
            }
        }
        assert_eq!(count, 10_000);
        assert_eq!(all.len(), 10_000);
        assert_eq!(cursor.used(), 10_000);
        assert!(cursor.claim(1).is_none());
    }

    #[test]
    fn nonce_lands_little_endian_at_39() {
        let mut blob = vec![0u8; 76];
        put_nonce(&mut blob, 0x0403_0201);
        assert_eq!(&blob[39..43], &[1, 2, 3, 4]);
        let mut short = vec![0u8; 10];
        put_nonce(&mut short, 7); // too short: left alone, no panic
        assert_eq!(short, vec![0u8; 10]);
    }
}
