//! Facts about the machine and this process, read through `sysinfo` rather than `/proc` by hand.

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

/// The machine's host name (xmrig reports it as `worker_id`); "phirig" when it has none.
pub fn hostname() -> String {
    System::host_name()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "phirig".into())
}

/// Resident set size of this process in bytes (0 where unavailable).
pub fn current_rss() -> u64 {
    let Ok(pid) = sysinfo::get_current_pid() else {
        return 0;
    };
    let mut sys = System::new();
    sys.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        false,
        ProcessRefreshKind::nothing().with_memory(),
    );
    sys.process(pid).map_or(0, |p| p.memory())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_and_resident_size_are_read() {
        assert!(!hostname().is_empty());
        // A test binary with its runtime is resident for megabytes; KiB taken as bytes is not.
        let before = current_rss();
        assert!(before > 1 << 20, "{before}");
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let after = current_rss();
        assert!(after >= before + (32 << 20), "{before} → {after}");
    }
}
