//! Deploy over real ssh into network-namespace cards: discovery, copy + digest, start, API, stop,
//! corrupt uploads and unreachable cards. Needs root; skips otherwise.

use phirig_deploy::discovery::{select_cards, Card, CardKind};
use phirig_deploy::remote::{local_digest, DeployError, Deployer, DigestMethod, StopOutcome};
use phirig_deploy::ssh::{run, Input};
use phirig_test_support::mining;
use phirig_test_support::testbed::{self, Testbed, AGENT_PORT, CARD_DIR};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::deployable_agent;
use tokio::task::JoinSet;

async fn ls_card_dir(dep: &Deployer, card: &Card) -> String {
    let out = run(
        card,
        &dep.config().ssh,
        &format!("ls -A {CARD_DIR}/agent 2>/dev/null"),
        Input::None,
    )
    .await
    .expect("ls over ssh");
    out.stdout_text()
}

/// Total hashes in a `/v1/counters` body.
fn hashes_total(body: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(body).expect("counters JSON");
    v["hashes_total"].as_u64().expect("hashes_total")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_cards_discover_deploy_verify_start_stop() {
    let Some(bed) = Testbed::up("four_cards", 10, 4) else {
        return;
    };
    let t0 = Instant::now();
    // Static list and fake sysfs name the same four cards at the same addresses.
    let statics = bed.static_cards();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mpss = bed.fake_sysfs(tmp.path(), "x200");
    let discovered = select_cards(&[], &[], &mpss).expect("discover");
    assert_eq!(discovered.len(), 4);
    for (s, d) in statics.iter().zip(&discovered) {
        assert_eq!(s.address, d.address);
        assert_eq!(s.kind, CardKind::Ssh);
        assert_eq!(d.kind, CardKind::Mpss);
    }

    // The real agent, mining against a real pool reached over each card's link.
    let pool = mining::start_card_pool().await;
    let token = testbed::token();
    let dep = Arc::new(Deployer::new(Testbed::agent_config(
        &deployable_agent(),
        &token,
        pool.local_addr().port(),
        mining::ALGO,
    )));
    let want = local_digest(&deployable_agent()).await.expect("digest");
    let mut set = JoinSet::new();
    for card in discovered.clone() {
        let dep = dep.clone();
        set.spawn(async move { (card.name.clone(), dep.deploy(&card).await) });
    }
    eprintln!("before deploy: {:?}", t0.elapsed());
    let mut pids = Vec::new();
    while let Some(r) = set.join_next().await {
        let (name, r) = r.expect("task");
        let (up, started) = r.unwrap_or_else(|e| panic!("deploy {name}: {e}"));
        assert_eq!(up.sha3_256, want, "{name}");
        assert!(
            !up.no_aesni
                || !std::fs::read_to_string("/proc/cpuinfo")
                    .unwrap_or_default()
                    .contains(" aes")
        );
        assert!(!started.already_running);
        pids.push(started.pid);
    }
    assert_eq!(pids.len(), 4);
    eprintln!("deployed: {:?}", t0.elapsed());

    // Each card's API answers with the token and refuses without it or with a wrong one.
    let http = reqwest::Client::new();
    let mut first = Vec::new();
    for card in &discovered {
        let body = dep.fetch(card).await.expect("fetch with token");
        let v: serde_json::Value = serde_json::from_str(&body).expect("counters JSON");
        assert_eq!(v["algo"], mining::ALGO, "{body}");
        assert_eq!(v["threads"].as_array().map(Vec::len), Some(1), "{body}");
        first.push(hashes_total(&body));
        for path in ["/v1/counters", "/1/summary"] {
            let url = format!("http://{}:{AGENT_PORT}{path}", card.address);
            let anon = http.get(&url).send().await.expect("anon get");
            assert_eq!(anon.status(), 401, "{path} without token");
            let wrong = http
                .get(&url)
                .bearer_auth("nope")
                .send()
                .await
                .expect("get");
            assert_eq!(wrong.status(), 403, "{path} with a wrong token");
            let ok = http
                .get(&url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("get");
            assert_eq!(ok.status(), 200, "{path} with the token");
        }
        let st = dep.status(card).await.expect("status");
        assert!(
            st.binary_present && st.healthy && st.pid.is_some() && !st.stopped_by_operator,
            "{st:?}"
        );
        assert_eq!(st.summary(), "running");
        // Exactly one agent process in the card, the one the pid file names.
        assert_eq!(
            Testbed::pids_named(card.mic_index.expect("mpss index"), "phirig-agent"),
            vec![st.pid.expect("pid")]
        );
        // The copy lives only on the card: the host's mount point stays empty.
        assert!(ls_card_dir(&dep, card).await.contains("phirig-agent"));
    }
    assert!(!std::path::Path::new(CARD_DIR).join("agent").exists());

    // They mine: every card's hash count grows and the pool accepts shares from every card.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let stats = pool.stats();
        let mut grown = 0;
        for (card, before) in discovered.iter().zip(&first) {
            let now = hashes_total(&dep.fetch(card).await.expect("fetch"));
            if now > *before {
                grown += 1;
            }
        }
        let sharing = discovered
            .iter()
            .filter(|c| stats.workers.get(&c.name).is_some_and(|w| w.accepted > 0))
            .count();
        if grown == 4 && sharing == 4 {
            eprintln!(
                "mining: {} shares accepted, {} rejected after {:?}",
                stats.accepted,
                stats.rejected.total(),
                t0.elapsed()
            );
            assert_eq!(stats.rejected.total(), 0, "{stats:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all cards mining: {grown} counting, {sharing} with accepted shares: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // The token never shows in any process's arguments.
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .expect("ps");
    assert!(!String::from_utf8_lossy(&ps.stdout).contains(&token));

    eprintln!("checked: {:?}", t0.elapsed());
    for card in &discovered {
        assert_eq!(dep.stop(card).await.expect("stop"), StopOutcome::Terminated);
        let st = dep.status(card).await.expect("status");
        assert_eq!(st.summary(), "stopped");
        assert!(st.stopped_by_operator);
        assert_eq!(
            dep.stop(card).await.expect("stop again"),
            StopOutcome::NotRunning
        );
        assert!(Testbed::pids_named(card.mic_index.expect("index"), "phirig-agent").is_empty());
    }
    pool.shutdown().await;
    eprintln!("four cards: {:?}", t0.elapsed());
}

#[tokio::test]
async fn every_digest_method_verifies_the_copy() {
    let Some(bed) = Testbed::up("digest_methods", 20, 1) else {
        return;
    };
    let card = &bed.static_cards()[0];
    let want = local_digest(&deployable_agent()).await.expect("digest");
    // Detection on this card picks openssl (Debian has SHA3 in OpenSSL 3).
    let dep = Deployer::new(Testbed::agent_config(
        &deployable_agent(),
        "t",
        1,
        mining::ALGO,
    ));
    assert_eq!(
        dep.profile(card).await.expect("probe").digest,
        DigestMethod::Openssl
    );
    for m in [
        DigestMethod::Openssl,
        DigestMethod::Python3,
        DigestMethod::Stream,
    ] {
        let mut cfg = Testbed::agent_config(&deployable_agent(), "t", 1, mining::ALGO);
        cfg.digest_method = Some(m);
        let dep = Deployer::new(cfg);
        let up = dep
            .upload(card)
            .await
            .unwrap_or_else(|e| panic!("{m:?}: {e}"));
        assert_eq!((up.sha3_256.as_str(), up.digest_method), (want.as_str(), m));
    }
}

#[tokio::test]
async fn truncated_upload_is_refused_and_nothing_starts() {
    let Some(bed) = Testbed::up("truncated_upload", 21, 1) else {
        return;
    };
    let card = &bed.static_cards()[0];
    // An ssh that loses everything after the first 100 bytes of stdin, like a cut transfer.
    let tmp = tempfile::tempdir().expect("tempdir");
    let wrapper = tmp.path().join("ssh-truncating");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\n{ head -c 100; cat >/dev/null; } | exec ssh \"$@\"\n",
    )
    .expect("write");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let mut cfg = Testbed::deploy_config("t");
    cfg.ssh.ssh_program = wrapper;
    let dep = Deployer::new(cfg);
    let err = dep.deploy(card).await.expect_err("must fail");
    assert!(matches!(err, DeployError::DigestMismatch { .. }), "{err}");
    assert!(err.to_string().contains("corrupt"), "{err}");
    // No binary, no temporary copy, no agent.
    let clean = Deployer::new(Testbed::deploy_config("t"));
    assert_eq!(ls_card_dir(&clean, card).await.trim(), "");
    let st = clean.status(card).await.expect("status");
    assert_eq!(st.summary(), "no binary");
}

#[tokio::test]
async fn unreachable_card_fails_fast_and_clearly() {
    let Some(bed) = Testbed::up("unreachable", 22, 1) else {
        return;
    };
    let i = bed.first;
    let card = &bed.static_cards()[0];
    let dep = Deployer::new(Testbed::deploy_config("t"));
    let limit = dep.config().ssh.connect_timeout + Duration::from_secs(3);

    // Packets to the card's sshd silently dropped: only ConnectTimeout ends the attempt.
    let rule = |op: &str| {
        let cmd = [
            "iptables", op, "INPUT", "-p", "tcp", "--dport", "22", "-j", "DROP",
        ];
        Testbed::in_netns(i, &cmd).status.success()
    };
    if rule("-A") {
        let t = Instant::now();
        let err = dep.status(card).await.expect_err("dropped");
        assert!(err.is_unreachable(), "{err}");
        assert!(t.elapsed() < limit, "took {:?}", t.elapsed());
        eprintln!("dropped: {err} after {:?}", t.elapsed());
        assert!(rule("-D"), "remove the DROP rule");
    } else {
        eprintln!("iptables unusable in the namespace: skipping the dropped-packets case");
    }

    // Link down on the host side.
    Testbed::set_link(i, false);
    let t = Instant::now();
    let err = dep.deploy(card).await.expect_err("link down");
    assert!(err.is_unreachable(), "{err}");
    assert!(err.to_string().contains("unreachable"), "{err}");
    assert!(t.elapsed() < limit, "took {:?}", t.elapsed());
    Testbed::set_link(i, true);
}

#[tokio::test]
async fn hostile_remote_dir_and_args_are_quoted_end_to_end() {
    let Some(bed) = Testbed::up("hostile_paths", 24, 1) else {
        return;
    };
    let card = &bed.static_cards()[0];
    // The stub, not the real agent: the real one refuses unknown arguments, and this test needs
    // the hostile argument echoed back to see that it arrived as one literal word.
    let mut cfg = Testbed::deploy_config("t0k'en $(x)");
    let dir = format!("{CARD_DIR}/it's a $(touch pwned) `dir`; rm -rf x\nline2");
    cfg.remote_dir = dir.clone();
    cfg.agent_args.push("arg with 'quotes' and $HOME".into());
    cfg.agent_args
        .push("{card} at {card_ip} via {host_ip}".into());
    let dep = Deployer::new(cfg);
    let (_, started) = dep.deploy(card).await.expect("deploy into hostile dir");
    let body = dep.fetch(card).await.expect("fetch");
    // The stub echoes its extra arguments: the hostile one arrived as one literal word.
    let json: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(json["args"][0], "arg with 'quotes' and $HOME");
    // Placeholders are expanded per card, inside the one word.
    let host_side = format!("172.31.{}.254", bed.first + 1);
    assert_eq!(
        json["args"][1],
        format!("{} at {} via {host_side}", card.name, card.address)
    );
    assert_eq!(json["pid"], started.pid);
    let out = run(
        card,
        &dep.config().ssh,
        &format!(
            "ls -A {CARD_DIR}; ls -A {}",
            phirig_deploy::shell_quote(&dir)
        ),
        Input::None,
    )
    .await
    .expect("ls");
    let listing = out.stdout_text();
    assert!(!listing.lines().any(|l| l == "pwned"), "{listing}");
    assert!(
        listing.contains("phirig-agent") && listing.contains("agent.pid"),
        "{listing}"
    );
    assert_eq!(dep.stop(card).await.expect("stop"), StopOutcome::Terminated);
}
