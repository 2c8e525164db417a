//! The memory-hard main loop, written once and monomorphised per algorithm, AES backend and way count.
//!
//! Each algorithm's behaviour comes from its row of [`Algorithm::TABLE`], read through an
//! associated constant so every `if` on it is decided at compile time: the loop body has no
//! branch on the variant.

use super::algorithm::{Algorithm, Base, Heavy, Props};
use super::backend::Backend;
use super::keccak_state::State;
use super::random_math::RandomProgram;
use crate::cnr::Runner;

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
    sqrt: u64,
    tweak1_2: u64,
    r: [u32; 9],
    conc: B::F,
}

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
            r,
            conc: B::conceal_init(),
        }
    }
}

/// Monero v2's integer square root, exact for every input: `floor(2 * (sqrt(2^64 + n) - 2^32))`.
///
/// The estimate needs no integer-to-float conversion: a double whose exponent field is 1023 and
/// whose mantissa is the top 52 bits of `n` *is* `(2^64 + n') / 2^64`. Its square root lies in
/// [1, sqrt 2), so the root's mantissa field is `2^52 * (sqrt(2^64 + n') / 2^32 - 1)` and its top
/// 33 bits are the result, give or take one (the 12 dropped bits of `n` and the rounding of
/// `sqrt` move it by less than 2^-19 of a unit). The published fix-up then makes it exact, so the
/// FPU rounding mode does not matter. Latency is one `sqrtsd` plus a few integer operations,
/// which matters because this sits on a loop-carried chain (square root, next divisor, division).
#[inline(always)]
pub(crate) fn int_sqrt_v2(n: u64) -> u64 {
    const ONE: u64 = 1023 << 52;
    let x = scalar_f64(f64::from_bits(ONE + (n >> 12)));
    let root = scalar_f64(x.sqrt()).to_bits();
    // root >= ONE because x >= 1.0: removing the exponent field cannot wrap.
    let mut r = (root >> 19) - (ONE >> 19);
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
        let hi = if hi >= d { hi - d } else { hi };
        let (q, r): (u32, u32);
        // SAFETY: hi < d, so the 64-by-32 quotient fits 32 bits and `div` cannot fault;
        // d != 0 because its top bit is set. No memory is touched.
        unsafe {
            core::arch::asm!(
                "div {d:e}",
                d = in(reg) d,
                inout("eax") c1 as u32 => q,
                inout("edx") hi => r,
                options(pure, nomem, nostack),
            );
        }
        q as u64 | (r as u64) << 32
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let d = d as u64;
        (c1 / d) as u32 as u64 + ((c1 % d) << 32)
    }
}

/// Variant 1's byte tweak of the first store: two bits of byte 11 flipped by a 3-bit selector.
#[inline(always)]
fn v1_byte_tweak(hi: u64) -> u64 {
    let tmp = (hi >> 24) as u8;
    let index = (((tmp >> 3) & 6) | (tmp & 1)) << 1;
    hi ^ ((((0x75310u32 >> index) & 0x30) as u64) << 24)
}

/// What the first half of an iteration hands to the second.
pub(crate) struct Mid<B: Backend> {
    a: B::V,
    c: B::V,
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
unsafe fn first_half<B: Backend + Conceal, const ID: usize>(lane: &mut Lane<B>) -> Mid<B> {
    let p = Row::<ID>::P;
    let mask = p.mask as u64;
    let sp = lane.sp;
    // SAFETY (for every access below): offsets are masked to `mask`, which is 16-aligned, has
    // bits 4 and 5 set and ends 16 bytes before the scratchpad does (checked by the table
    // tests), so `off`, `off ^ 0x10/0x20/0x30` and the 16 bytes after each stay inside.
    let line = |x: u64| -> *mut u8 { unsafe { sp.add((x & mask) as usize) } };

    let a = B::set(lane.al, lane.ah);
    let at = line(lane.idx);
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
            let (ch1, ch2, ch3) = unsafe {
                (
                    B::load(sp.add(off ^ o1)),
                    B::load(sp.add(off ^ 0x20)),
                    B::load(sp.add(off ^ o3)),
                )
            };
            unsafe {
                B::store(sp.add(off ^ 0x10), B::add64(ch3, lane.b1));
                B::store(sp.add(off ^ 0x20), B::add64(ch1, lane.b));
                B::store(sp.add(off ^ 0x30), B::add64(ch2, a));
            }
            if p.random_math {
                c = B::xor(B::xor(c, ch3), B::xor(ch1, ch2));
            }
            unsafe { B::store(at, B::xor(lane.b, c)) };
        }
        Base::V1 => {
            let t = B::xor(lane.b, c);
            unsafe { B::store(at, B::set(B::lo(t), v1_byte_tweak(B::hi(t)))) };
        }
        Base::V0 => unsafe { B::store(at, B::xor(lane.b, c)) },
    }
    Mid { a, c }
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
    prog: Option<Runner<'_>>,
) {
    let p = Row::<ID>::P;
    let mask = p.mask as u64;
    let sp = lane.sp;
    // SAFETY: as in `first_half`.
    let line = |x: u64| -> *mut u8 { unsafe { sp.add((x & mask) as usize) } };
    let Mid { a, mut c } = mid;

    let idx = B::lo(c);
    let at = line(idx);
    let off = (idx & mask) as usize;
    let [mut cl, ch] = B::halves(unsafe { B::load(at) });

    if p.base == Base::V2 {
        if p.random_math {
            let r = &mut lane.r;
            cl ^= (r[0].wrapping_add(r[1]) as u64) | (r[2].wrapping_add(r[3]) as u64) << 32;
            r[4] = lane.al as u32;
            r[5] = lane.ah as u32;
            r[6] = B::lo(lane.b) as u32;
            r[7] = B::lo(lane.b1) as u32;
            r[8] = B::hi(lane.b1) as u32;
            if let Some(prog) = prog {
                prog.run(r);
            }
            lane.al ^= r[2] as u64 | (r[3] as u64) << 32;
            lane.ah ^= r[0] as u64 | (r[1] as u64) << 32;
        } else {
            let c0 = B::lo(c);
            cl ^= lane.div ^ (lane.sqrt << 32);
            let d = c0.wrapping_add(lane.sqrt << 1) as u32 | 0x8000_0001;
            let c1 = B::hi(c);
            lane.div = div_v2(c1, d);
            lane.sqrt = int_sqrt_v2(c0.wrapping_add(lane.div));
        }
    }

    let prod = idx as u128 * cl as u128;
    let (mut hi, mut lo) = ((prod >> 64) as u64, prod as u64);

    if p.base == Base::V2 {
        if p.random_math {
            let (ch1, ch2, ch3) = unsafe {
                (
                    B::load(sp.add(off ^ 0x10)),
                    B::load(sp.add(off ^ 0x20)),
                    B::load(sp.add(off ^ 0x30)),
                )
            };
            unsafe {
                B::store(sp.add(off ^ 0x10), B::add64(ch3, lane.b1));
                B::store(sp.add(off ^ 0x20), B::add64(ch1, lane.b));
                B::store(sp.add(off ^ 0x30), B::add64(ch2, a));
            }
            c = B::xor(B::xor(c, ch3), B::xor(ch1, ch2));
        } else {
            // v2.2: the product is mixed into one neighbour and another neighbour into it.
            let ch1 = B::xor(unsafe { B::load(sp.add(off ^ 0x10)) }, B::set(hi, lo));
            let ch2 = unsafe { B::load(sp.add(off ^ 0x20)) };
            hi ^= B::lo(ch2);
            lo ^= B::hi(ch2);
            let ch3 = unsafe { B::load(sp.add(off ^ 0x30)) };
            let (to10, to20) = if p.reverse_shuffle {
                (ch1, ch3)
            } else {
                (ch3, ch1)
            };
            unsafe {
                B::store(sp.add(off ^ 0x10), B::add64(to10, lane.b1));
                B::store(sp.add(off ^ 0x20), B::add64(to20, lane.b));
                B::store(sp.add(off ^ 0x30), B::add64(ch2, a));
            }
        }
    }

    lane.al = lane.al.wrapping_add(hi);
    lane.ah = lane.ah.wrapping_add(lo);
    let mut stored_hi = lane.ah;
    if p.base == Base::V1 {
        stored_hi ^= lane.tweak1_2;
        if p.v1_xor_al {
            stored_hi ^= lane.al;
        }
    }
    unsafe { B::store(at, B::set(lane.al, stored_hi)) };
    lane.al ^= cl;
    lane.ah ^= ch;
    lane.idx = lane.al;

    if p.heavy != Heavy::No {
        let at = line(lane.idx);
        // SAFETY: `at` is a 16-aligned line inside the scratchpad; we touch its first 12 bytes.
        let n = unsafe { (at as *const i64).read() };
        let d = unsafe { (at.add(8) as *const i32).read() } as i64;
        let q = n.wrapping_div(d | 5);
        unsafe { (at as *mut i64).write(n ^ q) };
        let d = if p.heavy == Heavy::DivNot { !d } else { d };
        lane.idx = (d ^ q) as u64;
    }

    if p.base == Base::V2 {
        lane.b1 = lane.b;
    }
    lane.b = c;
}

/// Runs all iterations for `W` independent ways, interleaved so their memory latencies overlap.
///
/// # Safety
/// Every lane's scratchpad must be as [`step`] requires.
#[inline(always)]
pub(crate) unsafe fn run<B: Backend + Conceal, const ID: usize, const W: usize>(
    lanes: &mut [Lane<B>; W],
    prog: &RandomProgram,
) {
    // Resolved once: the loop then calls the program's code directly.
    let prog = prog.runner();
    // Every way's first half, then every way's second half: each way's first scratchpad read
    // issues right after the previous way's, not behind its whole iteration, so the ways' reads
    // are in flight together (the out-of-order window does not reach a whole iteration ahead).
    // Unrolled by hand with constant indices: LLVM then keeps every lane's state in registers
    // instead of walking an array on the stack (a `for` over the lanes was left rolled).
    let zero = Mid {
        a: B::set(0, 0),
        c: B::set(0, 0),
    };
    let mut mids = [zero; W];
    macro_rules! first {
        ($($i:literal)*) => {$(
            if W > $i {
                // SAFETY: forwarded from the caller; `W > $i` keeps the index in bounds.
                mids[$i] = unsafe { first_half::<B, ID>(&mut lanes[$i]) };
            }
        )*};
    }
    macro_rules! second {
        ($($i:literal)*) => {$(
            if W > $i {
                // SAFETY: as above.
                unsafe { second_half::<B, ID>(&mut lanes[$i], mids[$i], prog) };
            }
        )*};
    }
    for _ in 0..Row::<ID>::P.iterations {
        first!(0 1 2 3 4);
        second!(0 1 2 3 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn isqrt_reference(n: u64) -> u64 {
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
    fn int_sqrt_matches_exact_arithmetic() {
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
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x);
            samples.push(x >> (x % 64));
        }
        // Inputs whose root is an exact integer plus or minus one: where an estimate is off by one.
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
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
        for n in samples {
            assert_eq!(int_sqrt_v2(n), isqrt_reference(n), "n = {n}");
        }
    }

    #[test]
    fn div_v2_matches_plain_division() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
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

    #[test]
    fn v1_byte_tweak_flips_only_bits_of_byte_11() {
        for byte in 0..=255u64 {
            let hi = byte << 24;
            let t = v1_byte_tweak(hi);
            assert_eq!(t & !(0x30 << 24), hi & !(0x30 << 24));
        }
    }
}
