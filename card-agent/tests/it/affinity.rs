//! Started under `taskset`, the agent pins its workers within the CPUs it was given.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{heavy, AGENT};

/// CPU time a task has used, in clock ticks (`utime + stime` of `/proc/PID/task/TID/stat`).
fn cpu_ticks(stat: &str) -> Option<u64> {
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // utime and stime are fields 14 and 15; the list starts at field 3.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// The CPUs a task may run on, from `/proc/PID/task/TID/status`.
fn allowed_list(status: &str) -> Option<String> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
}

#[test]
fn workers_stay_on_the_cpus_taskset_gave() {
    let _heavy = heavy();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        eprintln!("one CPU: nothing to tell apart");
        return;
    }
    // The last CPU: without the fix the worker pinned itself to the first core, cpu0.
    let cpu = (cpus - 1).to_string();
    let mut child = Command::new("taskset")
        .args([
            "-c",
            &cpu,
            AGENT,
            "bench",
            "--algo",
            "cn-pico",
            "-t",
            "1",
            "--seconds",
            "4",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("taskset runs the agent");
    let tasks = format!("/proc/{}/task", child.id());
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = None;
    while seen.is_none() && Instant::now() < deadline {
        for task in std::fs::read_dir(&tasks).into_iter().flatten().flatten() {
            let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
            // The worker is named at spawn and pins itself as it starts: read its mask only
            // once it has hashed for a while (10 ticks), so the mask taskset gave the thread
            // before it pinned cannot pass for the answer.
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
            if comm.trim() == "cn-worker-0" && cpu_ticks(&stat).is_some_and(|t| t >= 10) {
                let status =
                    std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
                seen = allowed_list(&status);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(seen.as_deref(), Some(cpu.as_str()), "the worker's CPUs");
}
