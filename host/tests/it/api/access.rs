//! Who may read what: the agent's token rules, port 0 for off, and stopping the listener.

use std::sync::Arc;
use std::time::Duration;

use phirig_host::api;
use phirig_host::cli::HttpArgs;
use phirig_host::snapshot::RigSnapshot;
use serde_json::Value;
use tokio::sync::watch;

use super::fixture::{client, get, snapshot, start, TOKEN};

#[tokio::test]
async fn token_rules_match_the_agent() {
    // Open reads: GET needs nothing; anything else is control and needs the token.
    let srv = start(Some(TOKEN), false, snapshot(100)).await;
    for path in ["/1/summary", "/v1/cards", "/v1/rig", "/metrics"] {
        assert_eq!(get(srv.addr, path, None).await.0, 200, "{path}");
    }
    let post = |token: Option<&str>| {
        let mut req = client()
            .post(format!("http://{}/1/summary", srv.addr))
            .body("{}");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    assert_eq!(post(None).await.expect("post").status().as_u16(), 401);
    assert_eq!(
        post(Some("wrong")).await.expect("post").status().as_u16(),
        403
    );
    assert_eq!(
        post(Some(TOKEN)).await.expect("post").status().as_u16(),
        404,
        "authorised, but there is no such control"
    );
    srv.task.abort();

    // Restricted reads: everything needs the token.
    let srv2 = start(Some(TOKEN), true, snapshot(100)).await;
    let srv = &srv2;
    for path in [
        "/1/summary",
        "/2/summary",
        "/v1/cards",
        "/v1/rig",
        "/metrics",
    ] {
        assert_eq!(
            get(srv.addr, path, None).await.0,
            401,
            "{path} without a token"
        );
        let (status, _, body) = get(srv.addr, path, Some("wrong")).await;
        assert_eq!(status, 403, "{path} with a wrong token");
        assert!(!body.contains(TOKEN));
        assert_eq!(
            get(srv.addr, path, Some(TOKEN)).await.0,
            200,
            "{path} with the token"
        );
    }
    let s: Value =
        serde_json::from_str(&get(srv.addr, "/1/summary", Some(TOKEN)).await.2).expect("json");
    assert_eq!(s["restricted"], true);
    srv2.task.abort();

    // No token configured: control is refused outright (403), reads stay open.
    let open = start(None, false, snapshot(100)).await;
    let req = client().post(format!("http://{}/1/summary", open.addr));
    let status = req
        .bearer_auth("anything")
        .send()
        .await
        .expect("post")
        .status();
    assert_eq!(status.as_u16(), 403);
    assert_eq!(get(open.addr, "/1/summary", None).await.0, 200);
    open.task.abort();
}

#[tokio::test]
async fn port_zero_is_off_and_restricted_needs_a_token() {
    let (_tx, rx) = watch::channel(Arc::new(RigSnapshot::default()));
    let mut http = HttpArgs {
        http_host: "127.0.0.1".parse().expect("ip"),
        http_port: 0,
        http_access_token: None,
        restricted_read: false,
    };
    assert!(api::start(&http, false, rx.clone())
        .await
        .expect("ok")
        .is_none());
    http.http_port = phirig_host::local_card::free_port().expect("port");
    let err = api::start(&http, true, rx).await.expect_err("refused");
    assert!(err.to_string().contains("--http-access-token"), "{err}");
}

#[tokio::test]
async fn aborting_the_handle_stops_the_listener() {
    let srv = start(None, false, snapshot(100)).await;
    assert_eq!(get(srv.addr, "/1/summary", None).await.0, 200);
    srv.task.abort();
    let _ = srv.task.await;
    let mut refused = false;
    // The listener closes as the aborted task is dropped; give the runtime a moment.
    for _ in 0..50 {
        if client()
            .get(format!("http://{}/1/summary", srv.addr))
            .send()
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        refused,
        "the API still answers after its handle was aborted"
    );
}
