//! cn/r's whole main loop in hand-written x86-64 assembly, for one and two ways on AES-NI with AVX.
//!
//! Why by hand: the compiled loop (`run_with` in the parent) calls the program through an `asm!`
//! block that pins nine registers, so with two ways LLVM runs out of the rest and spills about 20
//! values per iteration, and moves each way's inputs into the pinned registers. Here every
//! register is chosen once: each way's `r0..r3` live in their own four registers for the whole
//! loop, the program (compiled per height on the `LOOP_WAY0`/`LOOP_WAY1` plans of
//! `cnr::x86_encoder`) reads `al` and `ah` straight from where the loop keeps them, and nothing
//! spills.
//!
//! With two ways the order is not the compiled loop's (each way's whole iteration in turn) but
//! both first halves, then both second halves, each first half ending in a prefetch of its second
//! line: both ways' reads are then in flight together, however little of the out-of-order window
//! the core's other hyperthread leaves us. Each second line is read before its program, so its
//! miss overlaps the program, and each way prefetches its next first line.
//!
//! The instructions are AVX's VEX forms: three operands spare the register copies the SSE forms
//! need (seven per way and iteration). CPUs with AES-NI and no AVX keep the compiled loop.
//!
//! Registers, for the whole loop: `r15` the first scratchpad (way 1's follows it); way 0 keeps
//! `a`, `b`, `b1` in `xmm8..xmm10` and `r0..r3` in `r8d..r11d`; way 1 in `xmm11..xmm13` and
//! `r12d`, `r13d`, `r14d`, `ebp`; between the halves, way 0's `c` is in `xmm14`, way 1's in
//! `xmm15`. `rax`, `rbx`, `rcx`, `rdx`, `rsi`, `rdi` and `xmm1..xmm6` are scratch. The stack holds
//! the state pointer, the two program entries and the iteration count.

use core::arch::asm;
use core::arch::x86_64::__m128i;

use super::{asm_can_take, WayVectors};
use crate::cn::aesni::Hw;
use crate::cn::algorithm::Algorithm;
use crate::cn::main_loop::{Lane, Row};
use crate::cnr::Jitted;

/// The loop's address mask and the distance between the two ways' scratchpads are written into
/// the assembly as literals; they are cn/r's.
const _: () = {
    let p = Algorithm::TABLE[Algorithm::CnR as usize];
    assert!(p.mask == 0x1F_FFF0 && p.memory == 0x20_0000 && p.random_math);
};

/// One way's state as the assembly loads and stores it.
#[repr(C, align(16))]
#[derive(Default)]
struct WayRegs {
    v: WayVectors,
    r: [u32; 4],
}

/// The assembly finds way `i`'s state at `rdi + 64 i`.
const _: () = assert!(core::mem::size_of::<WayRegs>() == 64);

/// Variant 4's shuffle of a line's three neighbours, already read into `xmm1..xmm3` from the
/// offsets in `$o1`, `$o2`, `$o3` (the line's ^ 0x10, 0x20, 0x30): each neighbour goes to the next
/// one's place plus `b1`, `b` or `a`, and `c` takes the xor of all three.
#[rustfmt::skip]
macro_rules! cnr_chunks {
    ($a:literal, $b:literal, $b1:literal, $c:literal, $o1:literal, $o2:literal, $o3:literal,
     $pad:literal) => {
        concat!(
            "vpaddq xmm4, xmm3, ", $b1, "\n",
            "vmovdqa [r15 + ", $o1, " + ", $pad, "], xmm4\n",
            "vpaddq xmm4, xmm1, ", $b, "\n",
            "vmovdqa [r15 + ", $o2, " + ", $pad, "], xmm4\n",
            "vpaddq xmm4, xmm2, ", $a, "\n",
            "vmovdqa [r15 + ", $o3, " + ", $pad, "], xmm4\n",
            "vpxor xmm1, xmm1, xmm2\n",
            "vpxor ", $c, ", ", $c, ", xmm3\n",
            "vpxor ", $c, ", ", $c, ", xmm1\n",
        )
    };
}

/// First half of one way's iteration. Arguments: the way's `a`, `b`, `b1` registers, the register
/// that keeps its `c` until the second half, and its scratchpad's offset from `r15`.
#[rustfmt::skip]
macro_rules! cnr_first {
    ($a:literal, $b:literal, $b1:literal, $c:literal, $pad:literal) => {
        concat!(
            // The AES round on the line `a` points at, variant 2's shuffle of the line's three
            // neighbours (with the chunks' xor into c, as variant 4 has it), and the store of
            // b ^ c.
            "vmovq rax, ", $a, "\n",
            "and eax, 0x1FFFF0\n",
            "vmovdqa ", $c, ", [r15 + rax + ", $pad, "]\n",
            "mov rcx, rax\n",
            "xor rcx, 0x10\n",
            "mov rdx, rax\n",
            "xor rdx, 0x20\n",
            "mov rbx, rax\n",
            "xor rbx, 0x30\n",
            "vmovdqa xmm1, [r15 + rcx + ", $pad, "]\n",
            "vmovdqa xmm2, [r15 + rdx + ", $pad, "]\n",
            "vmovdqa xmm3, [r15 + rbx + ", $pad, "]\n",
            "vaesenc ", $c, ", ", $c, ", ", $a, "\n",
            cnr_chunks!($a, $b, $b1, $c, "rcx", "rdx", "rbx", $pad),
            "vpxor xmm4, ", $c, ", ", $b, "\n",
            "vmovdqa [r15 + rax + ", $pad, "], xmm4\n",
        )
    };
}

/// Second half: the second line, the program, the multiply and the shuffle around the second
/// line, and the next `a`, `b`, `b1`. Arguments as for `cnr_first`, plus the way's `r0..r3`
/// (64-bit names; the program keeps them zero-extended) and the stack slot of its program.
#[rustfmt::skip]
macro_rules! cnr_second {
    ($a:literal, $b:literal, $b1:literal, $c:literal, $r0:literal, $r1:literal, $r2:literal,
     $r3:literal, $pad:literal, $prog:literal) => {
        concat!(
            // The second line, read now so that its miss overlaps the program.
            "vmovq rcx, ", $c, "\n",
            "and ecx, 0x1FFFF0\n",
            "vmovdqa xmm5, [r15 + rcx + ", $pad, "]\n",
            // Its low half ^= (r0 + r1) | (r2 + r3) << 32, with the registers of before the run.
            "lea eax, [", $r0, " + ", $r1, "]\n",
            "lea edx, [", $r2, " + ", $r3, "]\n",
            "shl rdx, 32\n",
            "or rax, rdx\n",
            "vmovq xmm6, rax\n",
            "vpxor xmm5, xmm5, xmm6\n",
            // The program's inputs: r4 = al and r5 = ah (whole in rsi and rdi, which it only
            // reads), r6 = b's low word, r7 and r8 = b1's words 0 and 2.
            "vmovq rsi, ", $a, "\n",
            "vpextrq rdi, ", $a, ", 1\n",
            "vmovd eax, ", $b, "\n",
            "vmovd edx, ", $b1, "\n",
            "vpextrd ebx, ", $b1, ", 2\n",
            "call qword ptr [rsp + ", $prog, "]\n",
            // al ^= r2 | r3 << 32, ah ^= r0 | r1 << 32.
            "mov rax, ", $r3, "\n",
            "shl rax, 32\n",
            "or rax, ", $r2, "\n",
            "xor rsi, rax\n",
            "mov rdx, ", $r1, "\n",
            "shl rdx, 32\n",
            "or rdx, ", $r0, "\n",
            "xor rdi, rdx\n",
            // The multiply: c's low half by the second line's (changed) low half.
            "vmovq rbx, ", $c, "\n",
            "vmovq rax, xmm5\n",
            "mul rbx\n",
            "and ebx, 0x1FFFF0\n",
            "add rsi, rdx\n",
            "add rdi, rax\n",
            // The shuffle around the second line, with the a of before the program.
            "mov rcx, rbx\n",
            "xor rcx, 0x10\n",
            "mov rax, rbx\n",
            "xor rax, 0x20\n",
            "mov rdx, rbx\n",
            "xor rdx, 0x30\n",
            "vmovdqa xmm1, [r15 + rcx + ", $pad, "]\n",
            "vmovdqa xmm2, [r15 + rax + ", $pad, "]\n",
            "vmovdqa xmm3, [r15 + rdx + ", $pad, "]\n",
            cnr_chunks!($a, $b, $b1, $c, "rcx", "rax", "rdx", $pad),
            // Store (al, ah) on the second line; the next a is that ^ the line's (changed) value.
            "mov [r15 + rbx + ", $pad, "], rsi\n",
            "mov [r15 + rbx + ", $pad, " + 8], rdi\n",
            "vmovq ", $a, ", rsi\n",
            "vmovq xmm6, rdi\n",
            "vpunpcklqdq ", $a, ", ", $a, ", xmm6\n",
            "vpxor ", $a, ", ", $a, ", xmm5\n",
            "vmovdqa ", $b1, ", ", $b, "\n",
            "vmovdqa ", $b, ", ", $c, "\n",
        )
    };
}

/// Starts fetching the line a way's next iteration reads first (see `prefetch_next`).
#[rustfmt::skip]
macro_rules! cnr_prefetch {
    ($a:literal, $pad:literal) => {
        concat!(
            "vmovq rax, ", $a, "\n",
            "and eax, 0x1FFFF0\n",
            "prefetcht0 [r15 + rax + ", $pad, "]\n",
        )
    };
}

/// Starts fetching a way's second line, whose address its first half has just worked out, so
/// that the miss is under way while the other way's first half runs.
#[rustfmt::skip]
macro_rules! cnr_touch {
    ($c:literal, $pad:literal) => {
        concat!(
            "vmovq rcx, ", $c, "\n",
            "and ecx, 0x1FFFF0\n",
            "prefetcht0 [r15 + rcx + ", $pad, "]\n",
        )
    };
}

/// Way `w`'s state in (`load`) or out (`store`) of its registers; `rdi` points at the two
/// `WayRegs`.
macro_rules! cnr_move {
    ($dir:ident, $a:literal, $b:literal, $b1:literal, $r0:literal, $r1:literal, $r2:literal,
     $r3:literal, $at:literal) => {
        asm_way_state!($dir, $at, $a, $b, $b1, $r0 @ "48", $r1 @ "52", $r2 @ "56", $r3 @ "60")
    };
}

/// The block around the loop: saves rbx and rbp, puts the state pointer, the two program
/// entries and the iteration count on the stack, loads the ways, runs the body until the count
/// is spent, and stores the ways back. Each list is of template strings, each ending in a comma.
#[rustfmt::skip]
macro_rules! cnr_block {
    ($regs:expr, $base:expr, $entries:expr, $iterations:expr;
     load: [$($load:tt)*]; body: [$($body:tt)*]; store: [$($store:tt)*]) => {
        asm!(
            "push rbx",
            "push rbp",
            "sub rsp, 40",
            "mov [rsp], rdi",
            "mov [rsp + 8], rsi",
            "mov [rsp + 16], rdx",
            "mov [rsp + 24], rcx",
            $($load)*
            "2:",
            $($body)*
            "sub qword ptr [rsp + 24], 1",
            "jnz 2b",
            "mov rdi, [rsp]",
            $($store)*
            "add rsp, 40",
            "pop rbp",
            "pop rbx",
            inout("rdi") $regs.as_mut_ptr() => _,
            inout("rsi") $entries[0] => _,
            inout("rdx") $entries[1] => _,
            inout("rcx") $iterations => _,
            in("r15") $base,
            out("rax") _, out("r8") _, out("r9") _, out("r10") _, out("r11") _,
            out("r12") _, out("r13") _, out("r14") _,
            out("xmm0") _, out("xmm1") _, out("xmm2") _, out("xmm3") _, out("xmm4") _,
            out("xmm5") _, out("xmm6") _, out("xmm7") _, out("xmm8") _, out("xmm9") _,
            out("xmm10") _, out("xmm11") _, out("xmm12") _, out("xmm13") _,
            out("xmm14") _, out("xmm15") _,
        )
    };
}

/// Runs `iterations` of the loop on the states in `regs` (one or two ways).
///
/// # Safety
/// `base` points to `W` consecutive 64-byte aligned cn/r scratchpads; `entries` are a live
/// program's `loop_entries`; the CPU has AES-NI, SSE4.1 and AVX.
#[target_feature(enable = "aes,sse2,sse4.1,avx")]
unsafe fn run_asm<const W: usize>(
    regs: &mut [WayRegs; 2],
    base: *mut u8,
    entries: [*const u8; 2],
    iterations: usize,
) {
    // What both blocks rely on: see the module comment for the registers; rbx and rbp, which
    // LLVM reserves, are saved and restored by hand; every other register the block changes is
    // declared. Memory touched: `regs` (through rdi), the scratchpads from `base` (offsets masked
    // to each) and the block's own stack slots; the program touches no memory.
    if W == 1 {
        // SAFETY: registers and memory as said above this `if`; the caller's CPU and pads.
        unsafe {
            cnr_block!(regs, base, entries, iterations;
                load: [
                    cnr_move!(load, "xmm8", "xmm9", "xmm10", "r8d", "r9d", "r10d", "r11d", "0"),
                ];
                body: [
                    cnr_first!("xmm8", "xmm9", "xmm10", "xmm14", "0"),
                    cnr_second!("xmm8", "xmm9", "xmm10", "xmm14",
                        "r8", "r9", "r10", "r11", "0", "8"),
                ];
                store: [
                    cnr_move!(store, "xmm8", "xmm9", "xmm10", "r8d", "r9d", "r10d", "r11d", "0"),
                ]
            );
        }
    } else {
        // SAFETY: as for one way.
        unsafe {
            cnr_block!(regs, base, entries, iterations;
                load: [
                    cnr_move!(load, "xmm8", "xmm9", "xmm10", "r8d", "r9d", "r10d", "r11d", "0"),
                    cnr_move!(load, "xmm11", "xmm12", "xmm13",
                        "r12d", "r13d", "r14d", "ebp", "64"),
                ];
                body: [
                    cnr_first!("xmm8", "xmm9", "xmm10", "xmm14", "0"),
                    cnr_touch!("xmm14", "0"),
                    cnr_first!("xmm11", "xmm12", "xmm13", "xmm15", "0x200000"),
                    cnr_touch!("xmm15", "0x200000"),
                    cnr_second!("xmm8", "xmm9", "xmm10", "xmm14",
                        "r8", "r9", "r10", "r11", "0", "8"),
                    cnr_prefetch!("xmm8", "0"),
                    cnr_second!("xmm11", "xmm12", "xmm13", "xmm15",
                        "r12", "r13", "r14", "rbp", "0x200000", "16"),
                    cnr_prefetch!("xmm11", "0x200000"),
                ];
                store: [
                    cnr_move!(store, "xmm8", "xmm9", "xmm10", "r8d", "r9d", "r10d", "r11d", "0"),
                    cnr_move!(store, "xmm11", "xmm12", "xmm13",
                        "r12d", "r13d", "r14d", "ebp", "64"),
                ]
            );
        }
    }
}

/// Runs all of cn/r's iterations on `lanes` in assembly and returns true, where there is a loop
/// for `W`; otherwise returns false having done nothing.
///
/// # Safety
/// As for `main_loop::run`, on a CPU that runs the assembly loops (AES-NI and AVX).
#[inline(always)]
pub(super) unsafe fn run<const ID: usize, const W: usize>(
    lanes: &mut [Lane<Hw>; W],
    prog: Jitted<'_>,
) -> bool {
    let p = Row::<ID>::P;
    if !p.random_math || W > 2 || W == 0 || !asm_can_take(lanes, p.memory) {
        return false;
    }
    let mut regs: [WayRegs; 2] = Default::default();
    for (reg, lane) in regs.iter_mut().zip(lanes.iter()) {
        *reg = WayRegs {
            v: WayVectors::of(lane),
            r: [lane.r[0], lane.r[1], lane.r[2], lane.r[3]],
        };
    }
    // SAFETY: the caller's scratchpads (checked above to sit where the assembly expects
    // them), a live program's entries, and a CPU with AES-NI and AVX (the caller says so).
    unsafe {
        run_asm::<W>(
            &mut regs,
            lanes[0].sp,
            prog.loop_entries(),
            p.iterations as usize,
        )
    };
    for (reg, lane) in regs.iter().zip(lanes.iter_mut()) {
        reg.v.put(lane);
        lane.r[..4].copy_from_slice(&reg.r);
    }
    true
}

/// `__m128i` is what `Lane<Hw>` holds; the assembly moves it through `WayRegs` as two words.
const _: () = assert!(core::mem::size_of::<__m128i>() == 16);

#[cfg(test)]
mod tests {
    use crate::cn::main_loop::tests::check_against_portable;
    use crate::cn::Algorithm;
    use crate::cpu::{test_can_run, Cpu, CpuPath};

    /// The vectors put one input in both ways (cn/r's heights differ per vector), which would
    /// not notice one way's registers used for the other; here the ways differ.
    #[test]
    fn two_ways_with_different_inputs_match_the_portable_path() {
        if !test_can_run(CpuPath::Avx) {
            return;
        }
        check_against_portable(Cpu::detect(), Algorithm::CnR, 2);
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
        check_against_portable(no_avx, Algorithm::CnR, 1);
        check_against_portable(no_avx, Algorithm::CnR, 2);
    }
}
