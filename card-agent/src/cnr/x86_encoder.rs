//! Turns a cn/r program into x86-64 machine code: one short instruction sequence per cn/r
//! instruction, every register in a CPU register, no memory touched.
//!
//! Register plan (a private convention, not System V: the code is entered with `call` from an
//! `asm!` block that names these registers, so the caller's vector registers survive the call and
//! nothing is spilled around it): `r0..r3` live in `r8d..r11d` (read and written); the read-only
//! inputs `r4..r8` arrive in `eax`, `edx`, `esi`, `edi` and `r12d`; `ecx` carries rotation counts,
//! because x86 only rotates by `cl`, and is the only other register changed. The code ends in `ret`.

use super::instruction::{Instruction, Opcode};

/// Upper bound of the code size: the longest sequence (8 bytes) for each of at most 70
/// instructions, plus `ret`.
pub(crate) const MAX_CODE_LEN: usize = 70 * 8 + 1;

/// Hardware register number (0..16) holding cn/r register `index` (0..9).
pub(crate) const fn register(index: u8) -> u8 {
    match index {
        0..=3 => 8 + index,
        4 => 0,  // eax
        5 => 2,  // edx
        6 => 6,  // esi
        7 => 7,  // edi
        _ => 12, // r12d
    }
}

fn modrm(md: u8, reg: u8, rm: u8) -> u8 {
    (md << 6) | ((reg & 7) << 3) | (rm & 7)
}

/// REX prefix bits: R extends ModRM.reg, X the SIB index, B ModRM.rm or the SIB base.
const REX: u8 = 0x40;
const REX_R: u8 = 0x04;
const REX_X: u8 = 0x02;
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
fn emit(code: &mut Vec<u8>, ins: &Instruction) {
    let dst = register(ins.dst());
    let src = register(ins.src());
    match ins.opcode() {
        Opcode::Mul => alu(code, &[0x0f, 0xaf], dst, src),
        Opcode::Sub => alu(code, &[0x2b], dst, src),
        Opcode::Xor => alu(code, &[0x33], dst, src),
        // One `lea dst, [dst + src + C]`: a single 3-operand add, as the generator models it.
        // The index is never `rsp` (src is one of the registers above), and a 32-bit
        // displacement means no base needs special casing.
        Opcode::Add => {
            code.push(REX | high(dst, REX_R) | high(src, REX_X) | high(dst, REX_B));
            code.extend_from_slice(&[0x8d, modrm(0b10, dst, 0b100), modrm(0, src, dst)]);
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

/// The whole program: the body on the registers of the plan above, then `ret`.
pub(crate) fn encode(body: &[Instruction]) -> Vec<u8> {
    let mut code = Vec::with_capacity(MAX_CODE_LEN);
    for ins in body.iter().take_while(|i| i.opcode() != Opcode::Ret) {
        emit(&mut code, ins);
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
            // lea r9d, [r9 + r10 + 0x12345678]
            (
                ins(Opcode::Add, 1, 2, 0x1234_5678),
                &[0x47, 0x8d, 0x8c, 0x11, 0x78, 0x56, 0x34, 0x12],
            ),
            // lea r8d, [r8 + rdx + 0xdeadbeef]
            (
                ins(Opcode::Add, 0, 5, 0xdead_beef),
                &[0x45, 0x8d, 0x84, 0x10, 0xef, 0xbe, 0xad, 0xde],
            ),
            (
                ins(Opcode::Ror, 2, 0, 0),
                &[0x41, 0x8b, 0xc8, 0x41, 0xd3, 0xca],
            ), // mov ecx, r8d; ror r10d, cl
            (ins(Opcode::Rol, 3, 7, 0), &[0x8b, 0xcf, 0x41, 0xd3, 0xc3]), // mov ecx, edi; rol r11d, cl
        ];
        for (i, expected) in cases {
            let mut code = Vec::new();
            emit(&mut code, &i);
            assert_eq!(code, expected, "{i}");
        }
    }

    #[test]
    fn every_register_has_its_own_cpu_register() {
        let regs: Vec<u8> = (0..9).map(register).collect();
        for (i, r) in regs.iter().enumerate() {
            assert!(!regs[i + 1..].contains(r), "r{i} shares a CPU register");
            // Never rsp/rbp/rbx (the caller's), never ecx (the rotation count).
            assert!(![1, 3, 4, 5].contains(r), "r{i} in CPU register {r}");
        }
    }

    #[test]
    fn longest_program_fits() {
        let worst = vec![ins(Opcode::Add, 0, 8, u32::MAX); 70];
        assert!(encode(&worst).len() <= MAX_CODE_LEN);
        let rotations = vec![ins(Opcode::Rol, 3, 8, 0); 70];
        assert!(encode(&rotations).len() <= MAX_CODE_LEN);
    }
}
