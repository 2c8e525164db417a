//! Facts about the machine and this process, read through `sysinfo` rather than `/proc` by hand.

use phirig_wire::{Memory, Resources};
use sysinfo::{CpuRefreshKind, MemoryRefreshKind, ProcessRefreshKind, ProcessesToUpdate, System};

/// The machine's host name (xmrig reports it as `worker_id`); "phirig" when it has none.
pub fn hostname() -> String {
    System::host_name()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "phirig".into())
}

/// The CPU's marketing name (xmrig's `cpu.brand`); empty where the OS does not say.
pub fn cpu_brand() -> String {
    let mut sys = System::new();
    sys.refresh_cpu_list(CpuRefreshKind::nothing());
    sys.cpus()
        .first()
        .map(|c| c.brand().trim().to_string())
        .unwrap_or_default()
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

/// The machine's memory and load averages and this process's resident size, as xmrig's
/// summary reports them under `resources`.
pub fn resources() -> Resources {
    let mut sys = System::new();
    sys.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
    let load = System::load_average();
    Resources {
        memory: Memory {
            free: sys.available_memory(),
            total: sys.total_memory(),
            resident_set_memory: current_rss(),
        },
        load_average: [load.one, load.five, load.fifteen],
        hardware_concurrency: std::thread::available_parallelism().map_or(1, |n| n.get() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_name_and_resident_size_are_read() {
        assert!(!hostname().is_empty());
        let brand = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = brand.lines().find_map(|l| l.strip_prefix("model name"));
        if let Some(model) = model {
            assert_eq!(
                cpu_brand(),
                model.trim_start_matches([' ', '\t', ':']).trim()
            );
        }
        // A test binary with its runtime is resident for megabytes; KiB taken as bytes is not.
        let before = current_rss();
        assert!(before > 1 << 20, "{before}");
        let block = vec![1u8; 64 << 20];
        std::hint::black_box(&block);
        let after = current_rss();
        assert!(after >= before + (32 << 20), "{before} → {after}");
    }

    #[test]
    fn resources_read_memory_and_load() {
        let r = resources();
        assert!(r.memory.total > r.memory.free && r.memory.free > 0, "{r:?}");
        assert!(r.memory.resident_set_memory > 1 << 20, "{r:?}");
        assert!(r.hardware_concurrency >= 1);
        assert!(
            r.load_average.iter().all(|l| l.is_finite() && *l >= 0.0),
            "{r:?}"
        );
    }
}
