//! Every published CryptoNight vector, on every kernel path this CPU runs, for 1, 2 and 3 ways and the widest kernel.

use phirig_kernel::cn::{interleave_limit, keccak256, AesPath, Algorithm, CnHasher};
use phirig_kernel::cpu::{test_can_run, Cpu, CpuPath};
use phirig_kernel::memory::PagePolicy;

const CRYPTONIGHT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/cryptonight.txt"
));
const MONERO_SLOW: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/monero-slow-hash.txt"
));
const MONERO_KECCAK: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/monero-keccak.txt"
));

#[derive(Debug, Clone)]
struct Vector {
    algo: Algorithm,
    input: Vec<u8>,
    expected: [u8; 32],
    height: u64,
    line: usize,
}

/// `ALGO INPUT_HEX|- EXPECTED_HEX [HEIGHT]` lines; `#` comments and blank lines skipped.
fn parse(text: &str) -> Vec<Vector> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        assert!(f.len() >= 3, "line {}: too few fields", n + 1);
        let algo: Algorithm = f[0]
            .parse()
            .unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let input = if f[1] == "-" {
            Vec::new()
        } else {
            hex::decode(f[1]).expect("input hex")
        };
        let expected = hex::decode(f[2])
            .expect("hash hex")
            .try_into()
            .expect("32-byte hash");
        let height = f.get(3).map_or(0, |h| h.parse().expect("height"));
        out.push(Vector {
            algo,
            input,
            expected,
            height,
            line: n + 1,
        });
    }
    out
}

/// The AES paths to check on this CPU as it is: AES-NI where it runs (a failure where
/// `PHIRIG_EXPECT_CPU` lists `aes` and it does not), and the portable one.
fn paths() -> Vec<AesPath> {
    if test_can_run(CpuPath::Aes) {
        vec![AesPath::Hardware, AesPath::Software]
    } else {
        vec![AesPath::Software]
    }
}

/// The CPUs the AES-NI kernels are checked on: this one, and this one with each faster path it
/// runs turned off in turn (what CPUs without AVX-512, without VAES or without AVX run).
fn hardware_cpus() -> Vec<Cpu> {
    let cpu = Cpu::detect();
    let mut cpus = vec![cpu];
    if test_can_run(CpuPath::Avx512) {
        cpus.push(Cpu {
            avx512: false,
            ..cpu
        });
    }
    if test_can_run(CpuPath::Vaes) {
        cpus.push(cpu.with_vaes(false));
    }
    if test_can_run(CpuPath::Avx) {
        cpus.push(Cpu { avx: false, ..cpu });
    }
    cpus
}

/// Ways to check for an algorithm: 1 and 2, 3 (the widest the assembly loops take) and the
/// widest the kernel interleaves.
fn ways_for(algo: Algorithm) -> Vec<usize> {
    let widest = interleave_limit(algo.scratchpad_bytes());
    let mut ways: Vec<usize> = [1, 2, 3, widest]
        .into_iter()
        .filter(|&w| w <= widest)
        .collect();
    ways.dedup();
    ways
}

/// Checks `vectors` (all of one algorithm) on `aes` as `cpu` runs it with `ways` lanes; each
/// vector lands in every lane position over the batches. Returns how many hashes were checked.
fn check(vectors: &[Vector], cpu: Cpu, aes: AesPath, ways: usize) -> usize {
    let algo = vectors[0].algo;
    let mut hasher =
        CnHasher::with_cpu(cpu, algo, aes, ways, PagePolicy::default()).expect("hasher");
    let path = format!("{} (avx {})", hasher.label(), cpu.avx);
    let mut checked = 0;
    // Batches go through the list cyclically; start offsets 0, ways, 2*ways, ... until every
    // vector has been hashed at least once. Heights differ per cn/r vector, so cn/r batches
    // repeat one vector in every lane.
    let same_height = !algo.needs_height();
    let mut start = 0;
    while start < vectors.len() {
        let batch: Vec<&Vector> = if same_height {
            (0..ways)
                .map(|i| &vectors[(start + i) % vectors.len()])
                .collect()
        } else {
            vec![&vectors[start]; ways]
        };
        let inputs: Vec<&[u8]> = batch.iter().map(|v| v.input.as_slice()).collect();
        let mut out = vec![[0u8; 32]; ways];
        if let Err(e) = hasher.hash_ways(&inputs, batch[0].height, &mut out) {
            panic!("{algo} {path} x{ways}: {e}");
        }
        for (lane, (v, got)) in batch.iter().zip(&out).enumerate() {
            assert_eq!(
                hex::encode(got),
                hex::encode(v.expected),
                "{algo} on {path} x{ways}, lane {lane}, vector at line {}",
                v.line
            );
            checked += 1;
        }
        start += if same_height { ways } else { 1 };
    }
    checked
}

fn check_file(text: &str, cpu: Cpu, aes: AesPath) -> usize {
    let vectors = parse(text);
    let mut checked = 0;
    for algo in Algorithm::ALL {
        let mine: Vec<Vector> = vectors.iter().filter(|v| v.algo == algo).cloned().collect();
        if mine.is_empty() {
            continue;
        }
        for ways in ways_for(algo) {
            checked += check(&mine, cpu, aes, ways);
        }
    }
    checked
}

#[test]
fn cryptonight_vectors_hardware_aes_vaes_and_assembly() {
    if !paths().contains(&AesPath::Hardware) {
        return;
    }
    for cpu in hardware_cpus() {
        let n = check_file(CRYPTONIGHT, cpu, AesPath::Hardware);
        println!(
            "{} (avx {}): {n} hashes matched",
            cpu.label(AesPath::Hardware),
            cpu.avx
        );
    }
}

/// The CPUs the software kernels are checked on: this one (explode and implode bitsliced where it
/// has SSSE3, two ways at once where AVX2), without AVX2 (one way at a time) and without SSSE3
/// (the tables throughout).
fn software_cpus() -> Vec<Cpu> {
    let cpu = Cpu::detect();
    // A run that lists these paths fails here where the CPU lacks them, rather than skipping.
    test_can_run(CpuPath::Ssse3);
    test_can_run(CpuPath::Avx2);
    let mut cpus = vec![cpu];
    for other in [
        Cpu { avx2: false, ..cpu },
        Cpu {
            ssse3: false,
            ..cpu
        },
    ] {
        if !cpus
            .iter()
            .any(|c| c.label(AesPath::Software) == other.label(AesPath::Software))
        {
            cpus.push(other);
        }
    }
    cpus
}

#[test]
fn cryptonight_vectors_software_aes_bitsliced_and_tables() {
    for cpu in software_cpus() {
        let n = check_file(CRYPTONIGHT, cpu, AesPath::Software);
        println!("{}: {n} hashes matched", cpu.label(AesPath::Software));
    }
}

#[test]
fn cryptonight_file_covers_every_algorithm() {
    let v = parse(CRYPTONIGHT);
    assert_eq!(v.len(), 105);
    for algo in Algorithm::ALL {
        assert!(v.iter().any(|x| x.algo == algo), "no vector for {algo}");
    }
}

#[test]
fn monero_slow_hash_vectors() {
    for aes in paths() {
        let cpus = match aes {
            AesPath::Hardware => vec![Cpu::detect()],
            AesPath::Software => software_cpus(),
        };
        for cpu in cpus {
            let n = check_file(MONERO_SLOW, cpu, aes);
            println!("monero slow-hash on {}: {n} hashes matched", cpu.label(aes));
        }
    }
}

#[test]
fn monero_keccak_vectors() {
    let mut n = 0;
    for line in MONERO_KECCAK
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let f: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(f[0], "keccak");
        let input = if f[1] == "-" {
            Vec::new()
        } else {
            hex::decode(f[1]).expect("hex")
        };
        assert_eq!(hex::encode(keccak256(&input)), f[2], "input {}", f[1]);
        n += 1;
    }
    assert!(n > 300, "only {n} keccak vectors");
}
