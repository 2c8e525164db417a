//! The hand-written x86-64 main loops (cn/r in `cnr`, the variant-2 family in `v2`) and what they share.
//!
//! Each loop keeps every way's state in registers for the whole run; these helpers move a
//! [`Lane`] into the layout the loops load from and back.

use super::{AsmLoop, Backend, Conceal, Lane};
use crate::cn::aesni::Hw;
use crate::cnr::Jitted;

/// One way's state in or out of its registers: `a`, `b`, `b1` at `rdi + $at`, `+ 16` and `+ 32`,
/// then each general register at its offset from `rdi + $at`.
#[rustfmt::skip]
macro_rules! asm_way_state {
    (load, $at:literal, $a:literal, $b:literal, $b1:literal $(, $reg:literal @ $off:literal)*) => {
        concat!(
            "vmovdqa ", $a, ", [rdi + ", $at, "]\n",
            "vmovdqa ", $b, ", [rdi + ", $at, " + 16]\n",
            "vmovdqa ", $b1, ", [rdi + ", $at, " + 32]\n",
            $("mov ", $reg, ", [rdi + ", $at, " + ", $off, "]\n",)*
        )
    };
    (store, $at:literal, $a:literal, $b:literal, $b1:literal $(, $reg:literal @ $off:literal)*) => {
        concat!(
            "vmovdqa [rdi + ", $at, "], ", $a, "\n",
            "vmovdqa [rdi + ", $at, " + 16], ", $b, "\n",
            "vmovdqa [rdi + ", $at, " + 32], ", $b1, "\n",
            $("mov [rdi + ", $at, " + ", $off, "], ", $reg, "\n",)*
        )
    };
}

mod cnr;
mod v2;

/// A way's `a`, `b`, `b1` as the loops load and store them: the first 48 bytes of their state
/// structs, in `asm_way_state`'s layout.
#[repr(C, align(16))]
#[derive(Default)]
struct WayVectors {
    a: [u64; 2],
    b: [u64; 2],
    b1: [u64; 2],
}

impl WayVectors {
    fn of(lane: &Lane<Hw>) -> Self {
        WayVectors {
            a: [lane.al, lane.ah],
            b: Hw::halves(lane.b),
            b1: Hw::halves(lane.b1),
        }
    }

    /// Back into `lane`, with the next address (`a`'s low word) where the compiled loop keeps it.
    fn put(&self, lane: &mut Lane<Hw>) {
        lane.al = self.a[0];
        lane.ah = self.a[1];
        lane.idx = self.a[0];
        lane.b = Hw::from_halves(self.b);
        lane.b1 = Hw::from_halves(self.b1);
    }
}

/// Whether a loop can take `lanes`: way `i`'s scratchpad starts `i * memory` bytes after way 0's,
/// where the loops look for it (`hash_lanes` lays them out so).
fn asm_can_take<B: Backend + Conceal>(lanes: &[Lane<B>], memory: usize) -> bool {
    lanes
        .iter()
        .enumerate()
        .all(|(i, lane)| lane.sp == lanes[0].sp.wrapping_add(i * memory))
}

impl AsmLoop for Hw {
    #[inline(always)]
    unsafe fn cnr<const ID: usize, const W: usize>(
        lanes: &mut [Lane<Self>; W],
        prog: Jitted<'_>,
    ) -> bool {
        // SAFETY: forwarded from the caller, who says the CPU runs these loops.
        unsafe { cnr::run::<ID, W>(lanes, prog) }
    }

    #[inline(always)]
    unsafe fn v2<const ID: usize, const W: usize>(lanes: &mut [Lane<Self>; W]) -> bool {
        // SAFETY: as above.
        unsafe { v2::run::<ID, W>(lanes) }
    }
}
