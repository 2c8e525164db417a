//! One pre-decoded cn/r instruction: opcode, destination, source and ADD constant.

use std::fmt;

use super::error::ProgramError;

/// The cn/r operations, numbered as Monero's `V4_InstructionList` (the numbers feed the
/// generator's duplicate-instruction check, so they must not change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Opcode {
    /// `a = a * b` (wrapping).
    Mul = 0,
    /// `a = a + b + C` (wrapping), `C` being the instruction's 32-bit constant.
    Add = 1,
    /// `a = a - b` (wrapping).
    Sub = 2,
    /// Rotate `a` right by `b & 31`.
    Ror = 3,
    /// Rotate `a` left by `b & 31`.
    Rol = 4,
    /// `a = a ^ b`.
    Xor = 5,
    /// Stop executing; the generator appends exactly one after the body.
    Ret = 6,
}

impl Opcode {
    /// Decodes Monero's numeric opcode.
    pub fn from_code(code: u8) -> Result<Opcode, ProgramError> {
        Ok(match code {
            0 => Opcode::Mul,
            1 => Opcode::Add,
            2 => Opcode::Sub,
            3 => Opcode::Ror,
            4 => Opcode::Rol,
            5 => Opcode::Xor,
            6 => Opcode::Ret,
            other => return Err(ProgramError::UnknownOpcode(other)),
        })
    }

    /// Monero's numeric opcode.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// ROR and ROL: the generator limits how rotations may follow each other.
    pub fn is_rotation(self) -> bool {
        matches!(self, Opcode::Ror | Opcode::Rol)
    }

    fn symbol(self) -> &'static str {
        match self {
            Opcode::Mul => "*",
            Opcode::Add => "+",
            Opcode::Sub => "-",
            Opcode::Ror => "ror",
            Opcode::Rol => "rol",
            Opcode::Xor => "^",
            Opcode::Ret => "ret",
        }
    }
}

/// One instruction, laid out in 8 bytes so a whole program stays within a few cache lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(C)]
pub struct Instruction {
    op: Opcode,
    dst: u8,
    src: u8,
    c: u32,
}

impl Instruction {
    /// The `RET` stop marker.
    pub const RET: Instruction = Instruction {
        op: Opcode::Ret,
        dst: 0,
        src: 0,
        c: 0,
    };

    /// Builds a checked instruction: `dst` must be 0..4 and `src` 0..9.
    pub fn new(op: Opcode, dst: u8, src: u8, c: u32) -> Result<Instruction, ProgramError> {
        if dst >= 4 {
            return Err(ProgramError::BadDestination(dst));
        }
        if src >= 9 {
            return Err(ProgramError::BadSource(src));
        }
        Ok(Instruction { op, dst, src, c })
    }

    /// Decodes the fields of Monero's `V4_Instruction` (`opcode`, `dst_index`, `src_index`, `C`).
    pub fn decode(opcode: u8, dst: u8, src: u8, c: u32) -> Result<Instruction, ProgramError> {
        Instruction::new(Opcode::from_code(opcode)?, dst, src, c)
    }

    /// Built by the generator, whose indices are in range by construction.
    pub(crate) fn generated(op: Opcode, dst: u8, src: u8, c: u32) -> Instruction {
        debug_assert!(dst < 4 && src < 9);
        Instruction { op, dst, src, c }
    }

    /// The operation.
    pub fn opcode(&self) -> Opcode {
        self.op
    }

    /// The register written, 0..4.
    pub fn dst(&self) -> u8 {
        self.dst
    }

    /// The register read, 0..9.
    pub fn src(&self) -> u8 {
        self.src
    }

    /// The ADD constant (zero for every other opcode the generator emits).
    pub fn constant(&self) -> u32 {
        self.c
    }
}

impl fmt::Display for Instruction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (d, s, op) = (self.dst, self.src, self.op.symbol());
        match self.op {
            Opcode::Ret => f.write_str("ret"),
            Opcode::Add => write!(f, "r{d} = r{d} + r{s} + {:#010x}", self.c),
            _ => write!(f, "r{d} = r{d} {op} r{s}"),
        }
    }
}
