//! Turns a cn/r program into x86-64 machine code: one short instruction sequence per cn/r
//! instruction, every register in a CPU register, no memory touched.
//!
//! Which CPU register holds which cn/r register is a [`Plan`]: a private convention, not System V.
//! The code is entered with `call` from assembly that names those registers, so the caller's
//! vector registers survive the call and nothing is spilled around it. `ecx` carries rotation
//! counts, because x86 only rotates by `cl`, and is the only register changed besides `r0..r3`.
//! The code ends in `ret`.

use super::instruction::{Instruction, Opcode};

/// Upper bound of the code size: the longest sequence (10 bytes, ADD) for each of at most 70
/// instructions, plus `ret`.
pub(crate) const MAX_CODE_LEN: usize = 70 * 10 + 1;

/// Hardware register numbers (0..16) holding cn/r registers `r0..r8`: `r0..r3` are read and
/// written, `r4..r8` only read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Plan(pub(crate) [u8; 9]);

/// For a call from an `asm!` block inside compiled Rust (`jit::CompiledProgram::run`): `r0..r3`
/// in `r8d..r11d`, the inputs in `eax`, `edx`, `esi`, `edi` and `r12d` (LLVM keeps `rbx` and
/// `rbp` for itself, so they cannot be named there).
pub(crate) const CALL: Plan = Plan([8, 9, 10, 11, 0, 2, 6, 7, 12]);

/// For way 0 of the assembly main loop (`cn::main_loop::asm::cnr`): `r0..r3` in `r8d..r11d`, the
/// inputs in `esi` (al), `edi` (ah), `eax`, `edx` and `ebx`, so that `al` and `ah` stay whole in
/// `rsi` and `rdi` for after the call while `rax` and `rdx` are free for the multiply.
pub(crate) const LOOP_WAY0: Plan = Plan([8, 9, 10, 11, 6, 7, 0, 2, 3]);

/// For way 1 of the assembly main loop: `r0..r3` in `r12d`, `r13d`, `r14d` and `ebp`, the inputs
/// as for way 0.
pub(crate) const LOOP_WAY1: Plan = Plan([12, 13, 14, 5, 6, 7, 0, 2, 3]);

fn modrm(md: u8, reg: u8, rm: u8) -> u8 {
    (md << 6) | ((reg & 7) << 3) | (rm & 7)
}

/// REX prefix bits: R extends ModRM.reg, B ModRM.rm.
const REX: u8 = 0x40;
const REX_R: u8 = 0x04;
const REX_B: u8 = 0x01;
/// Hardware number of `ecx`.
const ECX: u8 = 1;

fn high(reg: u8, bit: u8) -> u8 {
    if reg >= 8 {
        bit
    } else {
        0
    }
}

/// Appends `op dst, src` in the `op r32, r/m32` form (IMUL is `0f af`), register to register.
fn alu(code: &mut Vec<u8>, opcode: &[u8], dst: u8, src: u8) {
    let rex = REX | high(dst, REX_R) | high(src, REX_B);
    if rex != REX {
        code.push(rex);
    }
    code.extend_from_slice(opcode);
    code.push(modrm(0b11, dst, src));
}

/// Appends the code for one instruction.
fn emit(code: &mut Vec<u8>, plan: Plan, ins: &Instruction) {
    let dst = plan.0[usize::from(ins.dst())];
    let src = plan.0[usize::from(ins.src())];
    match ins.opcode() {
        Opcode::Mul => alu(code, &[0x0f, 0xaf], dst, src),
        Opcode::Sub => alu(code, &[0x2b], dst, src),
        Opcode::Xor => alu(code, &[0x33], dst, src),
        // `add dst, src` then `add dst, C`: two one-cycle adds on any ALU port, the two cycles
        // the generator's latency model gives ADD. A one-instruction `lea dst, [dst + src + C]`
        // takes three cycles on Skylake-class cores, on port 1 only, where every MUL goes too.
        Opcode::Add => {
            alu(code, &[0x03], dst, src);
            if dst >= 8 {
                code.push(REX | REX_B);
            }
            code.extend_from_slice(&[0x81, modrm(0b11, 0, dst)]);
            code.extend_from_slice(&ins.constant().to_le_bytes());
        }
        Opcode::Ror | Opcode::Rol => {
            // mov ecx, src
            alu(code, &[0x8b], ECX, src);
            // ror/rol dst, cl (the CPU masks the count to 5 bits, which is the `b & 31`)
            let ext = if ins.opcode() == Opcode::Ror { 1 } else { 0 };
            code.extend_from_slice(&[REX | high(dst, REX_B), 0xd3, modrm(0b11, ext, dst)]);
        }
        Opcode::Ret => {}
    }
}

/// The whole program on the registers of `plan`, then `ret`.
pub(crate) fn encode(body: &[Instruction], plan: Plan) -> Vec<u8> {
    let mut code = Vec::with_capacity(MAX_CODE_LEN);
    for ins in body.iter().take_while(|i| i.opcode() != Opcode::Ret) {
        emit(&mut code, plan, ins);
    }
    code.push(0xc3);
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ins(op: Opcode, d: u8, s: u8, c: u32) -> Instruction {
        Instruction::new(op, d, s, c).expect("valid")
    }

    #[test]
    fn encodings_match_the_manual() {
        // Hand-assembled from the Intel SDM forms (and checked against GNU as + objdump).
        let cases: [(Instruction, &[u8]); 9] = [
            (ins(Opcode::Mul, 0, 1, 0), &[0x45, 0x0f, 0xaf, 0xc1]), // imul r8d, r9d
            (ins(Opcode::Mul, 3, 4, 0), &[0x44, 0x0f, 0xaf, 0xd8]), // imul r11d, eax
            (ins(Opcode::Sub, 2, 8, 0), &[0x45, 0x2b, 0xd4]),       // sub r10d, r12d
            (ins(Opcode::Xor, 1, 3, 0), &[0x45, 0x33, 0xcb]),       // xor r9d, r11d
            (ins(Opcode::Xor, 0, 6, 0), &[0x44, 0x33, 0xc6]),       // xor r8d, esi
            // add r9d, r10d; add r9d, 0x12345678
            (
                ins(Opcode::Add, 1, 2, 0x1234_5678),
                &[0x45, 0x03, 0xca, 0x41, 0x81, 0xc1, 0x78, 0x56, 0x34, 0x12],
            ),
            // add r8d, edx; add r8d, 0xdeadbeef
            (
                ins(Opcode::Add, 0, 5, 0xdead_beef),
                &[0x44, 0x03, 0xc2, 0x41, 0x81, 0xc0, 0xef, 0xbe, 0xad, 0xde],
            ),
            (
                ins(Opcode::Ror, 2, 0, 0),
                &[0x41, 0x8b, 0xc8, 0x41, 0xd3, 0xca],
            ), // mov ecx, r8d; ror r10d, cl
            (ins(Opcode::Rol, 3, 7, 0), &[0x8b, 0xcf, 0x41, 0xd3, 0xc3]), // mov ecx, edi; rol r11d, cl
        ];
        for (i, expected) in cases {
            let mut code = Vec::new();
            emit(&mut code, CALL, &i);
            assert_eq!(code, expected, "{i}");
        }
    }

    #[test]
    fn loop_plan_encodings_match_the_manual() {
        // Way 1's registers reach rbp, r13 and r12 (whose low bits are rsp's); checked against
        // GNU as + objdump (as picks the other `add r, r` opcode, 01, for the same operation).
        // A bare REX (0x40) is harmless.
        let cases: [(Instruction, &[u8]); 6] = [
            // add ebp, esi; add ebp, 0x12345678
            (
                ins(Opcode::Add, 3, 4, 0x1234_5678),
                &[0x03, 0xee, 0x81, 0xc5, 0x78, 0x56, 0x34, 0x12],
            ),
            // add r13d, ebx; add r13d, 0x12345678
            (
                ins(Opcode::Add, 1, 8, 0x1234_5678),
                &[0x44, 0x03, 0xeb, 0x41, 0x81, 0xc5, 0x78, 0x56, 0x34, 0x12],
            ),
            (ins(Opcode::Mul, 3, 2, 0), &[0x41, 0x0f, 0xaf, 0xee]), // imul ebp, r14d
            (ins(Opcode::Sub, 0, 8, 0), &[0x44, 0x2b, 0xe3]),       // sub r12d, ebx
            // mov ecx, edi; ror ebp, cl
            (ins(Opcode::Ror, 3, 5, 0), &[0x8b, 0xcf, 0x40, 0xd3, 0xcd]),
            // mov ecx, ebp; rol r13d, cl
            (ins(Opcode::Rol, 1, 3, 0), &[0x8b, 0xcd, 0x41, 0xd3, 0xc5]),
        ];
        for (i, expected) in cases {
            let mut code = Vec::new();
            emit(&mut code, LOOP_WAY1, &i);
            assert_eq!(code, expected, "{i}");
        }
    }

    #[test]
    fn every_register_has_its_own_cpu_register() {
        for plan in [CALL, LOOP_WAY0, LOOP_WAY1] {
            let regs = plan.0;
            for (i, r) in regs.iter().enumerate() {
                assert!(*r < 16, "{plan:?}");
                assert!(
                    !regs[i + 1..].contains(r),
                    "r{i} shares a CPU register in {plan:?}"
                );
                // Never rsp (the stack), never ecx (the rotation count).
                assert!(![1, 4].contains(r), "r{i} in CPU register {r} in {plan:?}");
            }
        }
        // The call from compiled Rust cannot name rbx or rbp.
        assert!(CALL.0.iter().all(|r| ![3, 5].contains(r)));
        // The loop's two ways share the inputs and nothing else.
        assert_eq!(LOOP_WAY0.0[4..], LOOP_WAY1.0[4..]);
        assert!(LOOP_WAY0.0[..4].iter().all(|r| !LOOP_WAY1.0.contains(r)));
    }

    #[test]
    fn longest_program_fits() {
        for plan in [CALL, LOOP_WAY0, LOOP_WAY1] {
            let worst = vec![ins(Opcode::Add, 0, 8, u32::MAX); 70];
            assert!(encode(&worst, plan).len() <= MAX_CODE_LEN);
            let rotations = vec![ins(Opcode::Rol, 3, 8, 0); 70];
            assert!(encode(&rotations, plan).len() <= MAX_CODE_LEN);
        }
    }
}
