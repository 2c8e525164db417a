//! The memory-hard main loop, written once and monomorphised per algorithm, AES backend and way count.
//!
//! Each algorithm's behaviour comes from its row of [`Algorithm::TABLE`], read through an
//! associated constant so every `if` on it is decided at compile time: the loop body has no
//! branch on the variant.

use super::algorithm::{Algorithm, Base, Heavy, Props};
use super::backend::{Backend, Soft};
use super::keccak_state::State;
use super::random_math::RandomProgram;
use crate::cnr::{Exec, Jitted, Resolved};

#[cfg(target_arch = "x86_64")]
mod asm;

/// Compile-time access to one row of the property table.
pub(crate) struct Row<const ID: usize>;

impl<const ID: usize> Row<ID> {
    pub(crate) const P: Props = Algorithm::TABLE[ID];
}

/// What a way carries from one iteration to the next.
pub(crate) struct Lane<B: Backend + Conceal> {
    sp: *mut u8,
    al: u64,
    ah: u64,
    idx: u64,
    b: B::V,
    b1: B::V,
    div: u64,
    /// Variant 2's last square root, plus [`SQRT_BIAS`] after the first iteration (the bias
    /// never reaches the bits the loop uses).
    sqrt: u64,
    tweak1_2: u64,
    /// `(0, tweak1_2)`: variant 1's second tweak as one vector xor.
    tweak_v: B::V,
    r: [u32; 9],
    conc: B::F,
}

/// Whole main loops in hand-written assembly, for the backends that have them.
pub(crate) trait AsmLoop: Backend + Conceal + Sized {
    /// Runs all of `ID`'s iterations on `lanes` with cn/r's compiled program `prog` and returns
    /// true, where this backend has such a loop for `ID` and `W` ways; otherwise returns false
    /// having done nothing.
    ///
    /// # Safety
    /// As for [`run`], with `asm`: the CPU runs the assembly loops.
    #[inline(always)]
    unsafe fn cnr<const ID: usize, const W: usize>(
        _lanes: &mut [Lane<Self>; W],
        _prog: Jitted<'_>,
    ) -> bool {
        false
    }

    /// As [`AsmLoop::cnr`], for the variant-2 rows without a program.
    ///
    /// # Safety
    /// As for [`run`].
    #[inline(always)]
    unsafe fn v2<const ID: usize, const W: usize>(_lanes: &mut [Lane<Self>; W]) -> bool {
        false
    }
}

impl AsmLoop for Soft {}

/// Float state of cn/ccx's "conceal" mixing, per backend.
pub(crate) trait Conceal: Backend {
    type F: Copy;
    fn conceal_init() -> Self::F;
    fn conceal(c: Self::V, conc: &mut Self::F) -> Self::V;
}

impl<B: Backend + Conceal> Lane<B> {
    /// Seeds a way from its Keccak state.
    #[inline(always)]
    pub(crate) fn new<const ID: usize>(st: &State, input: &[u8], sp: *mut u8) -> Self {
        let p = Row::<ID>::P;
        let tweak1_2 = if p.base == Base::V1 {
            // Input length is checked against `min_input_len` before any hashing starts.
            let mut t = [0u8; 8];
            if let Some(src) = input.get(35..43) {
                t.copy_from_slice(src);
            }
            u64::from_le_bytes(t) ^ st[24]
        } else {
            0
        };
        let mut r = [0u32; 9];
        r[0] = st[12] as u32;
        r[1] = (st[12] >> 32) as u32;
        r[2] = st[13] as u32;
        r[3] = (st[13] >> 32) as u32;
        Lane {
            sp,
            al: st[0] ^ st[4],
            ah: st[1] ^ st[5],
            idx: st[0] ^ st[4],
            b: B::set(st[2] ^ st[6], st[3] ^ st[7]),
            b1: B::set(st[8] ^ st[10], st[9] ^ st[11]),
            div: st[12],
            sqrt: st[13],
            tweak1_2,
            tweak_v: B::set(0, tweak1_2),
            r,
            conc: B::conceal_init(),
        }
    }
}

/// The exponent field left in [`int_sqrt_v2_biased`]'s result.
const SQRT_BIAS: u64 = (1023 << 52) >> 19;

/// Monero v2's integer square root, exact for every input: `floor(2 * (sqrt(2^64 + n) - 2^32))`,
/// plus [`SQRT_BIAS`].
///
/// The estimate needs no integer-to-float conversion: a double whose exponent field is 1023 and
/// whose mantissa is the top 52 bits of `n` *is* `(2^64 + n') / 2^64`. Its square root lies in
/// [1, sqrt 2), so the root's mantissa field `m` is `2^52 * (sqrt(2^64 + n') / 2^32 - 1)`, and
/// the answer is that real number's top 33 bits: `m >> 19`.
///
/// How far `m` can be from the exact real `M` (in units of the mantissa's last place): dropping
/// the 12 low bits of `n` lowers the root by less than half a unit, and `sqrtsd` rounds by at most
/// half a unit to nearest (less than one in any other rounding mode), so `|m - M| < 1.5`. The
/// shift therefore gives the exact floor unless a multiple of 2^19 lies within 1.5 of `m`, that
/// is unless `m`'s low 19 bits are within 2 of a wrap. Only then (about 4 inputs in 2^19) the
/// published integer fix-up runs, out of line; the common path is one `sqrtsd`, a shift and a
/// test, which matters because it sits on a loop-carried chain (square root, next divisor,
/// division) and every instruction on it holds a scheduler slot other ways could use.
///
/// The bias is the root's exponent field, not taken off: the main loop uses the root only as
/// `sqrt << 32` and in the low 32 bits of `sqrt << 1`, and the bias (`1023 << 33`) is pushed
/// out of both, so the loop skips the subtraction.
#[inline(always)]
fn int_sqrt_v2_biased(n: u64) -> u64 {
    const ONE: u64 = 1023 << 52;
    let x = scalar_f64(f64::from_bits(ONE + (n >> 12)));
    let root = scalar_f64(x.sqrt()).to_bits();
    // root >= ONE because x >= 1.0, so `root >> 19` is at least the bias.
    let r = root >> 19;
    if (root.wrapping_add(2) & 0x7FFFF) < 4 {
        return sqrt_fixup(r - SQRT_BIAS, n) + SQRT_BIAS;
    }
    r
}

/// The root itself, as Monero defines it (what the tests check against exact arithmetic).
#[cfg(test)]
fn int_sqrt_v2(n: u64) -> u64 {
    int_sqrt_v2_biased(n).wrapping_sub(SQRT_BIAS)
}

/// The exact correction of a square-root estimate that may be one too high or too low.
#[cold]
#[inline(never)]
pub(crate) fn sqrt_fixup(mut r: u64, n: u64) -> u64 {
    let s = r >> 1;
    let b = r & 1;
    let r2 = s.wrapping_mul(s + b).wrapping_add(r << 32);
    if r2.wrapping_add(b) > n {
        r = r.wrapping_sub(1);
    }
    if r2.wrapping_add(1 << 32) < n.wrapping_sub(s) {
        r = r.wrapping_add(1);
    }
    r
}

/// Keeps `x` a scalar in an xmm register, opaque to the optimiser.
///
/// With several ways in one loop body LLVM's SLP vectoriser would otherwise pack the ways'
/// square roots into one `sqrtpd` and their fix-ups into SSE2 64-bit multiply emulation: more
/// instructions, and the ways then wait for each other, which undoes the point of interleaving.
#[inline(always)]
fn scalar_f64(x: f64) -> f64 {
    #[cfg(target_arch = "x86_64")]
    {
        let mut x = x;
        // SAFETY: an empty template: the register is left as it is; nothing else is touched.
        unsafe {
            core::arch::asm!("/* {x} */", x = inout(xmm_reg) x, options(pure, nomem, nostack, preserves_flags));
        }
        x
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        x
    }
}

/// Variant 2's division step: low 32 bits of the quotient, remainder in the high 32 bits.
///
/// The divisor always has its top bit set, so after taking off at most one `d` from the high
/// word the remaining quotient fits 32 bits: one `div r32` (about a third of the cost of the
/// 64-bit divide the plain `/` and `%` compile to) gives both results.
#[inline(always)]
pub(crate) fn div_v2(c1: u64, d: u32) -> u64 {
    debug_assert!(d >= 0x8000_0000);
    #[cfg(target_arch = "x86_64")]
    {
        let hi = (c1 >> 32) as u32;
        // hi - d unless that borrows: a subtraction and a conditional move.
        let (less, borrow) = hi.overflowing_sub(d);
        let hi = if borrow { hi } else { less };
        let (q, r): (u64, u64);
        // SAFETY: hi < d, so the 64-by-32 quotient fits 32 bits and `div` cannot fault;
        // d != 0 because its top bit is set. No memory is touched. `div r32` reads edx:eax and
        // writes eax and edx, which clears the upper halves of rax and rdx: taking the outputs
        // as 64-bit values saves the zero-extensions.
        unsafe {
            core::arch::asm!(
                "div {d:e}",
                d = in(reg) d,
                inout("rax") c1 => q,
                inout("rdx") hi as u64 => r,
                options(pure, nomem, nostack),
            );
        }
        q | r << 32
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let d = d as u64;
        (c1 / d) as u32 as u64 + ((c1 % d) << 32)
    }
}

/// What the first half of an iteration hands to the second.
pub(crate) struct Mid<B: Backend> {
    a: B::V,
    c: B::V,
    /// The second line, read as soon as its address is known; `None` when the first half only
    /// started fetching it and the second half reads it.
    line2: Option<B::V>,
}

impl<B: Backend> Clone for Mid<B> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<B: Backend> Copy for Mid<B> {}

/// First half of one iteration of one way: the AES round on the line `a` points at, the
/// variant's first store, and so the address of the second line.
///
/// # Safety
/// `lane.sp` must point to a 64-byte aligned scratchpad of `Row::<ID>::P.memory` bytes.
#[inline(always)]
unsafe fn first_half<B: Backend + Conceal, const ID: usize>(
    lane: &mut Lane<B>,
    defer: bool,
) -> Mid<B> {
    let p = Row::<ID>::P;
    let mask = p.mask as u64;
    let sp = lane.sp;
    // SAFETY: offsets are masked to `mask`, which is 16-aligned, has bits 4 and 5 set and ends
    // 16 bytes before the scratchpad does (checked by the table tests), so `off`,
    // `off ^ 0x10/0x20/0x30` and the 16 bytes after each stay inside; every access below
    // relies on this.
    let line = |x: u64| -> *mut u8 { unsafe { sp.add((x & mask) as usize) } };

    let a = B::set(lane.al, lane.ah);
    let at = line(lane.idx);
    // SAFETY: `at` is a masked line (see `line`), 16-aligned as the scratchpad is.
    let mut c = unsafe { B::load(at) };
    if p.conceal {
        c = B::conceal(c, &mut lane.conc);
    }
    c = if p.tube_aes {
        B::from_halves(super::soft_aes::tweak_div_round(B::halves(c), B::halves(a)))
    } else {
        B::aesenc(c, a)
    };

    match p.base {
        Base::V2 => {
            let off = (lane.idx & mask) as usize;
            let (o1, o3) = if p.reverse_shuffle {
                (0x30, 0x10)
            } else {
                (0x10, 0x30)
            };
            // SAFETY: the masked line's three neighbours (see `line`).
            let (ch1, ch2, ch3) = unsafe {
                (
                    B::load(sp.add(off ^ o1)),
                    B::load(sp.add(off ^ 0x20)),
                    B::load(sp.add(off ^ o3)),
                )
            };
            // SAFETY: as above.
            unsafe {
                B::store(sp.add(off ^ 0x10), B::add64(ch3, lane.b1));
                B::store(sp.add(off ^ 0x20), B::add64(ch1, lane.b));
                B::store(sp.add(off ^ 0x30), B::add64(ch2, a));
            }
            if p.random_math {
                c = B::xor(B::xor(c, ch3), B::xor(ch1, ch2));
            }
            // SAFETY: `at`, the line read above.
            unsafe { B::store(at, B::xor(lane.b, c)) };
        }
        Base::V1 => {
            // SAFETY: `at`, the line read above.
            unsafe { B::store(at, B::v1_tweak(B::xor(lane.b, c))) };
        }
        // SAFETY: `at`, the line read above.
        Base::V0 => unsafe { B::store(at, B::xor(lane.b, c)) },
    }
    // The second read starts here, after this way's stores (it may hit the line just written)
    // but before any way's tail, so every way's reads are in flight together. With `defer` it is
    // only a prefetch, and the second half reads the line, from L1 by then: a prefetch retires
    // without waiting, so the window is not held up behind the miss while the other ways' first
    // halves issue.
    let at2 = line(B::lo(c));
    let line2 = if defer {
        prefetch(at2);
        None
    } else {
        // SAFETY: a masked line (see `line`).
        Some(unsafe { B::load(at2) })
    };
    Mid { a, c, line2 }
}

/// Second half: the multiply on the second line, the variant's integer math and shuffle, and
/// the new `a`, `b` and address.
///
/// # Safety
/// As for [`first_half`].
#[inline(always)]
unsafe fn second_half<B: Backend + Conceal, const ID: usize>(
    lane: &mut Lane<B>,
    mid: Mid<B>,
    prog: impl Exec,
) {
    let p = Row::<ID>::P;
    let mask = p.mask as u64;
    let sp = lane.sp;
    // SAFETY: as in `first_half`.
    let line = |x: u64| -> *mut u8 { unsafe { sp.add((x & mask) as usize) } };
    let Mid { a, mut c, line2 } = mid;

    let idx = B::lo(c);
    let at = line(idx);
    let off = (idx & mask) as usize;
    // SAFETY: `at` is a masked line inside the scratchpad.
    let line2 = line2.unwrap_or_else(|| unsafe { B::load(at) });
    let [mut cl, ch] = B::halves(line2);

    if p.base == Base::V2 {
        if p.random_math {
            let r = &mut lane.r;
            cl ^= (r[0].wrapping_add(r[1]) as u64) | (r[2].wrapping_add(r[3]) as u64) << 32;
            r[4] = lane.al as u32;
            r[5] = lane.ah as u32;
            r[6] = B::lo(lane.b) as u32;
            r[7] = B::lo(lane.b1) as u32;
            r[8] = B::hi(lane.b1) as u32;
            prog.exec(r);
            lane.al ^= r[2] as u64 | (r[3] as u64) << 32;
            lane.ah ^= r[0] as u64 | (r[1] as u64) << 32;
        } else {
            let c0 = B::lo(c);
            cl ^= lane.div ^ (lane.sqrt << 32);
            let d = c0.wrapping_add(lane.sqrt << 1) as u32 | 0x8000_0001;
            let c1 = B::hi(c);
            lane.div = div_v2(c1, d);
            lane.sqrt = int_sqrt_v2_biased(c0.wrapping_add(lane.div));
        }
    }

    let prod = idx as u128 * cl as u128;
    let (mut hi, mut lo) = ((prod >> 64) as u64, prod as u64);

    if p.base == Base::V2 {
        if p.random_math {
            // SAFETY: the masked line's three neighbours (as in `first_half`).
            let (ch1, ch2, ch3) = unsafe {
                (
                    B::load(sp.add(off ^ 0x10)),
                    B::load(sp.add(off ^ 0x20)),
                    B::load(sp.add(off ^ 0x30)),
                )
            };
            // SAFETY: as above.
            unsafe {
                B::store(sp.add(off ^ 0x10), B::add64(ch3, lane.b1));
                B::store(sp.add(off ^ 0x20), B::add64(ch1, lane.b));
                B::store(sp.add(off ^ 0x30), B::add64(ch2, a));
            }
            c = B::xor(B::xor(c, ch3), B::xor(ch1, ch2));
        } else {
            // v2.2: the product is mixed into one neighbour and another neighbour into it.
            // SAFETY: the masked line's neighbours (as in `first_half`).
            let ch1 = B::xor(unsafe { B::load(sp.add(off ^ 0x10)) }, B::set(hi, lo));
            // SAFETY: as above.
            let ch2 = unsafe { B::load(sp.add(off ^ 0x20)) };
            hi ^= B::lo(ch2);
            lo ^= B::hi(ch2);
            // SAFETY: as above.
            let ch3 = unsafe { B::load(sp.add(off ^ 0x30)) };
            let (to10, to20) = if p.reverse_shuffle {
                (ch1, ch3)
            } else {
                (ch3, ch1)
            };
            // SAFETY: as above.
            unsafe {
                B::store(sp.add(off ^ 0x10), B::add64(to10, lane.b1));
                B::store(sp.add(off ^ 0x20), B::add64(to20, lane.b));
                B::store(sp.add(off ^ 0x30), B::add64(ch2, a));
            }
        }
    }

    lane.al = lane.al.wrapping_add(hi);
    lane.ah = lane.ah.wrapping_add(lo);
    let stored = if p.base == Base::V1 && p.v1_xor_al {
        B::set(lane.al, lane.ah ^ lane.tweak1_2 ^ lane.al)
    } else if p.base == Base::V1 {
        // (al, ah ^ tweak) as one vector xor, on the vector the two adds already built.
        B::xor(B::set(lane.al, lane.ah), lane.tweak_v)
    } else {
        B::set(lane.al, lane.ah)
    };
    // SAFETY: `at`, the masked line read above.
    unsafe { B::store(at, stored) };
    lane.al ^= cl;
    lane.ah ^= ch;
    lane.idx = lane.al;

    if p.heavy != Heavy::No {
        let at = line(lane.idx);
        // SAFETY: `at` is a 16-aligned line inside the scratchpad; we touch its first 12 bytes.
        let n = unsafe { (at as *const i64).read() };
        // SAFETY: as above: bytes 8..12 of the line.
        let d = unsafe { (at.add(8) as *const i32).read() } as i64;
        let q = n.wrapping_div(d | 5);
        // SAFETY: as above: the line's first 8 bytes.
        unsafe { (at as *mut i64).write(n ^ q) };
        let d = if p.heavy == Heavy::DivNot { !d } else { d };
        lane.idx = (d ^ q) as u64;
    }

    if p.base == Base::V2 {
        lane.b1 = lane.b;
    }
    lane.b = c;
}

/// Starts fetching the line a way's next iteration reads first. With several ways the next read
/// sits behind the other ways' second halves; a prefetch retires without waiting for its data,
/// so the miss is under way even while the reorder buffer is full of work that waits on reads.
#[inline(always)]
fn prefetch_next<B: Backend + Conceal, const ID: usize>(lane: &Lane<B>) {
    let off = (lane.idx & Row::<ID>::P.mask as u64) as usize;
    // The address is inside the scratchpad (masked as in `first_half`); `wrapping_add` keeps
    // even that out of the safety argument, since a prefetch never dereferences.
    prefetch(lane.sp.wrapping_add(off));
}

/// Starts fetching the line at `p` into L1.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults and changes no architectural state.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// cn/r's program when there is none: the other algorithms never call it.
#[derive(Clone, Copy)]
struct NoMath;

impl Exec for NoMath {
    #[inline(always)]
    fn exec(self, _r: &mut [u32; 9]) {}
}

/// Runs all iterations for `W` independent ways, interleaved so their memory latencies overlap;
/// in the backend's assembly where `asm` and it has a loop for `ID` and `W`.
///
/// # Safety
/// Every lane's scratchpad must be as [`first_half`] requires; with `asm`, the CPU runs the
/// assembly loops ([`Cpu::asm_loops`](crate::cpu::Cpu::asm_loops)).
#[inline(always)]
pub(crate) unsafe fn run<B: AsmLoop, const ID: usize, const W: usize>(
    lanes: &mut [Lane<B>; W],
    prog: &RandomProgram,
    asm: bool,
) {
    let runner = if Row::<ID>::P.random_math {
        prog.runner()
    } else {
        None
    };
    match runner.map(|r| r.resolve()) {
        Some(Resolved::Jitted(x)) => {
            // SAFETY: forwarded from the caller, who vouches for the CPU where `asm`.
            if !(asm && unsafe { B::cnr::<ID, W>(lanes, x) }) {
                // SAFETY: forwarded from the caller.
                unsafe { run_with::<B, ID, W>(lanes, x) }
            }
        }
        // SAFETY: forwarded from the caller.
        Some(Resolved::Interpreted(x)) => unsafe { run_with::<B, ID, W>(lanes, x) },
        None => {
            // SAFETY: as for `cnr` above.
            if !(asm && unsafe { B::v2::<ID, W>(lanes) }) {
                // SAFETY: forwarded from the caller.
                unsafe { run_with::<B, ID, W>(lanes, NoMath) }
            }
        }
    }
}

/// The loop itself, for one way of running cn/r's program.
///
/// # Safety
/// As for [`run`].
#[inline(always)]
unsafe fn run_with<B: Backend + Conceal, const ID: usize, const W: usize>(
    lanes: &mut [Lane<B>; W],
    prog: impl Exec,
) {
    // Every way's first half, then every way's second half: each way's first scratchpad read
    // issues right after the previous way's, not behind its whole iteration, so the ways' reads
    // are in flight together (the out-of-order window does not reach a whole iteration ahead).
    // Unrolled by hand with constant indices: LLVM then keeps every lane's state in registers
    // instead of walking an array on the stack (a `for` over the lanes was left rolled).
    let zero = Mid {
        a: B::set(0, 0),
        c: B::set(0, 0),
        line2: None,
    };
    let mut mids = [zero; W];
    // Deferring the second read pays only where other ways' first halves run in between; cn/ccx,
    // whose concealing float work lengthens its first half, is faster with the plain read.
    let defer = W > 1 && !Row::<ID>::P.random_math && !Row::<ID>::P.conceal;
    macro_rules! first {
        ($($i:literal)*) => {$(
            if W > $i {
                // SAFETY: forwarded from the caller; `W > $i` keeps the index in bounds.
                mids[$i] = unsafe { first_half::<B, ID>(&mut lanes[$i], defer) };
            }
        )*};
    }
    macro_rules! second {
        ($($i:literal)*) => {$(
            if W > $i {
                // SAFETY: as above.
                unsafe { second_half::<B, ID>(&mut lanes[$i], mids[$i], prog) };
                if W > 1 {
                    prefetch_next::<B, ID>(&lanes[$i]);
                }
            }
        )*};
    }
    for _ in 0..Row::<ID>::P.iterations {
        if Row::<ID>::P.random_math {
            // cn/r: each way's whole iteration in turn. Its second half opens with the random
            // program, a chain of about 45 cycles whose inputs are ready when the iteration
            // starts; ordered this way, one way's program runs while the next way's reads are
            // in flight. Grouping the halves as below is slower for cn/r, as fast or faster
            // for the other variants.
            first!(0);
            second!(0);
            first!(1);
            second!(1);
            first!(2);
            second!(2);
            first!(3);
            second!(3);
            first!(4);
            second!(4);
        } else {
            first!(0 1 2 3 4);
            second!(0 1 2 3 4);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::cn::{AesPath, CnHasher};
    use crate::cpu::Cpu;
    use crate::memory::PagePolicy;

    /// The next state of a 64-bit xorshift generator: test inputs without a dependency.
    fn xorshift(mut x: u64) -> u64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }

    /// A 76-byte blob (a block header's length) from a seed.
    fn blob(seed: u64) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..76)
            .map(|_| {
                x = xorshift(x);
                x as u8
            })
            .collect()
    }

    /// Hashes different inputs of `algo`, `ways` at a time, on AES-NI as `cpu` runs it and checks
    /// each against the portable path; cn/r at three heights. The vectors cannot do this for cn/r
    /// (they put one input in every way, since each vector has its own height).
    pub(crate) fn check_against_portable(cpu: Cpu, algo: Algorithm, ways: usize) {
        let policy = PagePolicy::default();
        let mut hw = CnHasher::with_cpu(cpu, algo, AesPath::Hardware, ways, policy).expect("hw");
        let mut one = CnHasher::new(algo, AesPath::Software, 1, policy).expect("x1");
        let heights: &[u64] = if algo.needs_height() {
            &[1_806_260, 3_000_017, 1]
        } else {
            &[0]
        };
        let n = if ways == 1 { 2 } else { ways };
        for (seed, &height) in (1..).zip(heights) {
            let inputs: Vec<Vec<u8>> = (0..n as u64).map(|i| blob(seed + 100 * i)).collect();
            let mut out = vec![[0u8; 32]; n];
            for start in (0..n).step_by(ways) {
                let batch: Vec<&[u8]> =
                    inputs[start..start + ways].iter().map(|v| &v[..]).collect();
                hw.hash_ways(&batch, height, &mut out[start..start + ways])
                    .expect("hash");
            }
            assert_ne!(out[0], out[1]);
            for (input, got) in inputs.iter().zip(out) {
                let want = one.hash(input, height).expect("hash");
                assert_eq!(want, got, "{algo} x{ways}, height {height}");
            }
        }
    }

    pub(crate) fn isqrt_reference(n: u64) -> u64 {
        // The defining property: r = floor(2 * (sqrt(2^64 + n) - 2^32)), computed exactly.
        let target = (1u128 << 64) + n as u128;
        let mut lo = 0u128;
        let mut hi = 1u128 << 34;
        // largest r with ((r + 2^33)/2)^2 <= target, i.e. (r + 2^33)^2 <= 4 * target
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let v = mid + (1u128 << 33);
            if v * v <= 4 * target {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo as u64
    }

    #[test]
    fn the_sqrt_bias_never_reaches_the_bits_the_loop_uses() {
        let mut x = 0x0123_4567_89ab_cdefu64;
        for _ in 0..1000 {
            x = xorshift(x);
            let n = x;
            let (plain, biased) = (int_sqrt_v2(n), int_sqrt_v2_biased(n));
            assert_eq!(biased.wrapping_sub(SQRT_BIAS), plain);
            assert_eq!(biased << 32, plain << 32);
            let c0 = x.rotate_left(17);
            assert_eq!(
                c0.wrapping_add(biased << 1) as u32,
                c0.wrapping_add(plain << 1) as u32
            );
        }
    }

    #[test]
    fn int_sqrt_matches_exact_arithmetic() {
        for n in sqrt_samples() {
            assert_eq!(int_sqrt_v2(n), isqrt_reference(n), "n = {n}");
        }
    }

    /// Square-root inputs: the ends of the range, random ones, and ones next to where the root
    /// steps to the next integer.
    pub(crate) fn sqrt_samples() -> Vec<u64> {
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut samples = vec![
            0,
            1,
            2,
            3,
            u64::MAX,
            u64::MAX - 1,
            1 << 32,
            (1 << 32) - 1,
            1 << 63,
        ];
        for _ in 0..2000 {
            x = xorshift(x);
            samples.push(x);
            samples.push(x >> (x % 64));
        }
        // Inputs whose root is an exact integer plus or minus one: where an estimate is off by one.
        for _ in 0..2000 {
            x = xorshift(x);
            let r = (x >> 31) as u128; // 33 bits
            let v = r + (1u128 << 33);
            // (r + 2^33)^2 / 4 - 2^64 is the n at which the root reaches r.
            let edge = v * v / 4;
            if let Some(n) = edge.checked_sub(1u128 << 64) {
                for d in [-2i128, -1, 0, 1, 2] {
                    if let Ok(n) = u64::try_from(n as i128 + d) {
                        samples.push(n);
                    }
                }
            }
        }
        samples
    }

    #[test]
    fn div_v2_matches_plain_division() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            x = xorshift(x);
            let d = (x >> 17) as u32 | 0x8000_0001;
            for c1 in [
                x,
                x.rotate_left(32),
                u64::MAX,
                0,
                (d as u64) << 32,
                ((d as u64) << 32) - 1,
            ] {
                let dd = d as u64;
                assert_eq!(
                    div_v2(c1, d),
                    (c1 / dd) as u32 as u64 + ((c1 % dd) << 32),
                    "{c1} / {d}"
                );
            }
        }
    }
}
