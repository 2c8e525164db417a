//! The config file: values reach the commands, flags given on the command line win, unknown keys
//! and malformed files are clear errors that start nothing, and the shipped example parses.

use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use phirig_agent::worker::PerAlgo;
use phirig_host::cli::{Cli, Command};
use phirig_host::config::{self, CardOverride, Format};
use phirig_kernel::cn::Algorithm;

const FULL: &str = r#"
algo = "cn-pico"
difficulty = 33

[[cards]]
target = "mic0"
threads = 60
benchmark = 450.0

[[cards]]
target = "root@172.31.2.1"
agent-port = 8641

[discovery]
sysfs-root = "/tmp/fake-sys"
etc-root = "/tmp/fake-etc"
ssh-user = "micuser"
ssh-args = ["-i", "/root/.ssh/mic"]
agent-port = 8650

[[pools]]
url = "stratum+tcp://127.0.0.1:3333"
user = "wallet-a"
pass = "pa"
nicehash = true

[[pools]]
url = "stratum+tcp://127.0.0.1:4444"
user = "wallet-b"
tls = true
tls-fingerprint = "ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"

[timeouts]
connect = 11
response = 12
idle = 13
retry-pause = 14

[http]
host = "127.0.0.2"
port = 18080
access-token = "file-token"
restricted = true

[agent]
remote-dir = "/opt/phirig"
threads = 3
intensity = 2
no-aesni = true
binary = "/opt/agent-bin"

[watchdog]
restart-below = 0.25
minutes = 2.5
backoff = 30
"#;

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write config");
    p
}

/// Parses `args` as the binary does and merges the config file into them.
fn parse(args: &[&str]) -> Result<Command, String> {
    let argv = std::iter::once("phirig").chain(args.iter().copied());
    let matches = Cli::command()
        .try_get_matches_from(argv)
        .map_err(|e| e.to_string())?;
    let mut cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    config::apply(&mut cli.command, &matches).map_err(|e| e.to_string())?;
    Ok(cli.command)
}

fn run_args(args: &[&str]) -> phirig_host::cli::RunArgs {
    match parse(args) {
        Ok(Command::Run(a)) => a,
        other => panic!("not a run: {other:?}"),
    }
}

#[test]
fn the_cli_definition_is_consistent() {
    // Duplicate flags (several helpers add to cli.rs) panic here rather than at a user's prompt.
    Cli::command().debug_assert();
}

#[test]
fn file_values_reach_phirig_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "rig.toml", FULL);
    let a = run_args(&["run", "-c", path.to_str().expect("utf-8")]);
    assert_eq!(a.algo, "cn-pico");
    assert_eq!(a.difficulty, 33);
    assert_eq!(a.threads, Some(PerAlgo::all(3)));
    assert!(a.no_aesni);
    assert_eq!(a.http.http_host.to_string(), "127.0.0.2");
    assert_eq!(a.http.http_port, 18080);
    assert_eq!(a.http.http_access_token.as_deref(), Some("file-token"));
    assert!(a.http.restricted_read);
    assert_eq!(a.rig.reach.cards, ["mic0", "root@172.31.2.1"]);
    assert_eq!(a.rig.reach.sysfs_root, Path::new("/tmp/fake-sys"));
    assert_eq!(a.rig.reach.etc_root, Path::new("/tmp/fake-etc"));
    assert_eq!(a.rig.reach.ssh_user, "micuser");
    assert_eq!(a.rig.reach.ssh_args, ["-i", "/root/.ssh/mic"]);
    assert_eq!(a.rig.reach.agent_port, 8650);
    assert_eq!(a.rig.remote_dir, "/opt/phirig");
    assert_eq!(a.rig.binary.as_deref(), Some(Path::new("/opt/agent-bin")));
    assert_eq!(a.tuning.intensity, Some(PerAlgo::all(2)));

    let t = config::timeouts(&a);
    assert_eq!(t.connect, Duration::from_secs(11));
    assert_eq!(t.response, Duration::from_secs(12));
    assert_eq!(t.idle, Duration::from_secs(13));
    assert_eq!(t.backoff_initial, Duration::from_secs(14));

    let w = config::watchdog_config(&a);
    assert_eq!(w.low_rate_fraction, 0.25);
    assert_eq!(w.low_rate_window, Duration::from_secs(150));
    assert_eq!(w.backoff_max, Duration::from_secs(30));

    let cards = config::card_overrides(&a);
    assert_eq!(
        cards.get("mic0"),
        Some(&CardOverride {
            threads: Some(60),
            benchmark: Some(450.0),
            agent_port: None
        })
    );
    assert_eq!(cards["root@172.31.2.1"].agent_port, Some(8641));

    let pools = config::pool_configs(&a).expect("pools");
    assert_eq!(pools.len(), 2);
    assert_eq!(
        (pools[0].user.as_str(), pools[0].pass.as_str()),
        ("wallet-a", "pa")
    );
    assert!(pools[0].nicehash && !pools[0].url.tls);
    assert_eq!(pools[1].user, "wallet-b");
    assert_eq!(pools[1].pass, "x", "xmrig's default password");
    assert!(pools[1].url.tls && !pools[1].nicehash);
    assert!(pools[1].tls_fingerprint.is_some());
    // The plain fields agree, for code that reads only them.
    assert_eq!(
        a.url,
        [
            "stratum+tcp://127.0.0.1:3333",
            "stratum+tcp://127.0.0.1:4444"
        ]
    );
    assert_eq!(a.user, "wallet-a");
}

#[test]
fn flags_given_on_the_command_line_win_even_at_their_default_values() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "rig.toml", FULL);
    let a = run_args(&[
        "run",
        "-c",
        path.to_str().expect("utf-8"),
        "-a",
        "cn/0",
        // 0 and 127.0.0.1 are the flags' defaults: typed, they still beat the file.
        "--http-port",
        "0",
        "--http-host",
        "127.0.0.1",
        "--card",
        "local",
        "-u",
        "flag-user",
        "--response-timeout",
        "7",
        "--retry-pause",
        "9",
        "--watchdog-restart-below",
        "0.9",
        "--card-set",
        "mic0.threads=8",
        "-t",
        "1",
    ]);
    assert_eq!(a.algo, "cn/0");
    assert_eq!(a.http.http_port, 0);
    assert_eq!(a.http.http_host.to_string(), "127.0.0.1");
    assert_eq!(a.rig.reach.cards, ["local"]);
    assert_eq!(a.threads, Some(PerAlgo::all(1)));
    let t = config::timeouts(&a);
    assert_eq!(t.response, Duration::from_secs(7));
    assert_eq!(t.backoff_initial, Duration::from_secs(9));
    assert_eq!(t.connect, Duration::from_secs(11), "not given: the file's");
    assert_eq!(config::watchdog_config(&a).low_rate_fraction, 0.9);
    let cards = config::card_overrides(&a);
    assert_eq!(
        cards["mic0"].threads,
        Some(8),
        "--card-set beats the file's card entry"
    );
    assert_eq!(
        cards["mic0"].benchmark,
        Some(450.0),
        "other keys of the entry stay"
    );
    // -u applies to every pool of the file; each keeps its own URL and TLS.
    let pools = config::pool_configs(&a).expect("pools");
    assert!(pools.iter().all(|p| p.user == "flag-user"));
    assert!(pools[1].url.tls);

    // -o replaces the file's pool list.
    let a = run_args(&[
        "run",
        "-c",
        path.to_str().expect("utf-8"),
        "-o",
        "stratum+tcp://127.0.0.1:5555",
    ]);
    let pools = config::pool_configs(&a).expect("pools");
    assert_eq!(pools.len(), 1);
    assert_eq!(pools[0].url.port, 5555);
    assert_eq!(
        pools[0].user, "phirig",
        "the -u default, not a file pool's login"
    );
}

#[test]
fn card_commands_take_the_file_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "rig.toml", FULL);
    let p = path.to_str().expect("utf-8");
    match parse(&["deploy", "-c", p, "--remote-dir", "/srv/phirig"]) {
        Ok(Command::Deploy(d)) => {
            assert_eq!(d.cards.reach.cards, ["mic0", "root@172.31.2.1"]);
            assert_eq!(d.cards.reach.ssh_user, "micuser");
            assert_eq!(d.cards.reach.agent_port, 8650);
            assert_eq!(d.cards.token.as_deref(), Some("file-token"));
            assert_eq!(d.remote_dir, "/srv/phirig", "flag wins");
            assert_eq!(d.binary.as_deref(), Some(Path::new("/opt/agent-bin")));
            assert_eq!(d.url.len(), 2);
            assert_eq!(d.user, "wallet-a");
            assert_eq!(d.algo.as_deref(), Some("cn-pico"));
        }
        other => panic!("{other:?}"),
    }
    match parse(&["status", "--config", p, "--ssh-user", "bob"]) {
        Ok(Command::Status(c)) => {
            assert_eq!(c.reach.ssh_user, "bob");
            assert_eq!(c.reach.sysfs_root, Path::new("/tmp/fake-sys"));
        }
        other => panic!("{other:?}"),
    }
    match parse(&["bench", "-c", p]) {
        Ok(Command::Bench(b)) => {
            assert_eq!(b.algo, "cn-pico");
            assert_eq!(b.threads, Some(PerAlgo::all(3)));
            assert_eq!(b.intensity, Some(PerAlgo::all(2)));
            assert_eq!(b.remote_dir, "/opt/phirig");
            assert_eq!(b.cards.reach.cards.len(), 2);
        }
        other => panic!("{other:?}"),
    }
    // Deploying needs a pool from somewhere.
    let empty = write(dir.path(), "empty.toml", "algo = \"cn/0\"\n");
    let err = parse(&["deploy", "-c", empty.to_str().expect("utf-8")]).expect_err("no pool");
    assert!(err.contains("-o URL"), "{err}");
    assert!(parse(&["deploy", "-o", "stratum+tcp://127.0.0.1:1"]).is_ok());
}

#[test]
fn json_files_are_read_with_the_same_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let json = r#"{
        "algo": "cn/half",
        "pools": [{"url": "stratum+tcp://127.0.0.1:3333", "user": "w", "tls-fingerprint": null}],
        "http": {"port": 18081, "restricted": false},
        "cards": [{"target": "local", "threads": 2}]
    }"#;
    let path = write(dir.path(), "rig.json", json);
    assert_eq!(Format::of(&path), Format::Json);
    let a = run_args(&["run", "-c", path.to_str().expect("utf-8")]);
    assert_eq!(a.algo, "cn/half");
    assert_eq!(a.http.http_port, 18081);
    assert_eq!(a.rig.reach.cards, ["local"]);
    assert_eq!(config::card_overrides(&a)["local"].threads, Some(2));
}

#[test]
fn agent_threads_and_intensity_take_a_number_or_a_per_algorithm_table() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = "[agent]\nthreads = { default = 2, \"cn/r\" = 1 }\n\
                intensity = { default = 2, \"cryptonight/r\" = 1, \"cn-pico\" = 5 }\n";
    let path = write(dir.path(), "per-algo.toml", toml);
    let p = path.to_str().expect("utf-8");
    let threads = PerAlgo::all(2).with(Algorithm::CnR, 1);
    let intensity = PerAlgo::all(2)
        .with(Algorithm::CnR, 1)
        .with(Algorithm::CnPico, 5);
    let a = run_args(&["run", "-c", p]);
    assert_eq!(a.threads, Some(threads));
    assert_eq!(a.tuning.intensity, Some(intensity));
    // Passed on to the agents in their command-line form, unchanged.
    assert_eq!(threads.to_string(), "2,cn/r=1");
    assert_eq!(intensity.to_string(), "2,cn/r=1,cn-pico=5");
    match parse(&["bench", "-c", p]) {
        Ok(Command::Bench(b)) => {
            assert_eq!(b.threads, Some(threads));
            assert_eq!(b.intensity, Some(intensity));
        }
        other => panic!("{other:?}"),
    }
    // The same in JSON; a plain number is still every algorithm.
    let json = r#"{"agent": {"threads": 4, "intensity": {"cn/2": 3, "cn-pico": 5}}}"#;
    let jpath = write(dir.path(), "per-algo.json", json);
    let f = config::load(&jpath).expect("json");
    assert_eq!(f.agent.threads, Some(PerAlgo::all(4)));
    assert_eq!(
        f.agent.intensity,
        Some(
            PerAlgo::default()
                .with(Algorithm::Cn2, 3)
                .with(Algorithm::CnPico, 5)
        )
    );
    // Flags take the same forms and win over the file.
    let a = run_args(&["run", "-c", p, "-t", "3", "--intensity", "cn/r=2,1"]);
    assert_eq!(a.threads, Some(PerAlgo::all(3)));
    assert_eq!(
        a.tuning.intensity,
        Some(PerAlgo::all(1).with(Algorithm::CnR, 2))
    );
    match parse(&["bench", "--intensity", "cn-pico=4", "-t", "1,cn-pico=2"]) {
        Ok(Command::Bench(b)) => {
            assert_eq!(
                b.intensity,
                Some(PerAlgo::default().with(Algorithm::CnPico, 4))
            );
            assert_eq!(b.threads, Some(PerAlgo::all(1).with(Algorithm::CnPico, 2)));
        }
        other => panic!("{other:?}"),
    }
    // The shipped example's per-algorithm lines are valid once uncommented.
    let uncommented = config::EXAMPLE
        .replace("# threads = { default", "threads = { default")
        .replace("# intensity = { default", "intensity = { default");
    assert_ne!(
        uncommented,
        config::EXAMPLE,
        "the example shows the table form"
    );
    let f = config::parse_str(&uncommented, Format::Toml, Path::new("example.toml"))
        .expect("the example's table form parses");
    assert_eq!(
        f.agent.intensity.map(|k| k.to_string()).as_deref(),
        Some("2,cn/r=1,cn-pico=5")
    );
    assert_eq!(
        f.agent.threads.map(|t| t.to_string()).as_deref(),
        Some("4,cn-heavy/0=2")
    );
    // `phirig config check` accepts the table form.
    let out = Process::new(env!("CARGO_BIN_EXE_phirig"))
        .args(["config", "check", p])
        .output()
        .expect("phirig config check");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_per_algorithm_values_name_the_file_the_line_and_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "algo.toml",
            "[agent]\nremote-dir = \"/opt/p\"\nintensity = { default = 2, \"cn/nope\" = 1 }\n",
            &["line 3", "agent.intensity", "unknown algorithm", "cn/nope"][..],
        ),
        (
            "zero.toml",
            "[agent]\nthreads = { \"cn/r\" = 0 }\n",
            &["line 2", "agent.threads", "cn/r", "less than 1"],
        ),
        (
            "twice.toml",
            "[agent]\nthreads = { \"cn/2\" = 1, \"cryptonight/2\" = 2 }\n",
            &["line 2", "agent.threads", "cn/2 is given twice"],
        ),
        (
            "word.toml",
            "[agent]\nintensity = { \"cn/r\" = \"one\" }\n",
            &["line 2", "agent.intensity", "not a number"],
        ),
        (
            "algo.json",
            "{\"agent\": {\n\"threads\": {\"cn/nope\": 1}}}",
            &["line 2", "agent.threads", "cn/nope"],
        ),
    ];
    for (name, text, needles) in cases {
        let path = write(dir.path(), name, text);
        let err = config::load(&path).expect_err(name).to_string();
        assert!(err.contains(name), "{name}: {err}");
        for n in needles {
            assert!(err.contains(n), "{name}: {err:?} lacks {n:?}");
        }
    }
    // On the command line: the flag and the algorithm are named.
    for (args, needles) in [
        (
            &["run", "--intensity", "2,cn/nope=1"][..],
            &["--intensity", "cn/nope"][..],
        ),
        (
            &["run", "--intensity", "cn-pico=6"],
            &["--intensity", "cn-pico", "more than 5"],
        ),
        (&["run", "-t", "0"], &["--threads", "less than 1"]),
        (
            &["bench", "--threads", "cn/r=x"],
            &["--threads", "cn/r", "not a number"],
        ),
    ] {
        let err = parse(args).expect_err("bad flag");
        for n in needles {
            assert!(err.contains(n), "{args:?}: {err:?} lacks {n:?}");
        }
    }
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "top.toml",
            "algo = \"cn/0\"\nalgorithm = \"cn/0\"\n",
            "algorithm",
            "line 2",
        ),
        (
            "http.toml",
            "[http]\nport = 1\nprot = 2\n",
            "prot",
            "line 3",
        ),
        (
            "pool.toml",
            "[[pools]]\nurl = \"127.0.0.1:1\"\nwallet = \"x\"\n",
            "wallet",
            "line 3",
        ),
        (
            "card.json",
            "{\n  \"cards\": [{\"target\": \"local\",\n \"thread\": 1}]\n}",
            "thread",
            "line 3",
        ),
    ];
    for (name, text, key, line) in cases {
        let path = write(dir.path(), name, text);
        let err = config::load(&path).expect_err(name).to_string();
        assert!(err.contains(key), "{name}: {err}");
        assert!(err.contains(line), "{name}: {err}");
        assert!(err.contains(name), "{name}: the file is named: {err}");
        assert!(err.contains("unknown field"), "{name}: {err}");
    }
}

#[test]
fn malformed_files_and_bad_values_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        ("syntax.toml", "[http\nport = 1\n", "line 1"),
        ("type.toml", "[http]\nport = \"eighty\"\n", "line 2"),
        ("range.toml", "[http]\nport = 70000\n", "line 2"),
        ("syntax.json", "{\"algo\": \"cn/0\",,}", "line 1"),
        ("url.toml", "[[pools]]\nurl = \"http://\"\n", "pools[0].url"),
        ("algo.toml", "algo = \"sha256d\"\n", "algo"),
        (
            "frac.toml",
            "[watchdog]\nrestart-below = 2.0\n",
            "watchdog.restart-below",
        ),
        ("k.toml", "[agent]\nintensity = 9\n", "agent.intensity"),
        (
            "kmap.toml",
            "[agent]\nintensity = { default = 2, \"cn-pico\" = 6 }\n",
            "agent.intensity: cn-pico: 6 is more than 5",
        ),
        (
            "fp.toml",
            "[[pools]]\nurl = \"127.0.0.1:1\"\ntls-fingerprint = \"zz\"\n",
            "pools[0].tls-fingerprint",
        ),
        ("card.toml", "[[cards]]\ntarget = \"\"\n", "cards[0].target"),
        (
            "dup.toml",
            "[[cards]]\ntarget = \"mic0\"\n[[cards]]\ntarget = \"mic0\"\n",
            "listed twice",
        ),
        (
            "restricted.toml",
            "[http]\nrestricted = true\n",
            "access-token",
        ),
    ];
    for (name, text, needle) in cases {
        let path = write(dir.path(), name, text);
        let err = config::load(&path).expect_err(name).to_string();
        assert!(err.contains(needle), "{name}: {err}");
        assert!(err.contains(name), "{name}: {err}");
    }
    let missing = dir.path().join("missing.toml");
    let err = config::load(&missing).expect_err("missing").to_string();
    assert!(
        err.contains("cannot read config") && err.contains("missing.toml"),
        "{err}"
    );
    // Flag values are checked after the merge as well.
    let err = parse(&["run", "--intensity", "9"]).expect_err("intensity");
    assert!(err.contains("--intensity"), "{err}");
    let err = parse(&["run", "--card-set", "mic0.speed=3"]).expect_err("card-set");
    assert!(err.contains("CARD.KEY=VALUE"), "{err}");
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../phirig.example.toml")
}

#[test]
fn the_shipped_example_parses_and_sets_every_section() {
    let f = config::load(&example_path()).expect("the example is valid");
    assert_eq!(f.cards.len(), 2);
    assert_eq!(f.pools.len(), 2);
    assert!(f.timeouts.connect.is_some() && f.timeouts.retry_pause.is_some());
    assert!(f.http.port.is_some() && f.http.restricted.is_some());
    assert!(f.agent.remote_dir.is_some() && f.agent.no_aesni.is_some());
    assert!(f.watchdog.restart_below.is_some() && f.watchdog.backoff.is_some());
    assert_eq!(
        std::fs::read_to_string(example_path()).expect("read"),
        config::EXAMPLE,
        "`phirig config example` prints the shipped file"
    );
    let a = run_args(&["run", "-c", example_path().to_str().expect("utf-8")]);
    assert_eq!(config::pool_configs(&a).expect("pools").len(), 2);
}

/// Runs the real binary with a time limit.
fn phirig(args: &[&str]) -> std::process::Output {
    let mut child = Process::new(env!("CARGO_BIN_EXE_phirig"))
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start phirig");
    let started = std::time::Instant::now();
    while child.try_wait().expect("poll").is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("phirig {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn the_binary_prints_the_example_checks_files_and_starts_nothing_on_a_bad_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = phirig(&["config", "example"]);
    assert!(out.status.success());
    let printed = write(
        dir.path(),
        "printed.toml",
        &String::from_utf8_lossy(&out.stdout),
    );
    let out = phirig(&["config", "check", printed.to_str().expect("utf-8")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("valid (2 cards, 2 pools)"));

    let bad = write(dir.path(), "bad.toml", "[http]\nport = 1\nprot = 2\n");
    let started = std::time::Instant::now();
    let out = phirig(&["run", "-c", bad.to_str().expect("utf-8"), "--seconds", "30"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml") && stderr.contains("prot") && stderr.contains("line 3"),
        "{stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing ran: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        !stderr.contains("built-in pool"),
        "no pool was started: {stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(20));
    let out = phirig(&["config", "check", bad.to_str().expect("utf-8")]);
    assert!(!out.status.success());
}
