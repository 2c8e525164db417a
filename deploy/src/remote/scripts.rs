//! The POSIX sh scripts run on cards, and their replies. Every variable word is shell-quoted.

use super::config::DigestMethod;
use super::digest::digest_script;
use super::paths::AgentPaths;
use super::report::{Replaced, StopOutcome};
use crate::ssh::{shell_join, shell_quote};
use std::time::Duration;

/// Reads the binary from stdin into `tmp` (0700, in a 0700-umask directory).
pub(super) fn copy_script(dir: &str, tmp: &str) -> String {
    format!(
        "umask 077 && mkdir -p {dir} && cat > {tmp} && chmod 700 {tmp}",
        dir = shell_quote(dir),
        tmp = shell_quote(tmp)
    )
}

/// Copy, hash on the card, print the digest, and rename `tmp` to `binary` only when it matches
/// `expected` (our own hex digest) — otherwise remove it. One round trip.
pub(super) fn copy_verify_script(
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

/// Who asks for a start. The operator's start clears the "stopped" marker; the watchdog's
/// respects it and starts nothing, so a card stopped on purpose stays stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    Operator,
    /// `seen` is the agent the watchdog's probe found (`None`: none running). An agent alive
    /// under another pid was started since (the operator's start racing the probe): left alone.
    Supervisor {
        seen: Option<u32>,
    },
}

/// `alive PID`: the process exists and is not a zombie. A killed agent whose parent shell has
/// exited waits as a zombie until init reaps it, which some inits do late; `kill -0` alone would
/// call it running.
const ALIVE_FN: &str = r#"alive() { kill -0 "$1" 2>/dev/null || return 1; st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null); [ "$st" != Z ]; }
"#;

/// How long a start or stop waits for another one on the same card to finish.
const LOCK_WAIT_SECS: u32 = 60;

/// Creates the agent directory and takes the card's agent lock on fd 9 for the rest of the
/// script: a `phirig restart` racing the watchdog (another process, maybe another host) then
/// runs strictly before or after it, never interleaved. Cards without `flock(1)` run unlocked.
fn lock_prelude(paths: &AgentPaths) -> String {
    format!(
        r#"{ALIVE_FN}umask 077 && mkdir -p {dir} || exit 1
if command -v flock >/dev/null 2>&1; then
  exec 9>>{lock} || exit 1
  flock -w {LOCK_WAIT_SECS} 9 || {{ echo "another start or stop on this card did not finish within {LOCK_WAIT_SECS} s" >&2; exit 75; }}
fi
"#,
        dir = shell_quote(&paths.dir),
        lock = shell_quote(&paths.lock),
    )
}

/// TERM the pid in the pid file, KILL after `grace`; prints `notrunning`, `terminated` or
/// `killed`. No lock, no marker: the building block of [`stop_script`] and [`launch_script`].
fn stop_body(pidfile: &str, grace: Duration) -> String {
    // Polls of 0.2 s; a `sleep` without fractions (old busybox) fails at once and we sleep 1 s,
    // which only makes the bounded wait longer, never endless.
    let polls = (grace.as_millis() / 200).max(1);
    format!(
        r#"pf={pf}
pid=$(cat "$pf" 2>/dev/null)
case "$pid" in ''|*[!0-9]*) rm -f "$pf"; echo notrunning; exit 0;; esac
if ! alive "$pid"; then rm -f "$pf"; echo notrunning; exit 0; fi
kill -TERM "$pid" 2>/dev/null
i=0
while alive "$pid"; do
  i=$((i+1))
  if [ "$i" -gt {polls} ]; then kill -KILL "$pid" 2>/dev/null; rm -f "$pf"; echo killed; exit 0; fi
  sleep 0.2 2>/dev/null || sleep 1
done
rm -f "$pf"; echo terminated"#,
        pf = shell_quote(pidfile),
    )
}

/// The operator's stop: under the card lock, leave the "stopped" marker (so the watchdog does not
/// bring the agent back), then TERM, and KILL after `grace`. Prints like [`stop_body`].
pub(super) fn stop_script(paths: &AgentPaths, grace: Duration) -> String {
    format!(
        "{prelude}: > {marker} || exit 1\n{body}",
        prelude = lock_prelude(paths),
        marker = shell_quote(&paths.stopped_marker),
        body = stop_body(&paths.pidfile, grace),
    )
}

pub(super) fn parse_stop(reply: &str) -> Option<StopOutcome> {
    match reply.trim() {
        "notrunning" => Some(StopOutcome::NotRunning),
        "terminated" => Some(StopOutcome::Terminated),
        "killed" => Some(StopOutcome::Killed),
        _ => None,
    }
}

/// What a launch script did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Launched {
    /// The new agent's pid, and the agent it stopped first, if one was running.
    Started(u32, Option<Replaced>),
    /// A plain start found the agent running and left it alone.
    AlreadyRunning(u32),
    /// A supervisor start found the operator's "stopped" marker and started nothing.
    OperatorStopped,
}

/// Starts `argv` detached (setsid, nohup, log, pid file) under the card lock. With
/// `token_on_stdin` the script first stores stdin as the 0600 token file and points
/// `PHIRIG_TOKEN_FILE` at it. With `stop_first`, a running agent is stopped in the same round
/// trip; without it, a running agent is left alone (no second copy). See [`parse_launch`].
pub(super) fn launch_script(
    paths: &AgentPaths,
    argv: &[String],
    token_on_stdin: bool,
    stop_first: Option<Duration>,
    intent: Intent,
) -> String {
    let mut script = lock_prelude(paths);
    let marker = shell_quote(&paths.stopped_marker);
    match intent {
        Intent::Supervisor { seen } => script.push_str(&format!(
            r#"if [ -e {marker} ]; then echo operator-stopped; exit 0; fi
cur=$(cat {pf} 2>/dev/null)
case "$cur" in ''|*[!0-9]*) ;; *) if [ "$cur" != "{seen}" ] && alive "$cur"; then echo "already $cur"; exit 0; fi;; esac
"#,
            pf = shell_quote(&paths.pidfile),
            seen = seen.map_or(String::new(), |p| p.to_string()),
        )),
        Intent::Operator => script.push_str(&format!("rm -f {marker} || exit 1\n")),
    }
    let pf = shell_quote(&paths.pidfile);
    match stop_first {
        // In a subshell: the stop body's `exit`s must not end this one. Its word says whether an
        // agent was running, which the reply passes on with that agent's pid.
        Some(grace) => script.push_str(&format!(
            "old=$(cat {pf} 2>/dev/null)\nstopped=$(\n{}\n) 2>/dev/null\n",
            stop_body(&paths.pidfile, grace)
        )),
        None => script.push_str(&format!(
            r#"pid=$(cat {pf} 2>/dev/null)
case "$pid" in ''|*[!0-9]*) ;; *) if alive "$pid"; then echo "already $pid"; exit 0; fi;; esac
"#
        )),
    }
    script.push_str(&format!("cd {} || exit 1\n", shell_quote(&paths.dir)));
    let mut env = String::new();
    if token_on_stdin {
        let tmp = shell_quote(&format!("{}.tmp", paths.token));
        let tok = shell_quote(&paths.token);
        script.push_str(&format!("cat > {tmp} && mv -f {tmp} {tok} || exit 1\n"));
        env = format!("PHIRIG_TOKEN_FILE={tok} ");
    }
    // A simple command with `&` keeps `$!` the agent's pid: setsid and nohup exec in place.
    // `9>&-`: the agent must not inherit the lock, or it would hold it for its whole life.
    script.push_str(&format!(
        "{env}setsid nohup {cmd} > {log} 2>&1 < /dev/null 9>&- &\npid=$!\necho \"$pid\" > {pf} && echo \"$pid\"",
        cmd = shell_join(argv),
        log = shell_quote(&paths.log),
    ));
    if stop_first.is_some() {
        script.push_str(
            "\ncase \"$stopped\" in terminated|killed) echo \"replaced $old $stopped\";; esac",
        );
    }
    script
}

pub(super) fn parse_launch(reply: &str) -> Option<Launched> {
    let reply = reply.trim();
    if reply == "operator-stopped" {
        return Some(Launched::OperatorStopped);
    }
    if let Some(pid) = reply.strip_prefix("already ") {
        return pid.parse().ok().map(Launched::AlreadyRunning);
    }
    let mut lines = reply.lines().map(str::trim);
    let pid = lines.next()?.parse().ok()?;
    let replaced = match lines.next() {
        None => None,
        Some(line) => {
            let mut words = line.strip_prefix("replaced ")?.split(' ');
            let old = words.next()?.parse().ok()?;
            let outcome = parse_stop(words.next()?)?;
            Some(Replaced { pid: old, outcome })
        }
    };
    Some(Launched::Started(pid, replaced))
}

/// Prints `binary`/`nobinary`, `running <pid>`/`stopped`, then `operator-stopped`/`supervised`.
pub(super) fn status_script(paths: &AgentPaths) -> String {
    format!(
        r#"{ALIVE_FN}if [ -f {bin} ]; then echo binary; else echo nobinary; fi
pid=$(cat {pf} 2>/dev/null)
case "$pid" in ''|*[!0-9]*) echo stopped;; *) if alive "$pid"; then echo "running $pid"; else echo stopped; fi;; esac
if [ -e {marker} ]; then echo operator-stopped; else echo supervised; fi"#,
        bin = shell_quote(&paths.binary),
        pf = shell_quote(&paths.pidfile),
        marker = shell_quote(&paths.stopped_marker),
    )
}

/// What [`status_script`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct StatusReply {
    pub binary_present: bool,
    /// Pid of the live agent.
    pub pid: Option<u32>,
    pub stopped_by_operator: bool,
}

pub(super) fn parse_status(reply: &str) -> Option<StatusReply> {
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
    let stopped_by_operator = match lines.next()? {
        "operator-stopped" => true,
        "supervised" => false,
        _ => return None,
    };
    Some(StatusReply {
        binary_present,
        pid,
        stopped_by_operator,
    })
}

/// The last lines of a log file.
pub(super) fn tail_script(log: &str) -> String {
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

    fn paths_in(d: &str, binary: &str) -> AgentPaths {
        AgentPaths {
            dir: d.into(),
            binary: binary.into(),
            pidfile: format!("{d}/agent.pid"),
            log: format!("{d}/agent.log"),
            token: format!("{d}/agent.token"),
            lock: format!("{d}/agent.lock"),
            stopped_marker: format!("{d}/stopped"),
        }
    }

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|s| s.to_string()).collect()
    }

    /// Exists and is not a zombie waiting for a slow init to reap it.
    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/status")).is_ok_and(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        })
    }

    #[test]
    fn launch_status_stop_locally() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("a 'b' $(c)");
        let d = d.to_str().expect("utf8");
        let paths = paths_in(d, "sleep");
        let sleep = argv(&["sleep", "30"]);
        let launch = |stop_first, intent| {
            parse_launch(&sh(&launch_script(
                &paths, &sleep, false, stop_first, intent,
            )))
        };
        let Some(Launched::Started(pid, None)) = launch(None, Intent::Operator) else {
            panic!("not started")
        };
        // A second plain start leaves the running agent alone.
        assert_eq!(
            launch(None, Intent::Operator),
            Some(Launched::AlreadyRunning(pid))
        );
        let st = parse_status(&sh(&status_script(&paths_in(d, &format!("{d}/none")))));
        assert_eq!(
            st,
            Some(StatusReply {
                binary_present: false,
                pid: Some(pid),
                stopped_by_operator: false
            })
        );
        let out = sh(&stop_script(&paths, Duration::from_secs(2)));
        assert_eq!(parse_stop(&out), Some(StopOutcome::Terminated));
        assert!(!alive(pid));
        let st = parse_status(&sh(&status_script(&paths_in(d, &paths.pidfile))));
        assert_eq!(
            st,
            Some(StatusReply {
                binary_present: false,
                pid: None,
                stopped_by_operator: true
            }),
            "pid file removed, marker left"
        );
        assert_eq!(
            parse_stop(&sh(&stop_script(&paths, Duration::from_secs(1)))),
            Some(StopOutcome::NotRunning)
        );
        // The watchdog's start respects the operator's stop …
        let grace = Some(Duration::from_secs(1));
        assert_eq!(
            launch(grace, Intent::Supervisor { seen: None }),
            Some(Launched::OperatorStopped)
        );
        assert_eq!(
            parse_status(&sh(&status_script(&paths))).map(|s| s.pid),
            Some(None)
        );
        // … the operator's start clears it, and then the watchdog may restart.
        let Some(Launched::Started(p1, None)) = launch(grace, Intent::Operator) else {
            panic!("operator start with nothing to replace")
        };
        let replaced = Some(Replaced {
            pid: p1,
            outcome: StopOutcome::Terminated,
        });
        // A restart decided on a probe that saw no agent, or another one, leaves the operator's
        // fresh agent alone: the probe raced the operator's start.
        for seen in [None, Some(p1 + 1)] {
            assert_eq!(
                launch(grace, Intent::Supervisor { seen }),
                Some(Launched::AlreadyRunning(p1)),
                "seen {seen:?}"
            );
        }
        assert!(alive(p1));
        let Some(Launched::Started(p2, r)) = launch(grace, Intent::Supervisor { seen: Some(p1) })
        else {
            panic!("supervisor restart")
        };
        assert_eq!(r, replaced, "the restart says which agent it stopped");
        assert!(
            p1 != p2 && !alive(p1) && alive(p2),
            "{p1} {} {p2} {}",
            alive(p1),
            alive(p2)
        );
        let st = parse_status(&sh(&status_script(&paths))).expect("status");
        assert!(!st.stopped_by_operator);
        assert_eq!(
            parse_stop(&sh(&stop_script(&paths, Duration::from_secs(2)))),
            Some(StopOutcome::Terminated)
        );
    }

    #[test]
    fn concurrent_restarts_leave_exactly_one_agent() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_str().expect("utf8");
        let paths = paths_in(d, "sleep");
        let script = launch_script(
            &paths,
            &argv(&["sleep", "30"]),
            false,
            Some(Duration::from_secs(2)),
            Intent::Operator,
        );
        // Eight restarts at once; without the lock their stop and start steps interleave and
        // agents are orphaned (started, then their pid file overwritten).
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let script = script.clone();
                std::thread::spawn(move || parse_launch(&sh(&script)))
            })
            .collect();
        let pids: Vec<u32> = handles
            .into_iter()
            .map(|h| match h.join().expect("thread") {
                Some(Launched::Started(p, _)) => p,
                other => panic!("{other:?}"),
            })
            .collect();
        let live: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        assert_eq!(live.len(), 1, "started {pids:?}, alive {live:?}");
        let st = parse_status(&sh(&status_script(&paths))).expect("status");
        assert_eq!(st.pid, Some(live[0]));
        assert_eq!(
            parse_stop(&sh(&stop_script(&paths, Duration::from_secs(2)))),
            Some(StopOutcome::Terminated)
        );
    }

    #[test]
    fn stubborn_process_is_killed_after_grace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().to_str().expect("utf8");
        let paths = paths_in(d, "sh");
        // Ignores TERM; a bounded sleep loop so nothing outlives the test.
        let argv = argv(&[
            "sh",
            "-c",
            "trap '' TERM; i=0; while [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done",
        ]);
        sh(&launch_script(&paths, &argv, false, None, Intent::Operator));
        std::thread::sleep(Duration::from_millis(200));
        let out = sh(&stop_script(&paths, Duration::from_millis(600)));
        assert_eq!(parse_stop(&out), Some(StopOutcome::Killed));
    }

    #[test]
    fn replies() {
        let st = |b, pid, op| {
            Some(StatusReply {
                binary_present: b,
                pid,
                stopped_by_operator: op,
            })
        };
        assert_eq!(
            parse_status("binary\nrunning 42\nsupervised\n"),
            st(true, Some(42), false)
        );
        assert_eq!(
            parse_status("nobinary\nstopped\noperator-stopped\n"),
            st(false, None, true)
        );
        assert_eq!(parse_status("binary\nrunning x\nsupervised"), None);
        assert_eq!(parse_status("binary\nstopped\n"), None);
        assert_eq!(parse_status("binary\nstopped\nmaybe"), None);
        assert_eq!(parse_stop("what"), None);
        assert_eq!(parse_launch("17\n"), Some(Launched::Started(17, None)));
        assert_eq!(
            parse_launch("17\nreplaced 9 killed\n"),
            Some(Launched::Started(
                17,
                Some(Replaced {
                    pid: 9,
                    outcome: StopOutcome::Killed
                })
            ))
        );
        assert_eq!(parse_launch("17\nreplaced 9 maybe"), None);
        assert_eq!(parse_launch("already 9"), Some(Launched::AlreadyRunning(9)));
        assert_eq!(
            parse_launch("operator-stopped\n"),
            Some(Launched::OperatorStopped)
        );
        assert_eq!(parse_launch("already x"), None);
        assert_eq!(parse_launch(""), None);
    }
}
