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
    /// AMD Zen 5 (family 1Ah: a 448-entry reorder buffer, six ALUs and a 48 KiB L1D) and Zen 4
    /// (family 19h with AVX-512: a 320-entry reorder buffer).
    Wide,
}

impl CoreWindow {
    /// The class of a CPU with CPUID vendor string `vendor` and display family `family` (base
    /// family plus extended family, as Linux's "cpu family" shows it), `avx512` where it has
    /// AVX-512F.
    pub fn from_cpuid(vendor: &[u8; 12], family: u32, avx512: bool) -> Self {
        match (vendor, family) {
            (b"AuthenticAMD", 0x1a) => Self::Wide,
            // Family 19h is Zen 3 (no AVX-512, not measured) and Zen 4, its only cores with it.
            (b"AuthenticAMD", 0x19) if avx512 => Self::Wide,
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
        let rows: [(&[u8; 12], u32, bool, CoreWindow); 7] = [
            (b"AuthenticAMD", 0x1a, true, Wide),      // Zen 5
            (b"AuthenticAMD", 0x1a, false, Wide),     // Zen 5 with AVX-512 hidden (a VM)
            (b"AuthenticAMD", 0x19, true, Wide),      // Zen 4
            (b"AuthenticAMD", 0x19, false, Standard), // Zen 3: not measured
            (b"GenuineIntel", 6, true, Standard),     // AVX-512 alone is not enough
            (b"HygonGenuine", 0x18, false, Standard),
            (b"GenuineIntel", 0x1a, false, Standard), // nor the family alone
        ];
        for (vendor, family, avx512, window) in rows {
            assert_eq!(
                CoreWindow::from_cpuid(vendor, family, avx512),
                window,
                "{family:#x}, avx512 {avx512}"
            );
        }
    }
}
