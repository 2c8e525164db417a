//! The miner configuration's tests: flags, files, reloads and their errors.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use phirig_pool::client::Timeouts;
use serde_json::{json, Value};

use super::*;
use crate::cli::MineArgs;
use crate::worker::PerAlgo;
use phirig_kernel::cn::{AesPath, Algorithm};

fn args() -> MineArgs {
    MineArgs {
        url: vec!["stratum+tcp://127.0.0.1:3333".into()],
        user: Some("wallet".into()),
        print_time: 10,
        ..Default::default()
    }
}

#[test]
fn flags_make_a_config() {
    let c = MinerConfig::resolve(&args()).expect("config");
    assert_eq!(c.client.pools.len(), 1);
    assert_eq!(c.client.pools[0].user, "wallet");
    assert_eq!(c.client.offer.algo[0], "cn/0");
    // Every CryptoNight variant, then RandomX.
    assert_eq!(c.client.offer.algo.len(), Algorithm::ALL.len() + 1);
    assert_eq!(c.client.offer.algo.last().map(String::as_str), Some("rx/0"));
    assert!(!c.rx_by_default);
    assert!(c.http.is_none());
    assert!(!c.paused);
    let paused = MinerConfig::resolve(&MineArgs {
        pause_on_start: true,
        ..args()
    })
    .expect("config");
    assert!(paused.paused, "--pause-on-start");
    let rx = MinerConfig::resolve(&MineArgs {
        algo: Some("rx/0".into()),
        ..args()
    })
    .expect("config");
    assert!(rx.rx_by_default);
    assert_eq!(rx.client.offer.algo[0], "rx/0");
    assert_eq!(rx.to_json()["algo"], "rx/0");
}

#[test]
fn xmrig_json_is_read_and_flags_win() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        r#"{"pools":[{"url":"127.0.0.1:1","user":"a","rig-id":"r1","nicehash":true},{"url":"127.0.0.1:2","user":"b","enabled":false}],
           "cpu":{"huge-pages":false,"hw-aes":false,"threads":1},"http":{"enabled":true,"port":4000,"access-token":"t","restricted":true},"print-time":5}"#,
    )
    .expect("write");
    let mut a = MineArgs {
        config: Some(path),
        print_time: 10,
        ..Default::default()
    };
    let c = MinerConfig::resolve(&a).expect("config");
    assert_eq!(c.client.pools.len(), 1, "disabled pool kept");
    assert!(c.client.pools[0].nicehash);
    assert_eq!(c.client.pools[0].rig_id.as_deref(), Some("r1"));
    assert_eq!(c.workers.aes, AesPath::Software);
    assert_eq!(c.workers.threads, PerAlgo::all(1));
    let http = c.http.expect("http");
    assert_eq!(http.addr.port(), 4000);
    assert!(http.restricted_read);
    assert_eq!(c.print_time, Duration::from_secs(5));
    a.user = Some("override".into());
    assert_eq!(
        MinerConfig::resolve(&a).expect("config").client.pools[0].user,
        "override"
    );
}

#[test]
fn vaes_is_on_unless_the_flag_or_the_file_says_no_and_a_change_restarts_the_workers() {
    let mut a = args();
    let on = MinerConfig::resolve(&a).expect("config");
    assert!(on.workers.vaes);
    assert_eq!(on.to_json()["cpu"]["vaes"], true);
    a.no_vaes = true;
    let off = MinerConfig::resolve(&a).expect("config");
    assert!(!off.workers.vaes);
    assert!(ReloadPlan::between(&on, &off).workers);
    assert!(!ReloadPlan::between(&off, &off).workers);

    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("config.json");
    std::fs::write(
        &path,
        r#"{"pools":[{"url":"127.0.0.1:1","user":"w"}],"cpu":{"vaes":false}}"#,
    )
    .expect("write");
    let from_file = MinerConfig::resolve(&MineArgs {
        config: Some(path),
        ..Default::default()
    })
    .expect("config");
    assert!(!from_file.workers.vaes);
    assert_eq!(from_file.to_json()["cpu"]["vaes"], false);
}

#[test]
fn timeout_flags_reach_the_client() {
    let mut a = args();
    assert_eq!(
        MinerConfig::resolve(&a).expect("config").client.timeouts,
        Timeouts::default()
    );
    a.timeouts.response_timeout = Some(2);
    a.timeouts.retry_pause = Some(90);
    a.timeouts.probe_interval = Some(0);
    let t = MinerConfig::resolve(&a).expect("config").client.timeouts;
    assert_eq!(t.response, Duration::from_secs(2));
    assert_eq!(t.backoff_initial, Duration::from_secs(90));
    assert!(t.backoff_max >= t.backoff_initial);
    assert_eq!(t.probe_interval, Duration::from_secs(1), "zero is clamped");
}

#[test]
fn debug_output_hides_the_token() {
    let mut a = args();
    a.http_port = Some(0);
    a.http_access_token = Some("s3cret-token".into());
    let c = MinerConfig::resolve(&a).expect("config");
    assert!(!format!("{c:?}").contains("s3cret-token"));
}

#[test]
fn rig_mode_journals_by_default_and_flags_win() {
    let mut a = args();
    assert_eq!(MinerConfig::resolve(&a).expect("config").journal, None);
    a.rig = true;
    let c = MinerConfig::resolve(&a).expect("config");
    assert_eq!(c.journal, Some(RIG_JOURNAL_FILE.into()));
    a.journal = Some("/tmp/x.journal".into());
    assert_eq!(
        MinerConfig::resolve(&a).expect("config").journal,
        Some("/tmp/x.journal".into())
    );
    a.journal = None;
    a.no_journal = true;
    assert_eq!(MinerConfig::resolve(&a).expect("config").journal, None);
    a.journal_fsync = 0;
    a.journal_max_mb = 2;
    let c = MinerConfig::resolve(&a).expect("config");
    assert_eq!(c.journal_config.fsync_interval, None, "0 = only on close");
    assert_eq!(c.journal_config.max_file_bytes, 2 << 20);
    // The API listens on the card's side of the route to the proxy (loopback here).
    a.http_port = Some(0);
    let c = MinerConfig::resolve(&a).expect("config");
    assert_eq!(
        c.http.expect("http").addr.ip(),
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    );
    a.journal_fsync = 3;
    assert_eq!(
        MinerConfig::resolve(&a)
            .expect("config")
            .journal_config
            .fsync_interval,
        Some(Duration::from_secs(3))
    );
}

#[test]
fn a_reload_takes_the_new_json_over_the_flags_and_plans_the_restarts() {
    let mut a = args();
    a.threads = Some(PerAlgo::all(1));
    a.http_port = Some(4000);
    let old = MinerConfig::resolve(&a).expect("config");
    let reload = ReloadArgs::new(&a);
    let (file, _) = ConfigFile::from_body(
        br#"{"pools":[{"url":"127.0.0.1:4444","user":"w2"}],"cpu":{"threads":2}}"#,
    )
    .expect("body");
    let new = reload.resolve(&file).expect("new config");
    assert_eq!(new.client.pools[0].url.port, 4444);
    assert_eq!(new.client.pools[0].user, "w2");
    assert_eq!(new.workers.threads, PerAlgo::all(2));
    assert_eq!(
        new.http.as_ref().map(|h| h.addr.port()),
        Some(4000),
        "flag kept"
    );
    let plan = ReloadPlan::between(&old, &new);
    assert!(
        plan.client && plan.workers && !plan.http_needs_restart,
        "{plan:?}"
    );
    assert_eq!(ReloadPlan::between(&new, &new), ReloadPlan::default());
    // A new tune: the workers re-plan and the pool hears the new algo-perf.
    let mut tuned = new.clone();
    let mut profile = phirig_wire::Profile::default();
    profile.algos.insert(
        "cn/r".into(),
        phirig_wire::AlgoBest {
            threads: 1,
            intensity: 3,
            hs: 99.0,
            hugepages: [3, 3],
            aes: "soft".into(),
            rx_mode: None,
        },
    );
    tuned.client.offer.perf = offered_perf(Some(&profile));
    tuned.workers.profile = Some(std::sync::Arc::new(profile));
    let plan = ReloadPlan::between(&new, &tuned);
    assert!(plan.perf && plan.workers && !plan.client, "{plan:?}");
    // The effective JSON reads back to the same config.
    let again = ConfigFile::from_body(old.to_json().to_string().as_bytes()).expect("json");
    let back = ReloadArgs::new(&a).resolve(&again.0).expect("round trip");
    assert_eq!(ReloadPlan::between(&old, &back), ReloadPlan::default());
    // Bad bodies are clear errors.
    for bad in [&b"not json"[..], b"[1]", br#"{"pools":"x"}"#] {
        assert!(matches!(
            ConfigFile::from_body(bad),
            Err(ConfigError::Body(_))
        ));
    }
    let (nopool, _) = ConfigFile::from_body(b"{}").expect("empty object parses");
    assert!(matches!(reload.resolve(&nopool), Err(ConfigError::NoPool)));
}

#[test]
fn threads_and_intensity_are_per_algorithm_in_the_file_and_the_flags() {
    use Algorithm::{Cn0, CnPico, CnR};
    let body = br#"{"pools":[{"url":"127.0.0.1:1","user":"w"}],
        "cpu":{"threads":{"default":2,"cn/r":1},"intensity":{"default":2,"cryptonight/r":1,"cn-pico":5}}}"#;
    let (file, _) = ConfigFile::from_body(body).expect("map form");
    let reload = ReloadArgs::new(&args());
    let c = reload.resolve(&file).expect("config");
    assert_eq!(c.workers.threads, PerAlgo::all(2).with(CnR, 1));
    assert_eq!(
        c.workers.intensity,
        PerAlgo::all(2).with(CnR, 1).with(CnPico, 5)
    );
    assert_eq!(c.workers.intensity.get(Cn0), Some(2));
    // The effective JSON shows the map and reads back to the same workers (no restart).
    let shown = c.to_json();
    assert_eq!(shown["cpu"]["threads"], json!({"default": 2, "cn/r": 1}));
    assert_eq!(
        shown["cpu"]["intensity"],
        json!({"default": 2, "cn/r": 1, "cn-pico": 5})
    );
    let (again, _) = ConfigFile::from_body(shown.to_string().as_bytes()).expect("json");
    let back = reload.resolve(&again).expect("round trip");
    assert_eq!(ReloadPlan::between(&c, &back), ReloadPlan::default());
    // Only the order of the keys changed: nothing to restart.
    let reordered = br#"{"pools":[{"url":"127.0.0.1:1","user":"w"}],
        "cpu":{"threads":{"cn/r":1,"default":2},"intensity":{"cn-pico":5,"default":2,"cn/r":1}}}"#;
    let (file, _) = ConfigFile::from_body(reordered).expect("reordered");
    let same = reload.resolve(&file).expect("config");
    assert!(!ReloadPlan::between(&c, &same).workers);
    // Plain numbers still work and show as plain numbers; unset shows as null (auto).
    let mut a = args();
    a.threads = Some("3".parse().expect("flag"));
    a.intensity = Some("1,cn-pico=4".parse().expect("flag"));
    let c = MinerConfig::resolve(&a).expect("config");
    assert_eq!(c.to_json()["cpu"]["threads"], json!(3));
    assert_eq!(
        c.to_json()["cpu"]["intensity"],
        json!({"default": 1, "cn-pico": 4})
    );
    assert_eq!(c.workers.intensity.get(CnPico), Some(4));
    let auto = MinerConfig::resolve(&args()).expect("config");
    assert_eq!(auto.to_json()["cpu"]["threads"], Value::Null);
    assert!(auto.workers.threads.is_auto() && auto.workers.intensity.is_auto());
}

#[test]
fn bad_per_algorithm_values_name_the_key_and_the_algorithm() {
    let reload = ReloadArgs::new(&args());
    let body =
        |cpu: &str| format!(r#"{{"pools":[{{"url":"127.0.0.1:1","user":"w"}}],"cpu":{cpu}}}"#);
    for (cpu, words) in [
        (
            r#"{"intensity":{"cn/nope":2}}"#,
            &["cpu.intensity", "cn/nope"][..],
        ),
        (
            r#"{"threads":{"cn/r":0}}"#,
            &["cpu.threads", "cn/r", "less than 1"],
        ),
        (r#"{"threads":"many"}"#, &["cpu.threads"]),
        (
            r#"{"intensity":{"cn/r":"x"}}"#,
            &["cpu.intensity", "cn/r", "not a number"],
        ),
    ] {
        let e = ConfigFile::from_body(body(cpu).as_bytes())
            .expect_err(cpu)
            .to_string();
        for w in words {
            assert!(e.contains(w), "{cpu}: {e:?} lacks {w:?}");
        }
    }
    // In range only once resolved: 1 to 5, the algorithm named.
    let (file, _) =
        ConfigFile::from_body(body(r#"{"intensity":{"default":2,"cn-pico":6}}"#).as_bytes())
            .expect("parses");
    let e = reload
        .resolve(&file)
        .expect_err("6 is too many")
        .to_string();
    assert_eq!(e, "cpu.intensity: cn-pico: 6 is more than 5");
}

#[test]
fn config_files_are_written_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("c.json");
    std::fs::write(&path, "old").expect("write");
    write_config_file(&path, &json!({"a": 1})).expect("write config");
    let back: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    assert_eq!(back, json!({"a": 1}));
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "temp file left"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    assert!(matches!(
        MinerConfig::resolve(&MineArgs::default()),
        Err(ConfigError::NoPool)
    ));
    let mut a = args();
    a.algo = Some("cn/nonsense".into());
    assert!(MinerConfig::resolve(&a)
        .unwrap_err()
        .to_string()
        .contains("nonsense"));
    let mut a = args();
    a.url = vec!["ftp://x".into()];
    assert!(matches!(
        MinerConfig::resolve(&a),
        Err(ConfigError::Url { .. })
    ));
    let mut a = args();
    a.config = Some("/nonexistent/phirig.json".into());
    assert!(matches!(
        MinerConfig::resolve(&a),
        Err(ConfigError::Read { .. })
    ));
    assert_eq!(resolve_token(Some(String::new())).expect("empty"), None);
}
