//! The generated, pre-decoded cn/r program and its public entry points.

use std::fmt;
use std::sync::Arc;

use super::error::ProgramError;
use super::executor;
use super::generator;
use super::instruction::Instruction;
use super::jit::CompiledProgram;

/// The generator always emits at least this many instructions (before `RET`).
pub const MIN_INSTRUCTIONS: usize = 60;
/// The generator never emits more than this many instructions (before `RET`).
pub const MAX_INSTRUCTIONS: usize = 70;

/// Slots in the fixed code array: the longest body plus its `RET`.
pub(crate) const SLOTS: usize = MAX_INSTRUCTIONS + 1;

/// A cn/r random program, pre-decoded into a fixed array (slots past the body all hold `RET`) and,
/// on x86-64, compiled to machine code.
///
/// [`Program::run`] calls the compiled code when there is some and otherwise the unrolled
/// interpreter; both compute the same thing (the tests run them side by side).
#[derive(Clone)]
pub struct Program {
    code: [Instruction; SLOTS],
    len: u8,
    compiled: Option<Arc<CompiledProgram>>,
}

/// Two programs are equal when their instructions are; how they run does not matter.
impl PartialEq for Program {
    fn eq(&self, other: &Program) -> bool {
        self.instructions() == other.instructions()
    }
}

impl Eq for Program {}

impl Program {
    /// Generates the program for a block height, exactly as Monero's `v4_random_math_init`.
    /// Deterministic; costs tens of microseconds (generation plus one `mmap`/`mprotect` for the
    /// machine code), so the kernel should use [`program_for_height`] (cached), not call this per
    /// hash.
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
        let compiled = CompiledProgram::compile(&code[..len]).map(Arc::new);
        Program {
            code,
            len: len as u8,
            compiled,
        }
    }

    /// Executes the program in place: writes `r[0..4]`, reads `r[0..9]`, leaves `r[4..9]` as is.
    #[inline]
    pub fn run(&self, r: &mut [u32; 9]) {
        self.runner().run(r);
    }

    /// The program resolved once for a hot loop: the machine code if there is some, otherwise
    /// the interpreter, without the per-run checks of [`Program::run`].
    #[inline]
    pub fn runner(&self) -> Runner<'_> {
        match &self.compiled {
            Some(compiled) => Runner(How::Compiled(compiled)),
            None => Runner(How::Interpreted(&self.code)),
        }
    }

    /// Executes the program with the interpreter even when compiled code exists (the reference
    /// the compiled code is tested against, and a fallback to compare speeds with).
    #[inline]
    pub fn run_interpreted(&self, r: &mut [u32; 9]) {
        executor::execute(&self.code, r);
    }

    /// Whether [`Program::run`] uses machine code (x86-64 Unix, executable memory allowed).
    pub fn is_compiled(&self) -> bool {
        self.compiled.is_some()
    }

    /// The same program without its machine code: [`Program::run`] then interprets.
    pub fn without_jit(mut self) -> Program {
        self.compiled = None;
        self
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

/// How a hot loop runs one program: borrowed from the [`Program`], copied into the loop.
#[derive(Clone, Copy)]
pub struct Runner<'a>(How<'a>);

#[derive(Clone, Copy)]
enum How<'a> {
    Compiled(&'a CompiledProgram),
    Interpreted(&'a [Instruction; SLOTS]),
}

impl Runner<'_> {
    /// Executes the program in place, as [`Program::run`].
    #[inline(always)]
    pub fn run(self, r: &mut [u32; 9]) {
        match self.0 {
            How::Compiled(compiled) => compiled.run(r),
            How::Interpreted(code) => {
                // Through a copy: `r` itself never has its address taken, so the main loop
                // can keep its registers in CPU registers on the compiled path.
                let mut copy = *r;
                interpret(code, &mut copy);
                *r = copy;
            }
        }
    }
}

/// One way of running a program inside a hot loop. The loop is compiled once per way, so the
/// choice between machine code and interpreter is made before it starts, not on every iteration
/// (a branch there also made the compiler keep both paths' registers live and spill).
pub trait Exec: Copy {
    /// Executes the program in place, as [`Program::run`].
    fn exec(self, r: &mut [u32; 9]);
}

/// The program's machine code.
#[derive(Clone, Copy)]
pub struct Jitted<'a>(&'a CompiledProgram);

/// The interpreter over the program's instructions.
#[derive(Clone, Copy)]
pub struct Interpreted<'a>(&'a [Instruction; SLOTS]);

/// A [`Runner`] resolved to one of the two ways.
pub enum Resolved<'a> {
    Jitted(Jitted<'a>),
    Interpreted(Interpreted<'a>),
}

impl<'a> Runner<'a> {
    /// Which way this runner executes, for a caller that compiles its loop once per way.
    pub fn resolve(self) -> Resolved<'a> {
        match self.0 {
            How::Compiled(c) => Resolved::Jitted(Jitted(c)),
            How::Interpreted(code) => Resolved::Interpreted(Interpreted(code)),
        }
    }
}

impl Jitted<'_> {
    /// The program's code for way 0 and way 1 of the assembly main loop, valid while the
    /// [`Program`] lives (see `x86_encoder::LOOP_WAY0` and `LOOP_WAY1` for the registers).
    pub(crate) fn loop_entries(self) -> [*const u8; 2] {
        self.0.loop_entries()
    }
}

impl Exec for Jitted<'_> {
    #[inline(always)]
    fn exec(self, r: &mut [u32; 9]) {
        self.0.run(r);
    }
}

impl Exec for Interpreted<'_> {
    #[inline(always)]
    fn exec(self, r: &mut [u32; 9]) {
        // Through a copy, as in `Runner::run`.
        let mut copy = *r;
        interpret(self.0, &mut copy);
        *r = copy;
    }
}

/// The interpreter out of line: inlined, its 71 dispatch slots would crowd the hot loop's code.
#[inline(never)]
fn interpret(code: &[Instruction; SLOTS], r: &mut [u32; 9]) {
    executor::execute(code, r);
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
