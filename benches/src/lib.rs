//! Shared helpers for the phirig benchmarks (the benches themselves live in `benches/`): the input
//! every bench hashes, the cn/r height it uses, and which AES paths this machine can run.

use phirig_kernel::cn::AesPath;
use phirig_kernel::cpu::Cpu;

/// A 76-byte block-hashing blob (the first cn/0 test vector's input): long enough for the
/// variant-1 tweak, the same shape as real mining work.
pub const BENCH_INPUT: [u8; 76] = [
    0x03, 0x05, 0xa0, 0xdb, 0xd6, 0xbf, 0x05, 0xcf, 0x16, 0xe5, 0x03, 0xf3, 0xa6, 0x6f, 0x78, 0x00,
    0x7c, 0xbf, 0x34, 0x14, 0x43, 0x32, 0xec, 0xbf, 0xc2, 0x2e, 0xd9, 0x5c, 0x87, 0x00, 0x38, 0x3b,
    0x30, 0x9a, 0xce, 0x19, 0x23, 0xa0, 0x96, 0x4b, 0x00, 0x00, 0x00, 0x08, 0xba, 0x93, 0x9a, 0x62,
    0x72, 0x4c, 0x0d, 0x75, 0x81, 0xfc, 0xe5, 0x76, 0x1e, 0x9d, 0x8a, 0x0e, 0x6a, 0x1c, 0x3f, 0x92,
    0x4f, 0xdd, 0x84, 0x93, 0xd1, 0x11, 0x56, 0x49, 0xc0, 0x5e, 0xb6, 0x01,
];

/// Byte offset of the 4-byte nonce in a block-hashing blob.
pub const NONCE_OFFSET: usize = 39;

/// The height cn/r benches use (the first cn/r test vector's), so every run executes the same
/// random program.
pub const CN_R_HEIGHT: u64 = 1_806_260;

/// The AES paths this CPU can run: software always, hardware when AES-NI is present.
pub fn available_aes_paths() -> Vec<AesPath> {
    let mut paths = Vec::with_capacity(2);
    if Cpu::detect().aes_ni() {
        paths.push(AesPath::Hardware);
    }
    paths.push(AesPath::Software);
    paths
}

/// `BENCH_INPUT` with `nonce` written in, so consecutive hashes differ like mining work does.
pub fn input_with_nonce(nonce: u32) -> [u8; 76] {
    let mut input = BENCH_INPUT;
    input[NONCE_OFFSET..NONCE_OFFSET + 4].copy_from_slice(&nonce.to_le_bytes());
    input
}
