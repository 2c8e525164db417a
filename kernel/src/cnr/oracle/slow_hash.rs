//! The oracle's cn/r: Keccak, scratchpad explode, the variant-4 main loop, implode, finalizer.

use blake_hash::Digest as _;
use groestl::Digest as _;

use super::soft_aes::{Block, SoftAes};
use crate::cnr::Program;

const MEMORY: usize = 1 << 21;
const ITERATIONS: usize = 1 << 19;
const ADDRESS_MASK: u64 = (MEMORY as u64 - 1) & !15;
const KECCAK_RATE: usize = 136;

fn state_bytes(words: &[u64; 25]) -> [u8; 200] {
    let mut out = [0u8; 200];
    for (chunk, w) in out.chunks_exact_mut(8).zip(words) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

fn state_words(bytes: &[u8; 200]) -> [u64; 25] {
    let mut words = [0u64; 25];
    for (w, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *w = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
    }
    words
}

/// Original Keccak (padding 0x01 .. 0x80, rate 136) returning the whole 200-byte state.
fn keccak1600(input: &[u8]) -> [u8; 200] {
    let mut st = [0u64; 25];
    let mut absorb = |block: &[u8]| {
        for (w, chunk) in st.iter_mut().zip(block.chunks_exact(8)) {
            *w ^= u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        keccak::f1600(&mut st);
    };
    let mut blocks = input.chunks_exact(KECCAK_RATE);
    for block in &mut blocks {
        absorb(block);
    }
    let tail = blocks.remainder();
    let mut last = [0u8; KECCAK_RATE];
    last[..tail.len()].copy_from_slice(tail);
    last[tail.len()] ^= 0x01;
    last[KECCAK_RATE - 1] ^= 0x80;
    absorb(&last);
    state_bytes(&st)
}

fn block_at(pad: &[u8], at: usize) -> Block {
    pad[at..at + 16].try_into().expect("16-byte block")
}

fn lo64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

fn hi64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[8..16].try_into().expect("8 bytes"))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn from_halves(lo: u64, hi: u64) -> Block {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&lo.to_le_bytes());
    out[8..].copy_from_slice(&hi.to_le_bytes());
    out
}

fn xor(a: &Block, b: &Block) -> Block {
    std::array::from_fn(|i| a[i] ^ b[i])
}

fn add64(a: &Block, b: &Block) -> Block {
    from_halves(lo64(a).wrapping_add(lo64(b)), hi64(a).wrapping_add(hi64(b)))
}

/// Variant 2 shuffle with the variant 4 twist: the three neighbours of `at` rotate with
/// additions, and `out` absorbs their old values.
fn shuffle(pad: &mut [u8], at: usize, a: &Block, b: &Block, b1: &Block, out: &mut Block) {
    let c1 = block_at(pad, at ^ 0x10);
    let c2 = block_at(pad, at ^ 0x20);
    let c3 = block_at(pad, at ^ 0x30);
    pad[(at ^ 0x10)..(at ^ 0x10) + 16].copy_from_slice(&add64(&c3, b1));
    pad[(at ^ 0x20)..(at ^ 0x20) + 16].copy_from_slice(&add64(&c1, b));
    pad[(at ^ 0x30)..(at ^ 0x30) + 16].copy_from_slice(&add64(&c2, a));
    *out = xor(&xor(out, &c3), &xor(&c1, &c2));
}

/// cn/r of `input` with the program for its height.
pub(super) fn cn_r(input: &[u8], program: &Program) -> [u8; 32] {
    slow_hash(input, Some(program))
}

/// Original CryptoNight (cn/0): the same skeleton without the variant 2/4 steps, so a cn/r
/// mismatch can be told apart from a broken skeleton.
pub(super) fn cn_0(input: &[u8]) -> [u8; 32] {
    slow_hash(input, None)
}

fn slow_hash(input: &[u8], program: Option<&Program>) -> [u8; 32] {
    let aes = SoftAes::new();
    let mut state = keccak1600(input);
    let mut pad = vec![0u8; MEMORY];

    // Explode: the 128 bytes after the keys, encrypted again and again, fill the scratchpad.
    let keys = aes.expand_key(&state[..32]);
    let mut text: [u8; 128] = state[64..192].try_into().expect("128 bytes");
    for chunk in pad.chunks_exact_mut(128) {
        for block in text.chunks_exact_mut(16) {
            let mut blk: Block = block.try_into().expect("16 bytes");
            for k in &keys {
                aes.round(&mut blk, k);
            }
            block.copy_from_slice(&blk);
        }
        chunk.copy_from_slice(&text);
    }

    let mut a = xor(&block_at(&state, 0), &block_at(&state, 32));
    let mut b = xor(&block_at(&state, 16), &block_at(&state, 48));
    let mut b1 = xor(&block_at(&state, 64), &block_at(&state, 80));
    let mut r = [0u32; 9];
    for (i, reg) in r.iter_mut().take(4).enumerate() {
        *reg = u32_at(&state, 96 + 4 * i);
    }

    for _ in 0..ITERATIONS {
        // First half: one AES round keyed by `a`.
        let j = (lo64(&a) & ADDRESS_MASK) as usize;
        let mut c = block_at(&pad, j);
        aes.round(&mut c, &a);
        if program.is_some() {
            shuffle(&mut pad, j, &a, &b, &b1, &mut c);
        }
        pad[j..j + 16].copy_from_slice(&xor(&c, &b));

        // Second half: random math, then the 64x64 multiplication.
        let j = (lo64(&c) & ADDRESS_MASK) as usize;
        let mut d = block_at(&pad, j);
        let mut a1 = a;
        if let Some(program) = program {
            let mix =
                u64::from(r[0].wrapping_add(r[1])) | (u64::from(r[2].wrapping_add(r[3])) << 32);
            let mixed = lo64(&d) ^ mix;
            d[..8].copy_from_slice(&mixed.to_le_bytes());
            r[4] = u32_at(&a1, 0);
            r[5] = u32_at(&a1, 8);
            r[6] = u32_at(&b, 0);
            r[7] = u32_at(&b1, 0);
            r[8] = u32_at(&b1, 8);
            program.run(&mut r);
            let lo = lo64(&a1) ^ (u64::from(r[2]) | (u64::from(r[3]) << 32));
            let hi = hi64(&a1) ^ (u64::from(r[0]) | (u64::from(r[1]) << 32));
            a1 = from_halves(lo, hi);
        }

        let product = u128::from(lo64(&c)) * u128::from(lo64(&d));
        let product = from_halves((product >> 64) as u64, product as u64);
        if program.is_some() {
            shuffle(&mut pad, j, &a, &b, &b1, &mut c);
        }
        a1 = add64(&a1, &product);
        pad[j..j + 16].copy_from_slice(&a1);
        a = xor(&a1, &d);
        b1 = b;
        b = c;
    }

    // Implode: fold the scratchpad back into the 128 bytes with the second key.
    let keys = aes.expand_key(&state[32..64]);
    let mut text: [u8; 128] = state[64..192].try_into().expect("128 bytes");
    for chunk in pad.chunks_exact(128) {
        for (block, src) in text.chunks_exact_mut(16).zip(chunk.chunks_exact(16)) {
            let mut blk: Block = block.try_into().expect("16 bytes");
            blk = xor(&blk, &src.try_into().expect("16 bytes"));
            for k in &keys {
                aes.round(&mut blk, k);
            }
            block.copy_from_slice(&blk);
        }
    }
    state[64..192].copy_from_slice(&text);
    let mut words = state_words(&state);
    keccak::f1600(&mut words);
    let state = state_bytes(&words);

    let mut out = [0u8; 32];
    match state[0] & 3 {
        0 => out.copy_from_slice(&blake_hash::Blake256::digest(&state)),
        1 => out.copy_from_slice(&groestl::Groestl256::digest(state)),
        2 => out.copy_from_slice(&jh::Jh256::digest(state)),
        _ => out.copy_from_slice(&skein::Skein512::<skein::consts::U32>::digest(state)),
    }
    out
}
