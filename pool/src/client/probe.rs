//! Background health probe of a sick pool: connect and log in, nothing more.

use std::time::Instant;

use super::transport::{connect, Reader, Writer};
use crate::protocol::{LoginParams, PoolUrl};
use crate::session::{
    RefusedProbes, Session, SessionConfig, SessionEvent, Timeouts, MAX_HEIGHT_GAP,
};

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

/// How a login probe went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProbeOutcome {
    /// No successful login within connect + response timeouts.
    Failed,
    /// Logged in; the height of the job that came with the login, if it had one.
    LoggedIn { height: Option<u64> },
}

impl ProbeOutcome {
    /// Whether the pool is back: logged in, with work not behind the mining pool's height
    /// (a zombie answers logins too, but with a job for an old block).
    pub fn recovered(self, our_height: Option<u64>) -> bool {
        match (self, our_height) {
            (ProbeOutcome::Failed, _) => false,
            (
                ProbeOutcome::LoggedIn {
                    height: Some(theirs),
                },
                Some(ours),
            ) => theirs >= ours || ours - theirs > MAX_HEIGHT_GAP,
            (ProbeOutcome::LoggedIn { .. }, _) => true,
        }
    }
}

/// Connect and log in within connect + response timeouts.
pub(crate) async fn probe(target: ProbeTarget) -> ProbeOutcome {
    let t = target.timeouts;
    let Ok((mut reader, mut writer, _)) = connect(
        &target.url,
        target.tls_pin.as_deref(),
        target.send_buffer,
        t.connect,
    )
    .await
    else {
        return ProbeOutcome::Failed;
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
    .unwrap_or(ProbeOutcome::Failed)
}

async fn login_answered(
    session: &mut Session,
    reader: &mut Reader,
    writer: &mut Writer,
) -> ProbeOutcome {
    let mut out = Vec::new();
    while let Some(line) = session.poll_transmit() {
        out.extend_from_slice(line.as_bytes());
    }
    while !out.is_empty() || writer.needs_flush() {
        match writer.progress(&out).await {
            Ok(n) => {
                out.drain(..n);
            }
            Err(_) => return ProbeOutcome::Failed,
        }
    }
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut buf).await {
            Ok((0, _)) | Err(_) => return ProbeOutcome::Failed,
            Ok((n, _)) => session.handle_bytes(&buf[..n], Instant::now()),
        }
        let mut logged_in = false;
        while let Some(ev) = session.poll_event() {
            match ev {
                SessionEvent::LoggedIn { .. } => logged_in = true,
                // The login's job follows its LoggedIn event at once.
                SessionEvent::Job(job) => return ProbeOutcome::LoggedIn { height: job.height },
                SessionEvent::Hung { .. } => return ProbeOutcome::Failed,
                _ => {}
            }
        }
        if logged_in {
            return ProbeOutcome::LoggedIn { height: None };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_with_work_behind_ours_is_still_a_zombie() {
        let at = |h| ProbeOutcome::LoggedIn { height: Some(h) };
        assert!(!ProbeOutcome::Failed.recovered(None));
        assert!(at(100).recovered(Some(100)));
        assert!(at(101).recovered(Some(100)));
        assert!(!at(99).recovered(Some(100)));
        assert!(at(1).recovered(Some(100)), "another chain is not compared");
        assert!(at(99).recovered(None), "nothing to compare with");
        assert!(ProbeOutcome::LoggedIn { height: None }.recovered(Some(100)));
    }
}
