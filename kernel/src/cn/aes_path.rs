//! Which AES implementation the kernel runs: AES-NI when the CPU has it, a portable table round otherwise.

use std::fmt;

use crate::cpu::Cpu;

/// The AES backend a hasher is built for; chosen once, the whole hash loop is compiled for each.
/// [`Cpu::best_aes`] says which this CPU runs best.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AesPath {
    /// AES-NI (`aesenc`) with SSE2/SSE4.1 128-bit operations.
    Hardware,
    /// Portable T-table AES round: runs anywhere, roughly half the speed.
    Software,
}

impl AesPath {
    /// Whether hashers on this path built for [`Cpu::detect`] with nothing turned off run
    /// explode and implode on VAES ([`Cpu::wide`] for any other value).
    pub fn wide(self) -> bool {
        Cpu::detect().wide(self)
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
