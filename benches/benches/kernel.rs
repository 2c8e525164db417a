//! One CryptoNight hash of each variant on each AES path (filled in by the kernel work).
use criterion::{criterion_group, criterion_main, Criterion};

fn kernel(_c: &mut Criterion) {}

criterion_group!(benches, kernel);
criterion_main!(benches);
