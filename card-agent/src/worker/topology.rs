//! CPU topology from sysfs: physical cores, per-core L2 and shared L3, and the thread plan they imply.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::cn::interleave_limit;

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
}

impl Topology {
    /// Reads `/sys/devices/system/cpu`; falls back to "N independent cores" when sysfs is missing.
    pub fn detect() -> Self {
        Self::from_sysfs(Path::new("/sys/devices/system/cpu")).unwrap_or_else(|| {
            let n = std::thread::available_parallelism().map_or(1, |n| n.get());
            Self {
                core_cpus: (0..n).collect(),
                logical_cpus: n,
                l2_bytes: 0,
                l3_bytes: 0,
            }
        })
    }

    /// Reads a sysfs cpu tree rooted at `root` (tests point it at a fixture).
    pub fn from_sysfs(root: &Path) -> Option<Self> {
        let mut cpus: Vec<usize> = fs::read_dir(root)
            .ok()?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str()?.strip_prefix("cpu")?.parse().ok())
            .filter(|n| is_online(root, *n))
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

/// One thread per core; interleaved hashes while one scratchpad fits the core's L2: up to three
/// pads' worth of L2, at most what the kernel interleaves for the size ([`interleave_limit`]);
/// no more threads than the L3 can feed (xmrig's rule: the scratchpads should fit the last level).
///
/// Measured on a 2-vCPU Xeon VM (1 MiB L2, shared L3 under load), per hash: a bare C loop of the
/// cn/0 iteration on 128 KiB pads takes 42 cycles alone and 18 three-way; on 1 MiB pads 74 and
/// 42; on 2 MiB pads 114 alone but 117 and 152 with two and three ways. The kernel agrees
/// (cn-lite/1: 3 ways 1.4x one way, 4 ways slower than one; cn/2: 2 ways slower than one).
/// A pad larger than the L2 misses to a shared L3 that keeps little of it, so its misses go to
/// DRAM and extra pads only add misses; smaller pads overlap their latencies well.
pub fn plan(topo: &Topology, scratchpad_bytes: usize) -> ThreadPlan {
    let pad = scratchpad_bytes.max(1);
    let intensity = if pad > topo.l2_bytes {
        1
    } else {
        (3 * topo.l2_bytes / pad).clamp(1, interleave_limit(pad).min(MAX_INTENSITY))
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
    fn plans_by_scratchpad_size() {
        let dir = fixture();
        let t = Topology::from_sysfs(dir.path()).expect("topology");
        // 1 MiB L2 per core, 8 MiB L3.
        let plans = [
            (64 << 10, 2, 5),  // 48 pads per three L2s: the kernel's limit
            (128 << 10, 2, 5), // upx2
            (256 << 10, 2, 5), // pico
            (1 << 20, 2, 3),   // lite: three
            (2 << 20, 2, 1),   // cn/0..: larger than the L2, one
            (4 << 20, 2, 1),   // heavy: the 8 MiB L3 still feeds two threads
        ];
        for (pad, threads, intensity) in plans {
            assert_eq!(plan(&t, pad), ThreadPlan { threads, intensity }, "{pad}");
        }
        let tiny_l3 = Topology {
            l3_bytes: 4 << 20,
            ..t.clone()
        };
        assert_eq!(plan(&tiny_l3, 4 << 20).threads, 1);
        // Three lite pads per thread: a 4 MiB L3 feeds one such thread.
        assert_eq!(
            plan(&tiny_l3, 1 << 20),
            ThreadPlan {
                threads: 1,
                intensity: 3
            }
        );
        // L2 unknown: one way.
        let no_l2 = Topology {
            l2_bytes: 0,
            ..t.clone()
        };
        assert_eq!(plan(&no_l2, 256 << 10).intensity, 1);
        // A 16 MiB L2 is capped by what the kernel interleaves for each size.
        let big_l2 = Topology {
            l2_bytes: 16 << 20,
            l3_bytes: 0,
            ..t
        };
        assert_eq!(plan(&big_l2, 1 << 20).intensity, 5);
        assert_eq!(plan(&big_l2, 2 << 20).intensity, 3);
        assert_eq!(plan(&big_l2, 4 << 20).intensity, 2);
        assert_eq!(plan(&big_l2, 4 << 20).threads, 2);
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
