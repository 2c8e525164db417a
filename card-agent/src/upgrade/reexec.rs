//! Replacing this process with the freshly installed binary: same path, same argv, same environment.

use std::ffi::CString;

use super::SelfImage;

/// `execv`s the image; returns only on failure. Callers stop workers and flush the journal first:
/// nothing of this process survives the call (every fd Rust opens is close-on-exec).
pub fn reexec(image: &SelfImage) -> std::io::Error {
    let Ok(path) = CString::new(image.path.as_os_str().as_encoded_bytes()) else {
        return std::io::Error::new(std::io::ErrorKind::InvalidInput, "path holds a NUL byte");
    };
    let mut argv: Vec<*const libc::c_char> = image.argv.iter().map(|a| a.as_ptr()).collect();
    if argv.is_empty() {
        argv.push(path.as_ptr());
    }
    argv.push(std::ptr::null());
    // SAFETY: `path` and every argv string outlive the call; argv is NULL-terminated; execv keeps
    // the current environment (PHIRIG_TOKEN_FILE and the rest) for the new image.
    unsafe { libc::execv(path.as_ptr(), argv.as_ptr()) };
    std::io::Error::last_os_error()
}
