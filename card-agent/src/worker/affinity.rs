//! Pinning a worker thread to one logical CPU, so its scratchpad stays in that core's caches.

/// Pins the calling thread to `cpu`. Returns false when the OS refuses (containers, odd masks).
#[cfg(target_os = "linux")]
pub fn pin_current_thread(cpu: usize) -> bool {
    // SAFETY: cpu_set_t is plain data; CPU_SET bounds-checks against CPU_SETSIZE itself.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if cpu >= libc::CPU_SETSIZE as usize {
            return false;
        }
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

#[cfg(not(target_os = "linux"))]
pub fn pin_current_thread(_cpu: usize) -> bool {
    false
}

/// The CPUs this process may run on, from its main thread's mask (which the agent never pins):
/// what `taskset`, a cgroup's cpuset or systemd's `CPUAffinity=` left it. `None` when the OS
/// does not say.
#[cfg(target_os = "linux")]
pub fn allowed_cpus() -> Option<Vec<usize>> {
    // SAFETY: cpu_set_t is plain data, filled by the kernel for the size given; CPU_ISSET reads
    // within CPU_SETSIZE.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        let size = std::mem::size_of::<libc::cpu_set_t>();
        if libc::sched_getaffinity(libc::getpid(), size, &mut set) != 0 {
            return None;
        }
        let cpus: Vec<usize> = (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect();
        (!cpus.is_empty()).then_some(cpus)
    }
}

#[cfg(not(target_os = "linux"))]
pub fn allowed_cpus() -> Option<Vec<usize>> {
    None
}

#[cfg(test)]
mod tests {
    #[test]
    fn pins_to_cpu0_and_refuses_nonsense() {
        let ok = std::thread::spawn(|| super::pin_current_thread(0))
            .join()
            .expect("thread");
        assert!(ok, "pinning to cpu0 should work on Linux");
        let bad = std::thread::spawn(|| super::pin_current_thread(1 << 20))
            .join()
            .expect("thread");
        assert!(!bad);
    }
}
