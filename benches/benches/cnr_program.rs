//! One run of a cn/r random program (the work the cn/r main loop adds per iteration): machine
//! code against the interpreter it falls back to.

use criterion::{criterion_group, criterion_main, Criterion};
use phirig_benches::CN_R_HEIGHT;
use phirig_kernel::cnr::Program;

fn cnr_program(c: &mut Criterion) {
    let compiled = Program::generate(CN_R_HEIGHT);
    let interpreted = compiled.clone().without_jit();
    let mut group = c.benchmark_group("cnr_program");
    // Feed r[0] back in so each run depends on the last, as in the main loop.
    let mut r = [1u32, 2, 3, 4, 5, 6, 7, 8, 9];
    if compiled.is_compiled() {
        group.bench_function("compiled", |b| {
            b.iter(|| {
                compiled.run(&mut r);
                r[4] = r[4].wrapping_add(1);
                r[0]
            })
        });
    }
    group.bench_function("interpreted", |b| {
        b.iter(|| {
            interpreted.run(&mut r);
            r[4] = r[4].wrapping_add(1);
            r[0]
        })
    });
    group.finish();
}

criterion_group!(benches, cnr_program);
criterion_main!(benches);
