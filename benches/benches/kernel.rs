//! One CryptoNight hash of each variant on each available AES path, one criterion group per path.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use phirig_benches::{available_aes_paths, BENCH_INPUT, CN_R_HEIGHT};
use phirig_kernel::cn::{Algorithm, CnHasher};
use phirig_kernel::memory::PagePolicy;

fn kernel(c: &mut Criterion) {
    for aes in available_aes_paths() {
        let mut group = c.benchmark_group(format!("kernel/{aes}"));
        // A hash takes milliseconds: ten flat samples (equal iteration counts, so a slow variant
        // needs 10 hashes, not the 55 of linear sampling) over a short window keep the whole run
        // (20 variants x 2 paths) to a few minutes while still showing regressions of a few percent.
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(300));
        group.measurement_time(Duration::from_secs(2));
        for algo in Algorithm::ALL {
            let mut hasher = match CnHasher::new(algo, aes, 1, PagePolicy::default()) {
                Ok(h) => h,
                Err(e) => {
                    eprintln!("skipping {algo} on {aes}: {e}");
                    continue;
                }
            };
            let height = if algo.needs_height() { CN_R_HEIGHT } else { 0 };
            // A variant the kernel cannot hash yet would only time its error path.
            if let Err(e) = hasher.hash(&BENCH_INPUT, height) {
                eprintln!("skipping {algo} on {aes}: {e}");
                continue;
            }
            group.bench_function(algo.name(), |b| {
                b.iter(|| hasher.hash(std::hint::black_box(&BENCH_INPUT), height))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, kernel);
criterion_main!(benches);
