//! Programs shared per height: a small, thread-safe, most-recently-used cache.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::program::Program;

/// Heights kept by the process-wide cache: the current one, plus a few for stale shares and for
/// jobs from a pool that is a block behind.
const DEFAULT_CAPACITY: usize = 4;

static GLOBAL: ProgramCache = ProgramCache::new(DEFAULT_CAPACITY);

/// The program for `height`, generated on first use and shared by every worker afterwards.
///
/// Called once per job (not per hash); a lookup is a short mutex-held scan of at most four entries.
pub fn program_for_height(height: u64) -> Arc<Program> {
    GLOBAL.get(height)
}

/// A bounded cache of programs keyed by height, most recently used first.
pub struct ProgramCache {
    capacity: usize,
    entries: Mutex<VecDeque<(u64, Arc<Program>)>>,
}

impl ProgramCache {
    /// An empty cache holding at most `capacity` heights (at least one).
    pub const fn new(capacity: usize) -> ProgramCache {
        let capacity = if capacity == 0 { 1 } else { capacity };
        ProgramCache {
            capacity,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The program for `height`, generating and inserting it if missing (evicting the least
    /// recently used height when full).
    pub fn get(&self, height: u64) -> Arc<Program> {
        let mut entries = self.lock();
        if let Some(pos) = entries.iter().position(|(h, _)| *h == height) {
            if let Some(hit) = entries.remove(pos) {
                let program = Arc::clone(&hit.1);
                entries.push_front(hit);
                return program;
            }
        }
        // Generated under the lock: it takes microseconds, and workers asking for the same new
        // height at once then share one program instead of each building their own.
        let program = Arc::new(Program::generate(height));
        entries.push_front((height, Arc::clone(&program)));
        entries.truncate(self.capacity);
        program
    }

    /// Heights currently cached, most recently used first.
    pub fn heights(&self) -> Vec<u64> {
        self.lock().iter().map(|(h, _)| *h).collect()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<(u64, Arc<Program>)>> {
        // A panic while holding the lock cannot leave the deque half-updated (every change is a
        // single push/remove/truncate), so a poisoned lock is still safe to use.
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_height_shares_one_program() {
        let cache = ProgramCache::new(4);
        let a = cache.get(1_806_260);
        let b = cache.get(1_806_260);
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(*a, Program::generate(1_806_260));
    }

    #[test]
    fn evicts_least_recently_used() {
        let cache = ProgramCache::new(2);
        cache.get(1);
        cache.get(2);
        cache.get(1); // 1 is now the most recent
        cache.get(3); // evicts 2
        assert_eq!(cache.heights(), vec![3, 1]);
    }

    #[test]
    fn zero_capacity_still_caches_one() {
        let cache = ProgramCache::new(0);
        let a = cache.get(5);
        assert!(Arc::ptr_eq(&a, &cache.get(5)));
        cache.get(6);
        assert_eq!(cache.heights(), vec![6]);
    }

    #[test]
    fn global_cache_is_shared_across_threads() {
        let programs: Vec<Arc<Program>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| program_for_height(1_806_269)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("worker thread panicked"))
                .collect()
        });
        assert!(programs.windows(2).all(|w| *w[0] == *w[1]));
    }
}
