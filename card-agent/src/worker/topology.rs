//! CPU topology from sysfs: physical cores, per-core L2 and shared L3, and the thread plan they imply.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use phirig_kernel::cn::{window_ways, Algorithm, CoreWindow};
use phirig_kernel::cpu::Cpu;

/// What the auto-configuration needs to know about the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// One logical CPU per physical core (the first sibling), in order.
    pub core_cpus: Vec<usize>,
    /// All logical CPUs.
    pub logical_cpus: usize,
    /// Per-core L2 in bytes (0 when unknown).
    pub l2_bytes: usize,
    /// Shared last-level (L3) cache in bytes, summed over packages (0 when unknown).
    pub l3_bytes: usize,
    /// How many interleaved hashes one core keeps busy (from CPUID, not sysfs).
    pub window: CoreWindow,
}

impl Topology {
    /// Reads `/sys/devices/system/cpu` and the core class from CPUID, within the CPUs this
    /// process may use (`taskset`, a cgroup's cpuset, systemd's `CPUAffinity=`); falls back to
    /// "N independent cores" when sysfs is missing.
    pub fn detect() -> Self {
        let allowed = super::affinity::allowed_cpus();
        let sysfs = Path::new("/sys/devices/system/cpu");
        let mut topo = Self::from_sysfs_within(sysfs, allowed.as_deref()).unwrap_or_else(|| {
            // available_parallelism counts the allowed CPUs already.
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            Self {
                core_cpus: allowed.unwrap_or_else(|| (0..n).collect()),
                logical_cpus: n,
                l2_bytes: 0,
                l3_bytes: 0,
                window: CoreWindow::Standard,
            }
        });
        topo.window = Cpu::detect().window;
        topo
    }

    /// Reads a sysfs cpu tree rooted at `root` (tests point it at a fixture). Sysfs does not say
    /// what the cores are, so the window is [`CoreWindow::Standard`]; [`Topology::detect`] asks
    /// CPUID.
    pub fn from_sysfs(root: &Path) -> Option<Self> {
        Self::from_sysfs_within(root, None)
    }

    /// [`Topology::from_sysfs`] counting only the CPUs in `allowed` (all when `None`): a core
    /// is represented by its first allowed sibling, and one with none allowed is left out.
    pub fn from_sysfs_within(root: &Path, allowed: Option<&[usize]>) -> Option<Self> {
        let mut cpus: Vec<usize> = fs::read_dir(root)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("cpu")?.parse().ok())
            .filter(|n| is_online(root, *n))
            .filter(|n| allowed.is_none_or(|a| a.contains(n)))
            .collect();
        cpus.sort_unstable();
        if cpus.is_empty() {
            return None;
        }
        let mut cores: BTreeMap<(u64, u64), usize> = BTreeMap::new();
        for &cpu in &cpus {
            let topo = root.join(format!("cpu{cpu}/topology"));
            let pkg = read_u64(&topo.join("physical_package_id")).unwrap_or(0);
            let core = read_u64(&topo.join("core_id")).unwrap_or(cpu as u64);
            cores.entry((pkg, core)).or_insert(cpu);
        }
        let mut core_cpus: Vec<usize> = cores.into_values().collect();
        core_cpus.sort_unstable();
        let (l2_bytes, l3_bytes) = cache_sizes(root, cpus[0], &cpus);
        Some(Self {
            core_cpus,
            logical_cpus: cpus.len(),
            l2_bytes,
            l3_bytes,
            window: CoreWindow::Standard,
        })
    }

    pub fn cores(&self) -> usize {
        self.core_cpus.len().max(1)
    }
}

fn is_online(root: &Path, cpu: usize) -> bool {
    // cpu0 often has no `online` file; a missing file means online.
    fs::read_to_string(root.join(format!("cpu{cpu}/online"))).map_or(true, |s| s.trim() != "0")
}

fn read_u64(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Parses sysfs cache sizes such as `2048K`, `36M`.
pub fn parse_size(s: &str) -> Option<usize> {
    let s = s.trim();
    let (digits, mult) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'G' | b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    digits.parse::<usize>().ok().map(|v| v * mult)
}

/// Per-core L2 and total L3 seen from `cpu`; L3 instances are counted once per sharing set.
fn cache_sizes(root: &Path, cpu: usize, all: &[usize]) -> (usize, usize) {
    let mut l2 = 0;
    let mut l3_sets: BTreeMap<String, usize> = BTreeMap::new();
    for &c in all {
        let dir: PathBuf = root.join(format!("cpu{c}/cache"));
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(|e| e.ok()) {
            let p = e.path();
            let level = read_u64(&p.join("level")).unwrap_or(0);
            let kind = fs::read_to_string(p.join("type")).unwrap_or_default();
            if kind.trim() == "Instruction" {
                continue;
            }
            let size = fs::read_to_string(p.join("size"))
                .ok()
                .and_then(|s| parse_size(&s))
                .unwrap_or(0);
            if level == 2 && c == cpu {
                l2 = size;
            } else if level == 3 {
                let shared = fs::read_to_string(p.join("shared_cpu_list")).unwrap_or_default();
                l3_sets.insert(shared.trim().to_string(), size);
            }
        }
    }
    (l2, l3_sets.values().sum())
}

/// Threads and interleaved hashes per thread for one scratchpad size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadPlan {
    pub threads: usize,
    pub intensity: usize,
}

/// The most interleaved hashes a worker runs at once.
pub const MAX_INTENSITY: usize = 5;

/// One thread per core, and as many interleaved hashes per thread as both the caches and the
/// kernel's out-of-order window allow ([`window_ways`]); no more threads than the L3 can feed
/// (xmrig's rule: the scratchpads should fit the last level).
///
/// Pads that fit the core's L2: three L2s' worth (the reads of a few ways overlap well there),
/// or as many as the core's share of the L3 holds where that is more. Larger pads: that share
/// of the L3, when there is an L3; without one (a Xeon Phi's tiles) one hash, because each extra
/// pad only adds misses to memory. The lite variants' 1 MiB pads show why the L3 counts for
/// pads that fit the L2 too: five ways against three measured 1.19 (cn-lite/0) and 1.28
/// (cn-lite/1) paired, one thread, on the VM below.
///
/// Measured on a 2-vCPU Cascade Lake VM (1 MiB L2 per core, 35.75 MiB L3): cn/0 on 2 MiB pads
/// ran 45, 69 and 85 H/s at one, two and three ways on one thread; an earlier measurement under
/// heavy load from other processes saw no gain, because they had the L3. On a 2-vCPU Zen 5 VM
/// (1 MiB L2 per core, 32 MiB L3), whose wide window takes more ways, two threads of cn/0 ran
/// 300 and 354 H/s at three and four ways, of cn-pico 5042 and 6119 at three and five.
pub fn plan(topo: &Topology, algo: Algorithm) -> ThreadPlan {
    let pad = algo.scratchpad_bytes().max(1);
    let widest = window_ways(algo, topo.window).min(MAX_INTENSITY);
    let intensity = if topo.l2_bytes == 0 {
        1
    } else if pad <= topo.l2_bytes {
        let l3_share = topo.l3_bytes / (topo.cores().max(1) * pad);
        (3 * topo.l2_bytes / pad).max(l3_share).clamp(1, widest)
    } else if topo.l3_bytes > 0 {
        (topo.l3_bytes / (topo.cores().max(1) * pad)).clamp(1, widest)
    } else {
        1
    };
    let mut threads = topo.cores();
    if topo.l3_bytes > 0 {
        let fits = (topo.l3_bytes / (pad * intensity)).max(1);
        threads = threads.min(fits);
    }
    ThreadPlan { threads, intensity }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, body: &str) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, body).expect("write");
    }

    /// Two cores with two hyper-threads each, 1 MiB L2 per core, one 8 MiB L3.
    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        let r = dir.path();
        for cpu in 0..4 {
            let core = cpu % 2;
            write(r, &format!("cpu{cpu}/topology/physical_package_id"), "0\n");
            write(
                r,
                &format!("cpu{cpu}/topology/core_id"),
                &format!("{core}\n"),
            );
            write(r, &format!("cpu{cpu}/cache/index2/level"), "2\n");
            write(r, &format!("cpu{cpu}/cache/index2/type"), "Unified\n");
            write(r, &format!("cpu{cpu}/cache/index2/size"), "1024K\n");
            write(r, &format!("cpu{cpu}/cache/index3/level"), "3\n");
            write(r, &format!("cpu{cpu}/cache/index3/type"), "Unified\n");
            write(r, &format!("cpu{cpu}/cache/index3/size"), "8M\n");
            write(
                r,
                &format!("cpu{cpu}/cache/index3/shared_cpu_list"),
                "0-3\n",
            );
        }
        write(r, "cpufreq/ondemand", "x"); // not a cpu directory
        dir
    }

    #[test]
    fn reads_cores_and_caches() {
        let dir = fixture();
        let t = Topology::from_sysfs(dir.path()).expect("topology");
        assert_eq!(t.core_cpus, vec![0, 1]);
        assert_eq!(t.logical_cpus, 4);
        assert_eq!(t.l2_bytes, 1 << 20);
        assert_eq!(t.l3_bytes, 8 << 20);
    }

    #[test]
    fn keeps_to_the_allowed_cpus() {
        let dir = fixture();
        // cpu1 and cpu2 are on cores 1 and 0: each core is represented by its allowed sibling.
        let t = Topology::from_sysfs_within(dir.path(), Some(&[1, 2])).expect("topology");
        assert_eq!(t.core_cpus, vec![1, 2]);
        assert_eq!(t.logical_cpus, 2);
        // Core 1's two siblings only: one core.
        let t = Topology::from_sysfs_within(dir.path(), Some(&[3, 1])).expect("topology");
        assert_eq!(t.core_cpus, vec![1]);
        assert!(Topology::from_sysfs_within(dir.path(), Some(&[9])).is_none());
    }

    #[test]
    fn plans_by_scratchpad_size_and_kernel_width() {
        use Algorithm::*;
        let dir = fixture();
        let t = Topology::from_sysfs(dir.path()).expect("topology");
        // 1 MiB L2 per core, 8 MiB L3: (algorithm, threads, intensity).
        let plans = [
            (CnUpx2, 2, 3),   // 128 KiB, variant 2: the window's three, not the L2's 24
            (CnPico, 2, 3),   // 256 KiB, variant 2
            (CnLite1, 2, 4),  // 1 MiB: each core's 4 MiB share of the L3 holds four
            (CnLite0, 2, 4),  // the same for variant 0
            (Cn0, 2, 2),      // 2 MiB: each core's 4 MiB share of the L3 holds two
            (Cn2, 2, 2),      // the same for variant 2
            (CnR, 2, 2),      // cn/r's random program leaves room for two
            (CnHeavy0, 2, 1), // 4 MiB: the 8 MiB L3 still feeds two threads of one
        ];
        for (algo, threads, intensity) in plans {
            assert_eq!(plan(&t, algo), ThreadPlan { threads, intensity }, "{algo}");
        }
        let tiny_l3 = Topology {
            l3_bytes: 4 << 20,
            ..t.clone()
        };
        assert_eq!(plan(&tiny_l3, CnHeavy0).threads, 1);
        // Three lite pads per thread: a 4 MiB L3 feeds one such thread.
        assert_eq!(
            plan(&tiny_l3, CnLite1),
            ThreadPlan {
                threads: 1,
                intensity: 3
            }
        );
        // A server L3 (36 MiB for two cores) gives 2 MiB pads the whole window.
        let server = Topology {
            l3_bytes: 36 << 20,
            ..t.clone()
        };
        assert_eq!(plan(&server, Cn0).intensity, 3);
        assert_eq!(plan(&server, Cn1).intensity, 3);
        assert_eq!(plan(&server, CnCcx).intensity, 3);
        assert_eq!(plan(&server, CnHalf).intensity, 3);
        assert_eq!(plan(&server, CnR).intensity, 2);
        // ... and the lite variants' 1 MiB pads the five their kernel interleaves.
        assert_eq!(
            plan(&server, CnLite0),
            ThreadPlan {
                threads: 2,
                intensity: 5
            }
        );
        assert_eq!(plan(&server, CnLite1).intensity, 5);
        assert_eq!(plan(&server, CnPico).intensity, 3);
        // L2 unknown: one way.
        let no_l2 = Topology {
            l2_bytes: 0,
            ..t.clone()
        };
        assert_eq!(plan(&no_l2, CnPico).intensity, 1);
        // No L3 (a Xeon Phi tile): pads larger than the L2 get one way.
        let no_l3 = Topology {
            l3_bytes: 0,
            ..t.clone()
        };
        assert_eq!(plan(&no_l3, Cn0).intensity, 1);
        assert_eq!(plan(&no_l3, CnLite0).intensity, 3);
        // A 16 MiB L2 is capped by what the kernel interleaves for each size and variant.
        let big_l2 = Topology {
            l2_bytes: 16 << 20,
            l3_bytes: 0,
            ..t
        };
        assert_eq!(plan(&big_l2, CnLite0).intensity, 5);
        assert_eq!(plan(&big_l2, Cn0).intensity, 3);
        assert_eq!(plan(&big_l2, Cn2).intensity, 3);
        assert_eq!(plan(&big_l2, CnPico).intensity, 3);
        assert_eq!(plan(&big_l2, CnHeavy0).intensity, 2);
        assert_eq!(plan(&big_l2, CnHeavy0).threads, 2);
    }

    #[test]
    fn a_wide_core_takes_more_ways_where_the_caches_hold_them() {
        use Algorithm::*;
        let dir = fixture();
        let standard = Topology::from_sysfs(dir.path()).expect("topology");
        assert_eq!(standard.window, CoreWindow::Standard);
        // The Zen 5 VM: 1 MiB L2 per core, 32 MiB L3 for two cores.
        let zen5 = Topology {
            l3_bytes: 32 << 20,
            window: CoreWindow::Wide,
            ..standard.clone()
        };
        let plans = [
            (Cn0, 2, 4),      // each core's 16 MiB share of the L3 holds eight; the window four
            (Cn2, 2, 3),      // the variant-2 family's 2 MiB pads keep three
            (CnR, 2, 3),      // cn/r's loop takes three
            (CnPico, 2, 5),   // small pads: the kernel's five
            (CnHeavy0, 2, 2), // 4 MiB: two, 16 MiB for two threads
        ];
        for (algo, threads, intensity) in plans {
            assert_eq!(
                plan(&zen5, algo),
                ThreadPlan { threads, intensity },
                "{algo}"
            );
        }
        // The caches still cap a wide core: the 8 MiB fixture's 4 MiB share holds two 2 MiB pads.
        let small_l3 = Topology {
            window: CoreWindow::Wide,
            ..standard
        };
        assert_eq!(plan(&small_l3, Cn0).intensity, 2);
        assert_eq!(plan(&small_l3, CnHeavy0).intensity, 1);
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("32K"), Some(32 << 10));
        assert_eq!(parse_size("36M\n"), Some(36 << 20));
        assert_eq!(parse_size("512"), Some(512));
        assert_eq!(parse_size("x"), None);
        assert_eq!(parse_size(""), None);
    }

    #[test]
    fn missing_sysfs_is_none() {
        assert!(Topology::from_sysfs(Path::new("/nonexistent/phirig")).is_none());
        assert!(Topology::detect().cores() >= 1);
    }
}
