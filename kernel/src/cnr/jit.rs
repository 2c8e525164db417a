//! cn/r programs compiled to x86-64 machine code, each in its own read+execute page.
//!
//! Compiling costs one `mmap` and one `mprotect` per height; running is one `call` from an `asm!`
//! block that hands over the nine registers in CPU registers (see `x86_encoder` for the plans), so
//! the main loop keeps its own state in registers across it: several times faster than any
//! interpreter, and no spills around an ABI call. The page holds the program three times, on three
//! register plans: one for the call from compiled Rust, and one for each way of the assembly main
//! loop. Where the platform is not
//! x86-64 Unix, or the OS refuses executable memory (W^X policies), `compile` returns `None` and
//! the caller keeps interpreting.

#[cfg(all(target_arch = "x86_64", unix))]
mod imp {
    use std::ptr::NonNull;

    use crate::cnr::instruction::Instruction;
    use crate::cnr::x86_encoder::{self, Plan, CALL, LOOP_WAY0, LOOP_WAY1};

    /// The plans in the page, in order.
    const PLANS: [Plan; 3] = [CALL, LOOP_WAY0, LOOP_WAY1];

    /// One compiled program: an anonymous mapping holding its code, unmapped on drop.
    pub(crate) struct CompiledProgram {
        page: NonNull<libc::c_void>,
        len: usize,
        /// Where each plan's code starts in the page (the first is 0).
        entries: [usize; 3],
    }

    // SAFETY: the mapping is written once before it becomes executable and never changes again;
    // running it only touches the caller's registers array, so sharing it between threads is fine.
    unsafe impl Send for CompiledProgram {}
    // SAFETY: as above: `&CompiledProgram` only allows running the immutable code.
    unsafe impl Sync for CompiledProgram {}

    impl CompiledProgram {
        pub(crate) fn compile(body: &[Instruction]) -> Option<CompiledProgram> {
            let mut code = Vec::with_capacity(3 * 640);
            let mut entries = [0; 3];
            for (entry, plan) in entries.iter_mut().zip(PLANS) {
                // Each copy on its own 64-byte line: `int3` padding, never executed.
                code.resize(code.len().next_multiple_of(64), 0xcc);
                *entry = code.len();
                code.extend_from_slice(&x86_encoder::encode(body, plan));
            }
            let len = code.len().next_multiple_of(4096);
            // SAFETY: a fresh private anonymous mapping with no address hint; checked below.
            let raw = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if raw == libc::MAP_FAILED {
                return None;
            }
            let page = NonNull::new(raw)?;
            // SAFETY: the mapping is `len >= code.len()` bytes, writable, and ours alone.
            unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), raw.cast::<u8>(), code.len()) };
            // Never writable and executable at once.
            // SAFETY: same mapping, same length.
            if unsafe { libc::mprotect(raw, len, libc::PROT_READ | libc::PROT_EXEC) } != 0 {
                // SAFETY: unmapping what we mapped above.
                unsafe { libc::munmap(raw, len) };
                return None;
            }
            Some(CompiledProgram { page, len, entries })
        }

        /// The program's code for way 0 and way 1 of the assembly main loop
        /// (`x86_encoder::LOOP_WAY0`, `LOOP_WAY1`): valid while `self` lives.
        pub(crate) fn loop_entries(&self) -> [*const u8; 2] {
            let base = self.page.as_ptr().cast::<u8>().cast_const();
            // The offsets lie inside the mapping (`compile` wrote the code there).
            [
                base.wrapping_add(self.entries[1]),
                base.wrapping_add(self.entries[2]),
            ]
        }

        /// Runs the program on `r` (reads `r[0..9]`, writes `r[0..4]`).
        #[inline(always)]
        pub(crate) fn run(&self, r: &mut [u32; 9]) {
            let [mut r0, mut r1, mut r2, mut r3, r4, r5, r6, r7, r8] = *r;
            // SAFETY: the page holds code from `x86_encoder::encode`, read+execute for as long as
            // `self` lives: it reads the nine registers named below, writes r8d..r11d, ecx and
            // the flags, touches no memory, and returns with `ret`. The `call` pushes a return
            // address, so rsp first steps over the 128-byte red zone the surrounding code may
            // use; `asm!` without `nostack` keeps rsp aligned for a call.
            // `nomem` holds: the pointer is only a call target (an instruction fetch), never
            // read or written as data.
            #[allow(clippy::pointers_in_nomem_asm_block)]
            unsafe {
                core::arch::asm!(
                    "lea rsp, [rsp - 128]",
                    "call {entry}",
                    "lea rsp, [rsp + 128]",
                    // The CALL plan's copy comes first in the page.
                    entry = in(reg) self.page.as_ptr(),
                    inout("r8d") r0,
                    inout("r9d") r1,
                    inout("r10d") r2,
                    inout("r11d") r3,
                    in("eax") r4,
                    in("edx") r5,
                    in("esi") r6,
                    in("edi") r7,
                    in("r12d") r8,
                    out("ecx") _,
                    options(pure, nomem),
                );
            }
            r[0] = r0;
            r[1] = r1;
            r[2] = r2;
            r[3] = r3;
        }
    }

    impl Drop for CompiledProgram {
        fn drop(&mut self) {
            // SAFETY: the mapping was created by `compile` with this length and is unmapped once.
            unsafe { libc::munmap(self.page.as_ptr(), self.len) };
        }
    }
}

#[cfg(not(all(target_arch = "x86_64", unix)))]
mod imp {
    use crate::cnr::instruction::Instruction;

    /// No code generator for this platform: programs are always interpreted.
    pub(crate) enum CompiledProgram {}

    impl CompiledProgram {
        pub(crate) fn compile(_body: &[Instruction]) -> Option<CompiledProgram> {
            None
        }

        pub(crate) fn run(&self, _r: &mut [u32; 9]) {
            match *self {}
        }

        pub(crate) fn loop_entries(&self) -> [*const u8; 2] {
            match *self {}
        }
    }
}

pub(crate) use imp::CompiledProgram;
