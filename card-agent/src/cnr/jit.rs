//! cn/r programs compiled to x86-64 machine code, each in its own read+execute page.
//!
//! Compiling costs one `mmap` and one `mprotect` per height; running is one indirect call with the
//! registers in CPU registers, several times faster than any interpreter. Where the platform is not
//! x86-64 Unix, or the OS refuses executable memory (W^X policies), `compile` returns `None` and
//! the caller keeps interpreting.

#[cfg(all(target_arch = "x86_64", unix))]
mod imp {
    use std::ptr::NonNull;

    use crate::cnr::instruction::Instruction;
    use crate::cnr::x86_encoder;

    type Entry = unsafe extern "C" fn(*mut u32);

    /// One compiled program: an anonymous mapping holding its code, unmapped on drop.
    pub(crate) struct CompiledProgram {
        page: NonNull<libc::c_void>,
        len: usize,
        entry: Entry,
    }

    // SAFETY: the mapping is written once before it becomes executable and never changes again;
    // running it only touches the caller's registers array, so sharing it between threads is fine.
    unsafe impl Send for CompiledProgram {}
    // SAFETY: as above: `&CompiledProgram` only allows running the immutable code.
    unsafe impl Sync for CompiledProgram {}

    impl CompiledProgram {
        pub(crate) fn compile(body: &[Instruction]) -> Option<CompiledProgram> {
            let code = x86_encoder::encode(body);
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
            // SAFETY: the page now holds a complete System V function taking one pointer
            // (see x86_encoder: it only touches rcx, r8-r11, flags and the nine u32 at rdi).
            let entry = unsafe { std::mem::transmute::<*mut libc::c_void, Entry>(raw) };
            Some(CompiledProgram { page, len, entry })
        }

        #[inline]
        pub(crate) fn run(&self, r: &mut [u32; 9]) {
            // SAFETY: the code reads r[0..9] and writes r[0..4] through the pointer, which is valid
            // for nine u32 for the duration of the call.
            unsafe { (self.entry)(r.as_mut_ptr()) }
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
    }
}

pub(crate) use imp::CompiledProgram;
