//! Start-up self-test: a worker hashes a known vector on its exact path before it may mine.

use crate::cn::{Algorithm, CnHasher};

/// The public CryptoNight vectors, embedded so the agent can check itself on a card with no files.
const VECTORS: &str = include_str!("../../testdata/cryptonight.txt");

/// One line of `testdata/cryptonight.txt`: `ALGO INPUT_HEX EXPECTED_HEX [HEIGHT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vector {
    pub algo: Algorithm,
    pub input: Vec<u8>,
    pub expected: [u8; 32],
    pub height: u64,
}

/// Parses vector lines; comments and blank lines are skipped, a bad line is an error naming it.
pub fn parse_vectors(text: &str) -> Result<Vec<Vector>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |why: &str| format!("vector line {}: {why}", n + 1);
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            return Err(bad("expected ALGO INPUT EXPECTED [HEIGHT]"));
        }
        let algo: Algorithm = f[0].parse().map_err(|_| bad("unknown algorithm"))?;
        let input = if f[1] == "-" {
            Vec::new()
        } else {
            hex::decode(f[1]).map_err(|_| bad("input is not hex"))?
        };
        let expected: [u8; 32] = hex::decode(f[2])
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| bad("expected hash is not 32 bytes of hex"))?;
        let height = match f.get(3) {
            Some(h) => h.parse().map_err(|_| bad("height is not a number"))?,
            None => 0,
        };
        out.push(Vector {
            algo,
            input,
            expected,
            height,
        });
    }
    Ok(out)
}

/// The embedded vectors.
pub fn embedded_vectors() -> Vec<Vector> {
    // The file is part of the crate; a parse failure is a build defect caught by the tests below.
    parse_vectors(VECTORS).unwrap_or_default()
}

/// Why a path may not mine.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SelfTestError {
    #[error("no test vector for {0}")]
    NoVector(Algorithm),
    #[error("{algo} on {aes} ×{ways}: hash {way} of the batch came out {got}, expected {want}")]
    Mismatch {
        algo: Algorithm,
        aes: &'static str,
        ways: usize,
        way: usize,
        got: String,
        want: String,
    },
    #[error("{algo} on {aes} ×{ways}: {error}")]
    Kernel {
        algo: Algorithm,
        aes: &'static str,
        ways: usize,
        error: String,
    },
}

/// Runs the first vector of the hasher's algorithm through every lane of the hasher's own path.
pub fn self_test(hasher: &mut CnHasher) -> Result<(), SelfTestError> {
    let algo = hasher.algorithm();
    let ways = hasher.ways();
    let aes = hasher.label();
    let v = embedded_vectors()
        .into_iter()
        .find(|v| v.algo == algo)
        .ok_or(SelfTestError::NoVector(algo))?;
    let inputs: Vec<&[u8]> = vec![&v.input; ways];
    let mut out = vec![[0u8; 32]; ways];
    hasher
        .hash_ways(&inputs, v.height, &mut out)
        .map_err(|e| SelfTestError::Kernel {
            algo,
            aes,
            ways,
            error: e.to_string(),
        })?;
    for (way, got) in out.iter().enumerate() {
        if *got != v.expected {
            return Err(SelfTestError::Mismatch {
                algo,
                aes,
                ways,
                way,
                got: hex::encode(got),
                want: hex::encode(v.expected),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_vectors_cover_every_algorithm() {
        let v = parse_vectors(VECTORS).expect("embedded vectors parse");
        assert_eq!(v.len(), 105);
        for algo in Algorithm::ALL {
            assert!(v.iter().any(|x| x.algo == algo), "no vector for {algo}");
        }
        assert!(v
            .iter()
            .filter(|x| x.algo.needs_height())
            .all(|x| x.height > 0));
    }

    #[test]
    fn a_soft_hasher_tests_its_own_fill() {
        use crate::cn::AesPath;
        use crate::cpu::Cpu;
        use crate::memory::PagePolicy;
        let cpu = Cpu::detect();
        // The fill this CPU runs (bitsliced where it has SSSE3, two ways at once where AVX2), one
        // way at a time, and the tables throughout: the hasher's label names each.
        for cpu in [
            cpu,
            Cpu { avx2: false, ..cpu },
            Cpu {
                ssse3: false,
                ..cpu
            },
        ] {
            let mut h = CnHasher::with_cpu(
                cpu,
                Algorithm::Cn0,
                AesPath::Software,
                2,
                PagePolicy::normal_only(),
            )
            .expect("hasher");
            assert_eq!(h.label(), cpu.label(AesPath::Software));
            assert_eq!(self_test(&mut h), Ok(()), "{}", h.label());
        }
    }

    #[test]
    fn bad_lines_are_named() {
        assert!(parse_vectors("cn/0 zz 00").unwrap_err().contains("line 1"));
        assert!(parse_vectors("\n# c\ncn/nope 00 00")
            .unwrap_err()
            .contains("line 3"));
        assert!(parse_vectors("cn/0 00 0011")
            .unwrap_err()
            .contains("32 bytes"));
    }
}
