//! Which AES implementation the kernel runs: AES-NI when the CPU has it, a portable table round otherwise.

use std::fmt;

/// The AES backend a hasher is built for; chosen once, the whole hash loop is compiled for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AesPath {
    /// AES-NI (`aesenc`) with SSE2/SSE4.1 128-bit operations.
    Hardware,
    /// Portable T-table AES round: runs anywhere, roughly half the speed.
    Software,
}

impl AesPath {
    /// The best path this CPU supports.
    pub fn detect() -> Self {
        if Self::hardware_available() {
            AesPath::Hardware
        } else {
            AesPath::Software
        }
    }

    /// Whether the hardware path can run here (AES-NI, SSE2 and SSE4.1).
    pub fn hardware_available() -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            std::arch::is_x86_feature_detected!("aes")
                && std::arch::is_x86_feature_detected!("sse2")
                && std::arch::is_x86_feature_detected!("sse4.1")
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Whether explode and implode run two blocks per instruction on VAES on this path here
    /// (the CPU has it and [`AesPath::allow_vaes`] did not refuse it).
    pub fn wide(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            self == AesPath::Hardware && super::explode_vaes::in_use()
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            false
        }
    }

    /// Allows (the default) or refuses VAES for explode and implode, for the whole process:
    /// `--no-vaes` and `"cpu": {"vaes": false}`, for comparing or working around it.
    pub fn allow_vaes(allowed: bool) {
        #[cfg(target_arch = "x86_64")]
        super::explode_vaes::set_allowed(allowed);
        #[cfg(not(target_arch = "x86_64"))]
        let _ = allowed;
    }

    /// [`AesPath::name`], with `+vaes` where [`AesPath::wide`]: what start-up lines report.
    pub fn label(self) -> &'static str {
        if self.wide() {
            "aes-ni+vaes"
        } else {
            self.name()
        }
    }

    /// Short name for logs and reports.
    pub const fn name(self) -> &'static str {
        match self {
            AesPath::Hardware => "aes-ni",
            AesPath::Software => "soft",
        }
    }
}

impl fmt::Display for AesPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
