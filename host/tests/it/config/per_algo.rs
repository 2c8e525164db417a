//! Agent threads and intensity as a number or a per-algorithm table, and bad values named exactly.

use std::path::Path;
use std::process::Command as Process;

use phirig_agent::worker::PerAlgo;
use phirig_host::cli::Command;
use phirig_host::config::{self, Format};
use phirig_kernel::cn::Algorithm;

use super::fixture::{parse, run_args, write};

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
