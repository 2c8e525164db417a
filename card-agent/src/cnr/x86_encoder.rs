//! Turns a cn/r program into x86-64 machine code: one short instruction sequence per cn/r
//! instruction, the registers kept in CPU registers for the whole run.
//!
//! Register plan (System V): `rdi` points at `r[0..9]`; `r0..r3` live in `r8d..r11d`; `r4..r8` are
//! read straight from memory (they never change during a run, so those loads are off the critical
//! path); `ecx` carries rotation counts, because x86 only rotates by `cl`.

use super::instruction::{Instruction, Opcode};

/// Upper bound of the code size: prologue and epilogue plus the longest sequence (11 bytes) for
/// each of the at most 70 instructions.
pub(crate) const MAX_CODE_LEN: usize = 2 * 16 + 70 * 11 + 1;

/// Where an operand lives.
#[derive(Clone, Copy)]
enum Operand {
    /// `r8d + n` for register `r{n}`, n in 0..4.
    Reg(u8),
    /// `[rdi + disp]` for register `r{n}`, n in 4..9.
    Mem(u8),
}

fn operand(index: u8) -> Operand {
    if index < 4 {
        Operand::Reg(index)
    } else {
        Operand::Mem(index * 4)
    }
}

fn modrm(md: u8, reg: u8, rm: u8) -> u8 {
    (md << 6) | ((reg & 7) << 3) | (rm & 7)
}

/// REX with the R bit (ModRM.reg is r8..r15) and/or B bit (ModRM.rm or SIB.base is r8..r15).
const REX_R: u8 = 0x44;
const REX_X: u8 = 0x42;
const REX_B: u8 = 0x41;
/// ModRM.rm value for `rdi`.
const RDI: u8 = 7;
/// ModRM.reg value for `ecx`.
const ECX: u8 = 1;

/// Appends `op dst, src` for the two-operand ALU forms `op r32, r/m32` (IMUL is `0f af`).
fn alu(code: &mut Vec<u8>, opcode: &[u8], dst: u8, src: Operand) {
    match src {
        Operand::Reg(s) => {
            code.push(REX_R | REX_B);
            code.extend_from_slice(opcode);
            code.push(modrm(0b11, dst, s));
        }
        Operand::Mem(disp) => {
            code.push(REX_R);
            code.extend_from_slice(opcode);
            code.extend_from_slice(&[modrm(0b01, dst, RDI), disp]);
        }
    }
}

/// Appends the code for one instruction.
fn emit(code: &mut Vec<u8>, ins: &Instruction) {
    let dst = ins.dst();
    let src = operand(ins.src());
    match ins.opcode() {
        Opcode::Mul => alu(code, &[0x0f, 0xaf], dst, src),
        Opcode::Sub => alu(code, &[0x2b], dst, src),
        Opcode::Xor => alu(code, &[0x33], dst, src),
        Opcode::Add => match src {
            // One `lea dst, [dst + src + C]`: a single 3-operand add, as the generator models it.
            Operand::Reg(s) => {
                code.extend_from_slice(&[REX_R | REX_X | REX_B, 0x8d, modrm(0b10, dst, 0b100)]);
                code.push(((s & 7) << 3) | (dst & 7));
                code.extend_from_slice(&ins.constant().to_le_bytes());
            }
            Operand::Mem(_) => {
                alu(code, &[0x03], dst, src);
                code.extend_from_slice(&[REX_B, 0x81, modrm(0b11, 0, dst)]);
                code.extend_from_slice(&ins.constant().to_le_bytes());
            }
        },
        Opcode::Ror | Opcode::Rol => {
            // mov ecx, src
            match src {
                Operand::Reg(s) => code.extend_from_slice(&[REX_B, 0x8b, modrm(0b11, ECX, s)]),
                Operand::Mem(disp) => code.extend_from_slice(&[0x8b, modrm(0b01, ECX, RDI), disp]),
            }
            // ror/rol dst, cl (the CPU masks the count to 5 bits, which is the `b & 31`)
            let ext = if ins.opcode() == Opcode::Ror { 1 } else { 0 };
            code.extend_from_slice(&[REX_B, 0xd3, modrm(0b11, ext, dst)]);
        }
        Opcode::Ret => {}
    }
}

/// The whole function `extern "C" fn(r: *mut u32)`: load r0..r3, run the body, store them, return.
pub(crate) fn encode(body: &[Instruction]) -> Vec<u8> {
    let mut code = Vec::with_capacity(MAX_CODE_LEN);
    for n in 0..4u8 {
        // mov r8d+n, [rdi + 4n]
        code.extend_from_slice(&[REX_R, 0x8b, modrm(0b01, n, RDI), n * 4]);
    }
    for ins in body.iter().take_while(|i| i.opcode() != Opcode::Ret) {
        emit(&mut code, ins);
    }
    for n in 0..4u8 {
        // mov [rdi + 4n], r8d+n
        code.extend_from_slice(&[REX_R, 0x89, modrm(0b01, n, RDI), n * 4]);
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
        // Hand-assembled from the Intel SDM forms.
        let cases: [(Instruction, &[u8]); 8] = [
            (ins(Opcode::Mul, 0, 1, 0), &[0x45, 0x0f, 0xaf, 0xc1]), // imul r8d, r9d
            (ins(Opcode::Mul, 3, 4, 0), &[0x44, 0x0f, 0xaf, 0x5f, 0x10]), // imul r11d, [rdi+16]
            (ins(Opcode::Sub, 2, 8, 0), &[0x44, 0x2b, 0x57, 0x20]), // sub r10d, [rdi+32]
            (ins(Opcode::Xor, 1, 3, 0), &[0x45, 0x33, 0xcb]),       // xor r9d, r11d
            // lea r9d, [r9 + r10 + 0x12345678]
            (
                ins(Opcode::Add, 1, 2, 0x1234_5678),
                &[0x47, 0x8d, 0x8c, 0x11, 0x78, 0x56, 0x34, 0x12],
            ),
            // add r8d, [rdi+20]; add r8d, 0xdeadbeef
            (
                ins(Opcode::Add, 0, 5, 0xdead_beef),
                &[
                    0x44, 0x03, 0x47, 0x14, 0x41, 0x81, 0xc0, 0xef, 0xbe, 0xad, 0xde,
                ],
            ),
            (
                ins(Opcode::Ror, 2, 0, 0),
                &[0x41, 0x8b, 0xc8, 0x41, 0xd3, 0xca],
            ), // mov ecx, r8d; ror r10d, cl
            (
                ins(Opcode::Rol, 3, 7, 0),
                &[0x8b, 0x4f, 0x1c, 0x41, 0xd3, 0xc3],
            ), // mov ecx, [rdi+28]; rol r11d, cl
        ];
        for (i, expected) in cases {
            let mut code = Vec::new();
            emit(&mut code, &i);
            assert_eq!(code, expected, "{i}");
        }
    }

    #[test]
    fn longest_program_fits() {
        let worst = vec![ins(Opcode::Add, 0, 8, u32::MAX); 70];
        assert!(encode(&worst).len() <= MAX_CODE_LEN);
    }
}
