//! Test oracle only: a slow, simple, self-contained cn/r hasher that checks the generator and the
//! executor end to end against the published cn/r vectors before the real kernel uses them.
//!
//! Nothing here is used by the miner. It favours being obviously like the specification over
//! speed: byte-wise software AES, plain arrays, one function per step.

mod slow_hash;
mod soft_aes;

use super::{program_for_height, Program};

/// The lines of the shared vector file for `algo`: (input, expected hash, height or 0).
fn vectors(algo: &str) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
    const FILE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../testdata/cryptonight.txt"
    ));
    FILE.lines()
        .filter(|l| l.split_whitespace().next() == Some(algo))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert!(f.len() >= 3, "malformed vector line: {l}");
            let input = hex::decode(f[1]).expect("vector input is hex");
            let expected = hex::decode(f[2]).expect("vector hash is hex");
            let height = f
                .get(3)
                .map_or(0, |h| h.parse().expect("vector height is a number"));
            (input, expected, height)
        })
        .collect()
}

#[test]
fn reference_hasher_matches_all_cn_r_vectors() {
    let vectors = vectors("cn/r");
    assert_eq!(vectors.len(), 10, "expected the 10 cn/r vectors");
    for (input, expected, height) in vectors {
        let program = program_for_height(height);
        let got = slow_hash::cn_r(&input, &program);
        assert_eq!(
            hex::encode(got),
            hex::encode(&expected),
            "cn/r at height {height}"
        );
    }
}

#[test]
fn reference_skeleton_matches_cn_0_vectors() {
    let vectors = vectors("cn/0");
    assert_eq!(vectors.len(), 5, "expected the 5 cn/0 vectors");
    for (input, expected, _) in vectors {
        assert_eq!(hex::encode(slow_hash::cn_0(&input)), hex::encode(&expected));
    }
}

#[test]
fn reference_hasher_matches_cn_r_vectors_interpreted() {
    // The test above runs compiled programs where there are any; two vectors suffice to show the
    // interpreter feeds the main loop identically.
    for (input, expected, height) in vectors("cn/r").into_iter().take(2) {
        let program = Program::generate(height).without_jit();
        let got = slow_hash::cn_r(&input, &program);
        assert_eq!(
            hex::encode(got),
            hex::encode(&expected),
            "cn/r at height {height}"
        );
    }
}

#[test]
fn longest_input_hashes_like_the_reference() {
    // 408 bytes span three Keccak rate blocks: the kernel must absorb them as the oracle does.
    use crate::cn::{hash, AesPath, Algorithm, MAX_INPUT_LEN};
    let input: Vec<u8> = (0..MAX_INPUT_LEN).map(|i| (i * 7) as u8).collect();
    let got = hash(Algorithm::Cn0, AesPath::Software, &input, 0).expect("408 bytes are accepted");
    assert_eq!(hex::encode(got), hex::encode(slow_hash::cn_0(&input)));
}
