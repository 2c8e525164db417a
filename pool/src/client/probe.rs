//! Background health probe of a sick pool: connect and log in, nothing more.

use std::time::Instant;

use super::transport::{connect, Reader, Writer};
use crate::protocol::{LoginParams, PoolUrl};
use crate::session::{RefusedProbes, Session, SessionConfig, SessionEvent, Timeouts};

/// What a probe needs; cloned into its task.
#[derive(Debug, Clone)]
pub(crate) struct ProbeTarget {
    pub pool: usize,
    pub url: PoolUrl,
    pub tls_pin: Option<String>,
    pub send_buffer: Option<u32>,
    pub login: LoginParams,
    pub timeouts: Timeouts,
}

/// True when the pool answered our login with success within connect + response timeouts.
pub(crate) async fn probe(target: ProbeTarget) -> bool {
    let t = target.timeouts;
    let Ok((mut reader, mut writer, _)) = connect(
        &target.url,
        target.tls_pin.as_deref(),
        target.send_buffer,
        t.connect,
    )
    .await
    else {
        return false;
    };
    let cfg = SessionConfig {
        pool: target.pool,
        // Probe sessions never mine; their id only has to differ from mining sessions.
        session: 0,
        login: target.login,
        nicehash: false,
        keepalive: false,
        timeouts: t,
        refused_probes: RefusedProbes::default(),
    };
    let mut session = Session::new(cfg, Instant::now());
    tokio::time::timeout(
        t.response,
        login_answered(&mut session, &mut reader, &mut writer),
    )
    .await
    .unwrap_or(false)
}

async fn login_answered(session: &mut Session, reader: &mut Reader, writer: &mut Writer) -> bool {
    let mut out = Vec::new();
    while let Some(line) = session.poll_transmit() {
        out.extend_from_slice(line.as_bytes());
    }
    while !out.is_empty() || writer.needs_flush() {
        match writer.progress(&out).await {
            Ok(n) => {
                out.drain(..n);
            }
            Err(_) => return false,
        }
    }
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok((0, _)) | Err(_) => return false,
            Ok((n, _)) => session.handle_bytes(&buf[..n], Instant::now()),
        }
        while let Some(ev) = session.poll_event() {
            match ev {
                SessionEvent::LoggedIn { .. } => return true,
                SessionEvent::Hung { .. } => return false,
                _ => {}
            }
        }
    }
}
