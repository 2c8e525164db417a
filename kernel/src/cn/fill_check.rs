//! What the tests of a wide explode and implode share: both fills from the same states must
//! leave the same scratchpads and the same final states as the backend's narrow one.

use super::explode::{explode_ways, implode_ways, WideFill};
use super::keccak_state::{absorb, State};
use super::kernel::Paths;

/// 64-byte aligned scratchpad memory for `ways` ways of `memory` bytes.
struct Pads {
    buf: Vec<u8>,
    start: usize,
}

impl Pads {
    fn new(ways: usize, memory: usize) -> Pads {
        let buf = vec![0u8; ways * memory + 64];
        let start = buf.as_ptr().align_offset(64);
        Pads { buf, start }
    }

    fn ptrs<const W: usize>(&mut self, memory: usize) -> [*mut u8; W] {
        let base = self.buf[self.start..].as_mut_ptr();
        // SAFETY: `new` sized the buffer for W pads after the aligned start.
        core::array::from_fn(|i| unsafe { base.add(i * memory) })
    }
}

/// Explode, a scribble on each pad (as the main loop would leave it), and implode, on what
/// `paths` turns on; returns the pads and the final states. `seed` varies the states.
///
/// # Safety
/// The CPU runs what `paths` turns on, and `B`'s narrow path.
unsafe fn round_trip<B: WideFill, const W: usize>(
    memory: usize,
    heavy: bool,
    paths: Paths,
    seed: u64,
) -> (Vec<u8>, Vec<State>) {
    let mut states: [State; W] =
        core::array::from_fn(|i| absorb(format!("way {i} of {W}, {memory}, {seed}").as_bytes()));
    let mut pads = Pads::new(W, memory);
    let sps = pads.ptrs::<W>(memory);
    // SAFETY: the caller vouches for the CPU; the pads are W aligned regions of `memory` bytes.
    unsafe { explode_ways::<B, W>(&states, &sps, memory, heavy, paths) };
    for (i, &sp) in sps.iter().enumerate() {
        for j in 0..memory / 4096 {
            // SAFETY: inside pad i.
            unsafe { *sp.add(j * 4096 + (i * 977 + j * 131) % 4096) ^= 0x5a };
        }
    }
    // SAFETY: as above.
    unsafe { implode_ways::<B, W>(&mut states, &sps, memory, heavy, paths) };
    let start = pads.start;
    (
        pads.buf[start..start + W * memory].to_vec(),
        states.to_vec(),
    )
}

/// Checks that `B`'s wide fill as `paths` (with `wide` set) runs it gives the narrow fill's
/// pads and states at `W` ways.
///
/// # Safety
/// The CPU runs what `paths` turns on, and `B`'s narrow path.
pub(super) unsafe fn wide_matches_narrow<B: WideFill, const W: usize>(
    memory: usize,
    heavy: bool,
    seed: u64,
    paths: Paths,
) {
    let narrow = Paths {
        wide: false,
        ..paths
    };
    // SAFETY: forwarded from the caller.
    let (wide, narrow) = unsafe {
        (
            round_trip::<B, W>(memory, heavy, paths, seed),
            round_trip::<B, W>(memory, heavy, narrow, seed),
        )
    };
    let what = format!("{W} ways, {memory} bytes, heavy {heavy}, seed {seed}, {paths:?}");
    assert!(wide.0 == narrow.0, "{what}: pads differ");
    assert_eq!(wide.1, narrow.1, "{what}: states differ");
    // The comparison means something only if the pads were written at all.
    assert!(wide.0.iter().filter(|&&b| b != 0).count() > W * memory / 2);
}
