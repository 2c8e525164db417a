//! The CryptoNight algorithms by stratum name, and the one table of properties that drives the kernel.

use std::fmt;
use std::str::FromStr;

use super::error::KernelError;

/// Longest blob a job may carry: xmrig's limit, since some CryptoNote coins' headers are far longer
/// than Monero's 76 bytes. The bound keeps a hostile pool from making the agent absorb megabytes.
pub const MAX_INPUT_LEN: usize = 408;

/// Variant-1 tweaks read input bytes 35..43, so anything using them needs at least this much input.
pub const V1_MIN_INPUT_LEN: usize = 43;

/// The base main loop an algorithm builds on (Monero's variant numbers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Original CryptoNight.
    V0,
    /// Monero v7: the byte tweak on the first store and the input-derived xor on the second.
    V1,
    /// Monero v8: shuffle of the neighbouring lines, integer division and square root.
    V2,
}

/// What happens after each iteration on the 4 MiB "heavy" scratchpad.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heavy {
    No,
    /// Signed division written back, the index taken from divisor and quotient.
    Div,
    /// As `Div`, with the divisor inverted before it feeds the index (Haven).
    DivNot,
}

/// Everything the kernel needs to know about an algorithm: one row per algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Props {
    pub name: &'static str,
    /// Other spellings pools and configs use (compared case-insensitively).
    pub aliases: &'static [&'static str],
    pub memory: usize,
    pub iterations: u32,
    /// Address mask for scratchpad lines: 16-byte aligned, below `memory`.
    pub mask: u32,
    pub base: Base,
    /// rwz / upx2: the shuffle writes the neighbouring lines back in the other order.
    pub reverse_shuffle: bool,
    /// Variant-1 second store also xors in the low half (cn/rto, cn-heavy/tube).
    pub v1_xor_al: bool,
    pub heavy: Heavy,
    /// cn-heavy/tube: the main-loop AES round is the modified "tweak div" round.
    pub tube_aes: bool,
    /// cn/ccx: float mixing of the line before the AES round.
    pub conceal: bool,
    /// cn/r: the per-height random program replaces division and square root.
    pub random_math: bool,
}

const MIB: usize = 1 << 20;
const ITER: u32 = 0x80000;

const fn row(
    name: &'static str,
    aliases: &'static [&'static str],
    memory: usize,
    iterations: u32,
    base: Base,
) -> Props {
    Props {
        name,
        aliases,
        memory,
        iterations,
        mask: ((memory - 1) & !15) as u32,
        base,
        reverse_shuffle: false,
        v1_xor_al: false,
        heavy: Heavy::No,
        tube_aes: false,
        conceal: false,
        random_math: false,
    }
}

macro_rules! algorithms {
    ($($variant:ident = $props:expr;)*) => {
        /// A CryptoNight algorithm, named as stratum pools name it.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Algorithm { $($variant),* }

        impl Algorithm {
            /// Every algorithm, in table order.
            pub const ALL: [Algorithm; [$(Algorithm::$variant),*].len()] = [$(Algorithm::$variant),*];
            /// The property table, indexed by `Algorithm as usize`.
            pub const TABLE: [Props; [$(Algorithm::$variant),*].len()] = [$($props),*];
        }
    };
}

algorithms! {
    Cn0 = row("cn/0", &["cryptonight", "cn", "cryptonight/0", "cryptonight_v0"], 2 * MIB, ITER, Base::V0);
    Cn1 = row("cn/1", &["cryptonight/1", "cryptonight-monerov7", "cryptonight_v7", "cryptonight-v7"], 2 * MIB, ITER, Base::V1);
    Cn2 = row("cn/2", &["cryptonight/2", "cryptonight-monerov8", "cryptonight_v8", "cryptonight-v8"], 2 * MIB, ITER, Base::V2);
    CnR = Props { random_math: true, ..row("cn/r", &["cryptonight/r", "cryptonight_r", "cryptonight-r"], 2 * MIB, ITER, Base::V2) };
    CnFast = row("cn/fast", &["cryptonight/fast", "cn/msr", "cryptonight/msr", "cryptonight_fast", "cryptonight_masari"], 2 * MIB, ITER / 2, Base::V1);
    CnHalf = row("cn/half", &["cryptonight/half", "cryptonight_half"], 2 * MIB, ITER / 2, Base::V2);
    CnXao = row("cn/xao", &["cryptonight/xao", "cryptonight_alloy"], 2 * MIB, ITER * 2, Base::V0);
    CnRto = Props { v1_xor_al: true, ..row("cn/rto", &["cryptonight/rto", "cryptonight_arto"], 2 * MIB, ITER, Base::V1) };
    CnRwz = Props { reverse_shuffle: true, ..row("cn/rwz", &["cryptonight/rwz", "cryptonight_rwz"], 2 * MIB, 0x60000, Base::V2) };
    CnZls = row("cn/zls", &["cryptonight/zls", "cryptonight_zls"], 2 * MIB, 0x60000, Base::V2);
    CnDouble = row("cn/double", &["cryptonight/double", "cryptonight_double"], 2 * MIB, ITER * 2, Base::V2);
    CnCcx = Props { conceal: true, ..row("cn/ccx", &["cryptonight/ccx", "cn/conceal", "cryptonight/conceal", "cryptonight_conceal"], 2 * MIB, ITER / 2, Base::V0) };
    CnLite0 = row("cn-lite/0", &["cryptonight-lite", "cryptonight-lite/0", "cn-lite", "cryptonight_lite"], MIB, ITER / 2, Base::V0);
    CnLite1 = row("cn-lite/1", &["cryptonight-lite/1", "cryptonight-aeonv7", "cryptonight_lite_v7", "cryptonight-lite-v7"], MIB, ITER / 2, Base::V1);
    CnHeavy0 = Props { heavy: Heavy::Div, ..row("cn-heavy/0", &["cryptonight-heavy", "cryptonight-heavy/0", "cn-heavy", "cryptonight_heavy"], 4 * MIB, ITER / 2, Base::V0) };
    CnHeavyTube = Props { heavy: Heavy::Div, tube_aes: true, v1_xor_al: true, ..row("cn-heavy/tube", &["cryptonight-heavy/tube", "cryptonight-bittube2", "cryptonight_heavy_tube"], 4 * MIB, ITER / 2, Base::V1) };
    CnHeavyXhv = Props { heavy: Heavy::DivNot, ..row("cn-heavy/xhv", &["cryptonight-heavy/xhv", "cryptonight_haven", "cryptonight-haven"], 4 * MIB, ITER / 2, Base::V0) };
    // Pico (TurtleCoin) addresses only the first half of its 256 KiB: the mask is the documented quirk.
    CnPico = Props { mask: 0x1FFF0, ..row("cn-pico", &["cn-pico/trtl", "cryptonight-pico", "cryptonight-pico/trtl", "cryptonight-turtle", "cn-trtl", "cryptonight_turtle"], MIB / 4, ITER / 8, Base::V2) };
    CnPicoTlo = row("cn-pico/tlo", &["cryptonight-pico/tlo", "cryptonight/ultra", "cn/ultra", "cryptonight-talleo", "cn-talleo"], MIB / 4, ITER / 8, Base::V2);
    CnUpx2 = Props { reverse_shuffle: true, ..row("cn/upx2", &["cryptonight/upx2", "cn-extremelite/upx2", "cryptonight-upx/2", "cn-femto/upx2"], MIB / 8, ITER / 32, Base::V2) };
}

impl Algorithm {
    /// This algorithm's row of the property table.
    pub const fn props(self) -> &'static Props {
        &Self::TABLE[self as usize]
    }

    /// The canonical stratum name.
    pub const fn name(self) -> &'static str {
        self.props().name
    }

    pub const fn scratchpad_bytes(self) -> usize {
        self.props().memory
    }

    pub const fn iterations(self) -> u32 {
        self.props().iterations
    }

    /// Only cn/r: the block height seeds its random program.
    pub const fn needs_height(self) -> bool {
        self.props().random_math
    }

    /// Shortest input the algorithm accepts (the variant-1 tweak reads bytes 35..43).
    pub const fn min_input_len(self) -> usize {
        match self.props().base {
            Base::V1 => V1_MIN_INPUT_LEN,
            Base::V0 | Base::V2 => 0,
        }
    }

    /// Longest input a job may carry: [`MAX_INPUT_LEN`] for every algorithm.
    pub const fn max_input_len(self) -> usize {
        MAX_INPUT_LEN
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = KernelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim();
        Self::ALL
            .into_iter()
            .find(|a| {
                let p = a.props();
                p.name.eq_ignore_ascii_case(wanted)
                    || p.aliases.iter().any(|x| x.eq_ignore_ascii_case(wanted))
            })
            .ok_or_else(|| KernelError::UnknownAlgorithm(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_twenty_and_names_round_trip() {
        assert_eq!(Algorithm::ALL.len(), 20);
        for (i, a) in Algorithm::ALL.into_iter().enumerate() {
            assert_eq!(a as usize, i);
            assert_eq!(a.to_string().parse::<Algorithm>().unwrap(), a);
            assert_eq!(a.name().to_uppercase().parse::<Algorithm>().unwrap(), a);
        }
    }

    #[test]
    fn aliases_parse_case_insensitively() {
        let cases = [
            ("cryptonight", Algorithm::Cn0),
            ("CryptoNight/1", Algorithm::Cn1),
            ("cryptonight-monerov7", Algorithm::Cn1),
            ("cryptonight_v7", Algorithm::Cn1),
            ("cryptonight-monerov8", Algorithm::Cn2),
            ("cryptonight/r", Algorithm::CnR),
            ("cn/msr", Algorithm::CnFast),
            ("cryptonight-lite/1", Algorithm::CnLite1),
            ("cryptonight-heavy/xhv", Algorithm::CnHeavyXhv),
            ("cn-pico/trtl", Algorithm::CnPico),
            ("cryptonight-turtle", Algorithm::CnPico),
            (" cn/upx2 ", Algorithm::CnUpx2),
        ];
        for (s, a) in cases {
            assert_eq!(s.parse::<Algorithm>().unwrap(), a, "{s}");
        }
    }

    #[test]
    fn unknown_names_are_named_in_the_error() {
        let e = "cn/nope".parse::<Algorithm>().unwrap_err();
        assert!(matches!(&e, KernelError::UnknownAlgorithm(s) if s == "cn/nope"));
        assert!(e.to_string().contains("cn/nope"));
        assert!("".parse::<Algorithm>().is_err());
    }

    #[test]
    fn aliases_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for a in Algorithm::ALL {
            for n in std::iter::once(a.name()).chain(a.props().aliases.iter().copied()) {
                assert!(seen.insert(n.to_ascii_lowercase()), "{n} listed twice");
            }
        }
    }

    #[test]
    fn table_is_sane() {
        for a in Algorithm::ALL {
            let p = a.props();
            assert!(p.memory.is_power_of_two(), "{a}");
            assert_eq!(p.mask % 16, 0, "{a}");
            // The shuffle touches `off ^ 0x10/0x20/0x30`: with bits 4 and 5 in the mask those
            // stay at or below `mask`, so every 16-byte access ends inside the scratchpad.
            assert_eq!(p.mask & 0x30, 0x30, "{a}");
            assert!(p.mask as usize + 16 <= p.memory, "{a}");
            assert!(p.iterations > 0 && p.iterations % 2 == 0, "{a}");
            assert_eq!(p.heavy != Heavy::No, p.memory == 4 * MIB, "{a}");
            if p.reverse_shuffle || p.random_math {
                assert_eq!(p.base, Base::V2, "{a}");
            }
            if p.v1_xor_al {
                assert_eq!(p.base, Base::V1, "{a}");
            }
        }
        assert_eq!(Algorithm::Cn0.scratchpad_bytes(), 2 << 20);
        assert_eq!(Algorithm::CnHalf.iterations(), 0x40000);
        assert_eq!(Algorithm::CnRwz.iterations(), 0x60000);
        assert_eq!(Algorithm::CnDouble.iterations(), 0x100000);
        assert_eq!(Algorithm::CnPico.props().mask, 0x1FFF0);
        assert_eq!(Algorithm::CnPicoTlo.props().mask, 0x3FFF0);
        assert_eq!(Algorithm::CnUpx2.scratchpad_bytes(), 128 << 10);
        assert_eq!(Algorithm::Cn1.min_input_len(), 43);
        assert_eq!(Algorithm::CnHeavyTube.min_input_len(), 43);
        assert_eq!(Algorithm::Cn2.min_input_len(), 0);
        assert!(Algorithm::CnR.needs_height() && !Algorithm::Cn2.needs_height());
        assert_eq!(Algorithm::Cn0.max_input_len(), MAX_INPUT_LEN);
    }
}
