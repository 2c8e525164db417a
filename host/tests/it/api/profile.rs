//! A card's tuned profile through the host: a real agent serving the profile `tune` stored, the
//! host's poller reading it (and again when the agent is replaced), the API serving it per card.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use phirig_host::card_poll::CardView;
use phirig_host::snapshot::RigSnapshot;
use phirig_test_support::local_agent::{idle_agent_args, wait_counters, LocalAgent};
use phirig_wire::Profile;

use super::fixture::{get, get_json, start};

const PHIRIG: &str = env!("CARGO_BIN_EXE_phirig");

/// `phirig agent tune` on one fast algorithm, short rounds, stored in `file`; at most 120 s.
pub(crate) fn tune(file: &Path) -> Profile {
    let mut child = Command::new(PHIRIG)
        .args(["agent", "tune", "--algo", "cn-pico", "--round-ms", "150"])
        .args(["--pairs", "1", "--profile"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tune");
    let start = Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("tune took over 120 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "tune: {status}");
    serde_json::from_str(&std::fs::read_to_string(file).expect("profile written")).expect("parses")
}

/// The agent on loopback `port`, with `profile` when given; once its counters answer.
fn agent(port: u16, profile: Option<&Path>) -> LocalAgent {
    let mut cmd = Command::new(PHIRIG);
    cmd.arg("agent").args(idle_agent_args(port));
    if let Some(p) = profile {
        cmd.arg("--profile").arg(p);
    }
    let agent = LocalAgent::spawn(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    )
    .expect("start the agent");
    wait_counters(port, |_| true);
    agent
}

/// Polls `view` (bounded) until `done` holds.
async fn poll_until(view: &mut CardView, what: &str, done: impl Fn(&CardView) -> bool) {
    let http = reqwest::Client::new();
    for _ in 0..20 {
        view.poll(&http, Duration::from_secs(2)).await;
        if done(view) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}: not after 20 polls; error {:?}", view.error);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_reads_each_cards_profile_and_serves_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("profile.json");
    let stored = tokio::task::block_in_place(|| tune(&file));
    let best = stored.algos.get("cn-pico").expect("cn-pico tuned").clone();

    let port = phirig_host::local_card::free_port().expect("port");
    let tuned = tokio::task::block_in_place(|| agent(port, Some(&file)));
    let mut view = CardView::new("tuned", &format!("http://127.0.0.1:{port}"), None);
    poll_until(&mut view, "the profile read", |v| v.profile.is_some()).await;
    assert_eq!(view.profile.as_ref(), Some(&stored));

    let untuned = CardView::new("untuned", "http://127.0.0.1:1", None);
    let snap = RigSnapshot::build(&[view, untuned], None, 1);
    let server = start(None, false, snap).await;
    let served: Profile =
        serde_json::from_value(get_json(server.addr, "/v1/cards/tuned/profile").await)
            .expect("a profile");
    assert_eq!(served, stored);
    let cards = get_json(server.addr, "/v1/cards").await;
    let algo = &cards[0]["profile"]["algos"]["cn-pico"];
    assert_eq!(algo["threads"], best.threads, "{cards}");
    assert_eq!(algo["intensity"], best.intensity, "{cards}");
    assert_eq!(algo["hs"], best.hs, "{cards}");
    assert!(cards[1]["profile"].is_null(), "{cards}");
    let (status, _, body) = get(server.addr, "/v1/cards/untuned/profile", None).await;
    assert_eq!((status, body.contains("no profile")), (404, true), "{body}");
    let (status, _, body) = get(server.addr, "/v1/cards/nope/profile", None).await;
    assert_eq!(
        (status, body.contains("no such card")),
        (404, true),
        "{body}"
    );

    // The card's agent is replaced by one without a profile: a new boot id, read again at once.
    let mut view = CardView::new("tuned", &format!("http://127.0.0.1:{port}"), None);
    poll_until(&mut view, "the profile read", |v| v.profile.is_some()).await;
    drop(tuned);
    let _untuned = tokio::task::block_in_place(|| agent(port, None));
    poll_until(&mut view, "the profile gone with the new agent", |v| {
        v.restarts == 1 && v.profile.is_none()
    })
    .await;
}
