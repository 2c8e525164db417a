//! The dashboard at `/`: the embedded page and script, the rate history, and its commands, which
//! need the token and reach whoever runs the rig.

use std::net::SocketAddr;
use std::sync::Arc;

use phirig_host::api::{self, RigCommand};
use phirig_host::cli::HttpArgs;
use phirig_host::snapshot::RigSnapshot;
use tokio::sync::{mpsc, watch};

use super::fixture::{client, get, get_json, snapshot, TOKEN};

async fn start(
    restricted: bool,
    control: Option<mpsc::Sender<RigCommand>>,
) -> (
    SocketAddr,
    watch::Sender<Arc<RigSnapshot>>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, rx) = watch::channel(Arc::new(snapshot(100)));
    let http = HttpArgs {
        http_host: "127.0.0.1".parse().expect("ip"),
        http_port: phirig_host::local_card::free_port().expect("free port"),
        http_access_token: Some(TOKEN.into()),
        restricted_read: false,
    };
    let (addr, task) = api::start_with_control(&http, restricted, rx, control)
        .await
        .expect("start")
        .expect("port is not 0");
    (addr, tx, task)
}

async fn post(addr: SocketAddr, path: &str, token: Option<&str>) -> u16 {
    let mut req = client().post(format!("http://{addr}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.expect("post").status().as_u16()
}

#[tokio::test]
async fn the_page_and_its_script_are_served_from_the_binary() {
    let (addr, _tx, task) = start(false, None).await;
    let (status, ctype, page) = get(addr, "/", None).await;
    assert_eq!((status, ctype.as_str()), (200, "text/html; charset=utf-8"));
    assert!(page.contains(r#"<svg id="chart""#) && page.contains(r#"src="/dashboard.js""#));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no CDN"
    );
    let (status, ctype, script) = get(addr, "/dashboard.js", None).await;
    assert_eq!(
        (status, ctype.as_str()),
        (200, "text/javascript; charset=utf-8")
    );
    assert!(script.contains("/v1/history") && script.contains("/restart"));
    // The history has the snapshot's cards as columns.
    let h = get_json(addr, "/v1/history").await;
    assert_eq!(h["cards"], serde_json::json!(["mic0", "we\"ird\\card"]));
    assert_eq!(h["points"].as_array().map(Vec::len), Some(1));
    task.abort();
}

#[tokio::test]
async fn commands_need_the_token_and_reach_the_rig() {
    let (tx, mut rx) = mpsc::channel(4);
    let (addr, _snap, task) = start(false, Some(tx)).await;
    assert_eq!(post(addr, "/v1/cards/mic0/restart", None).await, 401);
    assert_eq!(
        post(addr, "/v1/cards/mic0/restart", Some("wrong")).await,
        403
    );
    assert!(
        rx.try_recv().is_err(),
        "nothing reached the rig without the token"
    );
    assert_eq!(post(addr, "/v1/cards/mic0/restart", Some(TOKEN)).await, 202);
    assert_eq!(
        rx.recv().await,
        Some(RigCommand::RestartCard("mic0".into()))
    );
    assert_eq!(post(addr, "/v1/cards/nope/restart", Some(TOKEN)).await, 404);
    assert_eq!(post(addr, "/v1/rig/pause", Some(TOKEN)).await, 202);
    assert_eq!(post(addr, "/v1/rig/resume", Some(TOKEN)).await, 202);
    assert_eq!(rx.recv().await, Some(RigCommand::Pause));
    assert_eq!(rx.recv().await, Some(RigCommand::Resume));
    task.abort();
    // A host that runs no rig says so.
    let (addr, _snap, task) = start(false, None).await;
    assert_eq!(post(addr, "/v1/rig/pause", Some(TOKEN)).await, 503);
    task.abort();
}

#[tokio::test]
async fn under_restricted_read_the_page_needs_the_token_too() {
    let (addr, _tx, task) = start(true, None).await;
    assert_eq!(get(addr, "/", None).await.0, 401);
    assert_eq!(get(addr, "/v1/history", None).await.0, 401);
    assert_eq!(get(addr, "/", Some(TOKEN)).await.0, 200);
    task.abort();
}
