//! The real agent replaces itself over `PUT /v1/binary` on loopback: same pid, new build and boot
//! id, token file still honoured; an agent without a token refuses uploads.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use phirig_test_support::local_agent::{counters, idle_agent_args, wait_counters, LocalAgent};
use phirig_test_support::loopback::free_port;
use sha3::{Digest, Sha3_256};

fn start(binary: &Path, port: u16, token_file: Option<&Path>) -> LocalAgent {
    let mut cmd = Command::new(binary);
    cmd.args(idle_agent_args(port))
        .env_remove("PHIRIG_TOKEN_FILE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(t) = token_file {
        cmd.env("PHIRIG_TOKEN_FILE", t);
    }
    LocalAgent::spawn(&mut cmd).expect("start agent")
}

/// `PUT /v1/binary` with `Expect: 100-continue`: a refusal comes before the body is sent.
fn put(port: u16, token: Option<&str>, body: &[u8], digest: &[u8]) -> (u16, String) {
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let head = format!(
        "PUT /v1/binary HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{auth}Content-Length: {}\r\nX-Phirig-Sha3-256: {}\r\nExpect: 100-continue\r\n\r\n",
        body.len(),
        hex::encode(digest)
    );
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("head");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf).expect("interim answer");
        assert!(n > 0, "closed before answering");
        got.extend_from_slice(&buf[..n]);
    }
    if got.starts_with(b"HTTP/1.1 100") {
        s.write_all(body).expect("body");
        got.clear();
    }
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    (status, body)
}

fn uploads_left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".phirig-upload-"))
        .collect()
}

#[test]
fn agent_replaces_itself_and_keeps_its_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("phirig-agent");
    std::fs::copy(env!("CARGO_BIN_EXE_phirig-agent"), &binary).expect("copy agent");
    let token_file = dir.path().join("agent.token");
    std::fs::write(&token_file, "tok-reexec\n").expect("token");
    let port = free_port();
    let mut agent = start(&binary, port, Some(&token_file));
    let pid = agent.pid();
    let v0 = wait_counters(port, |_| true);
    let old_build = v0["build"].as_str().expect("build").to_string();
    let old_boot = v0["boot_id"].as_str().expect("boot").to_string();

    let mut new = std::fs::read(&binary).expect("read");
    new.extend_from_slice(b"\nupgrade_reexec test build\n");
    let digest = Sha3_256::digest(&new);
    let new_build = hex::encode(&digest[..8]);

    // Wrong token, then a flipped byte: refused, no leftovers, same process and build.
    let (st, _) = put(port, Some("nope"), &new, &digest);
    assert_eq!(st, 403);
    let mut flipped = new.clone();
    flipped[1000] ^= 1;
    let (st, body) = put(port, Some("tok-reexec"), &flipped, &digest);
    assert_eq!(st, 422, "{body}");
    assert!(body.contains("SHA3-256 mismatch"), "{body}");
    assert!(uploads_left(dir.path()).is_empty());
    assert_eq!(
        counters(port).expect("still up")["boot_id"],
        old_boot.as_str()
    );

    let (st, body) = put(port, Some("tok-reexec"), &new, &digest);
    assert_eq!(st, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["new_build"], new_build.as_str());
    assert_eq!(answer["old_build"], old_build.as_str());
    let v1 = wait_counters(port, |v| v["boot_id"] != old_boot.as_str());
    assert_eq!(v1["build"], new_build.as_str(), "{v1}");
    assert_eq!(std::fs::read(&binary).expect("read"), new);
    assert!(uploads_left(dir.path()).is_empty());
    // execv: the same process, still running.
    assert!(agent.running());
    assert_eq!(agent.pid(), pid);
    // The token file still applies after the re-exec (environment kept): a wrong token is 403,
    // the right one reaches the digest check.
    let (st, _) = put(port, Some("nope"), &new, &digest);
    assert_eq!(st, 403);
    let (st, _) = put(port, Some("tok-reexec"), &flipped, &digest);
    assert_eq!(st, 422);
}

#[test]
fn without_a_token_uploads_are_forbidden() {
    let dir = tempfile::tempdir().expect("tempdir");
    let binary = dir.path().join("phirig-agent");
    std::fs::copy(env!("CARGO_BIN_EXE_phirig-agent"), &binary).expect("copy agent");
    let port = free_port();
    let _agent = start(&binary, port, None);
    let v0 = wait_counters(port, |_| true);
    let body = std::fs::read(&binary).expect("read");
    let digest = Sha3_256::digest(&body);
    let (st, answer) = put(port, Some("anything"), &body, &digest);
    assert_eq!(st, 403, "{answer}");
    let (st, _) = put(port, None, &body, &digest);
    assert_eq!(st, 403);
    assert!(uploads_left(dir.path()).is_empty());
    assert_eq!(counters(port).expect("up")["boot_id"], v0["boot_id"]);
}
