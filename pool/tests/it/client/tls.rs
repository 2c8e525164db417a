//! The client over TLS: a pinned certificate mines, a wrong pin is refused before login.
use std::sync::Arc;

use phirig_pool::client::{self, HangCause, PoolUrl, ShareOutcome};
use phirig_pool::latency::StampSource;
use tokio::net::TcpListener;

use super::events::{spawn, SEC};
use super::scripted_pool::{config, share, Step, TestPool};

fn tls_pool(scripts: Vec<Vec<Step>>) -> (TestPool, String) {
    let key = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let cert_der = key.cert.der().clone();
    let pin = hex::encode(client::fingerprint(cert_der.as_ref()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert_der],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.key_pair.serialize_der().into()),
        )
        .unwrap();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(std_listener).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    (TestPool::serve(listener, scripts, Some(acceptor)), pin)
}

fn tls_url(pool: &TestPool) -> PoolUrl {
    PoolUrl::parse(&format!("stratum+ssl://{}", pool.addr)).unwrap()
}

#[tokio::test]
async fn tls_with_the_right_pin_mines() {
    let (pool, pin) = tls_pool(vec![vec![Step::Login("t-1", &[]), Step::Serve]]);
    let mut cfg = config(&[tls_url(&pool)]);
    cfg.pools[0].tls_fingerprint = Some(pin.clone());
    let (handle, mut rx) = spawn(cfg);
    let job = rx.job_from(0).await;
    let id = handle.submit(share(&job, 5));
    assert_eq!(rx.outcome(id).await, ShareOutcome::Accepted);
    let stats = handle.stats();
    let rtt = stats.pools[0].rtt.clone().expect("rtt");
    // TLS reads come through the TLS layer: user-space stamps only, and the stats say so.
    assert_eq!(rtt.source, StampSource::UserSpace);
    // What the summary shows: the pool's address, the negotiated version, the certificate.
    let link = stats.link.expect("a link while logged in");
    assert!(link.ip.is_loopback(), "{link:?}");
    assert!(
        matches!(link.tls_version(), Some("TLSv1.2" | "TLSv1.3")),
        "{link:?}"
    );
    assert_eq!(link.tls_fingerprint(), Some(pin.as_str()));
    handle.shutdown(SEC).await;
}

#[tokio::test]
async fn tls_with_a_wrong_pin_is_refused() {
    let (pool, _) = tls_pool(vec![vec![Step::Login("t-1", &[]), Step::Serve]]);
    let mut cfg = config(&[tls_url(&pool)]);
    cfg.pools[0].tls_fingerprint = Some("00".repeat(32));
    let (handle, mut rx) = spawn(cfg);
    let (cause, _) = rx.disconnect(0).await;
    let HangCause::Tls(msg) = &cause else {
        panic!("{cause:?}")
    };
    assert!(msg.contains("fingerprint"), "{msg}");
    assert_eq!(handle.stats().pools[0].logins, 0);
    handle.shutdown(SEC).await;
}
