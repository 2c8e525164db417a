//! Zero-copy completion notifications: parsing `sock_extended_err` control messages and reading
//! them from a socket's error queue (`recvmsg(MSG_ERRQUEUE)`).

use std::os::fd::RawFd;

// From <linux/errqueue.h>, <linux/in.h>, <linux/in6.h>, <asm-generic/socket.h> (stable uapi).
pub const SO_ZEROCOPY: libc::c_int = 60;
pub const SO_EE_ORIGIN_ZEROCOPY: u8 = 5;
pub const SO_EE_CODE_ZEROCOPY_COPIED: u8 = 1;
pub const SOL_IP: libc::c_int = 0;
pub const SOL_IPV6: libc::c_int = 41;
pub const IP_RECVERR: libc::c_int = 11;
pub const IPV6_RECVERR: libc::c_int = 25;

/// Size of `struct sock_extended_err`: errno u32, origin u8, type u8, code u8, pad u8, info u32, data u32.
pub const EXTENDED_ERR_LEN: usize = 16;

/// One notification: send calls `lo..=hi` (the kernel's per-socket counter) have completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion {
    pub lo: u32,
    pub hi: u32,
    /// The kernel copied the data after all (loopback, veth, a device without scatter-gather).
    pub copied: bool,
}

impl Completion {
    /// How many send calls this notification covers (ranges are coalesced, wrapping at 2^32).
    pub fn count(&self) -> u64 {
        u64::from(self.hi.wrapping_sub(self.lo)) + 1
    }
}

/// What one control message says, if it is a zero-copy notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    Completion(Completion),
    /// An extended error of another origin (ICMP, local error): not ours to count.
    Other {
        origin: u8,
        errno: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ErrQueueError {
    #[error("control message level {level} type {kind} is not IP_RECVERR/IPV6_RECVERR")]
    NotRecvErr { level: i32, kind: i32 },
    #[error("extended error is {0} bytes, need {EXTENDED_ERR_LEN}")]
    Short(usize),
    #[error("zero-copy notification with errno {0}")]
    Errno(u32),
}

/// Parses the payload of one control message of `level`/`kind` (as found by `CMSG_FIRSTHDR`).
pub fn parse_cmsg(level: i32, kind: i32, data: &[u8]) -> Result<Notice, ErrQueueError> {
    let ours =
        (level == SOL_IP && kind == IP_RECVERR) || (level == SOL_IPV6 && kind == IPV6_RECVERR);
    if !ours {
        return Err(ErrQueueError::NotRecvErr { level, kind });
    }
    let b: &[u8; EXTENDED_ERR_LEN] = data
        .get(..EXTENDED_ERR_LEN)
        .and_then(|s| s.try_into().ok())
        .ok_or(ErrQueueError::Short(data.len()))?;
    let u32_at = |i: usize| u32::from_ne_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let errno = u32_at(0);
    let origin = b[4];
    let code = b[6];
    if origin != SO_EE_ORIGIN_ZEROCOPY {
        return Ok(Notice::Other { origin, errno });
    }
    if errno != 0 {
        return Err(ErrQueueError::Errno(errno));
    }
    Ok(Notice::Completion(Completion {
        lo: u32_at(8),
        hi: u32_at(12),
        copied: code & SO_EE_CODE_ZEROCOPY_COPIED != 0,
    }))
}

/// Builds the payload bytes of a notification (tests, and a record of the layout).
pub fn encode_extended_err(errno: u32, origin: u8, code: u8, info: u32, data: u32) -> [u8; 16] {
    let mut b = [0u8; EXTENDED_ERR_LEN];
    b[0..4].copy_from_slice(&errno.to_ne_bytes());
    b[4] = origin;
    b[6] = code;
    b[8..12].copy_from_slice(&info.to_ne_bytes());
    b[12..16].copy_from_slice(&data.to_ne_bytes());
    b
}

/// Walks a control buffer as `recvmsg` filled it and parses every message in it.
pub fn parse_control(control: &[u8]) -> Vec<Result<Notice, ErrQueueError>> {
    let hdr = std::mem::size_of::<libc::cmsghdr>();
    let align = std::mem::size_of::<usize>();
    let mut out = Vec::new();
    let mut off = 0usize;
    while off + hdr <= control.len() {
        // SAFETY: `off + hdr` is within the buffer; read_unaligned copes with any alignment.
        let c: libc::cmsghdr =
            unsafe { std::ptr::read_unaligned(control[off..].as_ptr().cast::<libc::cmsghdr>()) };
        let len = c.cmsg_len as usize;
        if len < hdr || off + len > control.len() {
            break;
        }
        out.push(parse_cmsg(
            c.cmsg_level,
            c.cmsg_type,
            &control[off + hdr..off + len],
        ));
        off += len.div_ceil(align) * align;
    }
    out
}

/// Reads every queued notification without blocking. Returns the completions; other extended
/// errors are skipped.
pub fn drain(fd: RawFd) -> std::io::Result<Vec<Completion>> {
    let mut out = Vec::new();
    // Bounded: the queue holds at most as many entries as unacknowledged sends, far below this.
    for _ in 0..4096 {
        let mut control = [0u8; 256];
        // SAFETY: msghdr is plain integers and raw pointers, for which all zeros is valid.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len() as _;
        // SAFETY: msg points at our control buffer and no iovec; the kernel writes at most
        // msg_controllen bytes into it.
        let rc = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT) };
        if rc < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::WouldBlock {
                break;
            }
            return Err(e);
        }
        let used = (msg.msg_controllen as usize).min(control.len());
        for notice in parse_control(&control[..used]) {
            match notice {
                Ok(Notice::Completion(c)) => out.push(c),
                Ok(Notice::Other { .. }) => {}
                Err(e) => return Err(std::io::Error::other(e.to_string())),
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One control message as the kernel lays it out: cmsghdr, payload, padding.
    fn cmsg(level: i32, kind: i32, payload: &[u8]) -> Vec<u8> {
        let hdr = std::mem::size_of::<libc::cmsghdr>();
        let len = hdr + payload.len();
        // SAFETY: cmsghdr is plain integers, for which all zeros is valid.
        let mut c: libc::cmsghdr = unsafe { std::mem::zeroed() };
        c.cmsg_len = len as _;
        c.cmsg_level = level;
        c.cmsg_type = kind;
        // SAFETY: cmsghdr is plain old data.
        let raw =
            unsafe { std::slice::from_raw_parts((&c as *const libc::cmsghdr).cast::<u8>(), hdr) };
        let mut v = raw.to_vec();
        v.extend_from_slice(payload);
        v.resize(len.div_ceil(8) * 8, 0);
        v
    }

    #[test]
    fn zero_copy_ranges_and_copied_flag() {
        let p = encode_extended_err(0, SO_EE_ORIGIN_ZEROCOPY, 0, 3, 9);
        let n = parse_cmsg(SOL_IP, IP_RECVERR, &p).expect("parse");
        let Notice::Completion(c) = n else {
            panic!("{n:?}")
        };
        assert_eq!((c.lo, c.hi, c.copied, c.count()), (3, 9, false, 7));
        let p = encode_extended_err(0, SO_EE_ORIGIN_ZEROCOPY, SO_EE_CODE_ZEROCOPY_COPIED, 0, 0);
        assert_eq!(
            parse_cmsg(SOL_IPV6, IPV6_RECVERR, &p),
            Ok(Notice::Completion(Completion {
                lo: 0,
                hi: 0,
                copied: true
            }))
        );
        // The counter wraps at 2^32: a range across the wrap still counts right.
        let wrap = Completion {
            lo: u32::MAX - 1,
            hi: 1,
            copied: false,
        };
        assert_eq!(wrap.count(), 4);
    }

    #[test]
    fn foreign_short_and_failed_messages() {
        let icmp = encode_extended_err(113, 2, 1, 0, 0);
        assert_eq!(
            parse_cmsg(SOL_IP, IP_RECVERR, &icmp),
            Ok(Notice::Other {
                origin: 2,
                errno: 113
            })
        );
        assert_eq!(
            parse_cmsg(SOL_IP, IP_RECVERR, &[0; 8]),
            Err(ErrQueueError::Short(8))
        );
        assert!(matches!(
            parse_cmsg(1, 29, &[0; 16]),
            Err(ErrQueueError::NotRecvErr { .. })
        ));
        let failed = encode_extended_err(12, SO_EE_ORIGIN_ZEROCOPY, 0, 0, 0);
        assert_eq!(
            parse_cmsg(SOL_IP, IP_RECVERR, &failed),
            Err(ErrQueueError::Errno(12))
        );
    }

    #[test]
    fn a_control_buffer_with_two_messages() {
        let mut buf = cmsg(SOL_IP, IP_RECVERR, &encode_extended_err(0, 5, 0, 0, 4));
        buf.extend(cmsg(
            SOL_IPV6,
            IPV6_RECVERR,
            &encode_extended_err(0, 5, 1, 5, 5),
        ));
        let got = parse_control(&buf);
        assert_eq!(
            got,
            vec![
                Ok(Notice::Completion(Completion {
                    lo: 0,
                    hi: 4,
                    copied: false
                })),
                Ok(Notice::Completion(Completion {
                    lo: 5,
                    hi: 5,
                    copied: true
                })),
            ]
        );
        // A cut-off buffer yields only its whole messages.
        assert_eq!(parse_control(&buf[..buf.len() / 2 + 4]).len(), 1);
        assert!(parse_control(&[]).is_empty());
    }
}
