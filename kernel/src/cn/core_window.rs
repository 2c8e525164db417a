//! The cores' out-of-order window class, from CPUID: it caps how many interleaved hashes pay.

use std::sync::OnceLock;

/// How much independent work one core keeps in flight, which decides how many interleaved
/// hashes ("ways") one thread gains from ([`super::window_ways`]).
///
/// A way's next scratchpad read waits on its last, so extra ways pay only while the window holds
/// an iteration of each at once. The classes are the cores the ways were measured on; a CPU not
/// known to be wider is [`CoreWindow::Standard`], and an operator can still set the intensity
/// per algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CoreWindow {
    /// Skylake-class cores (a reorder buffer of about 224 micro-ops), and any core not listed as
    /// wider. Measured on a Cascade Lake VM whose hyper-thread siblings other tenants used.
    #[default]
    Standard,
    /// AMD Zen 5 (family 1Ah: a 448-entry reorder buffer, six ALUs and a 48 KiB L1D). Measured on
    /// a 2-vCPU EPYC VM: five ways for small pads, four for most 2 MiB ones, three for cn/r.
    Wide,
}

impl CoreWindow {
    /// This CPU's class, read once per process.
    pub fn detect() -> Self {
        static DETECTED: OnceLock<CoreWindow> = OnceLock::new();
        *DETECTED.get_or_init(|| {
            cpu_identity().map_or(Self::Standard, |(vendor, family)| {
                Self::from_cpuid(&vendor, family)
            })
        })
    }

    /// The class of a CPU with CPUID vendor string `vendor` and display family `family` (base
    /// family plus extended family, as Linux's "cpu family" shows it).
    pub fn from_cpuid(vendor: &[u8; 12], family: u32) -> Self {
        match (vendor, family) {
            (b"AuthenticAMD", 0x1a) => Self::Wide,
            _ => Self::Standard,
        }
    }

    /// The name the agent's reports use.
    pub fn name(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Wide => "wide",
        }
    }
}

/// CPUID's vendor string (leaf 0) and display family (leaf 1).
#[cfg(target_arch = "x86_64")]
fn cpu_identity() -> Option<([u8; 12], u32)> {
    use core::arch::x86_64::__cpuid;
    // SAFETY: CPUID exists on every x86-64 CPU; leaves 0 and 1 always do.
    #[allow(unused_unsafe)]
    let (leaf0, leaf1) = unsafe { (__cpuid(0), __cpuid(1)) };
    if leaf0.eax < 1 {
        return None;
    }
    let mut vendor = [0u8; 12];
    vendor[..4].copy_from_slice(&leaf0.ebx.to_le_bytes());
    vendor[4..8].copy_from_slice(&leaf0.edx.to_le_bytes());
    vendor[8..].copy_from_slice(&leaf0.ecx.to_le_bytes());
    Some((vendor, display_family(leaf1.eax)))
}

#[cfg(not(target_arch = "x86_64"))]
fn cpu_identity() -> Option<([u8; 12], u32)> {
    None
}

/// The display family from CPUID leaf 1's EAX: the extended family counts only under base 0Fh.
fn display_family(eax: u32) -> u32 {
    let base = (eax >> 8) & 0xf;
    if base == 0xf {
        base + ((eax >> 20) & 0xff)
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_decode_as_linux_shows_them() {
        // Leaf 1 EAX of an EPYC 9005 (Zen 5), a Cascade Lake Xeon and a Xeon Phi 7220 (KNL).
        assert_eq!(display_family(0x00b0_0f21), 0x1a);
        assert_eq!(display_family(0x0005_0657), 6);
        assert_eq!(display_family(0x0005_0671), 6);
        // Zen 3 and 4 (19h) and Zen 2 (17h).
        assert_eq!(display_family(0x00a0_0f11), 0x19);
        assert_eq!(display_family(0x0083_0f10), 0x17);
    }

    #[test]
    fn only_measured_cores_are_wide() {
        use CoreWindow::{Standard, Wide};
        let rows: [(&[u8; 12], u32, CoreWindow); 5] = [
            (b"AuthenticAMD", 0x1a, Wide),     // Zen 5
            (b"AuthenticAMD", 0x19, Standard), // Zen 3 and 4: not measured
            (b"GenuineIntel", 6, Standard),
            (b"HygonGenuine", 0x18, Standard),
            (b"GenuineIntel", 0x1a, Standard), // the family alone is not enough
        ];
        for (vendor, family, window) in rows {
            assert_eq!(
                CoreWindow::from_cpuid(vendor, family),
                window,
                "{family:#x}"
            );
        }
    }

    #[test]
    fn this_cpu_matches_proc_cpuinfo() {
        // Linux reads the same two CPUID fields; a disagreement means the decoding is wrong.
        let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
            println!("note: no /proc/cpuinfo, nothing to compare");
            return;
        };
        let field = |name: &str| {
            info.lines()
                .find(|l| l.split(':').next().map(str::trim) == Some(name))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        };
        let (Some(vendor), Some(family)) = (field("vendor_id"), field("cpu family")) else {
            println!("note: /proc/cpuinfo has no vendor_id/cpu family (not x86?)");
            return;
        };
        let family: u32 = family.parse().expect("cpu family is a number");
        let Some((v, f)) = cpu_identity() else {
            panic!("CPUID gave nothing on a CPU that /proc/cpuinfo calls {vendor} family {family}");
        };
        assert_eq!(String::from_utf8_lossy(&v), vendor);
        assert_eq!(f, family);
    }
}
