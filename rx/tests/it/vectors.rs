//! The reference implementation's published vectors (`testdata/randomx.txt`) on every path:
//! light mode with JIT, interpreter and software AES, huge pages asked or not, and one full
//! dataset.

use phirig_rx::{Epoch, Mode, RxOptions, Seed};

/// (key, input, expected hash) from the data file.
pub fn vectors() -> Vec<(Vec<u8>, Vec<u8>, [u8; 32])> {
    let text = include_str!("../../../testdata/randomx.txt");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let f: Vec<&str> = l.split('|').collect();
            assert_eq!(f.len(), 3, "{l}");
            let hash: [u8; 32] = hex::decode(f[2]).unwrap().try_into().unwrap();
            (f[0].as_bytes().to_vec(), f[1].as_bytes().to_vec(), hash)
        })
        .collect()
}

/// The vectors' keys are ASCII text, not 32-byte seeds: build epochs straight from the key.
/// `max_keys` bounds how many keys (so datasets) a full-mode run builds.
fn check(opts: &RxOptions, max_keys: usize) {
    let vs = vectors();
    assert!(vs.len() >= 4, "vectors file lost lines");
    let mut keys: Vec<&Vec<u8>> = vs.iter().map(|v| &v.0).collect();
    keys.dedup();
    assert!(keys.len() >= 2, "vectors of two keys expected");
    for key in keys.into_iter().take(max_keys) {
        let epoch = Epoch::build_with_key(key, opts).unwrap();
        assert_eq!(epoch.is_full(), opts.mode == Mode::Full);
        // A full dataset is checked on every VM path too: one dataset, not one per path.
        let others = if epoch.is_full() {
            vec![(false, true), (true, false), (false, false)]
        } else {
            vec![]
        };
        let mut vms = vec![(opts.path_name(), epoch.vm().unwrap())];
        for (jit, aes) in others {
            let path = RxOptions {
                jit,
                hard_aes: aes,
                ..*opts
            }
            .path_name();
            vms.push((path, epoch.vm_with(jit, aes).unwrap()));
        }
        for (path, vm) in &mut vms {
            for (_, input, expected) in vs.iter().filter(|v| &v.0 == key) {
                assert_eq!(
                    hex::encode(vm.hash(input)),
                    hex::encode(expected),
                    "{path} {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        eprintln!("{} scratchpad {}", epoch.describe(), vms[0].1.scratchpad());
    }
}

fn light() -> RxOptions {
    RxOptions::light()
}

#[test]
fn light_jit() {
    check(&light(), usize::MAX);
}

#[test]
fn light_interpreter() {
    check(
        &RxOptions {
            jit: false,
            ..light()
        },
        usize::MAX,
    );
}

#[test]
fn light_software_aes_without_huge_pages() {
    check(
        &RxOptions {
            hard_aes: false,
            huge_pages: false,
            ..light()
        },
        usize::MAX,
    );
}

/// The one full-dataset test (one 2 GiB dataset, the first key's three vectors, on JIT and
/// interpreter with hardware and software AES): skipped where the memory is not free, so CI
/// never needs more.
#[test]
fn full_dataset_built_on_every_core() {
    let need = phirig_rx::dataset_bytes() as u64 + (1 << 30);
    if phirig_rx::mem_available().is_some_and(|m| m < need) {
        eprintln!("skipped: less than {} MiB available", need >> 20);
        return;
    }
    check(
        &RxOptions {
            mode: Mode::Full,
            ..RxOptions::default()
        },
        1,
    );
}

/// The pipelined calls give each input's hash one call late, the same as one at a time.
#[test]
fn pipelined_hashes_match_single_ones() {
    let vs = vectors();
    let key = &vs[0].0;
    let epoch = Epoch::build_with_key(key, &light()).unwrap();
    let mut vm = epoch.vm().unwrap();
    let inputs: Vec<&Vec<u8>> = vs.iter().filter(|v| &v.0 == key).map(|v| &v.1).collect();
    let mut got = Vec::new();
    for input in &inputs {
        got.extend(vm.hash_next(input));
    }
    got.extend(vm.finish());
    assert_eq!(vm.finish(), None);
    let want: Vec<[u8; 32]> = vs.iter().filter(|v| &v.0 == key).map(|v| v.2).collect();
    assert_eq!(got, want);
    // A single hash after a pipeline left under way is still right.
    assert_eq!(vm.hash_next(inputs[0]), None);
    assert_eq!(vm.hash(inputs[1]), want[1]);
}

#[test]
fn seeds_from_jobs_key_the_same_way() {
    let seed: Seed = "00".repeat(32).parse().unwrap();
    let a = Epoch::build(seed, &light()).unwrap();
    let b = Epoch::build_with_key(&[0u8; 32], &light()).unwrap();
    assert_eq!(a.vm().unwrap().hash(b"x"), b.vm().unwrap().hash(b"x"));
}
