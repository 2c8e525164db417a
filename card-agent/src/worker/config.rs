//! How the workers are laid out: threads and ways per algorithm, AES path, pages, journal.

use std::sync::Arc;
use std::time::Duration;

use super::per_algo::PerAlgo;
use phirig_journal::Journal;
use phirig_kernel::cn::AesPath;
use phirig_kernel::cpu::Cpu;
use phirig_kernel::memory::PagePolicy;
use phirig_wire::Profile;

/// How the workers are laid out. Threads and intensity are per algorithm; an algorithm with no
/// value set takes the card's tuned profile, else the caches' plan.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    pub threads: PerAlgo,
    pub intensity: PerAlgo,
    /// The settings `phirig-agent tune` measured on this card (the CPUID plan is the first guess).
    pub profile: Option<Arc<Profile>>,
    pub aes: AesPath,
    /// Whether explode and implode may use VAES (each hasher is built for [`WorkerConfig::cpu`]).
    pub vaes: bool,
    pub pin: bool,
    pub pages: PagePolicy,
    /// How long an idle worker sleeps between looks at the job slot.
    pub idle_poll: Duration,
    /// Event journal; each worker records into its own buffer, never taking a lock to hash.
    pub journal: Option<Arc<Journal>>,
    /// Fault injection, only in test builds (the `test-hooks` feature): thread 0 panics once when
    /// it picks up the job with this sequence number (how the restart of a panicked worker is
    /// proven on the real code path). Checked once per job, never per batch.
    #[cfg(any(test, feature = "test-hooks"))]
    pub panic_once_on_job: Option<u64>,
}

impl WorkerConfig {
    /// The CPU the hashers are built for: this one, without VAES where `vaes` says no.
    pub fn cpu(&self) -> Cpu {
        Cpu::detect().with_vaes(self.vaes)
    }
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            threads: PerAlgo::default(),
            intensity: PerAlgo::default(),
            profile: None,
            aes: Cpu::detect().best_aes(),
            vaes: true,
            pin: true,
            pages: PagePolicy::default(),
            idle_poll: Duration::from_millis(5),
            journal: None,
            #[cfg(any(test, feature = "test-hooks"))]
            panic_once_on_job: None,
        }
    }
}
