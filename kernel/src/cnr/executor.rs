//! The interpreter behind `Program::run`: one dispatch site per instruction slot.
//!
//! Like Monero's reference, the loop is fully unrolled: the program is the same on every one of
//! the 524,288 main-loop iterations, so each slot's `match` always takes the same arm and the
//! branch predictor learns all of them, where a single shared dispatch would keep mispredicting.

use super::instruction::{Instruction, Opcode};
use super::program::SLOTS;

/// Runs one slot; returns from the enclosing function at `RET`.
macro_rules! slot {
    ($code:ident, $r:ident, $i:literal) => {{
        let ins = $code[$i];
        // Indices are validated on construction (dst < 4, src < 9); the mask and the clamp let
        // the compiler drop the bounds checks (and their branches) without any unsafe code.
        let src = $r[usize::from(ins.src()).min(8)];
        let dst = &mut $r[usize::from(ins.dst() & 3)];
        match ins.opcode() {
            Opcode::Mul => *dst = dst.wrapping_mul(src),
            Opcode::Add => *dst = dst.wrapping_add(src).wrapping_add(ins.constant()),
            Opcode::Sub => *dst = dst.wrapping_sub(src),
            // `rotate_*` reduce the count modulo 32, which is the `b & 31` of the spec.
            Opcode::Ror => *dst = dst.rotate_right(src),
            Opcode::Rol => *dst = dst.rotate_left(src),
            Opcode::Xor => *dst ^= src,
            Opcode::Ret => return,
        }
    }};
}

macro_rules! slots {
    ($code:ident, $r:ident; $($i:literal)*) => { $( slot!($code, $r, $i); )* };
}

/// Executes `code` (ending in `RET`, as `Program` guarantees) on the registers.
#[inline]
pub(crate) fn execute(code: &[Instruction; SLOTS], r: &mut [u32; 9]) {
    slots!(code, r;
        0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19
        20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39
        40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59
        60 61 62 63 64 65 66 67 68 69 70
    );
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::cnr::{Instruction, Opcode, Program, ProgramError, MAX_INSTRUCTIONS};

    fn program(raw: &[(u8, u8, u8, u32)]) -> Program {
        let body: Vec<Instruction> = raw
            .iter()
            .map(|&(op, d, s, c)| Instruction::decode(op, d, s, c).expect("valid test instruction"))
            .collect();
        Program::from_instructions(&body).expect("valid test program")
    }

    /// The specification, one instruction at a time, to check the unrolled executor against.
    fn naive_run(p: &Program, r: &mut [u32; 9]) {
        for ins in p.instructions() {
            let s = r[usize::from(ins.src())];
            let d = usize::from(ins.dst());
            r[d] = match ins.opcode() {
                Opcode::Mul => r[d].wrapping_mul(s),
                Opcode::Add => r[d].wrapping_add(s).wrapping_add(ins.constant()),
                Opcode::Sub => r[d].wrapping_sub(s),
                Opcode::Ror => r[d].rotate_right(s & 31),
                Opcode::Rol => r[d].rotate_left(s & 31),
                Opcode::Xor => r[d] ^ s,
                Opcode::Ret => return,
            };
        }
    }

    #[test]
    fn hand_computed_program() {
        // MUL r0,r4; ADD r1,r5,7; SUB r2,r6; ROR r3,r0; ROL r0,r7; XOR r1,r2; ADD r2,r3,0xffffffff
        let p = program(&[
            (0, 0, 4, 0),
            (1, 1, 5, 7),
            (2, 2, 6, 0),
            (3, 3, 0, 0),
            (4, 0, 7, 0),
            (5, 1, 2, 0),
            (1, 2, 3, 0xffff_ffff),
        ]);
        // r0 = 1*10 = 10, then rol by 40 & 31 = 8 -> 2560
        // r1 = 2+20+7 = 29, then ^ r2 (3-30 = 0xffffffe5) -> 0xfffffff8
        // r3 = 4 ror 10 = 4 << 22 = 0x0100_0000
        // r2 = 0xffffffe5 + 0x01000000 + 0xffffffff (mod 2^32) = 0x00ffffe4
        let expected = [
            2560,
            0xffff_fff8,
            0x00ff_ffe4,
            0x0100_0000,
            10,
            20,
            30,
            40,
            50,
        ];
        let r = [1, 2, 3, 4, 10, 20, 30, 40, 50];
        assert_eq!(run_all_ways(&p, r).expect("all agree"), expected);
    }

    #[test]
    fn reads_r8() {
        // SUB r2,r8 then ADD r3,r8,1: r8 is an input like r4..r7.
        let p = program(&[(2, 2, 8, 0), (1, 3, 8, 1)]);
        let r = [0, 0, 10, 20, 0, 0, 0, 0, 3];
        assert_eq!(
            run_all_ways(&p, r).expect("all agree"),
            [0, 0, 7, 24, 0, 0, 0, 0, 3]
        );
    }

    #[test]
    fn rotation_counts_are_taken_mod_32() {
        let p = program(&[(3, 0, 1, 0), (4, 2, 3, 0)]);
        let r = run_all_ways(&p, [5, 64, 0x8000_0001, 33, 0, 0, 0, 0, 0]).expect("all agree");
        assert_eq!(r[0], 5, "ror by 64 is no rotation");
        assert_eq!(r[2], 0x0000_0003, "rol by 33 is rol by 1");
    }

    #[test]
    fn empty_program_changes_nothing() {
        let p = Program::from_instructions(&[]).expect("empty is valid");
        assert!(p.is_empty());
        let r = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(run_all_ways(&p, r).expect("all agree"), r);
    }

    #[test]
    fn decoder_rejects_bad_fields() {
        assert_eq!(
            Instruction::decode(7, 0, 0, 0),
            Err(ProgramError::UnknownOpcode(7))
        );
        assert_eq!(
            Instruction::decode(0, 4, 0, 0),
            Err(ProgramError::BadDestination(4))
        );
        assert_eq!(
            Instruction::decode(0, 0, 9, 0),
            Err(ProgramError::BadSource(9))
        );
        let ret = [
            Instruction::decode(0, 0, 1, 0).expect("mul"),
            Instruction::RET,
        ];
        assert_eq!(
            Program::from_instructions(&ret),
            Err(ProgramError::RetInBody(1))
        );
        let long = vec![ret[0]; MAX_INSTRUCTIONS + 1];
        assert!(matches!(
            Program::from_instructions(&long),
            Err(ProgramError::TooLong { .. })
        ));
        let full = vec![ret[0]; MAX_INSTRUCTIONS];
        assert_eq!(
            Program::from_instructions(&full).map(|p| p.len()),
            Ok(MAX_INSTRUCTIONS)
        );
    }

    fn any_instruction() -> impl Strategy<Value = Instruction> {
        (0u8..6, 0u8..4, 0u8..9, any::<u32>()).prop_map(|(op, d, s, c)| {
            Instruction::decode(op, d, s, c).expect("strategy yields valid fields")
        })
    }

    /// Runs `p` three ways (machine code if any, interpreter, specification) and checks they agree.
    fn run_all_ways(p: &Program, r: [u32; 9]) -> Result<[u32; 9], TestCaseError> {
        let (mut fast, mut interpreted, mut slow) = (r, r, r);
        p.run(&mut fast);
        p.run_interpreted(&mut interpreted);
        naive_run(p, &mut slow);
        prop_assert_eq!(interpreted, slow, "interpreter");
        prop_assert_eq!(fast, slow, "run (compiled: {})", p.is_compiled());
        Ok(fast)
    }

    #[cfg(all(target_arch = "x86_64", unix))]
    #[test]
    fn programs_are_compiled_on_x86_64() {
        let p = Program::generate(1_806_260);
        assert!(p.is_compiled());
        assert!(!p.clone().without_jit().is_compiled());
        assert_eq!(
            p.clone().without_jit(),
            p,
            "equality ignores the machine code"
        );
    }

    proptest! {
        #[test]
        fn generated_programs_only_write_r0_to_r3(height in any::<u64>(), r in any::<[u32; 9]>()) {
            let after = run_all_ways(&Program::generate(height), r)?;
            prop_assert_eq!(&after[4..], &r[4..]);
        }

        #[test]
        fn any_program_runs_as_specified(
            body in prop::collection::vec(any_instruction(), 0..=MAX_INSTRUCTIONS),
            r in any::<[u32; 9]>(),
        ) {
            let p = Program::from_instructions(&body).expect("valid body");
            let after = run_all_ways(&p, r)?;
            prop_assert_eq!(&after[4..], &r[4..]);
        }
    }
}
