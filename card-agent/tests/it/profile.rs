//! The tuned profile (issue 21): `tune` measures and stores it, the workers mine with it, the API
//! serves it, and a profile from another build is ignored.

use std::time::Duration;

use crate::support::{easy_config, heavy, pool_url, runtime, start_pool, tune_fresh, Agent};
use phirig_wire::Profile;

#[test]
fn a_tuned_profile_is_stored_served_and_mined_with_until_stale() {
    let _one = heavy();
    let tuned = tune_fresh(
        &["--algo", "cn-pico", "--round-ms", "150"],
        Duration::from_secs(120),
    );
    let (path, file, printed) = (&tuned.path, tuned.file(), &tuned.profile);
    let stored: Profile =
        serde_json::from_str(&std::fs::read_to_string(path).expect("profile written"))
            .expect("stored profile parses");
    assert_eq!(printed, &stored);
    let best = stored.algos.get("cn-pico").expect("cn-pico tuned").clone();
    assert!(
        best.hs > 0.0 && best.threads >= 1 && best.intensity >= 1,
        "{best:?}"
    );
    assert!(
        !stored.key.build.is_empty() && stored.key.page_bytes > 0,
        "{stored:?}"
    );

    let rt = runtime();
    let pool = start_pool(&rt, easy_config("cn-pico", 100));
    let url = pool_url(&pool);
    let args = [
        "-o",
        url.as_str(),
        "-u",
        "tuned",
        "-a",
        "cn-pico",
        "--profile",
        file,
    ];
    let agent = Agent::spawn(&args, &[]);
    let served: Profile = serde_json::from_value(agent.get_ok("/v1/profile", None))
        .expect("/v1/profile is a profile");
    assert_eq!(served, stored);
    let backends = agent.until("the workers to start", Duration::from_secs(60), || {
        let b = agent.get_ok("/2/backends", None);
        let threads = b[0]["threads"].as_array()?.clone();
        (!threads.is_empty() && threads[0]["intensity"].as_u64()? > 0).then_some(threads)
    });
    assert_eq!(backends.len(), best.threads, "{backends:?}");
    assert_eq!(
        backends[0]["intensity"].as_u64(),
        Some(best.intensity as u64),
        "{backends:?}"
    );
    drop(agent);

    // Another build measured it: stale, so the CPUID plan is used and nothing is served.
    let mut stale = stored.clone();
    stale.key.build = "another-build".into();
    std::fs::write(path, serde_json::to_string(&stale).expect("json")).expect("write");
    let agent = Agent::spawn(&args, &[]);
    assert_eq!(agent.get("/v1/profile", None).0, 404);
    assert!(
        agent.logs().contains("profile is stale"),
        "{}",
        agent.logs()
    );
}
