//! Unknown keys, malformed files and bad values: clear errors, naming the line, that start nothing.

use phirig_host::config::{self};

use super::fixture::{parse, write};

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
