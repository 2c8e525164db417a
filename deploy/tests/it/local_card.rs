//! The local machine as a card: no copy, the agent runs in place; start, API, status, stop.

use phirig_deploy::discovery::{Card, CardSpec, MpssDiscovery};
use phirig_deploy::remote::{card_rows, AgentBinaries, DeployConfig, Deployer, StopOutcome};
use phirig_deploy::render_table;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

#[tokio::test]
async fn local_card_runs_in_place() {
    if std::process::Command::new("python3")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipping local_card_runs_in_place: python3 missing");
        return;
    }
    let stub = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agent_stub.py");
    let state = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let token = format!("tok-{:x}", rand::random::<u64>());
    let dep = Arc::new(Deployer::new(DeployConfig {
        binaries: AgentBinaries {
            x86_64: Some(stub.clone()),
            k1om: None,
        },
        local_dir: state.path().join("it's local"),
        stop_record_dir: state.path().join("stops"),
        agent_args: vec![
            "--bind".into(),
            "127.0.0.1".into(),
            "--port".into(),
            port.to_string(),
        ],
        agent_port: port,
        token: Some(token.clone()),
        health_timeout: Duration::from_secs(10),
        stop_grace: Duration::from_secs(2),
        ..DeployConfig::default()
    }));
    let card: Card = "local"
        .parse::<CardSpec>()
        .expect("spec")
        .resolve(&MpssDiscovery::default())
        .expect("resolve");
    let (up, started) = dep.deploy(&card).await.expect("deploy local");
    assert_eq!(
        up.remote_binary,
        stub.display().to_string(),
        "runs in place"
    );
    let body = dep.fetch(&card).await.expect("fetch");
    assert!(body.contains("stub"), "{body}");
    let st = dep.status(&card).await.expect("status");
    assert_eq!((st.pid, st.healthy), (Some(started.pid), true));
    // The token file is private.
    let meta = std::fs::metadata(state.path().join("it's local/agent.token")).expect("token file");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
    let rows = card_rows(&dep, std::slice::from_ref(&card), true).await;
    assert!(render_table(&rows).contains("running"));
    let restarted = dep.restart(&card).await.expect("restart");
    assert_ne!(restarted.pid, started.pid);
    assert_eq!(
        dep.stop(&card).await.expect("stop"),
        StopOutcome::Terminated
    );
    assert_eq!(
        dep.status(&card).await.expect("status").summary(),
        "stopped"
    );

    // A card reboot wipes its files (an MPSS card's root is a RAM disk), its own "stopped"
    // marker with them; the record on this machine still keeps the watchdog off.
    std::fs::remove_dir_all(state.path().join("it's local")).expect("wipe the card's files");
    let st = dep.status(&card).await.expect("status after the wipe");
    assert!(st.stopped_by_operator, "{st:?}");
    assert!(dep
        .supervised_restart(&card, None)
        .await
        .expect("supervised restart")
        .is_none());
    assert!(dep
        .supervised_deploy(&card, None)
        .await
        .expect("supervised deploy")
        .is_none());
    assert_eq!(dep.status(&card).await.expect("status").pid, None);
    // The operator's start clears the record: supervised again.
    let again = dep.start(&card).await.expect("operator start");
    let st = dep.status(&card).await.expect("status");
    assert!(!st.stopped_by_operator, "{st:?}");
    assert_eq!(st.pid, Some(again.pid));
    assert_eq!(
        dep.stop(&card).await.expect("stop"),
        StopOutcome::Terminated
    );
}

#[tokio::test]
async fn agent_that_dies_reports_its_log_tail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("broken-agent");
    std::fs::write(
        &bin,
        "#!/bin/sh\necho 'config error: no pool configured' >&2\nexit 2\n",
    )
    .expect("write");
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let port = free_port();
    let dep = Deployer::new(DeployConfig {
        binaries: AgentBinaries {
            x86_64: Some(bin),
            k1om: None,
        },
        local_dir: dir.path().join("state"),
        agent_port: port,
        health_timeout: Duration::from_millis(800),
        ..DeployConfig::default()
    });
    let err = dep
        .start(&Card::local())
        .await
        .expect_err("must not be healthy");
    let msg = err.to_string();
    assert!(
        msg.contains("not healthy") && msg.contains("config error: no pool configured"),
        "{msg}"
    );
}
