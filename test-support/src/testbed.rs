//! The card test bed: fake cards brought up with `deploy/testbed/testbed.sh`, always torn down.

use phirig_deploy::discovery::{Card, CardSpec, MpssDiscovery};
use phirig_deploy::remote::{AgentBinaries, DeployConfig};
use phirig_deploy::ssh::SshOptions;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub const STATE_DIR: &str = "/tmp/phirig-testbed";
const LOCK_FILE: &str = "/tmp/phirig-testbed.lock";
pub const CARD_DIR: &str = "/var/lib/phirig-card";
pub const AGENT_PORT: u16 = 8640;

/// The deploy crate's directory, which holds the test bed script and the stub agent.
fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn script() -> PathBuf {
    deploy_dir().join("testbed/testbed.sh")
}

pub fn agent_stub() -> PathBuf {
    deploy_dir().join("tests/fixtures/agent_stub.py")
}

/// `binary` without its debug info (about 12 MB instead of 95), for copying to cards: what one
/// deploys is a stripped build. Made beside the binary, in `testbed-agent/`, when missing or older
/// than the binary; `binary` itself when `strip` is missing. Named `phirig` like the binary it
/// copies: deployed, a card names it `phirig-agent` and it runs as the agent there.
pub fn stripped_copy(binary: &Path) -> PathBuf {
    let Some(dir) = binary.parent() else {
        return binary.to_path_buf();
    };
    let dir = dir.join("testbed-agent");
    let out = dir.join("phirig");
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    if out.is_file() && modified(&out) >= modified(binary) {
        return out;
    }
    std::fs::create_dir_all(&dir).expect("mkdir testbed-agent");
    // Written under a unique name and renamed: test binaries may race here.
    let tmp = dir.join(format!(".phirig.{}", std::process::id()));
    match Command::new("strip")
        .arg("-o")
        .arg(&tmp)
        .arg(binary)
        .status()
    {
        Ok(st) if st.success() => {
            std::fs::rename(&tmp, &out).expect("rename stripped agent");
            out
        }
        _ => {
            let _ = std::fs::remove_file(&tmp);
            eprintln!("strip unavailable: deploying the unstripped agent");
            binary.to_path_buf()
        }
    }
}

/// Why the namespace tests cannot run here, if they cannot.
fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root".into());
    }
    match Command::new("ip").args(["netns", "list"]).output() {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "`ip netns` unavailable: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        )),
        Err(e) => Some(format!("`ip` not found: {e}")),
    }
}

/// Serialises testbed.sh runs across test threads and test binaries (they share the key and
/// known_hosts files); cards themselves are kept apart by distinct indices per test.
fn with_lock<T>(f: impl FnOnce() -> T) -> T {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(LOCK_FILE)
        .expect("open testbed lock file");
    // SAFETY: flock on an fd we own; the lock is released when `file` is closed.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
    assert_eq!(rc, 0, "flock testbed lock");
    f()
}

fn run_script(args: &[String]) -> Result<(), String> {
    let out = Command::new("bash")
        .arg(script())
        .args(args)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Cards `first..first+count`, removed again on drop (also when the test panics).
pub struct Testbed {
    pub first: u32,
    pub count: u32,
}

impl Testbed {
    /// Brings the cards up, or prints why not and returns `None` (the test then passes as skipped).
    pub fn up(test: &str, first: u32, count: u32) -> Option<Testbed> {
        if let Some(reason) = skip_reason() {
            eprintln!("skipping {test}: {reason}");
            return None;
        }
        let bed = Testbed { first, count };
        let args = vec!["up".to_string(), count.to_string(), first.to_string()];
        if let Err(e) = with_lock(|| run_script(&args)) {
            panic!("testbed up failed: {e}");
        }
        Some(bed)
    }

    pub fn indices(&self) -> impl Iterator<Item = u32> {
        self.first..self.first + self.count
    }

    /// The namespace name of card `i`.
    pub fn netns(i: u32) -> String {
        format!("phirig-mic{i}")
    }

    /// Static-list specs: `root@172.31.(i+1).1`.
    pub fn static_specs(&self) -> Vec<CardSpec> {
        self.indices()
            .map(|i| {
                format!("root@172.31.{}.1", i + 1)
                    .parse()
                    .expect("valid target")
            })
            .collect()
    }

    pub fn static_cards(&self) -> Vec<Card> {
        let mpss = MpssDiscovery::default();
        self.static_specs()
            .iter()
            .map(|s| s.resolve(&mpss).expect("resolve"))
            .collect()
    }

    /// A fake sysfs tree under `root` with `micI` entries for this bed's cards.
    pub fn fake_sysfs(&self, root: &Path, family: &str) -> MpssDiscovery {
        for i in self.indices() {
            let d = root.join(format!("sys/class/mic/mic{i}"));
            std::fs::create_dir_all(&d).expect("mkdir sysfs");
            std::fs::write(d.join("state"), "online\n").expect("state");
            std::fs::write(d.join("family"), family).expect("family");
        }
        std::fs::create_dir_all(root.join("sys/class/mic/ctrl")).expect("ctrl");
        MpssDiscovery {
            sysfs_root: root.join("sys"),
            etc_root: root.join("etc"),
            ssh_user: "root".into(),
        }
    }

    /// ssh options that use only the test bed's key and known_hosts.
    pub fn ssh_options() -> SshOptions {
        SshOptions {
            connect_timeout: Duration::from_secs(2),
            command_timeout: Duration::from_secs(30),
            extra_args: vec![
                "-F".into(),
                "/dev/null".into(),
                "-i".into(),
                format!("{STATE_DIR}/id_ed25519"),
                "-o".into(),
                "IdentitiesOnly=yes".into(),
                "-o".into(),
                format!("UserKnownHostsFile={STATE_DIR}/known_hosts"),
                "-o".into(),
                "StrictHostKeyChecking=yes".into(),
                "-o".into(),
                "LogLevel=ERROR".into(),
                // Cheaper handshakes: the suite opens hundreds of connections on a busy machine.
                "-o".into(),
                "KexAlgorithms=curve25519-sha256".into(),
            ],
            ..SshOptions::default()
        }
    }

    /// Deploy config for the stub agent with a token (for tests that need the stub's echo of its
    /// arguments, or only copy a file); [`Testbed::agent_config`] runs the real miner.
    pub fn deploy_config(token: &str) -> DeployConfig {
        DeployConfig {
            binaries: AgentBinaries {
                x86_64: Some(agent_stub()),
                k1om: None,
            },
            remote_dir: format!("{CARD_DIR}/agent"),
            agent_args: vec!["--port".into(), AGENT_PORT.to_string()],
            agent_port: AGENT_PORT,
            token: Some(token.to_string()),
            health_timeout: Duration::from_secs(10),
            stop_grace: Duration::from_secs(2),
            ssh: Self::ssh_options(),
            ..DeployConfig::default()
        }
    }

    /// Deploy config for the real agent `agent` (see [`stripped_copy`]) mining `algo` with one
    /// thread against a pool on this host's side of each card's link at `pool_port`, its API on
    /// the card's address with reads restricted to the token.
    pub fn agent_config(agent: &Path, token: &str, pool_port: u16, algo: &str) -> DeployConfig {
        let args = [
            "-o",
            &format!("stratum+tcp://{{host_ip}}:{pool_port}"),
            "-u",
            "phirig-testbed",
            "-p",
            "x",
            "--rig-id",
            "{card}",
            "-a",
            algo,
            "-t",
            "1",
            "--http-host",
            "{card_ip}",
            "--http-port",
            &AGENT_PORT.to_string(),
            "--restricted-read",
            "--print-time",
            "60",
        ];
        DeployConfig {
            binaries: AgentBinaries {
                x86_64: Some(agent.to_path_buf()),
                k1om: None,
            },
            agent_args: args.iter().map(|a| a.to_string()).collect(),
            // A busy 2-core machine: give the self-test and the first pool login time.
            health_timeout: Duration::from_secs(20),
            stop_grace: Duration::from_secs(5),
            ..Self::deploy_config(token)
        }
    }

    /// The pids of processes named `comm` in card `i`'s network namespace.
    pub fn pids_named(i: u32, comm: &str) -> Vec<u32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &Self::netns(i)])
            .output()
            .expect("ip netns pids");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
            .filter(|p| {
                let status =
                    std::fs::read_to_string(format!("/proc/{p}/status")).unwrap_or_default();
                let name = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
                // Zombies wait for a slow init to reap them; they are not running agents.
                name.trim() == comm
                    && !status
                        .lines()
                        .any(|l| l.starts_with("State:") && l.contains('Z'))
            })
            .collect()
    }

    /// Runs a command inside card `i`'s network namespace (not its mount namespace).
    pub fn in_netns(i: u32, cmd: &[&str]) -> std::process::Output {
        Command::new("ip")
            .args(["netns", "exec", &Self::netns(i)])
            .args(cmd)
            .output()
            .expect("ip netns exec")
    }

    /// Host side link of card `i` up or down.
    pub fn set_link(i: u32, up: bool) {
        let st = Command::new("ip")
            .args([
                "link",
                "set",
                &format!("mic{i}"),
                if up { "up" } else { "down" },
            ])
            .status()
            .expect("ip link set");
        assert!(st.success());
    }
}

impl Drop for Testbed {
    fn drop(&mut self) {
        let args = vec![
            "down".to_string(),
            self.count.to_string(),
            self.first.to_string(),
        ];
        if let Err(e) = with_lock(|| run_script(&args)) {
            eprintln!("testbed down failed: {e}");
        }
    }
}

/// A fresh random token per test.
pub fn token() -> String {
    format!("tok-{:032x}", rand::random::<u128>())
}
