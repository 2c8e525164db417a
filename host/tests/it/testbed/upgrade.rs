//! Zero-copy agent upgrade over the test bed: four real agents upgraded at once from one mapping,
//! and uploads the agent must refuse (corrupt, short, oversized, wrong token). Needs root.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_deploy::discovery::Card;
use phirig_deploy::ssh::{run, Input};
use phirig_deploy::upgrade::{counters, put_binary, upgrade_card, Announce, BinaryImage};
use phirig_deploy::zerocopy::{SendOptions, SharedBuf};
use phirig_deploy::Deployer;
use phirig_test_support::mining;
use phirig_test_support::testbed::{self, Testbed, AGENT_PORT, CARD_DIR};
use phirig_wire::Counters;
use sha3::{Digest, Sha3_256};

use super::deployable_agent;

fn api(card: &Card) -> SocketAddr {
    format!("{}:{AGENT_PORT}", card.address)
        .parse()
        .expect("card address")
}

async fn ls_card_dir(dep: &Deployer, card: &Card) -> String {
    run(
        card,
        &dep.config().ssh,
        &format!("ls -A {CARD_DIR}/agent 2>/dev/null"),
        Input::None,
    )
    .await
    .expect("ls over ssh")
    .stdout_text()
}

/// `/v1/counters` of a card (blocking HTTP, so run off the runtime).
async fn counters_of(addr: SocketAddr, token: &str) -> Counters {
    let token = token.to_string();
    tokio::task::spawn_blocking(move || counters(addr, Some(&token)))
        .await
        .expect("task")
        .unwrap_or_else(|e| panic!("counters {addr}: {e}"))
}

/// Waits (bounded) until the card's counters under `boot_id` show hashes.
async fn wait_hashing(addr: SocketAddr, token: &str, boot_id: &str) -> u64 {
    let start = Instant::now();
    loop {
        let v = counters_of(addr, token).await;
        let h = v.hashes_total;
        if v.boot_id == boot_id && h > 0 {
            return h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "{addr} never hashed: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The agent with `tag` appended: a different file (and build) that runs exactly the same.
fn tagged_agent(dir: &std::path::Path, tag: &str) -> std::path::PathBuf {
    let mut bytes = std::fs::read(deployable_agent()).expect("read agent");
    bytes.extend_from_slice(format!("\nphirig-upgrade-test {tag}\n").as_bytes());
    let p = dir.join("phirig-agent");
    std::fs::write(&p, bytes).expect("write tagged agent");
    p
}

async fn deploy_all(dep: &Arc<Deployer>, cards: &[Card]) {
    let mut set = tokio::task::JoinSet::new();
    for card in cards.iter().cloned() {
        let dep = dep.clone();
        set.spawn(async move { (card.name.clone(), dep.deploy(&card).await) });
    }
    while let Some(r) = set.join_next().await {
        let (name, r) = r.expect("task");
        r.unwrap_or_else(|e| panic!("deploy {name}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_cards_upgrade_at_once_from_one_mapping() {
    let Some(bed) = Testbed::up("four_cards_upgrade", 40, 4) else {
        return;
    };
    let pool = mining::start_card_pool().await;
    let token = testbed::token();
    let dep = Arc::new(Deployer::new(Testbed::agent_config(
        &deployable_agent(),
        &token,
        pool.local_addr().port(),
        mining::ALGO,
    )));
    let cards = bed.static_cards();
    deploy_all(&dep, &cards).await;
    let mut before = Vec::new();
    for card in &cards {
        let v = counters_of(api(card), &token).await;
        let boot = v.boot_id.clone();
        wait_hashing(api(card), &token, &boot).await;
        let pid = dep.status(card).await.expect("status").pid;
        before.push((boot, v.build.clone(), pid));
    }

    let tmp = tempfile::tempdir().expect("tempdir");
    let image = BinaryImage::open(&tagged_agent(tmp.path(), &testbed::token())).expect("map");
    assert_ne!(image.build, before[0].1, "the tagged binary is a new build");
    let image = Arc::new(image);
    let mut tasks = Vec::new();
    for card in &cards {
        let (image, token, addr) = (image.clone(), token.clone(), api(card));
        tasks.push(tokio::task::spawn_blocking(move || {
            let mut updates = 0u32;
            let r = upgrade_card(
                addr,
                Some(&token),
                &image,
                SendOptions::default(),
                Duration::from_secs(60),
                &mut |p| {
                    assert!(p.sent <= p.total);
                    updates += 1;
                },
            );
            (addr, r, updates)
        }));
    }
    let mut total = phirig_deploy::zerocopy::ZcStats::default();
    for (t, (boot, build, _)) in tasks.into_iter().zip(&before) {
        let (addr, r, updates) = t.await.expect("task");
        let up = r.unwrap_or_else(|e| panic!("upgrade {addr}: {e}"));
        eprintln!("{addr}: {up:?}");
        assert_eq!(&up.old_build, build);
        assert_eq!(up.new_build, image.build);
        assert_ne!(&up.new_boot_id, boot, "re-executed: a new boot id");
        assert_eq!(up.bytes, image.len());
        assert!(up.stats.bytes() > image.len(), "body plus headers sent");
        assert!(updates > 0, "progress reported");
        // Every zero-copy send matched by a completion before the mapping was let go.
        assert_eq!(up.stats.completions, up.stats.zc_sends, "{:?}", up.stats);
        total.add(&up.stats);
    }
    eprintln!("all cards: {total:?}");
    assert!(total.zc_sends > 0, "zero-copy was used: {total:?}");
    // veth delivers into another namespace's socket: the kernel reports the sends as copied.
    assert!(total.copied > 0, "{total:?}");
    assert_eq!(image.holders(), 0, "no sender holds the mapping any more");

    for (card, (boot, _, pid)) in cards.iter().zip(&before) {
        let v = counters_of(api(card), &token).await;
        assert_eq!(v.build, image.build, "{v:?}");
        let new_boot = v.boot_id.clone();
        assert_ne!(&new_boot, boot);
        // execv keeps the process: the deployer's pid file stays right.
        let st = dep.status(card).await.expect("status");
        assert_eq!(st.pid, *pid, "{st:?}");
        let h1 = wait_hashing(api(card), &token, &new_boot).await;
        let start = Instant::now();
        loop {
            let h2 = counters_of(api(card), &token).await.hashes_total;
            if h2 > h1 {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(60), "hashing stalled");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let summary = phirig_deploy::upgrade::http::get(
            api(card),
            "/1/summary",
            Some(&token),
            Duration::from_secs(5),
        )
        .expect("summary");
        let s = summary.json();
        assert!(
            s["version"].as_str().unwrap_or("").ends_with(&image.build),
            "{s}"
        );
        let listing = ls_card_dir(&dep, card).await;
        assert!(!listing.contains(".phirig-upload-"), "{listing}");
    }
    for card in &cards {
        dep.stop(card).await.expect("stop");
    }
    pool.shutdown().await;
}

/// One bad upload: name, body, what is announced, token, the statuses that count as refusing it.
type BadUpload = (&'static str, Vec<u8>, Announce, Option<String>, Vec<u16>);

/// A card whose agent must refuse bad uploads and keep running the old build.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_uploads_leave_the_old_agent_running() {
    let Some(bed) = Testbed::up("bad_uploads", 45, 1) else {
        return;
    };
    let pool = mining::start_card_pool().await;
    let token = testbed::token();
    let dep = Arc::new(Deployer::new(Testbed::agent_config(
        &deployable_agent(),
        &token,
        pool.local_addr().port(),
        mining::ALGO,
    )));
    let cards = bed.static_cards();
    deploy_all(&dep, &cards).await;
    let card = &cards[0];
    let addr = api(card);
    let v0 = counters_of(addr, &token).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let good = std::fs::read(tagged_agent(tmp.path(), "bad-uploads")).expect("read");
    let digest: [u8; 32] = Sha3_256::digest(&good).into();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    let size = good.len() as u64;

    // (name, body, announce, token, acceptable statuses)
    let cases: Vec<BadUpload> = vec![
        (
            "wrong token",
            good.clone(),
            Announce {
                size,
                digest,
                send: size,
            },
            Some("tok-wrong".into()),
            vec![403],
        ),
        (
            "no token",
            good.clone(),
            Announce {
                size,
                digest,
                send: size,
            },
            None,
            vec![401],
        ),
        (
            "flipped byte",
            flipped,
            Announce {
                size,
                digest,
                send: size,
            },
            Some(token.clone()),
            vec![422],
        ),
        (
            "oversized",
            good.clone(),
            Announce {
                size: 300 << 20,
                digest,
                send: 0,
            },
            Some(token.clone()),
            vec![413],
        ),
        (
            "short",
            good.clone(),
            Announce {
                size,
                digest,
                send: size / 2,
            },
            Some(token.clone()),
            vec![400],
        ),
    ];
    for (name, body, announce, tok, want) in cases {
        let data: SharedBuf = Arc::new(body);
        let keep = data.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            put_binary(
                addr,
                tok.as_deref(),
                data,
                announce,
                SendOptions::default(),
                &mut |_| {},
            )
        })
        .await
        .expect("task");
        match outcome {
            Ok(o) => {
                assert!(want.contains(&o.status), "{name}: {} {}", o.status, o.body);
                assert_eq!(
                    o.stats.completions, o.stats.zc_sends,
                    "{name}: {:?}",
                    o.stats
                );
                if o.status != 400 {
                    assert!(o.body["error"].is_string(), "{name}: {}", o.body);
                }
            }
            // A short upload may end the connection before the agent's answer gets through.
            Err(e) => assert_eq!(name, "short", "{name}: {e}"),
        }
        assert_eq!(
            Arc::strong_count(&keep),
            1,
            "{name}: sender released the buffer"
        );
        // The agent is still the old one, same boot, and left no temporary file.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let v = counters_of(addr, &token).await;
        assert_eq!(v.boot_id, v0.boot_id, "{name}: {v:?}");
        assert_eq!(v.build, v0.build, "{name}: {v:?}");
        let listing = ls_card_dir(&dep, card).await;
        assert!(!listing.contains(".phirig-upload-"), "{name}: {listing}");
    }
    // And the agent still takes a good upload afterwards.
    let image = BinaryImage::open(&tmp.path().join("phirig-agent")).expect("map");
    let up = tokio::task::spawn_blocking(move || {
        let r = upgrade_card(
            addr,
            Some(&token),
            &image,
            SendOptions::default(),
            Duration::from_secs(60),
            &mut |_| {},
        );
        (r, image)
    })
    .await
    .expect("task");
    let (r, image) = up;
    let up = r.expect("good upload after bad ones");
    assert_eq!(up.new_build, image.build);
    dep.stop(card).await.expect("stop");
    pool.shutdown().await;
}
