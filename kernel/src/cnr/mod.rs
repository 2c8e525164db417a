//! cn/r (Monero variant 4): the per-height random program, its generator, cache and executor.
//!
//! A cn/r hash runs a small random integer program (60 to 70 instructions) once per main-loop
//! iteration. The program depends only on the block height, so it is generated once per height
//! ([`Program::generate`]), shared through a small cache ([`program_for_height`]) and executed in
//! place on the nine 32-bit registers the main loop maintains ([`Program::run`]). On x86-64 each
//! program is compiled to machine code once (`jit`, `x86_encoder`); elsewhere, or where the OS
//! refuses executable memory, an unrolled interpreter (`executor`) runs it instead.
//!
//! Register convention (the same as Monero's `v4_random_math`): `r[0..4]` are the four variable
//! registers the program writes; `r[4..9]` are inputs the kernel loads from the loop state before
//! every run and the program only reads. Every generated program reads `r[8]` at least once (it
//! replaces the source of an ADD/SUB/XOR that would otherwise read its own destination).
//!
//! Not here: the cn/r main loop itself (`crate::cn`), which owns the scratchpad and the AES path.

mod byte_stream;
mod cache;
mod error;
mod executor;
mod generator;
mod instruction;
mod jit;
mod program;
mod x86_encoder;

#[cfg(test)]
mod oracle;

pub use cache::{program_for_height, ProgramCache};
pub use error::ProgramError;
pub use instruction::{Instruction, Opcode};
pub use program::{
    Exec, Interpreted, Jitted, Program, Resolved, Runner, MAX_INSTRUCTIONS, MIN_INSTRUCTIONS,
};
