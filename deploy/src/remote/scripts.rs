//! The POSIX sh scripts run on cards, and their replies. Every variable word is shell-quoted.

use super::config::DigestMethod;
use super::digest::digest_script;
use super::paths::AgentPaths;
use super::report::StopOutcome;
use crate::ssh::{shell_join, shell_quote};
use std::time::Duration;

/// Reads the binary from stdin into `tmp` (0700, in a 0700-umask directory).
pub fn copy_script(dir: &str, tmp: &str) -> String {
    format!(
        "umask 077 && mkdir -p {dir} && cat > {tmp} && chmod 700 {tmp}",
        dir = shell_quote(dir),
        tmp = shell_quote(tmp)
    )
}

/// Copy, hash on the card, print the digest, and rename `tmp` to `binary` only when it matches
/// `expected` (our own hex digest) — otherwise remove it. One round trip.
pub fn copy_verify_script(
    dir: &str,
    tmp: &str,
    binary: &str,
    method: DigestMethod,
    expected: &str,
) -> String {
    let (tmp_q, bin_q) = (shell_quote(tmp), shell_quote(binary));
    format!(
        "{copy} || exit 1\nd=$({digest}) || {{ rm -f {tmp_q}; exit 3; }}\necho \"$d\"\ncase \"$d\" in *{want}) mv -f {tmp_q} {bin_q} ;; *) rm -f {tmp_q} ;; esac",
        copy = copy_script(dir, tmp),
        digest = digest_script(method, tmp),
        want = shell_quote(expected),
    )
}

/// TERM the pid in the pid file, KILL after `grace`; prints `notrunning`, `terminated` or `killed`.
pub fn stop_script(pidfile: &str, grace: Duration) -> String {
    // Polls of 0.2 s; a `sleep` without fractions (old busybox) fails at once and we sleep 1 s,
    // which only makes the bounded wait longer, never endless.
    let polls = (grace.as_millis() / 200).max(1);
    format!(
        r#"pf={pf}
pid=$(cat "$pf" 2>/dev/null)
case "$pid" in ''|*[!0-9]*) rm -f "$pf"; echo notrunning; exit 0;; esac
if ! kill -0 "$pid" 2>/dev/null; then rm -f "$pf"; echo notrunning; exit 0; fi
kill -TERM "$pid" 2>/dev/null
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i+1))
  if [ "$i" -gt {polls} ]; then kill -KILL "$pid" 2>/dev/null; rm -f "$pf"; echo killed; exit 0; fi
  sleep 0.2 2>/dev/null || sleep 1
done
rm -f "$pf"; echo terminated"#,
        pf = shell_quote(pidfile),
    )
}

pub fn parse_stop(reply: &str) -> Option<StopOutcome> {
    match reply.trim() {
        "notrunning" => Some(StopOutcome::NotRunning),
        "terminated" => Some(StopOutcome::Terminated),
        "killed" => Some(StopOutcome::Killed),
        _ => None,
    }
}

/// Starts `argv` detached (setsid, nohup, log, pid file) and prints its pid. With `token_on_stdin`
/// the script first stores stdin as the 0600 token file and points `PHIRIG_TOKEN_FILE` at it.
/// With `stop_first`, a running agent is stopped in the same round trip.
pub fn launch_script(
    paths: &AgentPaths,
    argv: &[String],
    token_on_stdin: bool,
    stop_first: Option<Duration>,
) -> String {
    let mut script = String::new();
    if let Some(grace) = stop_first {
        // In a subshell: the stop script's `exit`s must not end this one.
        script.push_str(&format!(
            "(\n{}\n) >/dev/null 2>&1\n",
            stop_script(&paths.pidfile, grace)
        ));
    }
    script.push_str(&format!(
        "umask 077 && mkdir -p {dir} && cd {dir} || exit 1\n",
        dir = shell_quote(&paths.dir)
    ));
    let mut env = String::new();
    if token_on_stdin {
        let tmp = shell_quote(&format!("{}.tmp", paths.token));
        let tok = shell_quote(&paths.token);
        script.push_str(&format!("cat > {tmp} && mv -f {tmp} {tok} || exit 1\n"));
        env = format!("PHIRIG_TOKEN_FILE={tok} ");
    }
    // A simple command with `&` keeps `$!` the agent's pid: setsid and nohup exec in place.
    script.push_str(&format!(
        "{env}setsid nohup {cmd} > {log} 2>&1 < /dev/null &\npid=$!\necho \"$pid\" > {pidfile} && echo \"$pid\"",
        cmd = shell_join(argv),
        log = shell_quote(&paths.log),
        pidfile = shell_quote(&paths.pidfile),
    ));
    script
}

/// Prints `binary`/`nobinary`, then `running <pid>` or `stopped`.
pub fn status_script(binary: &str, pidfile: &str) -> String {
    format!(
        r#"if [ -f {bin} ]; then echo binary; else echo nobinary; fi
pid=$(cat {pf} 2>/dev/null)
case "$pid" in ''|*[!0-9]*) echo stopped; exit 0;; esac
if kill -0 "$pid" 2>/dev/null; then echo "running $pid"; else echo stopped; fi"#,
        bin = shell_quote(binary),
        pf = shell_quote(pidfile),
    )
}

/// (binary present, pid of the live agent).
pub fn parse_status(reply: &str) -> Option<(bool, Option<u32>)> {
    let mut lines = reply.lines().map(str::trim);
    let binary_present = match lines.next()? {
        "binary" => true,
        "nobinary" => false,
        _ => return None,
    };
    let pid = match lines.next()? {
        "stopped" => None,
        l => Some(l.strip_prefix("running ")?.parse().ok()?),
    };
    Some((binary_present, pid))
}

/// The last lines of a log file.
pub fn tail_script(log: &str) -> String {
    format!("tail -n 5 {} 2>/dev/null", shell_quote(log))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn sh(script: &str) -> String {
        let out = Command::new("sh")
            .arg("-c")
            .arg(script)
            .output()
            .expect("sh");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[test]
    fn launch_status_stop_locally() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("a 'b' $(c)");
        let d = d.to_str().expect("utf8");
        let paths = AgentPaths {
            dir: d.into(),
            binary: "sleep".into(),
            pidfile: format!("{d}/agent.pid"),
            log: format!("{d}/agent.log"),
            token: format!("{d}/agent.token"),
        };
        let argv = vec!["sleep".to_string(), "30".to_string()];
        let pid: u32 = sh(&launch_script(&paths, &argv, false, None))
            .trim()
            .parse()
            .expect("pid");
        let st = parse_status(&sh(&status_script(&format!("{d}/none"), &paths.pidfile)));
        assert_eq!(st, Some((false, Some(pid))));
        let out = sh(&stop_script(&paths.pidfile, Duration::from_secs(2)));
        assert_eq!(parse_stop(&out), Some(StopOutcome::Terminated));
        let st = parse_status(&sh(&status_script(&paths.pidfile, &paths.pidfile)));
        assert_eq!(st, Some((false, None)), "pid file removed");
        assert_eq!(
            parse_stop(&sh(&stop_script(&paths.pidfile, Duration::from_secs(1)))),
            Some(StopOutcome::NotRunning)
        );
    }

    #[test]
    fn stubborn_process_is_killed_after_grace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_str().expect("utf8");
        let paths = AgentPaths {
            dir: d.into(),
            binary: "sh".into(),
            pidfile: format!("{d}/agent.pid"),
            log: format!("{d}/agent.log"),
            token: format!("{d}/agent.token"),
        };
        // Ignores TERM; a bounded sleep loop so nothing outlives the test.
        let argv: Vec<String> = [
            "sh",
            "-c",
            "trap '' TERM; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        sh(&launch_script(&paths, &argv, false, None));
        std::thread::sleep(Duration::from_millis(200));
        let out = sh(&stop_script(&paths.pidfile, Duration::from_millis(600)));
        assert_eq!(parse_stop(&out), Some(StopOutcome::Killed));
    }

    #[test]
    fn replies() {
        assert_eq!(parse_status("binary\nrunning 42\n"), Some((true, Some(42))));
        assert_eq!(parse_status("nobinary\nstopped\n"), Some((false, None)));
        assert_eq!(parse_status("binary\nrunning x\n"), None);
        assert_eq!(parse_status("binary\n"), None);
        assert_eq!(parse_stop("what"), None);
    }
}
