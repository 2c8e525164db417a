//! Hung-session detection and share handling, driven by a fake clock.

use std::time::{Duration, Instant};

use super::*;
use crate::protocol::{
    AlgoOffer, ClientMessage, JobParams, LoginParams, LoginResult, ReconnectParams, Response,
    ServerMessage,
};

mod probes;

const SEC: Duration = Duration::from_secs(1);

fn cfg(session: u64) -> SessionConfig {
    SessionConfig {
        pool: 0,
        session,
        login: LoginParams {
            login: "wallet".into(),
            pass: "x".into(),
            agent: "phirig-test".into(),
            rigid: None,
            offer: AlgoOffer::new(vec!["cn/r".into()]),
        },
        nicehash: false,
        keepalive: true,
        timeouts: Timeouts {
            response: 20 * SEC,
            idle: 300 * SEC,
            keepalive: 60 * SEC,
            // Held off here so each timer is seen alone; the probe has its tests in `probes`.
            liveness: 3600 * SEC,
            ..Timeouts::default()
        },
        refused_probes: RefusedProbes::default(),
    }
}

fn job(id: &str) -> JobParams {
    JobParams {
        blob: "00".repeat(76),
        job_id: id.into(),
        target: "b88d0600".into(),
        algo: Some("cn/r".into()),
        height: Some(1),
        seed_hash: None,
        next_seed_hash: None,
        id: None,
        nonce_range: None,
    }
}

fn events(s: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn sent(s: &mut Session) -> Vec<ClientMessage> {
    std::iter::from_fn(|| s.poll_transmit())
        .map(|l| ClientMessage::parse(&l).expect("we send valid lines"))
        .collect()
}

/// A session logged in with job `j1` and the given extensions.
fn logged_in(t0: Instant, session: u64, extensions: &[&str]) -> Session {
    log_in(Session::new(cfg(session), t0), t0, extensions)
}

/// Answer a fresh session's login at `t0` with job `j1` and the given extensions.
fn log_in(mut s: Session, t0: Instant, extensions: &[&str]) -> Session {
    let session = s.session();
    let login = sent(&mut s);
    assert_eq!(login.len(), 1);
    assert_eq!(login[0].method(), "login");
    let reply = Response::ok(
        login[0].id(),
        &LoginResult {
            id: "sess".into(),
            job: Some(job("j1")),
            status: "OK".into(),
            extensions: extensions.iter().map(|e| e.to_string()).collect(),
        },
    );
    s.handle_bytes(ServerMessage::Response(reply).encode().as_bytes(), t0);
    let ev = events(&mut s);
    assert!(matches!(
        ev[0],
        SessionEvent::Replied {
            method: "login",
            ..
        }
    ));
    assert!(matches!(ev[1], SessionEvent::LoggedIn { .. }));
    assert!(matches!(&ev[2], SessionEvent::Job(j) if j.job_id == "j1" && j.session == session));
    s
}

fn share(job: &str, nonce: u32, session: u64) -> FoundShare {
    FoundShare {
        job_id: job.into(),
        nonce,
        result: [0; 32],
        algo: Some("cn/r".into()),
        pool: 0,
        session,
    }
}

fn hung(ev: &[SessionEvent]) -> Option<&HangCause> {
    ev.iter().find_map(|e| match e {
        SessionEvent::Hung { cause } => Some(cause),
        _ => None,
    })
}

#[test]
fn login_job_submit_accepted_with_rtt() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    s.submit(ShareId(1), &share("j1", 5, 1), t0).unwrap();
    let out = sent(&mut s);
    let ClientMessage::Submit { id, params } = &out[0] else {
        panic!("expected submit, got {out:?}")
    };
    assert_eq!(params.nonce, "05000000");
    assert_eq!(params.algo, None, "no algo without the extension");
    let reply = ServerMessage::Response(Response::status(*id, "OK")).encode();
    s.handle_bytes(reply.as_bytes(), t0 + Duration::from_millis(30));
    let ev = events(&mut s);
    assert!(matches!(ev[0], SessionEvent::Replied { rtt, .. } if rtt == Duration::from_millis(30)));
    assert!(matches!(
        &ev[1],
        SessionEvent::ShareResult {
            share_id: ShareId(1),
            outcome: ShareOutcome::Accepted
        }
    ));
}

#[test]
fn rejected_share_carries_pool_reason() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &["algo"]);
    s.submit(ShareId(9), &share("j1", 5, 1), t0).unwrap();
    let ClientMessage::Submit { id, params } = &sent(&mut s)[0] else {
        panic!("no submit")
    };
    assert_eq!(params.algo.as_deref(), Some("cn/r"));
    let reply = ServerMessage::Response(Response::error(*id, -1, "Low difficulty share"));
    s.handle_line(reply.encode().trim_end(), t0);
    assert!(events(&mut s).contains(&SessionEvent::ShareResult {
        share_id: ShareId(9),
        outcome: ShareOutcome::Rejected("Low difficulty share".into()),
    }));
}

#[test]
fn silent_login_is_a_response_timeout() {
    let t0 = Instant::now();
    let mut s = Session::new(cfg(1), t0);
    sent(&mut s);
    assert_eq!(s.next_deadline(), Some(t0 + 20 * SEC));
    s.handle_timeout(t0 + 19 * SEC);
    assert!(events(&mut s).is_empty());
    s.handle_timeout(t0 + 20 * SEC);
    assert_eq!(
        hung(&events(&mut s)),
        Some(&HangCause::ResponseTimeout { method: "login" })
    );
    assert_eq!(s.next_deadline(), None);
}

#[test]
fn silent_after_login_times_out_and_unanswered_share_is_stale() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    let t1 = t0 + 5 * SEC;
    s.submit(ShareId(3), &share("j1", 1, 1), t1).unwrap();
    sent(&mut s);
    assert_eq!(s.next_deadline(), Some(t1 + 20 * SEC));
    s.handle_timeout(t1 + 20 * SEC);
    let ev = events(&mut s);
    assert!(matches!(
        &ev[0],
        SessionEvent::ShareResult {
            share_id: ShareId(3),
            outcome: ShareOutcome::Stale(_)
        }
    ));
    assert_eq!(
        hung(&ev),
        Some(&HangCause::ResponseTimeout { method: "submit" })
    );
    // Nothing is resent and a late reply changes nothing.
    assert!(s.poll_transmit().is_none());
    s.handle_line(r#"{"id":2,"result":{"status":"OK"}}"#, t1 + 21 * SEC);
    assert!(events(&mut s).is_empty());
}

#[test]
fn no_new_job_is_an_idle_timeout_and_a_job_resets_it() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    let t1 = t0 + 200 * SEC;
    s.handle_bytes(ServerMessage::Job(job("j2")).encode().as_bytes(), t1);
    assert!(matches!(&events(&mut s)[0], SessionEvent::Job(j) if j.job_id == "j2"));
    s.handle_timeout(t0 + 300 * SEC);
    assert!(events(&mut s).is_empty());
    assert_eq!(s.next_deadline(), Some(t1 + 300 * SEC));
    s.handle_timeout(t1 + 300 * SEC);
    assert_eq!(hung(&events(&mut s)), Some(&HangCause::IdleTimeout));
}

#[test]
fn keepalive_only_when_advertised_and_it_is_answered_or_hangs() {
    let t0 = Instant::now();
    let mut plain = logged_in(t0, 1, &[]);
    plain.handle_timeout(t0 + 61 * SEC);
    assert!(plain.poll_transmit().is_none());

    let mut s = logged_in(t0, 1, &["keepalive"]);
    assert_eq!(s.next_deadline(), Some(t0 + 60 * SEC));
    s.handle_timeout(t0 + 60 * SEC);
    let out = sent(&mut s);
    assert!(matches!(&out[..], [ClientMessage::Keepalived { .. }]));
    s.handle_timeout(t0 + 80 * SEC);
    assert_eq!(
        hung(&events(&mut s)),
        Some(&HangCause::ResponseTimeout {
            method: "keepalived"
        })
    );
}

#[test]
fn garbage_oversized_and_malformed_job_lines_hang() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    s.handle_bytes(b"this is not json\n", t0);
    assert!(matches!(
        hung(&events(&mut s)),
        Some(HangCause::Malformed(_))
    ));

    let mut s = logged_in(t0, 1, &[]);
    s.handle_bytes(&vec![b'{'; 70 * 1024], t0);
    assert_eq!(hung(&events(&mut s)), Some(&HangCause::Oversized));

    // A job line that is not even a job's shape is a broken pool.
    let mut s = logged_in(t0, 1, &[]);
    s.handle_bytes(b"{\"method\":\"job\",\"params\":{\"blob\":1}}\n", t0);
    assert!(matches!(
        hung(&events(&mut s)),
        Some(HangCause::Malformed(_))
    ));

    // Unknown methods are tolerated.
    let mut s = logged_in(t0, 1, &[]);
    s.handle_bytes(
        b"{\"method\":\"mining.set_extranonce\",\"params\":[]}\n",
        t0,
    );
    assert!(events(&mut s).is_empty());
}

#[test]
fn stall_mid_line_is_caught_by_the_response_timer() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    s.submit(ShareId(1), &share("j1", 1, 1), t0).unwrap();
    sent(&mut s);
    s.handle_bytes(b"{\"id\":2,\"resu", t0 + SEC);
    s.handle_timeout(t0 + 20 * SEC);
    assert_eq!(
        hung(&events(&mut s)),
        Some(&HangCause::ResponseTimeout { method: "submit" })
    );
}

#[test]
fn client_reconnect_is_reported_then_hangs() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    let msg = ServerMessage::Reconnect(ReconnectParams {
        host: "127.0.0.1".into(),
        port: 4000,
        wait: None,
    });
    s.handle_bytes(msg.encode().as_bytes(), t0);
    let ev = events(&mut s);
    assert_eq!(
        ev[0],
        SessionEvent::Reconnect {
            host: "127.0.0.1".into(),
            port: 4000
        }
    );
    assert_eq!(hung(&ev), Some(&HangCause::ReconnectRequested));
}

#[test]
fn login_rejected_hangs_with_reason() {
    let t0 = Instant::now();
    let mut s = Session::new(cfg(1), t0);
    let id = sent(&mut s)[0].id();
    let reply = ServerMessage::Response(Response::error(id, -1, "Invalid address"));
    s.handle_bytes(reply.encode().as_bytes(), t0);
    assert_eq!(
        hung(&events(&mut s)),
        Some(&HangCause::LoginRejected("Invalid address".into()))
    );
}

#[test]
fn shares_across_sessions_follow_the_conservative_rule() {
    let t0 = Instant::now();
    // Session 2 of the same pool re-sent job j1 as its current job.
    let mut s = logged_in(t0, 2, &[]);
    s.submit(ShareId(1), &share("j1", 1, 1), t0).unwrap();
    assert!(matches!(&sent(&mut s)[..], [ClientMessage::Submit { .. }]));
    // A job of session 1 that session 2 never sent is stale.
    s.submit(ShareId(2), &share("old", 1, 1), t0).unwrap();
    assert!(s.poll_transmit().is_none());
    assert!(matches!(
        &events(&mut s)[0],
        SessionEvent::ShareResult {
            share_id: ShareId(2),
            outcome: ShareOutcome::Stale(_)
        }
    ));
    // A share for another pool's job is stale.
    let mut other = share("j1", 1, 2);
    other.pool = 1;
    s.submit(ShareId(3), &other, t0).unwrap();
    assert!(s.poll_transmit().is_none());
    // Before login nothing is accepted: the driver keeps the share.
    let mut fresh = Session::new(cfg(3), t0);
    assert_eq!(
        fresh.submit(ShareId(4), &share("j1", 1, 3), t0),
        Err(NotReady)
    );
}

#[test]
fn nicehash_extension_marks_jobs() {
    let t0 = Instant::now();
    let mut s = Session::new(cfg(1), t0);
    let id = sent(&mut s)[0].id();
    let reply = Response::ok(
        id,
        &LoginResult {
            id: "s".into(),
            job: Some(job("j1")),
            status: "OK".into(),
            extensions: vec!["nicehash".into()],
        },
    );
    s.handle_bytes(ServerMessage::Response(reply).encode().as_bytes(), t0);
    let ev = events(&mut s);
    assert!(ev
        .iter()
        .any(|e| matches!(e, SessionEvent::Job(j) if j.nicehash)));
}

#[test]
fn an_unusable_job_is_refused_and_the_session_lives_on() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    let mut zero = job("j-zero");
    zero.target = "00000000".into();
    let mut short = job("j-short");
    short.blob = "00".repeat(20);
    let mut not_hex = job("j-hex");
    not_hex.blob = "zz".repeat(76);
    for bad in [zero, short, not_hex] {
        s.handle_bytes(ServerMessage::Job(bad).encode().as_bytes(), t0 + SEC);
        assert!(events(&mut s).is_empty(), "a refused job made an event");
        assert!(s.is_logged_in());
    }
    // Shares for the job before them still go out.
    s.submit(ShareId(1), &share("j1", 1, 1), t0 + SEC).unwrap();
    assert_eq!(sent(&mut s)[0].method(), "submit");
    // Refused jobs do not count as jobs: a pool sending only those is found idle.
    let mut s = logged_in(t0, 1, &[]);
    let mut zero = job("j-zero");
    zero.target = "00000000".into();
    s.handle_bytes(ServerMessage::Job(zero).encode().as_bytes(), t0 + 299 * SEC);
    s.handle_timeout(t0 + 300 * SEC);
    assert_eq!(hung(&events(&mut s)), Some(&HangCause::IdleTimeout));
}

/// The raw lines queued for sending.
fn raw_sent(s: &mut Session) -> Vec<serde_json::Value> {
    std::iter::from_fn(|| s.poll_transmit())
        .map(|l| serde_json::from_str(&l).expect("we send JSON"))
        .collect()
}

#[test]
fn getjob_asks_once_at_a_time_and_its_answer_is_a_job() {
    let t0 = Instant::now();
    let mut s = Session::new(cfg(1), t0);
    assert_eq!(s.request_job(t0), Err(GetJobRefused::NotReady));
    let mut s = logged_in(t0, 1, &[]);
    s.request_job(t0).expect("first getjob");
    let lines = raw_sent(&mut s);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["method"], "getjob");
    assert_eq!(lines[0]["params"]["id"], "sess");
    let id = lines[0]["id"].as_u64().expect("numeric id");
    // One outstanding at a time.
    assert_eq!(s.request_job(t0 + SEC), Err(GetJobRefused::Outstanding));
    let mut next = job("j2");
    next.nonce_range = Some([1000, 2000]);
    let reply = Response::ok(id, &next);
    s.handle_bytes(ServerMessage::Response(reply).encode().as_bytes(), t0 + SEC);
    let ev = events(&mut s);
    assert!(
        matches!(
            ev[0],
            SessionEvent::Replied {
                method: "getjob",
                ..
            }
        ),
        "{ev:?}"
    );
    match &ev[1] {
        SessionEvent::Job(j) => {
            assert_eq!(j.job_id, "j2");
            assert_eq!(j.nonce_range, Some((1000, 2000)));
            assert_eq!(j.session, 1);
        }
        other => panic!("expected a job, got {other:?}"),
    }
    // Shares for the new slice's job go out.
    s.submit(ShareId(1), &share("j2", 1, 1), t0 + SEC).unwrap();
    assert_eq!(sent(&mut s)[0].method(), "submit");
}

#[test]
fn getjob_is_rate_limited_and_a_refusal_is_not_a_hang() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    s.request_job(t0).expect("getjob");
    let id = raw_sent(&mut s)[0]["id"].as_u64().expect("id");
    let no_work = Response::error(id, -1, "No work available");
    s.handle_bytes(ServerMessage::Response(no_work).encode().as_bytes(), t0);
    assert!(events(&mut s)
        .iter()
        .all(|e| !matches!(e, SessionEvent::Hung { .. })));
    assert!(s.is_logged_in());
    // Answered, but too soon for another.
    assert_eq!(
        s.request_job(t0 + GETJOB_MIN_INTERVAL / 2),
        Err(GetJobRefused::TooSoon)
    );
    // The early request is not lost: it goes out when the interval is over.
    assert_eq!(s.next_deadline(), Some(t0 + GETJOB_MIN_INTERVAL));
    s.handle_timeout(t0 + GETJOB_MIN_INTERVAL);
    let lines = raw_sent(&mut s);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["method"], "getjob");
    // Never answered: the response timer catches it like any request.
    s.handle_timeout(t0 + GETJOB_MIN_INTERVAL + 20 * SEC);
    assert_eq!(
        hung(&events(&mut s)),
        Some(&HangCause::ResponseTimeout { method: "getjob" })
    );
}
