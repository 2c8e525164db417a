//! The variant-2 family's main loop (cn/2, cn/half, cn/rwz, cn/zls, cn/double, cn-pico,
//! cn-pico/tlo, cn/upx2) in hand-written x86-64 assembly, for two and three ways on AES-NI with
//! AVX.
//!
//! Why by hand: at three ways the compiled loop needs more registers than there are. LLVM spills
//! eight values per way and iteration and spends about 94 instructions a way; here every value has
//! a register of its own for the whole loop and a way's iteration is about 85 instructions.
//!
//! The order is the compiled loop's: every way's first half, then every way's second half, so
//! the ways' scratchpad reads are in flight together. Between the halves a way keeps only `c`:
//! its first half prefetches the second line, which its second half then reads (from L1 by
//! then), and the line's address is worked out again from `c`.
//!
//! Registers, for the whole loop: `r15` the first scratchpad (way `i`'s sits `i` scratchpads
//! further). Way `i` keeps `a`, `b`, `b1` in `xmm(7+3i)..xmm(9+3i)`, `c` between its halves in
//! `xmm(4+i)`, and its last quotient and square root in `r(8+2i)` and `r(9+2i)`. `rax`, `rbx`,
//! `rcx`, `rdx`, `rsi`, `rdi` and `xmm0..xmm3` are scratch; the iteration count is on the stack.
//!
//! The square root is the compiled loop's estimate (see `int_sqrt_v2_biased`): one `vsqrtsd`, and
//! in the few cases where the estimate can be off by one the exact fix-up, out of line.

use core::arch::asm;

use super::{asm_can_take, WayVectors};
use crate::cn::aesni::Hw;
use crate::cn::algorithm::{Base, Heavy};
use crate::cn::main_loop::{Lane, Row, SQRT_BIAS};

/// One way's state as the assembly loads and stores it (the next address is `a`'s low word).
#[repr(C, align(16))]
#[derive(Default)]
struct WayRegs {
    v: WayVectors,
    div: u64,
    sqrt: u64,
}

/// The assembly finds way `i`'s state at `rdi + 64 i`.
const _: () = assert!(core::mem::size_of::<WayRegs>() == 64);

/// The exponent field of 1.0, which turns the top 52 bits of `n` into the double `1 + n / 2^64`.
static SQRT_ONE: u64 = 1023 << 52;

/// Way 0's registers, labels and offsets, handed to `$m` after `$m`'s own leading arguments:
/// `a`, `b`, `b1`, `c`, quotient, square root, the scratchpad's offset from `r15`, the fix-up's
/// labels (there and back), the `WayRegs` offset.
macro_rules! way0 {
    ($m:ident $(, $pre:tt)*) => {
        $m!($($pre,)* "xmm7", "xmm8", "xmm9", "xmm4", "r8", "r9", "0", "3", "6", "0")
    };
}

macro_rules! way1 {
    ($m:ident $(, $pre:tt)*) => {
        $m!($($pre,)* "xmm10", "xmm11", "xmm12", "xmm5", "r10", "r11", "{pad1}", "4", "7", "64")
    };
}

macro_rules! way2 {
    ($m:ident $(, $pre:tt)*) => {
        $m!($($pre,)* "xmm13", "xmm14", "xmm15", "xmm6", "r12", "r13", "{pad2}", "5", "8", "128")
    };
}

/// First half of a way's iteration: the AES round on the line its address points at, the
/// shuffle of that line's three neighbours (`plain`: the 0x30 chunk goes to 0x10 and the 0x10
/// chunk to 0x20; `reversed`: the other way round), the store of b ^ c, and a prefetch of the
/// second line.
#[rustfmt::skip]
macro_rules! v2_first {
    ($shuffle:ident, $a:literal, $b:literal, $b1:literal, $c:literal, $div:literal,
     $sqrt:literal, $pad:literal, $fix:literal, $back:literal, $at:literal) => {
        concat!(
            "vmovq rsi, ", $a, "\n",
            "and esi, {mask}\n",
            "vmovdqa ", $c, ", [r15 + rsi + ", $pad, "]\n",
            "mov rcx, rsi\n",
            "xor rcx, 0x10\n",
            "mov rdx, rsi\n",
            "xor rdx, 0x20\n",
            "mov rbx, rsi\n",
            "xor rbx, 0x30\n",
            "vmovdqa xmm1, [r15 + rcx + ", $pad, "]\n",
            "vmovdqa xmm2, [r15 + rdx + ", $pad, "]\n",
            "vmovdqa xmm3, [r15 + rbx + ", $pad, "]\n",
            "vaesenc ", $c, ", ", $c, ", ", $a, "\n",
            v2_first!(@chunks $shuffle, $a, $b, $b1, $pad),
            "vpxor xmm0, ", $c, ", ", $b, "\n",
            "vmovdqa [r15 + rsi + ", $pad, "], xmm0\n",
            // The second line's address is known: start its read.
            "vmovq rax, ", $c, "\n",
            "and eax, {mask}\n",
            "prefetcht0 [r15 + rax + ", $pad, "]\n",
        )
    };
    (@chunks plain, $a:literal, $b:literal, $b1:literal, $pad:literal) => {
        v2_first!(@store "xmm3", "xmm1", $a, $b, $b1, $pad)
    };
    (@chunks reversed, $a:literal, $b:literal, $b1:literal, $pad:literal) => {
        v2_first!(@store "xmm1", "xmm3", $a, $b, $b1, $pad)
    };
    (@store $to10:literal, $to20:literal, $a:literal, $b:literal, $b1:literal, $pad:literal) => {
        concat!(
            "vpaddq ", $to10, ", ", $to10, ", ", $b1, "\n",
            "vmovdqa [r15 + rcx + ", $pad, "], ", $to10, "\n",
            "vpaddq ", $to20, ", ", $to20, ", ", $b, "\n",
            "vmovdqa [r15 + rdx + ", $pad, "], ", $to20, "\n",
            "vpaddq xmm2, xmm2, ", $a, "\n",
            "vmovdqa [r15 + rbx + ", $pad, "], xmm2\n",
        )
    };
}

/// Second half: the second line, the division and square root, the multiply, the shuffle around
/// the second line, the next `a`, `b` and `b1`, and a prefetch of the line the next iteration
/// reads first.
#[rustfmt::skip]
macro_rules! v2_second {
    ($shuffle:ident, $a:literal, $b:literal, $b1:literal, $c:literal,
     $div:literal, $sqrt:literal, $pad:literal, $fix:literal, $back:literal, $at:literal) => {
        concat!(
            // The second line, at c's low word (kept in rbx; the line's offset stays in rsi);
            // its low half ^= quotient ^ root << 32, both from the last iteration.
            "vmovq rbx, ", $c, "\n",
            "mov esi, ebx\n",
            "and esi, {mask}\n",
            "vmovdqa xmm0, [r15 + rsi + ", $pad, "]\n",
            "mov rax, ", $sqrt, "\n",
            "shl rax, 32\n",
            "xor rax, ", $div, "\n",
            "vmovq xmm1, rax\n",
            "vpxor xmm0, xmm0, xmm1\n",
            // The division: c's high word by (c0 + 2 root) | 0x80000001, as `div_v2` does it:
            // take one divisor off the high half when it fits, then one 64-by-32 `div`.
            "lea ecx, [rbx + 2*", $sqrt, "]\n",
            "or ecx, 0x80000001\n",
            "vpextrq rax, ", $c, ", 1\n",
            "mov rdx, rax\n",
            "shr rdx, 32\n",
            "mov edi, edx\n",
            "sub edi, ecx\n",
            "cmovae edx, edi\n",
            "div ecx\n",
            "shl rdx, 32\n",
            "lea ", $div, ", [rax + rdx]\n",
            // The square root of c0 + quotient, biased as `int_sqrt_v2_biased` leaves it; to the
            // fix-up when the estimate's low 19 bits are within 2 of a wrap.
            "lea rdi, [rbx + ", $div, "]\n",
            "shr rdi, 12\n",
            "or rdi, qword ptr [rip + {one}]\n",
            "vmovq xmm1, rdi\n",
            "vsqrtsd xmm1, xmm1, xmm1\n",
            "vmovq rax, xmm1\n",
            "lea ecx, [rax + 2]\n",
            "shr rax, 19\n",
            "test ecx, 0x7FFFC\n",
            "jz ", $fix, "f\n",
            $back, ":\n",
            "mov ", $sqrt, ", rax\n",
            // The multiply: c0 by the line's changed low half (kept in rcx); rdx:rax = hi:lo.
            "vmovq rcx, xmm0\n",
            "mov rax, rbx\n",
            "mul rcx\n",
            // (hi, lo) into the 0x10 chunk; the 0x20 chunk into (hi, lo).
            "vmovq xmm1, rdx\n",
            "vpinsrq xmm1, xmm1, rax, 1\n",
            "mov rbx, rsi\n",
            "xor rbx, 0x10\n",
            "vpxor xmm2, xmm1, [r15 + rbx + ", $pad, "]\n",
            "mov rdi, rsi\n",
            "xor rdi, 0x20\n",
            "vmovdqa xmm3, [r15 + rdi + ", $pad, "]\n",
            "vpxor xmm1, xmm1, xmm3\n",
            v2_second!(@chunks $shuffle, $a, $b, $b1, $pad),
            // a += (hi, lo), stored on the second line; the next a is that ^ the line.
            "vpaddq ", $a, ", ", $a, ", xmm1\n",
            "vmovdqa [r15 + rsi + ", $pad, "], ", $a, "\n",
            "vpxor ", $a, ", ", $a, ", xmm0\n",
            "vmovdqa ", $b1, ", ", $b, "\n",
            "vmovdqa ", $b, ", ", $c, "\n",
            // Start the read the next iteration opens with (see `prefetch_next`).
            "vmovq rax, ", $a, "\n",
            "and eax, {mask}\n",
            "prefetcht0 [r15 + rax + ", $pad, "]\n",
        )
    };
    // The changed 0x10 chunk (xmm2) goes where its destination was already read (0x20 at rdi,
    // or 0x10 at rbx), which frees its register for the 0x30 chunk.
    (@chunks plain, $a:literal, $b:literal, $b1:literal, $pad:literal) => {
        v2_second!(@store "rdi", $b, "rbx", $b1, $a, $pad)
    };
    (@chunks reversed, $a:literal, $b:literal, $b1:literal, $pad:literal) => {
        v2_second!(@store "rbx", $b1, "rdi", $b, $a, $pad)
    };
    (@store $to1:literal, $key1:literal, $to3:literal, $key3:literal, $a:literal,
     $pad:literal) => {
        concat!(
            "vpaddq xmm2, xmm2, ", $key1, "\n",
            "vmovdqa [r15 + ", $to1, " + ", $pad, "], xmm2\n",
            "mov rcx, rsi\n",
            "xor rcx, 0x30\n",
            "vmovdqa xmm2, [r15 + rcx + ", $pad, "]\n",
            "vpaddq xmm3, xmm3, ", $a, "\n",
            "vmovdqa [r15 + rcx + ", $pad, "], xmm3\n",
            "vpaddq xmm2, xmm2, ", $key3, "\n",
            "vmovdqa [r15 + ", $to3, " + ", $pad, "], xmm2\n",
        )
    };
}

/// A way's way into the shared fix-up and back: `n` (c0 + quotient) into `rdi`.
#[rustfmt::skip]
macro_rules! v2_fix_entry {
    ($a:literal, $b:literal, $b1:literal, $c:literal, $div:literal, $sqrt:literal, $pad:literal,
     $fix:literal, $back:literal, $at:literal) => {
        concat!(
            $fix, ":\n",
            "lea rdi, [rbx + ", $div, "]\n",
            "call 9f\n",
            "jmp ", $back, "b\n",
        )
    };
}

/// Way `w`'s state in (`load`) or out (`store`) of its registers; `rdi` points at the `WayRegs`.
macro_rules! v2_move {
    ($dir:ident, $a:literal, $b:literal, $b1:literal, $c:literal, $div:literal, $sqrt:literal,
     $pad:literal, $fix:literal, $back:literal, $at:literal) => {
        asm_way_state!($dir, $at, $a, $b, $b1, $div @ "48", $sqrt @ "56")
    };
}

/// The shared square-root fix-up, `9:`, which the ways `call`: Monero's exact correction
/// (`sqrt_fixup` in the parent) of the biased estimate in `rax` for `n` in `rdi`. It returns the
/// exact biased root in `rax` and changes nothing else. Needs the `bias` operand.
#[rustfmt::skip]
macro_rules! v2_sqrt_fixup {
    () => {
        concat!(
            "9:\n",
            "push rbx\n",
            "push rcx\n",
            "push rdx\n",
            "push rsi\n",
            "mov rsi, {bias}\n",
            "sub rax, rsi\n",
            // s = r >> 1, b = r & 1, r2 = s * (s + b) + (r << 32)
            "mov rcx, rax\n",
            "shr rcx, 1\n",
            "mov edx, eax\n",
            "and edx, 1\n",
            "lea rsi, [rcx + rdx]\n",
            "imul rsi, rcx\n",
            "mov rbx, rax\n",
            "shl rbx, 32\n",
            "add rsi, rbx\n",
            // one too high when r2 + b > n
            "lea rbx, [rsi + rdx]\n",
            "cmp rbx, rdi\n",
            "jbe 22f\n",
            "sub rax, 1\n",
            "22:\n",
            // one too low when r2 + 2^32 < n - s
            "mov rbx, rdi\n",
            "sub rbx, rcx\n",
            "mov rdx, 0x100000000\n",
            "add rsi, rdx\n",
            "cmp rsi, rbx\n",
            "jae 23f\n",
            "add rax, 1\n",
            "23:\n",
            "mov rsi, {bias}\n",
            "add rax, rsi\n",
            "pop rsi\n",
            "pop rdx\n",
            "pop rcx\n",
            "pop rbx\n",
            "ret\n",
        )
    };
}

/// The block around the loop: saves rbx, keeps the state pointer and the iteration count
/// on the stack, loads the ways, runs the body until the count is spent, and stores the ways
/// back. The fix-ups sit after the loop, with the shared routine they call.
#[rustfmt::skip]
macro_rules! v2_block {
    ($regs:expr, $base:expr, $iterations:expr, $mask:expr, $pad1:expr, $pad2:expr;
     load: [$($load:tt)*]; body: [$($body:tt)*]; fix: [$($fix:tt)*]; store: [$($store:tt)*]) => {
        asm!(
            "push rbx",
            "sub rsp, 16",
            "mov [rsp], rdi",
            "mov [rsp + 8], rcx",
            "/* way 1 at +{pad1}, way 2 at +{pad2} */",
            $($load)*
            "2:",
            $($body)*
            "sub qword ptr [rsp + 8], 1",
            "jnz 2b",
            "jmp 24f",
            $($fix)*
            v2_sqrt_fixup!(),
            "24:",
            "mov rdi, [rsp]",
            $($store)*
            "add rsp, 16",
            "pop rbx",
            mask = const $mask,
            pad1 = const $pad1,
            pad2 = const $pad2,
            one = sym SQRT_ONE,
            bias = const SQRT_BIAS,
            inout("rdi") $regs.as_mut_ptr() => _,
            inout("rcx") $iterations => _,
            in("r15") $base,
            out("rax") _, out("rdx") _, out("rsi") _,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _, out("r12") _, out("r13") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _,
            out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _,
            out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _,
            out("xmm14") _, out("xmm15") _,
        )
    };
}

/// Runs `iterations` of `ID`'s loop on the states in `regs` (`W` of them, 2 or 3).
///
/// # Safety
/// `base` points to `W` consecutive 64-byte aligned scratchpads of `ID`'s size; `ID` is a
/// variant-2 row without cn/r's program; the CPU has AES-NI, SSE4.1 and AVX.
#[target_feature(enable = "aes,sse2,sse4.1,avx")]
unsafe fn run_asm<const ID: usize, const W: usize>(
    regs: &mut [WayRegs; 3],
    base: *mut u8,
    iterations: usize,
) {
    // What every block relies on: see the module comment for the registers; rbx, which LLVM
    // reserves, is saved and restored by hand; every other register the block changes is
    // declared. Memory touched: `regs` (through rdi), the scratchpads from `base` (offsets masked
    // to each, as `first_half` argues), `SQRT_ONE` (read) and the block's own stack slots.
    macro_rules! ways {
        ($s:ident) => {
            match W {
                // SAFETY: registers and memory as said above `ways!`; the caller's CPU and pads.
                2 => unsafe {
                    v2_block!(regs, base, iterations,
                        Row::<ID>::P.mask, Row::<ID>::P.memory, 2 * Row::<ID>::P.memory;
                        load: [way0!(v2_move, load), way1!(v2_move, load),];
                        body: [
                            way0!(v2_first, $s),
                            way1!(v2_first, $s),
                            way0!(v2_second, $s),
                            way1!(v2_second, $s),
                        ];
                        fix: [way0!(v2_fix_entry), way1!(v2_fix_entry),];
                        store: [way0!(v2_move, store), way1!(v2_move, store),]
                    )
                },
                // SAFETY: as for two ways.
                _ => unsafe {
                    v2_block!(regs, base, iterations,
                        Row::<ID>::P.mask, Row::<ID>::P.memory, 2 * Row::<ID>::P.memory;
                        load: [way0!(v2_move, load), way1!(v2_move, load), way2!(v2_move, load),];
                        body: [
                            way0!(v2_first, $s),
                            way1!(v2_first, $s),
                            way2!(v2_first, $s),
                            way0!(v2_second, $s),
                            way1!(v2_second, $s),
                            way2!(v2_second, $s),
                        ];
                        fix: [way0!(v2_fix_entry), way1!(v2_fix_entry), way2!(v2_fix_entry),];
                        store: [
                            way0!(v2_move, store),
                            way1!(v2_move, store),
                            way2!(v2_move, store),
                        ]
                    )
                },
            }
        };
    }
    if Row::<ID>::P.reverse_shuffle {
        ways!(reversed)
    } else {
        ways!(plain)
    }
}

/// Runs all of `ID`'s iterations on `lanes` in assembly and returns true, where there is a loop
/// for `ID` and `W`; otherwise returns false having done nothing.
///
/// # Safety
/// As for `main_loop::run`, on a CPU that runs the assembly loops (AES-NI and AVX).
#[inline(always)]
pub(super) unsafe fn run<const ID: usize, const W: usize>(lanes: &mut [Lane<Hw>; W]) -> bool {
    let p = Row::<ID>::P;
    let plain_v2 =
        p.base == Base::V2 && !p.random_math && p.heavy == Heavy::No && !p.conceal && !p.tube_aes;
    if !plain_v2 || !(2..=3).contains(&W) || !asm_can_take(lanes, p.memory) {
        return false;
    }
    let mut regs: [WayRegs; 3] = Default::default();
    for (reg, lane) in regs.iter_mut().zip(lanes.iter()) {
        *reg = WayRegs {
            v: WayVectors::of(lane),
            div: lane.div,
            sqrt: lane.sqrt,
        };
    }
    // SAFETY: the caller's scratchpads (checked above to sit where the assembly expects them), a
    // plain variant-2 row (checked above), a CPU with AES-NI and AVX (the caller says so).
    unsafe { run_asm::<ID, W>(&mut regs, lanes[0].sp, p.iterations as usize) };
    for (reg, lane) in regs.iter().zip(lanes.iter_mut()) {
        reg.v.put(lane);
        lane.div = reg.div;
        lane.sqrt = reg.sqrt;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cn::main_loop::sqrt_fixup;
    use crate::cn::main_loop::tests::{check_against_portable, isqrt_reference, sqrt_samples};
    use crate::cn::Algorithm;
    use crate::cpu::{test_can_run, Cpu, CpuPath};

    /// The assembly fix-up on its own: the biased estimate `estimate + SQRT_BIAS` for `n`.
    fn fixup_asm(estimate: u64, n: u64) -> u64 {
        let mut r = estimate.wrapping_add(SQRT_BIAS);
        // SAFETY: calls the routine, which saves every register it changes but rax, and skips
        // over it on the way back; it touches no memory but its own stack pushes.
        unsafe {
            asm!(
                "call 9f",
                "jmp 24f",
                v2_sqrt_fixup!(),
                "24:",
                bias = const SQRT_BIAS,
                inout("rax") r,
                in("rdi") n,
            );
        }
        r.wrapping_sub(SQRT_BIAS)
    }

    /// The fix-up on the estimates the loop hands it, checked against exact arithmetic, and on
    /// estimates one off either way (which the vectors reach rarely or never), checked against the
    /// parent's `sqrt_fixup`.
    #[test]
    fn the_fixup_matches_exact_arithmetic_and_the_compiled_one() {
        let mut checked = 0;
        for n in sqrt_samples() {
            let exact = isqrt_reference(n);
            let x = f64::from_bits((1023 << 52) + (n >> 12)).sqrt().to_bits();
            let estimate = (x >> 19) - SQRT_BIAS;
            assert_eq!(fixup_asm(estimate, n), exact, "n = {n}, from {estimate}");
            for estimate in [exact.wrapping_sub(1), exact, exact + 1] {
                if estimate >> 33 != 0 {
                    continue;
                }
                let want = sqrt_fixup(estimate, n);
                assert_eq!(fixup_asm(estimate, n), want, "n = {n}, from {estimate}");
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    /// Every shape the assembly has: the plain and the reversed shuffle, each scratchpad size and
    /// mask, at three ways with a different input in each.
    #[test]
    fn three_ways_with_different_inputs_match_the_portable_path() {
        if !test_can_run(CpuPath::Avx) {
            return;
        }
        for algo in [
            Algorithm::Cn2,
            Algorithm::CnRwz,
            Algorithm::CnPicoTlo,
            Algorithm::CnUpx2,
        ] {
            check_against_portable(Cpu::detect(), algo, 3);
        }
    }

    /// The compiled loop, which AES-NI CPUs without AVX run instead of the assembly.
    #[test]
    fn the_compiled_loop_it_replaces_still_matches() {
        if !test_can_run(CpuPath::Aes) {
            return;
        }
        let no_avx = Cpu {
            avx: false,
            ..Cpu::detect()
        };
        for ways in 1..=3 {
            check_against_portable(no_avx, Algorithm::Cn2, ways);
            check_against_portable(no_avx, Algorithm::CnRwz, ways);
        }
    }
}
