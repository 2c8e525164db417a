//! `tune --algo rx/0` (light mode, short rounds): threads only, the mode said in the profile, and
//! the login's `algo-perf` carrying the tuned rx/0 rate.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::{heavy, tune_fresh, Agent, PATIENCE};
use phirig_wire::Profile;
use serde_json::Value;

#[test]
fn tune_measures_rx0_threads_and_the_login_offers_its_rate() {
    let _one = heavy();
    let tuned = tune_fresh(
        &["--algo", "rx/0", "--rx-mode", "light", "--round-ms", "300"],
        Duration::from_secs(180),
    );
    let (path, file, profile) = (&tuned.path, tuned.file(), &tuned.profile);
    let best = &profile.algos["rx/0"];
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!((1..=cores).contains(&best.threads), "{best:?}");
    assert_eq!(best.intensity, 1, "RandomX has no ways: {best:?}");
    assert_eq!(best.rx_mode.as_deref(), Some("light"), "{best:?}");
    assert_eq!(best.hugepages[1], best.threads, "{best:?}");
    assert!(best.hs > 0.0, "{best:?}");
    let stored = std::fs::read_to_string(path).expect("profile written");
    assert_eq!(
        &serde_json::from_str::<Profile>(&stored).expect("JSON"),
        profile
    );

    // A pool that only records the login line.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        if let Ok((stream, _)) = listener.accept() {
            let mut line = String::new();
            if BufReader::new(&stream).read_line(&mut line).is_ok() {
                let _ = tx.send(line);
            }
        }
    });
    let url = format!("stratum+tcp://{addr}");
    let args = ["-o", &url, "-u", "perf", "-a", "rx/0", "--rx-mode", "light"];
    let _agent = Agent::spawn(
        &[&args[..], &["--profile", file, "--no-journal"]].concat(),
        &[],
    );
    let line = rx.recv_timeout(PATIENCE).expect("the agent logs in");
    let login: Value = serde_json::from_str(&line).expect("login is JSON");
    let params = &login["params"];
    assert_eq!(params["algo"][0], "rx/0", "{params}");
    let sent = params["algo-perf"]["rx/0"]
        .as_f64()
        .expect("rx/0 in algo-perf");
    assert!(
        (sent - best.hs).abs() < 1e-9,
        "sent {sent}, tuned {}",
        best.hs
    );
}
