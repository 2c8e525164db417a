//! What this CPU can run, read once: the only place the kernel asks CPUID or feature detection.
//!
//! A hasher carries a [`Cpu`] and chooses its kernels from it, so a test (or `--no-vaes`) hands
//! over a value with a path turned off instead of flipping a process-wide switch.

use std::sync::OnceLock;

use crate::cn::{AesPath, CoreWindow};

/// The CPU features the kernels use, and the core's window class.
///
/// SSE2 is not listed: it is part of x86-64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cpu {
    /// AES-NI (`aesenc`).
    pub aes: bool,
    /// SSE4.1, which the AES-NI kernels are compiled for.
    pub sse41: bool,
    /// SSSE3, for variant 1's `pshufb` tweak, and the software path's bitsliced explode and
    /// implode (a value without it keeps a software hasher on the tables throughout).
    pub ssse3: bool,
    /// AVX: the assembly main loops use its three-operand VEX forms.
    pub avx: bool,
    /// AVX2, for the 256-bit explode and implode.
    pub avx2: bool,
    /// VAES: two AES blocks per `vaesenc` in explode and implode.
    pub vaes: bool,
    /// AVX-512F and AVX-512VL: with VAES and AVX, the AES-NI kernels' compiled loop is built for
    /// EVEX, whose 32 vector registers keep more of four or five ways out of the stack.
    pub avx512: bool,
    /// How many interleaved hashes the core's out-of-order window pays for.
    pub window: CoreWindow,
}

impl Cpu {
    /// This CPU, read once per process.
    pub fn detect() -> Cpu {
        static DETECTED: OnceLock<Cpu> = OnceLock::new();
        *DETECTED.get_or_init(read)
    }

    /// The same CPU with VAES only where `allowed` (`--no-vaes`, `"cpu": {"vaes": false}` say
    /// no): explode and implode then stay on AES-NI, and the loop off EVEX (its `vaesenc` on
    /// xmm16–31 is a VAES instruction), bit for bit the same result.
    pub fn with_vaes(self, allowed: bool) -> Cpu {
        Cpu {
            vaes: self.vaes && allowed,
            ..self
        }
    }

    /// Whether the AES-NI kernels can run.
    pub fn aes_ni(&self) -> bool {
        self.aes && self.sse41 && self.ssse3
    }

    /// Whether the hand-written main loops can run (AES-NI kernels plus AVX).
    pub fn asm_loops(&self) -> bool {
        self.aes_ni() && self.avx
    }

    /// Whether explode and implode can run on VAES.
    pub fn vaes_fill(&self) -> bool {
        self.aes_ni() && self.avx2 && self.vaes
    }

    /// Whether the AES-NI kernels can be compiled for EVEX (AVX-512VL, with VAES for `vaesenc`
    /// on the upper sixteen registers).
    pub fn evex_loop(&self) -> bool {
        self.vaes_fill() && self.avx && self.avx512
    }

    /// Whether the software path's explode and implode can run bitsliced (`pshufb` for ShiftRows
    /// and MixColumns).
    pub fn bitslice_fill(&self) -> bool {
        self.ssse3
    }

    /// Whether the bitsliced fill can take two ways at once, one per 128-bit lane (AVX2).
    pub fn bitslice_pairs(&self) -> bool {
        self.bitslice_fill() && self.avx2
    }

    /// The fastest AES path here.
    pub fn best_aes(&self) -> AesPath {
        if self.aes_ni() {
            AesPath::Hardware
        } else {
            AesPath::Software
        }
    }

    /// Whether hashers on `aes` run explode and implode on VAES here.
    pub fn wide(&self, aes: AesPath) -> bool {
        aes == AesPath::Hardware && self.vaes_fill()
    }

    /// [`AesPath::name`], with `+vaes` where [`Cpu::wide`], `+avx512` where [`Cpu::evex_loop`]
    /// too, `+bitslice` where the software path's explode and implode run bitsliced and `+avx2`
    /// where two ways at once: what start-up lines and self-test errors report.
    pub fn label(&self, aes: AesPath) -> &'static str {
        match aes {
            AesPath::Hardware if self.evex_loop() => "aes-ni+vaes+avx512",
            AesPath::Hardware if self.wide(aes) => "aes-ni+vaes",
            AesPath::Software if self.bitslice_pairs() => "soft+bitslice+avx2",
            AesPath::Software if self.bitslice_fill() => "soft+bitslice",
            _ => aes.name(),
        }
    }

    /// The first feature `self` claims that `real` lacks: a value may turn paths off, never on.
    pub(crate) fn beyond(&self, real: &Cpu) -> Option<&'static str> {
        [
            (self.aes, real.aes, "aes"),
            (self.sse41, real.sse41, "sse4.1"),
            (self.ssse3, real.ssse3, "ssse3"),
            (self.avx, real.avx, "avx"),
            (self.avx2, real.avx2, "avx2"),
            (self.vaes, real.vaes, "vaes"),
            (self.avx512, real.avx512, "avx512"),
        ]
        .into_iter()
        .find(|&(claimed, has, _)| claimed && !has)
        .map(|(_, _, name)| name)
    }
}

#[cfg(test)]
impl Cpu {
    /// A CPU value with every feature the kernels use, in the standard class: what tests turn
    /// paths off from.
    pub(crate) fn every_path() -> Cpu {
        Cpu {
            aes: true,
            sse41: true,
            ssse3: true,
            avx: true,
            avx2: true,
            vaes: true,
            avx512: true,
            window: CoreWindow::Standard,
        }
    }
}

/// A path of the kernel that only some CPUs run, as `PHIRIG_EXPECT_CPU` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuPath {
    /// `aes`: the AES-NI kernels.
    Aes,
    /// `avx`: the hand-written main loops.
    Avx,
    /// `vaes`: explode and implode on VAES.
    Vaes,
    /// `ssse3`: the software path's bitsliced explode and implode.
    Ssse3,
    /// `avx2`: the bitsliced fill two ways at once.
    Avx2,
    /// `avx512`: the AES-NI kernels compiled for EVEX.
    Avx512,
}

impl CpuPath {
    /// Every path, in the order `PHIRIG_EXPECT_CPU`'s documentation lists them.
    pub const ALL: [CpuPath; 6] = [
        CpuPath::Aes,
        CpuPath::Avx,
        CpuPath::Vaes,
        CpuPath::Ssse3,
        CpuPath::Avx2,
        CpuPath::Avx512,
    ];

    /// The name `PHIRIG_EXPECT_CPU` lists it by.
    pub const fn name(self) -> &'static str {
        match self {
            CpuPath::Aes => "aes",
            CpuPath::Avx => "avx",
            CpuPath::Vaes => "vaes",
            CpuPath::Ssse3 => "ssse3",
            CpuPath::Avx2 => "avx2",
            CpuPath::Avx512 => "avx512",
        }
    }

    /// Whether `cpu` runs this path.
    pub fn runs_on(self, cpu: &Cpu) -> bool {
        match self {
            CpuPath::Aes => cpu.aes_ni(),
            CpuPath::Avx => cpu.asm_loops(),
            CpuPath::Vaes => cpu.vaes_fill(),
            CpuPath::Ssse3 => cpu.bitslice_fill(),
            CpuPath::Avx2 => cpu.bitslice_pairs(),
            CpuPath::Avx512 => cpu.evex_loop(),
        }
    }
}

/// The environment variable CI sets to the paths a run must exercise: a comma list of `aes`,
/// `avx`, `vaes`, `ssse3`, `avx2` and `avx512`.
pub const EXPECT_CPU_VAR: &str = "PHIRIG_EXPECT_CPU";

/// Why [`EXPECT_CPU_VAR`] could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExpectError {
    #[error("{EXPECT_CPU_VAR} is not UTF-8")]
    NotUtf8,
    #[error("{EXPECT_CPU_VAR}: unknown path {0:?} (aes, avx, vaes, ssse3, avx2, avx512)")]
    Unknown(String),
}

/// The paths [`EXPECT_CPU_VAR`] lists; a name it does not know is an error, so a typo cannot
/// let a test skip.
pub fn expected_paths() -> Result<Vec<CpuPath>, ExpectError> {
    match std::env::var_os(EXPECT_CPU_VAR) {
        None => Ok(Vec::new()),
        Some(list) => parse_paths(list.to_str().ok_or(ExpectError::NotUtf8)?),
    }
}

/// A comma list of path names, as [`EXPECT_CPU_VAR`] holds it.
fn parse_paths(list: &str) -> Result<Vec<CpuPath>, ExpectError> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|name| {
            CpuPath::ALL
                .into_iter()
                .find(|p| p.name() == name)
                .ok_or_else(|| ExpectError::Unknown(name.to_string()))
        })
        .collect()
}

/// For tests that need `path`: true where this CPU runs it; where it does not, a panic if
/// [`EXPECT_CPU_VAR`] lists the path (the run was meant to cover it), else a note and false.
pub fn test_can_run(path: CpuPath) -> bool {
    // Read first, so a typo in the list fails on every CPU, not only on one that lacks a path.
    let expected = expected_paths().unwrap_or_else(|e| panic!("{e}"));
    runs_or_was_not_expected(path, &Cpu::detect(), &expected)
}

/// [`test_can_run`] on a given CPU and list.
fn runs_or_was_not_expected(path: CpuPath, cpu: &Cpu, expected: &[CpuPath]) -> bool {
    if path.runs_on(cpu) {
        return true;
    }
    assert!(
        !expected.contains(&path),
        "{EXPECT_CPU_VAR} lists {} but this CPU does not run that path",
        path.name()
    );
    eprintln!("skipped: this CPU does not run the {} path", path.name());
    false
}

#[cfg(target_arch = "x86_64")]
fn read() -> Cpu {
    use std::arch::is_x86_feature_detected as has;
    Cpu {
        aes: has!("aes"),
        sse41: has!("sse4.1"),
        ssse3: has!("ssse3"),
        avx: has!("avx"),
        avx2: has!("avx2"),
        vaes: has!("vaes"),
        avx512: has!("avx512f") && has!("avx512vl"),
        window: window(has!("avx512f")),
    }
}

#[cfg(not(target_arch = "x86_64"))]
fn read() -> Cpu {
    Cpu {
        aes: false,
        sse41: false,
        ssse3: false,
        avx: false,
        avx2: false,
        vaes: false,
        avx512: false,
        window: window(false),
    }
}

/// The core class from CPUID's vendor and family and whether it has AVX-512F;
/// [`CoreWindow::Standard`] where CPUID says nothing.
fn window(avx512: bool) -> CoreWindow {
    cpu_identity().map_or(CoreWindow::Standard, |(vendor, family)| {
        CoreWindow::from_cpuid(&vendor, family, avx512)
    })
}

/// CPUID's vendor string (leaf 0) and display family (leaf 1).
#[cfg(target_arch = "x86_64")]
fn cpu_identity() -> Option<([u8; 12], u32)> {
    use core::arch::x86_64::__cpuid;
    // SAFETY: CPUID exists on every x86-64 CPU, and leaf 0 always does.
    #[allow(unused_unsafe)]
    let leaf0 = unsafe { __cpuid(0) };
    if leaf0.eax < 1 {
        return None;
    }
    // SAFETY: leaf 0 said leaf 1 exists.
    #[allow(unused_unsafe)]
    let leaf1 = unsafe { __cpuid(1) };
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
    fn this_cpu_matches_proc_cpuinfo() {
        // Linux reads the same CPUID fields; a disagreement means the decoding is wrong.
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
        let (Some(vendor), Some(family), Some(flags)) =
            (field("vendor_id"), field("cpu family"), field("flags"))
        else {
            println!("note: /proc/cpuinfo has no vendor_id/cpu family/flags (not x86?)");
            return;
        };
        let family: u32 = family.parse().expect("cpu family is a number");
        let Some((v, f)) = cpu_identity() else {
            panic!("CPUID gave nothing on a CPU that /proc/cpuinfo calls {vendor} family {family}");
        };
        assert_eq!(String::from_utf8_lossy(&v), vendor);
        assert_eq!(f, family);
        let flag = |name: &str| flags.split_whitespace().any(|f| f == name);
        let cpu = Cpu::detect();
        let rows = [
            (cpu.aes, "aes"),
            (cpu.sse41, "sse4_1"),
            (cpu.ssse3, "ssse3"),
            (cpu.avx, "avx"),
            (cpu.avx2, "avx2"),
            (cpu.vaes, "vaes"),
        ];
        for (detected, name) in rows {
            assert_eq!(detected, flag(name), "{name}");
        }
        assert_eq!(cpu.avx512, flag("avx512f") && flag("avx512vl"), "avx512");
    }

    #[test]
    fn a_value_may_turn_paths_off_but_never_on() {
        let all = Cpu::every_path();
        let no_vaes = all.with_vaes(false);
        assert_eq!(no_vaes.with_vaes(true), no_vaes);
        assert_eq!(all.with_vaes(true), all);
        assert_eq!(no_vaes.beyond(&all), None);
        assert_eq!(all.beyond(&no_vaes), Some("vaes"));
        assert_eq!(Cpu { avx: false, ..all }.beyond(&all), None);
        assert_eq!(all.beyond(&Cpu { aes: false, ..all }), Some("aes"));
    }

    #[test]
    fn the_expect_list_names_paths_and_refuses_typos() {
        use CpuPath::{Aes, Avx, Vaes};
        assert_eq!(parse_paths(""), Ok(vec![]));
        for path in CpuPath::ALL {
            assert_eq!(parse_paths(path.name()), Ok(vec![path]));
        }
        assert_eq!(parse_paths("aes,avx,vaes"), Ok(vec![Aes, Avx, Vaes]));
        assert_eq!(parse_paths(" vaes , aes,"), Ok(vec![Vaes, Aes]));
        assert_eq!(
            parse_paths("aes,vase"),
            Err(ExpectError::Unknown("vase".into()))
        );
    }

    #[test]
    fn a_missing_path_skips_unless_it_was_expected() {
        let no_vaes = Cpu {
            vaes: false,
            ..Cpu::detect()
        };
        assert!(!runs_or_was_not_expected(
            CpuPath::Vaes,
            &no_vaes,
            &[CpuPath::Aes]
        ));
        let expected = [CpuPath::Vaes];
        let failed = std::panic::catch_unwind(|| {
            runs_or_was_not_expected(CpuPath::Vaes, &no_vaes, &expected)
        });
        assert!(failed.is_err(), "an expected path may not skip");
    }

    #[test]
    fn paths_and_labels_follow_the_features() {
        let all = Cpu::every_path();
        assert_eq!(all.label(AesPath::Hardware), "aes-ni+vaes+avx512");
        let no_avx512 = Cpu {
            avx512: false,
            ..all
        };
        assert_eq!(no_avx512.label(AesPath::Hardware), "aes-ni+vaes");
        // EVEX's `vaesenc` on the upper registers is VAES: no VAES, no EVEX loop.
        assert!(!all.with_vaes(false).evex_loop());
        assert_eq!(all.label(AesPath::Software), "soft+bitslice+avx2");
        let no_avx2 = Cpu { avx2: false, ..all };
        assert_eq!(no_avx2.label(AesPath::Software), "soft+bitslice");
        assert_eq!(
            Cpu {
                ssse3: false,
                ..all
            }
            .label(AesPath::Software),
            "soft"
        );
        assert_eq!(all.with_vaes(false).label(AesPath::Hardware), "aes-ni");
        assert!(CpuPath::Avx.runs_on(&all));
        assert!(!CpuPath::Avx.runs_on(&Cpu { avx: false, ..all }));
        assert!(!CpuPath::Vaes.runs_on(&Cpu { avx2: false, ..all }));
        assert!(CpuPath::Avx512.runs_on(&all));
        assert!(!CpuPath::Avx512.runs_on(&no_avx512));
        let no_aes = Cpu { aes: false, ..all };
        assert_eq!(no_aes.best_aes(), AesPath::Software);
        // Without AES-NI no other path runs, whatever else the CPU has.
        for path in [CpuPath::Aes, CpuPath::Avx, CpuPath::Vaes, CpuPath::Avx512] {
            assert!(!path.runs_on(&no_aes), "{}", path.name());
        }
    }
}
