//! How RandomX runs here: JIT or interpreter, AES path, huge pages, full or light mode.

use std::ffi::c_int;

use crate::ffi;

/// Full mode reads a 2 GiB dataset (fast); light mode computes items from the 256 MiB cache
/// (about 10 to 30 times slower, for verifiers and cards short of memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Full when the machine has the memory free, else light (said at start-up).
    #[default]
    Auto,
    Full,
    Light,
}

/// The word `--rx-mode` takes.
impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Auto => "auto",
            Mode::Full => "full",
            Mode::Light => "light",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxOptions {
    pub mode: Mode,
    /// Compiled programs; `false` runs the portable interpreter.
    pub jit: bool,
    /// AES-NI; `false` runs software AES.
    pub hard_aes: bool,
    /// Try huge pages for dataset, cache and scratchpads before normal ones.
    pub huge_pages: bool,
    /// Threads that build a dataset; 0 means one per online CPU.
    pub init_threads: usize,
}

impl Default for RxOptions {
    fn default() -> Self {
        RxOptions {
            mode: Mode::Auto,
            jit: true,
            hard_aes: true,
            huge_pages: true,
            init_threads: 0,
        }
    }
}

impl RxOptions {
    /// Light mode with what this CPU supports: what a share verifier uses.
    pub fn light() -> Self {
        RxOptions {
            mode: Mode::Light,
            ..RxOptions::default()
        }
    }

    /// The library's recommended flags (what the CPU has), minus what these options turn off.
    pub(crate) fn base_flags(&self) -> c_int {
        // SAFETY: a pure query of CPU features.
        let mut flags = unsafe { ffi::randomx_get_flags() };
        if !self.jit {
            flags &= !ffi::FLAG_JIT;
        }
        if !self.hard_aes {
            flags &= !ffi::FLAG_HARD_AES;
        }
        flags
    }

    /// The `jit`/`interpreter` and `aes-ni`/`soft-aes` words reports use.
    pub fn path_name(&self) -> String {
        let flags = self.base_flags();
        let exec = if flags & ffi::FLAG_JIT != 0 {
            "jit"
        } else {
            "interpreter"
        };
        let aes = if flags & ffi::FLAG_HARD_AES != 0 {
            "aes-ni"
        } else {
            "soft-aes"
        };
        let argon = if flags & ffi::FLAG_ARGON2_AVX2 != 0 {
            " argon2-avx2"
        } else if flags & ffi::FLAG_ARGON2_SSSE3 != 0 {
            " argon2-ssse3"
        } else {
            ""
        };
        format!("{exec} {aes}{argon}")
    }

    pub(crate) fn threads(&self) -> usize {
        if self.init_threads > 0 {
            self.init_threads
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }
}
