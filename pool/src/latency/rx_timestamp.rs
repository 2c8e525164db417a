//! Kernel software receive timestamps on a TCP socket: SO_TIMESTAMPNS and recvmsg control messages.
//!
//! For TCP the kernel attaches one timestamp per `recvmsg` call (that of the last segment read),
//! so a line split over several reads gets the stamp of the read that completed it.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Ask the kernel to stamp received data on `fd` (CLOCK_REALTIME, nanoseconds).
pub fn enable_rx_timestamps(fd: RawFd) -> io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: fd is a valid socket owned by the caller; the option value is a live c_int.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Non-blocking `recvmsg` into `buf`: bytes read and the kernel receive stamp if one came.
/// `Ok((0, _))` is end of stream; `WouldBlock` is returned as an error (for `try_io`).
pub fn recv_with_timestamp(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
    // u64-aligned control buffer, room for a timespec cmsg and then some.
    let mut control = [0u64; 16];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: zeroed msghdr is a valid "empty" value; we fill the pointers below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg points at live buffers for the duration of the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut stamp = None;
    // SAFETY: the CMSG_* macros walk the control buffer the kernel just filled, within
    // msg_controllen; the payload is read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            let hdr = &*cmsg;
            if hdr.cmsg_level == libc::SOL_SOCKET && hdr.cmsg_type == libc::SCM_TIMESTAMPNS {
                let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                if ts.tv_sec > 0 {
                    stamp = Some(
                        UNIX_EPOCH
                            + Duration::new(
                                ts.tv_sec as u64,
                                ts.tv_nsec.clamp(0, 999_999_999) as u32,
                            ),
                    );
                }
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n as usize, stamp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::AsRawFd;

    /// The kernel turns stamping on through deferred work the first time any socket asks, so
    /// the first segments may come unstamped; within a few round trips they must be stamped.
    #[test]
    fn loopback_tcp_gets_kernel_stamps() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        enable_rx_timestamps(server.as_raw_fd()).unwrap();
        let mut buf = [0u8; 64];
        let mut stamped = 0;
        for _ in 0..20 {
            client.write_all(b"hello\n").unwrap();
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                match recv_with_timestamp(server.as_raw_fd(), &mut buf) {
                    Ok((n, stamp)) => {
                        assert_eq!(&buf[..n], b"hello\n");
                        if let Some(stamp) = stamp {
                            assert!(stamp <= SystemTime::now());
                            stamped += 1;
                        }
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        assert!(std::time::Instant::now() < deadline, "no data in 5 s");
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    Err(e) => panic!("recvmsg: {e}"),
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(
            stamped >= 10,
            "only {stamped} of 20 reads had a kernel stamp"
        );
    }
}
