//! `CnHasher`: one thread's scratchpads plus the kernel chosen for its algorithm, AES path and ways.

use super::aes_path::AesPath;
use super::algorithm::Algorithm;
use super::error::KernelError;
use super::kernel::{kernel, kernel_ways, Isa, KernelFn, Paths};
use super::random_math::RandomProgram;
use crate::cpu::Cpu;
use crate::memory::{PageKind, PagePolicy, Scratchpad};

/// Most hashes one hasher computes per call.
pub const MAX_WAYS: usize = 5;

/// A reusable hasher: allocate once per thread, hash many times.
pub struct CnHasher {
    algo: Algorithm,
    aes: AesPath,
    /// What the kernels may use on top of `aes`, from the CPU the hasher was built for.
    cpu: Cpu,
    paths: Paths,
    ways: usize,
    /// kernels[k - 1] hashes k inputs at once; batches are split into chunks of the widest.
    kernels: Vec<KernelFn>,
    memory: Scratchpad,
    pages: Vec<PageKind>,
    /// cn/r's program for the last height seen (regenerated when the height changes).
    program: Option<RandomProgram>,
}

impl std::fmt::Debug for CnHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CnHasher")
            .field("algo", &self.algo)
            .field("aes", &self.aes)
            .field("cpu", &self.cpu)
            .field("ways", &self.ways)
            .field("pages", &self.pages)
            .finish()
    }
}

impl CnHasher {
    /// Builds a hasher for `ways` (1..=5) hashes per call, mapping its scratchpads per `policy`,
    /// on everything this CPU runs ([`Cpu::detect`]).
    pub fn new(
        algo: Algorithm,
        aes: AesPath,
        ways: usize,
        policy: PagePolicy,
    ) -> Result<Self, KernelError> {
        Self::with_cpu(Cpu::detect(), algo, aes, ways, policy)
    }

    /// As [`CnHasher::new`], on what `cpu` says: a value with a path turned off (`--no-vaes`, a
    /// test of the loop a CPU without AVX runs) keeps the hasher off it. `cpu` may not claim a
    /// feature this CPU lacks.
    pub fn with_cpu(
        cpu: Cpu,
        algo: Algorithm,
        aes: AesPath,
        ways: usize,
        policy: PagePolicy,
    ) -> Result<Self, KernelError> {
        if !(1..=MAX_WAYS).contains(&ways) {
            return Err(KernelError::BadWays {
                got: ways,
                max: MAX_WAYS,
            });
        }
        if let Some(feature) = cpu.beyond(&Cpu::detect()) {
            return Err(KernelError::CpuLacks(feature));
        }
        if aes == AesPath::Hardware && !cpu.aes_ni() {
            return Err(KernelError::AesUnavailable);
        }
        let widest = kernel_ways(algo).min(ways);
        let isa = Isa::on(&cpu, aes);
        let kernels = (1..=widest)
            .map(|w| kernel(algo, isa, w).ok_or(KernelError::AesUnavailable))
            .collect::<Result<Vec<_>, _>>()?;
        let memory = Scratchpad::new(ways * algo.scratchpad_bytes(), policy)?;
        let pages = vec![memory.kind(); ways];
        Ok(Self {
            algo,
            aes,
            cpu,
            paths: Paths::on(&cpu, aes),
            ways,
            kernels,
            memory,
            pages,
            program: None,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algo
    }

    pub fn aes(&self) -> AesPath {
        self.aes
    }

    /// The CPU the kernels were chosen for.
    pub fn cpu(&self) -> Cpu {
        self.cpu
    }

    /// The path as start-up lines and self-test errors name it (`aes-ni+vaes`, `aes-ni`, `soft`).
    pub fn label(&self) -> &'static str {
        self.cpu.label(self.aes)
    }

    pub fn ways(&self) -> usize {
        self.ways
    }

    /// What backs each scratchpad (one entry per way).
    pub fn pages(&self) -> &[PageKind] {
        &self.pages
    }

    /// Hashes one input (the first way's scratchpad). `height` matters only for cn/r; pass 0 otherwise.
    pub fn hash(&mut self, input: &[u8], height: u64) -> Result<[u8; 32], KernelError> {
        let mut out = [[0u8; 32]];
        self.run(&[input], height, &mut out)?;
        Ok(out[0])
    }

    /// Hashes exactly `ways` inputs into `out` (also `ways` long), interleaved.
    pub fn hash_ways(
        &mut self,
        inputs: &[&[u8]],
        height: u64,
        out: &mut [[u8; 32]],
    ) -> Result<(), KernelError> {
        if inputs.len() != self.ways || out.len() != self.ways {
            return Err(KernelError::WaysMismatch {
                ways: self.ways,
                inputs: inputs.len(),
                outputs: out.len(),
            });
        }
        self.run(inputs, height, out)
    }

    fn check(&self, input: &[u8]) -> Result<(), KernelError> {
        let (algo, len) = (self.algo, input.len());
        if len < algo.min_input_len() {
            return Err(KernelError::InputTooShort {
                algo,
                len,
                min: algo.min_input_len(),
            });
        }
        if len > algo.max_input_len() {
            return Err(KernelError::InputTooLong {
                algo,
                len,
                max: algo.max_input_len(),
            });
        }
        Ok(())
    }

    fn run(
        &mut self,
        inputs: &[&[u8]],
        height: u64,
        out: &mut [[u8; 32]],
    ) -> Result<(), KernelError> {
        for input in inputs {
            self.check(input)?;
        }
        let program = if self.algo.needs_height() {
            if height == 0 {
                return Err(KernelError::MissingHeight(self.algo));
            }
            match self.program.take() {
                Some(p) if p.height() == height => p,
                _ => RandomProgram::for_height(height),
            }
        } else {
            RandomProgram::none()
        };
        let bytes = self.algo.scratchpad_bytes();
        let base = self.memory.as_mut_ptr();
        let mut done = 0;
        while done < inputs.len() {
            let k = self.kernels.len().min(inputs.len() - done);
            let kernel = self.kernels[k - 1];
            // SAFETY: k entries of inputs/out from `done` on, and k consecutive scratchpads from
            // way `done`'s: way i's is bytes [i * bytes, (i + 1) * bytes) of our mapping, which
            // holds `self.ways` of them, and `done + k <= inputs.len() <= self.ways`. They are
            // sized for the algorithm and page aligned; the hardware kernel and `paths` exist
            // only after `with_cpu` checked the CPU.
            unsafe {
                kernel(
                    &inputs[done..done + k],
                    base.add(done * bytes),
                    &program,
                    &mut out[done..done + k],
                    self.paths,
                )
            };
            done += k;
        }
        if self.algo.needs_height() {
            self.program = Some(program);
        }
        Ok(())
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
impl CnHasher {
    /// This software hasher on the plain-word loop (`portable_kernel`) instead of the SSE2 one.
    pub(crate) fn with_portable_loop(mut self) -> Self {
        assert_eq!(self.aes, AesPath::Software);
        self.kernels = (1..=self.kernels.len())
            .map(|w| super::kernel::portable_kernel(self.algo, w).expect("a plain kernel"))
            .collect();
        self
    }
}

/// One-shot hash: allocates a one-way hasher (default page policy), hashes, frees.
pub fn hash(
    algo: Algorithm,
    aes: AesPath,
    input: &[u8],
    height: u64,
) -> Result<[u8; 32], KernelError> {
    CnHasher::new(algo, aes, 1, PagePolicy::default())?.hash(input, height)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cn::MAX_INPUT_LEN;

    fn soft(algo: Algorithm, ways: usize) -> CnHasher {
        CnHasher::new(algo, AesPath::Software, ways, PagePolicy::normal_only()).expect("hasher")
    }

    #[test]
    fn bad_ways_are_refused() {
        for ways in [0, MAX_WAYS + 1] {
            let e = CnHasher::new(
                Algorithm::Cn0,
                AesPath::Software,
                ways,
                PagePolicy::normal_only(),
            );
            assert!(matches!(e, Err(KernelError::BadWays { got, .. }) if got == ways));
        }
    }

    #[test]
    fn bad_inputs_are_errors_not_panics() {
        let mut h = soft(Algorithm::Cn1, 1);
        assert!(matches!(
            h.hash(&[0u8; 42], 0),
            Err(KernelError::InputTooShort {
                len: 42,
                min: 43,
                ..
            })
        ));
        assert!(matches!(
            h.hash(&[0u8; MAX_INPUT_LEN + 1], 0),
            Err(KernelError::InputTooLong { .. })
        ));
        let mut r = soft(Algorithm::CnR, 1);
        assert!(matches!(
            r.hash(b"x", 0),
            Err(KernelError::MissingHeight(Algorithm::CnR))
        ));
        let mut two = soft(Algorithm::CnUpx2, 2);
        let mut out = [[0u8; 32]; 2];
        assert!(matches!(
            two.hash_ways(&[b"a"], 0, &mut out),
            Err(KernelError::WaysMismatch { .. })
        ));
        assert!(matches!(
            two.hash_ways(&[b"a", b"b"], 0, &mut out[..1]),
            Err(KernelError::WaysMismatch { .. })
        ));
    }

    #[test]
    fn batches_wider_than_the_kernel_equal_single_hashes() {
        // cn/half interleaves at most 2, so 3 ways run as 2 + 1.
        let inputs: [&[u8]; 3] = [b"first input", b"second", b"the third one"];
        let mut many = soft(Algorithm::CnHalf, 3);
        assert_eq!(many.pages().len(), 3);
        let mut out = [[0u8; 32]; 3];
        many.hash_ways(&inputs, 0, &mut out).unwrap();
        let mut one = soft(Algorithm::CnHalf, 1);
        for (input, got) in inputs.iter().zip(&out) {
            assert_eq!(&one.hash(input, 0).unwrap(), got);
        }
    }

    #[test]
    fn hardware_is_refused_only_when_missing() {
        let cpu = Cpu::detect();
        let hw = |cpu| {
            CnHasher::with_cpu(
                cpu,
                Algorithm::CnUpx2,
                AesPath::Hardware,
                1,
                PagePolicy::normal_only(),
            )
        };
        assert_eq!(hw(cpu).is_ok(), cpu.aes_ni());
        let no_aes = Cpu { aes: false, ..cpu };
        assert!(matches!(hw(no_aes), Err(KernelError::AesUnavailable)));
        // The software path never takes VAES but is bitsliced where the CPU has SSSE3; the
        // label says which.
        let soft = |cpu| {
            CnHasher::with_cpu(
                cpu,
                Algorithm::CnUpx2,
                AesPath::Software,
                1,
                Default::default(),
            )
            .expect("soft")
        };
        assert_eq!(soft(cpu).label().starts_with("soft+bitslice"), cpu.ssse3);
        assert_eq!(
            soft(Cpu {
                ssse3: false,
                ..cpu
            })
            .label(),
            "soft"
        );
        if let Ok(h) = hw(cpu) {
            assert_eq!(h.label().starts_with("aes-ni+vaes"), cpu.vaes_fill());
            assert_eq!(h.label().ends_with("+avx512"), cpu.evex_loop());
            assert_eq!(hw(cpu.with_vaes(false)).expect("hw").label(), "aes-ni");
        }
    }

    #[test]
    fn a_cpu_value_cannot_claim_what_this_cpu_lacks() {
        let real = Cpu::detect();
        let more = Cpu {
            window: real.window,
            ..Cpu::every_path()
        };
        let r = CnHasher::with_cpu(
            more,
            Algorithm::Cn0,
            AesPath::Hardware,
            1,
            Default::default(),
        );
        match more.beyond(&real) {
            None => assert!(r.is_ok()),
            Some(feature) => assert!(
                matches!(r, Err(KernelError::CpuLacks(f)) if f == feature),
                "{r:?}"
            ),
        }
    }

    /// x86-64 mines the software path on SSE2 registers (`soft_sse`) but for variant 1; the
    /// plain-word loop other targets mine with must give the same hashes, so it is checked here
    /// against it (and the vectors check the SSE2 one), one and two ways, cn/r at two heights.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_plain_word_loop_hashes_as_the_sse2_loop_does() {
        for algo in Algorithm::ALL {
            for ways in 1..=kernel_ways(algo).min(2) {
                let mut sse = soft(algo, ways);
                let mut plain = soft(algo, ways).with_portable_loop();
                let heights: &[u64] = if algo.needs_height() {
                    &[1_806_260, 3_000_017]
                } else {
                    &[0]
                };
                for &height in heights {
                    let inputs: Vec<Vec<u8>> = (0..ways as u8)
                        .map(|w| (0..76u8).map(|i| i.wrapping_mul(31) ^ w).collect())
                        .collect();
                    let batch: Vec<&[u8]> = inputs.iter().map(|v| &v[..]).collect();
                    let (mut a, mut b) = (vec![[0u8; 32]; ways], vec![[0u8; 32]; ways]);
                    sse.hash_ways(&batch, height, &mut a).expect("hash");
                    plain.hash_ways(&batch, height, &mut b).expect("hash");
                    assert_eq!(a, b, "{algo} x{ways} at {height}");
                }
            }
        }
    }
}
