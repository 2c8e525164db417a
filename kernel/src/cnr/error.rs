//! Errors from building a program by hand (the generator itself cannot fail).

use thiserror::Error;

/// Why a hand-built instruction or program was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProgramError {
    /// The opcode byte is none of Monero's `V4_InstructionList` values.
    #[error("unknown cn/r opcode {0} (expected 0..=6)")]
    UnknownOpcode(u8),
    /// Only `r[0..4]` may be written.
    #[error("cn/r destination register r{0} is not writable (expected r0..r3)")]
    BadDestination(u8),
    /// There are nine registers, `r[0..9]`.
    #[error("cn/r source register r{0} is out of range (expected r0..r8)")]
    BadSource(u8),
    /// Programs hold at most [`crate::cnr::MAX_INSTRUCTIONS`] instructions before their `RET`.
    #[error("cn/r program has {len} instructions, more than the maximum of {max}")]
    TooLong { len: usize, max: usize },
    /// `RET` is appended automatically; one inside the body would silently cut the program short.
    #[error("cn/r program has RET at instruction {0}; RET is appended automatically")]
    RetInBody(usize),
}
