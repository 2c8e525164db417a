//! The generated, pre-decoded cn/r program and its public entry points.

use std::fmt;

use super::error::ProgramError;
use super::executor;
use super::generator;
use super::instruction::Instruction;

/// The generator always emits at least this many instructions (before `RET`).
pub const MIN_INSTRUCTIONS: usize = 60;
/// The generator never emits more than this many instructions (before `RET`).
pub const MAX_INSTRUCTIONS: usize = 70;

/// Slots in the fixed code array: the longest body plus its `RET`.
pub(crate) const SLOTS: usize = MAX_INSTRUCTIONS + 1;

/// A cn/r random program, pre-decoded into a fixed array so running it touches no heap and no
/// bounds checks: slots past the body all hold `RET`.
///
/// The executor behind [`Program::run`] is an unrolled interpreter; a JIT can later live inside
/// this type (built in [`Program::generate`]) without changing the kernel's calls.
#[derive(Clone, PartialEq, Eq)]
pub struct Program {
    code: [Instruction; SLOTS],
    len: u8,
}

impl Program {
    /// Generates the program for a block height, exactly as Monero's `v4_random_math_init`.
    /// Deterministic; costs a few microseconds, so the kernel should use [`program_for_height`]
    /// (cached) rather than calling this per hash.
    ///
    /// [`program_for_height`]: super::program_for_height
    pub fn generate(height: u64) -> Program {
        let body = generator::generate(height);
        // The generator only stops once the length is within bounds.
        Program::from_trusted(&body)
    }

    /// Builds a program from hand-made instructions (tests, tools). `RET` is appended; the body
    /// may be shorter than [`MIN_INSTRUCTIONS`] but not longer than [`MAX_INSTRUCTIONS`].
    pub fn from_instructions(body: &[Instruction]) -> Result<Program, ProgramError> {
        if body.len() > MAX_INSTRUCTIONS {
            return Err(ProgramError::TooLong {
                len: body.len(),
                max: MAX_INSTRUCTIONS,
            });
        }
        if let Some(at) = body.iter().position(|i| i.opcode() == super::Opcode::Ret) {
            return Err(ProgramError::RetInBody(at));
        }
        Ok(Program::from_trusted(body))
    }

    fn from_trusted(body: &[Instruction]) -> Program {
        let len = body.len().min(MAX_INSTRUCTIONS);
        let mut code = [Instruction::RET; SLOTS];
        code[..len].copy_from_slice(&body[..len]);
        Program {
            code,
            len: len as u8,
        }
    }

    /// Executes the program in place: writes `r[0..4]`, reads `r[0..9]`, leaves `r[4..9]` as is.
    #[inline]
    pub fn run(&self, r: &mut [u32; 9]) {
        executor::execute(&self.code, r);
    }

    /// Number of instructions, not counting the final `RET` (60..=70 for generated programs).
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// True only for a hand-built program with no instructions.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The instructions, without the final `RET` (for inspection and code generators).
    pub fn instructions(&self) -> &[Instruction] {
        &self.code[..self.len()]
    }
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("len", &self.len())
            .field("code", &self.instructions())
            .finish()
    }
}

/// One instruction a line, for logs and debugging.
impl fmt::Display for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, ins) in self.instructions().iter().enumerate() {
            writeln!(f, "{i:2}: {ins}")?;
        }
        f.write_str("    ret")
    }
}
