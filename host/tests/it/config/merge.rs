//! File values reach the commands; flags given on the command line win; JSON reads the same keys.

use std::path::Path;
use std::time::Duration;

use clap::CommandFactory;
use phirig_agent::worker::PerAlgo;
use phirig_host::cli::{Cli, Command};
use phirig_host::config::{self, CardOverride, Format};

use super::fixture::{parse, run_args, write, FULL};

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
