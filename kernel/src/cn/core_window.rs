//! The cores' out-of-order window class, from CPUID: it caps how many interleaved hashes pay.

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
    /// wider.
    #[default]
    Standard,
    /// AMD Zen 5 (family 1Ah: a 448-entry reorder buffer, six ALUs and a 48 KiB L1D).
    Wide,
}

impl CoreWindow {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
