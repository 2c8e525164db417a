//! Configuration reload (issue 5): `GET`/`PUT /1/config` and SIGHUP on a real agent mining against
//! two reference pools on loopback.

use std::time::Duration;

use crate::support::{easy_config, heavy, pool_url, runtime, start_pool, Agent, PATIENCE};
use serde_json::{json, Value};

const ALGO: &str = "cn-pico";
const DIFFICULTY: u64 = 100;
const TOKEN: &str = "reload-T0ken-3e9f1a";

fn config(pool: &str, threads: usize) -> Value {
    json!({
        "algo": ALGO,
        "pools": [{"url": pool, "user": "reload-wallet", "pass": "x"}],
        "cpu": {"threads": threads, "huge-pages": false},
        "http": {"enabled": true, "access-token": TOKEN},
        "print-time": 1,
        "retry-pause": 1,
        "x-kept": "unknown keys survive a save",
    })
}

/// PUT a new pool: the agent reconnects there and its shares are accepted; a bad config is
/// refused with 400 and changes nothing; the PUT is saved to the `-c` file; SIGHUP reads the file
/// again and a thread-count change restarts the workers. The token never reaches the logs.
#[test]
fn put_and_sighup_switch_pools_and_threads_live() {
    let _one = heavy();
    let rt = runtime();
    let a = start_pool(&rt, easy_config(ALGO, DIFFICULTY));
    let b = start_pool(&rt, easy_config(ALGO, DIFFICULTY));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.json");
    std::fs::write(&path, config(&pool_url(&a), 1).to_string()).expect("config");
    let path_s = path.to_str().expect("utf-8 path");
    let mut agent = Agent::spawn(&["-c", path_s], &[]);
    let pid = agent.pid();
    agent.until("a share accepted by pool A", PATIENCE, || {
        (a.stats().accepted >= 1).then_some(())
    });
    assert_eq!(agent.get_ok("/1/summary", None)["restricted"], false);

    // Reading the config is control: it holds the token.
    assert_eq!(agent.get("/1/config", None).0, 401);
    assert_eq!(agent.get("/1/config", Some("wrong")).0, 403);
    let current = agent.get_ok("/1/config", Some(TOKEN));
    assert_eq!(current["pools"][0]["url"], pool_url(&a), "{current}");

    // Bad configs: 400 with a reason, nothing changes.
    for (body, why) in [
        ("{not json", "not valid"),
        (r#"{"pools": []}"#, "no pool"),
        (r#"{"pools": [{"url": "ftp://x", "user": "w"}]}"#, "ftp://x"),
        (
            r#"{"pools": [{"url": "127.0.0.1:1", "user": "w"}], "algo": "cn/nonsense"}"#,
            "nonsense",
        ),
    ] {
        let (status, reply) = agent
            .request("PUT", "/1/config", Some(TOKEN), body)
            .expect("PUT");
        assert_eq!(status, 400, "{body}: {reply}");
        assert!(reply.contains(why), "{body}: {reply}");
    }
    assert_eq!(
        agent
            .request("PUT", "/1/config", None, "{}")
            .expect("PUT")
            .0,
        401
    );
    assert_eq!(
        agent.get_ok("/1/config", Some(TOKEN))["pools"][0]["url"],
        pool_url(&a)
    );
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("json");
    assert_eq!(
        on_disk["pools"][0]["url"],
        pool_url(&a),
        "a refused PUT was saved"
    );

    // A good PUT: pool B, live.
    let new = config(&pool_url(&b), 1);
    let (status, reply) = agent
        .request("PUT", "/1/config", Some(TOKEN), &new.to_string())
        .expect("PUT");
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("pools"), "{reply}");
    agent.until("a share accepted by pool B", PATIENCE, || {
        (b.stats().accepted >= 1).then_some(())
    });
    let s = agent.get_ok("/1/summary", None);
    let url = s["connection"]["pool"].as_str().expect("pool");
    assert!(url.contains(&b.local_addr().port().to_string()), "{url}");
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("json");
    assert_eq!(on_disk, new, "the PUT config was not saved whole");
    assert_eq!(b.stats().rejected.total(), 0);

    // SIGHUP: the file now says pool A with two threads.
    std::fs::write(&path, config(&pool_url(&a), 2).to_string()).expect("config");
    let before = a.stats().accepted;
    agent.signal(libc::SIGHUP);
    agent.until("two worker threads after SIGHUP", PATIENCE, || {
        let b = agent.get_ok("/2/backends", None);
        (b[0]["threads"].as_array().map(Vec::len) == Some(2)).then_some(())
    });
    agent.until("shares on pool A again", PATIENCE, || {
        (a.stats().accepted > before).then_some(())
    });
    // A broken file on SIGHUP is refused and mining goes on.
    std::fs::write(&path, "{broken").expect("config");
    agent.signal(libc::SIGHUP);
    agent.wait_log("the running configuration stays", PATIENCE);
    let h = agent.hashes(None);
    agent.until("hashing to go on", PATIENCE, || {
        (agent.hashes(None) > h).then_some(())
    });
    assert!(agent.running());
    assert_eq!(agent.pid(), pid, "the agent was restarted");
    agent.signal(libc::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(15))
        .expect("agent still running after SIGTERM");
    assert!(status.success(), "exit status {status}");
    let logs = agent.logs();
    assert!(!logs.contains(TOKEN), "the token leaked into the logs");
    assert!(!logs.contains("panicked"), "{logs}");
}

/// `--intensity` in its per-algorithm form reaches the workers; GET shows the config; a PUT of the
/// map form restarts the workers on the new value; bad values are refused with 400 naming the
/// algorithm, and nothing changes.
#[test]
fn per_algorithm_intensity_from_the_flag_and_a_put() {
    let _one = heavy();
    let rt = runtime();
    let pool = start_pool(&rt, easy_config(ALGO, DIFFICULTY));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("config.json");
    std::fs::write(&path, config(&pool_url(&pool), 1).to_string()).expect("config");
    let path_s = path.to_str().expect("utf-8 path");
    // The flag wins over the file's (absent) intensity: cn-pico takes 2, the rest 1.
    let mut agent = Agent::spawn(&["-c", path_s, "--intensity", "1,cn-pico=2"], &[]);
    let intensity = |agent: &Agent| {
        let b = agent.get_ok("/2/backends", None);
        let t = &b[0]["threads"][0];
        (t["algo"].as_str() == Some(ALGO)).then(|| t["intensity"].as_u64())
    };
    agent.until("cn-pico mined at intensity 2", PATIENCE, || {
        (intensity(&agent) == Some(Some(2))).then_some(())
    });
    agent.until("a share accepted", PATIENCE, || {
        (pool.stats().accepted >= 1).then_some(())
    });

    // The map form through PUT: cn-pico's own value applies (not the default, not the caches'
    // choice of 3), the workers restart.
    let mut new = config(&pool_url(&pool), 1);
    new["cpu"]["intensity"] = json!({"default": 3, "cryptonight-pico": 1});
    let (status, reply) = agent
        .request("PUT", "/1/config", Some(TOKEN), &new.to_string())
        .expect("PUT");
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("restarting the workers"), "{reply}");
    agent.until("cn-pico mined at intensity 1", PATIENCE, || {
        (intensity(&agent) == Some(Some(1))).then_some(())
    });
    let shown = agent.get_ok("/1/config", Some(TOKEN));
    assert_eq!(
        shown["cpu"]["intensity"],
        json!({"default": 3, "cryptonight-pico": 1}),
        "{shown}"
    );

    // Bad values: 400 naming the key and the algorithm; the config and the workers stay.
    for (cpu, why) in [
        (
            json!({"intensity": {"cn-pico": 6}}),
            "cn-pico: 6 is more than 5",
        ),
        (json!({"intensity": {"cn/nope": 2}}), "cn/nope"),
        (json!({"threads": {"default": 0}}), "cpu.threads"),
        (json!({"intensity": "2,cn/r=1"}), "cpu.intensity"),
    ] {
        let mut bad = config(&pool_url(&pool), 1);
        bad["cpu"] = cpu.clone();
        let (status, reply) = agent
            .request("PUT", "/1/config", Some(TOKEN), &bad.to_string())
            .expect("PUT");
        assert_eq!(status, 400, "{cpu}: {reply}");
        assert!(reply.contains(why), "{cpu}: {reply}");
    }
    assert_eq!(
        agent.get_ok("/1/config", Some(TOKEN))["cpu"]["intensity"],
        json!({"default": 3, "cryptonight-pico": 1})
    );
    let on_disk: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("file")).expect("json");
    assert_eq!(on_disk, new, "a refused PUT was saved");
    let h = agent.hashes(None);
    agent.until("hashing to go on", PATIENCE, || {
        (agent.hashes(None) > h).then_some(())
    });
    assert_eq!(intensity(&agent), Some(Some(1)));
    agent.signal(libc::SIGTERM);
    let status = agent
        .wait_exit(Duration::from_secs(15))
        .expect("agent still running after SIGTERM");
    assert!(status.success(), "exit status {status}");
}
