//! Liveness probes on a fake clock with the default timeouts: a silent pool is left within
//! 25 s whether or not it advertises `keepalive`, and healthy pools, however they take probes,
//! are kept through five minutes.

use serde_json::Value;

use super::*;

const MS: Duration = Duration::from_millis(1);
/// How long the healthy cases run.
const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// The default timeouts (what an operator gets), with the probes this pool refused before.
fn default_cfg(session: u64, refused: RefusedProbes) -> SessionConfig {
    SessionConfig {
        timeouts: Timeouts::default(),
        refused_probes: refused,
        ..cfg(session)
    }
}

/// What a scripted pool does with one request.
enum Answer {
    Reply(String),
    Silence,
    Close,
}

fn reply(r: Response) -> Answer {
    Answer::Reply(ServerMessage::Response(r).encode().trim_end().to_string())
}

fn id_of(request: &Value) -> u64 {
    request["id"].as_u64().expect("requests carry a numeric id")
}

/// What a run against a scripted pool came to.
#[derive(Debug, Default)]
struct Run {
    /// Sessions ended (each followed by a new one on the same pool).
    reconnects: usize,
    probes: usize,
    /// Jobs emitted after the logins.
    jobs: usize,
    /// First hang, with when it happened.
    first_hang: Option<(HangCause, Duration)>,
}

/// Drive sessions against `pool` for `span` of fake time as the client's driver does: after a
/// refused probe a new session on the same pool remembers the refusal.
fn run(span: Duration, extensions: &[&str], pool: impl Fn(&Value) -> Answer) -> Run {
    let t0 = Instant::now();
    let mut now = t0;
    let mut refused = RefusedProbes::default();
    let mut out = Run::default();
    let mut s = log_in(Session::new(default_cfg(1, refused), now), now, extensions);
    while now < t0 + span {
        while let Some(line) = s.poll_transmit() {
            let request: Value = serde_json::from_str(&line).expect("we send JSON");
            if matches!(request["method"].as_str(), Some("keepalived" | "getjob")) {
                out.probes += 1;
            }
            match pool(&request) {
                Answer::Reply(line) => s.handle_line(&line, now + 10 * MS),
                Answer::Silence => {}
                Answer::Close => {
                    s.on_closed(HangCause::Closed, now + 10 * MS);
                    break;
                }
            }
        }
        for ev in events(&mut s) {
            match ev {
                SessionEvent::Job(_) => out.jobs += 1,
                SessionEvent::Hung { cause } => {
                    out.reconnects += 1;
                    if let HangCause::ProbeRefused { method } = &cause {
                        refused.refuse(*method);
                    }
                    out.first_hang.get_or_insert((cause, now - t0));
                    let next = default_cfg(out.reconnects as u64 + 1, refused);
                    s = log_in(Session::new(next, now), now, extensions);
                }
                _ => {}
            }
        }
        now = s
            .next_deadline()
            .expect("a live session always has a deadline");
        s.handle_timeout(now);
    }
    out
}

fn silent(_: &Value) -> Answer {
    Answer::Silence
}

#[test]
fn a_silent_pool_advertising_keepalive_is_left_within_25_s() {
    let r = run(60 * SEC, &["keepalive"], silent);
    assert_eq!(
        r.first_hang,
        Some((
            HangCause::ResponseTimeout {
                method: "keepalived"
            },
            25 * SEC
        ))
    );
}

#[test]
fn a_silent_pool_without_keepalive_is_left_within_25_s() {
    let r = run(60 * SEC, &[], silent);
    assert_eq!(
        r.first_hang,
        Some((HangCause::ResponseTimeout { method: "getjob" }, 25 * SEC))
    );
}

#[test]
fn a_request_in_flight_holds_the_probe_and_its_own_timer_decides() {
    let t0 = Instant::now();
    let mut s = log_in(
        Session::new(default_cfg(1, RefusedProbes::default()), t0),
        t0,
        &[],
    );
    let t1 = t0 + 3 * SEC;
    s.submit(ShareId(1), &share("j1", 1, 1), t1).unwrap();
    sent(&mut s);
    assert_eq!(
        s.next_deadline(),
        Some(t1 + 20 * SEC),
        "no probe while a submit waits"
    );
    // Any line from the pool moves the next probe back.
    let t2 = t0 + 10 * SEC;
    let mut s = log_in(
        Session::new(default_cfg(2, RefusedProbes::default()), t0),
        t0,
        &[],
    );
    s.handle_bytes(ServerMessage::Job(job("j2")).encode().as_bytes(), t2);
    events(&mut s);
    assert_eq!(s.next_deadline(), Some(t2 + 5 * SEC));
}

#[test]
fn a_pool_answering_keepalived_is_kept_for_five_minutes() {
    let r = run(FIVE_MINUTES, &["keepalive"], |req| {
        match req["method"].as_str() {
            Some("keepalived") => reply(Response::status(id_of(req), "KEEPALIVED")),
            _ => Answer::Silence,
        }
    });
    assert_eq!(r.reconnects, 0, "{:?}", r.first_hang);
    assert!(r.probes >= 55, "a probe every 5 s of quiet: {}", r.probes);
}

#[test]
fn a_pool_closing_on_keepalived_is_kept_with_one_reconnect_and_getjob_probes() {
    let r = run(FIVE_MINUTES, &["keepalive"], |req| {
        match req["method"].as_str() {
            Some("keepalived") => Answer::Close,
            Some("getjob") => reply(Response::ok(id_of(req), &job("j1"))),
            _ => Answer::Silence,
        }
    });
    assert_eq!(r.reconnects, 1);
    assert_eq!(
        r.first_hang.map(|(cause, _)| cause),
        Some(HangCause::ProbeRefused {
            method: ProbeMethod::Keepalived
        })
    );
    assert!(r.probes >= 55, "{}", r.probes);
}

#[test]
fn a_pool_answering_every_getjob_with_a_new_job_costs_no_restart() {
    let counter = std::cell::Cell::new(0);
    let r = run(FIVE_MINUTES, &[], |req| {
        counter.set(counter.get() + 1);
        let fresh = job(&format!("fresh-{}", counter.get()));
        reply(Response::ok(id_of(req), &fresh))
    });
    assert_eq!(r.reconnects, 0, "{:?}", r.first_hang);
    assert!(r.probes >= 55, "{}", r.probes);
    assert_eq!(
        r.jobs, 0,
        "same block, same work: the miner's nonces run on"
    );
}

#[test]
fn a_pool_that_does_not_know_getjob_is_alive_when_it_says_so() {
    let r = run(FIVE_MINUTES, &[], |req| {
        reply(Response::error(id_of(req), -1, "Invalid method"))
    });
    assert_eq!(r.reconnects, 0, "{:?}", r.first_hang);
}

#[test]
fn a_pool_refusing_every_probe_is_reconnected_twice_then_left_to_the_idle_timer() {
    let r = run(FIVE_MINUTES, &["keepalive"], |_| Answer::Close);
    assert_eq!(r.reconnects, 2);
}

#[test]
fn a_probe_answer_for_a_higher_block_is_adopted() {
    let t0 = Instant::now();
    let mut s = log_in(
        Session::new(default_cfg(1, RefusedProbes::default()), t0),
        t0,
        &[],
    );
    let t1 = t0 + 5 * SEC;
    s.handle_timeout(t1);
    let probe: Value = serde_json::from_str(&s.poll_transmit().unwrap()).unwrap();
    assert_eq!(probe["method"], "getjob");
    let mut next = job("j2");
    next.height = Some(2);
    let answer = ServerMessage::Response(Response::ok(id_of(&probe), &next)).encode();
    s.handle_bytes(answer.as_bytes(), t1);
    assert!(events(&mut s)
        .iter()
        .any(|e| matches!(e, SessionEvent::Job(j) if j.job_id == "j2" && j.height == Some(2))));
}

#[test]
fn only_a_close_soon_after_the_probe_counts_as_refusing_it() {
    let t0 = Instant::now();
    let late = |after: Duration| {
        let mut s = log_in(
            Session::new(default_cfg(1, RefusedProbes::default()), t0),
            t0,
            &["keepalive"],
        );
        s.handle_timeout(t0 + 5 * SEC);
        assert!(s.poll_transmit().is_some());
        s.on_closed(HangCause::Closed, t0 + 5 * SEC + after);
        hung(&events(&mut s)).cloned()
    };
    assert_eq!(
        late(SEC),
        Some(HangCause::ProbeRefused {
            method: ProbeMethod::Keepalived
        })
    );
    assert_eq!(late(PROBE_REFUSAL_WINDOW), Some(HangCause::Closed));
    let mut s = log_in(
        Session::new(default_cfg(1, RefusedProbes::default()), t0),
        t0,
        &[],
    );
    s.on_closed(HangCause::Closed, t0 + SEC);
    assert_eq!(
        hung(&events(&mut s)),
        Some(&HangCause::Closed),
        "no probe was out"
    );
}

#[test]
fn each_probe_outcome_is_reported_before_the_hang_it_causes() {
    let t0 = Instant::now();
    let fresh = |ext: &[&str]| {
        let s = Session::new(default_cfg(1, RefusedProbes::default()), t0);
        log_in(s, t0, ext)
    };
    let probe = |method, result| SessionEvent::Probe { method, result };
    let t1 = t0 + 5 * SEC;

    let mut s = fresh(&["keepalive"]);
    s.handle_timeout(t1);
    let request: Value = serde_json::from_str(&s.poll_transmit().unwrap()).unwrap();
    let answer = ServerMessage::Response(Response::status(id_of(&request), "KEEPALIVED"));
    s.handle_bytes(answer.encode().as_bytes(), t1);
    let ev = events(&mut s);
    assert!(ev.contains(&probe(ProbeMethod::Keepalived, ProbeResult::Answered)));

    let mut s = fresh(&[]);
    s.handle_timeout(t1);
    s.handle_timeout(t1 + 20 * SEC);
    let ev = events(&mut s);
    assert_eq!(ev[0], probe(ProbeMethod::GetJob, ProbeResult::Unanswered));
    assert!(matches!(ev[1], SessionEvent::Hung { .. }));

    let mut s = fresh(&["keepalive"]);
    s.handle_timeout(t1);
    s.on_closed(HangCause::Io("reset".into()), t1);
    let ev = events(&mut s);
    assert_eq!(ev[0], probe(ProbeMethod::Keepalived, ProbeResult::Refused));
    assert!(matches!(ev[1], SessionEvent::Hung { .. }));
}

/// The login's list with figures added.
fn offer() -> crate::protocol::AlgoOffer {
    crate::protocol::AlgoOffer {
        perf: Some(crate::protocol::AlgoPerf::new([(
            "cn/r".to_string(),
            321.0,
        )])),
        min_time: Some(30),
        ..crate::protocol::AlgoOffer::new(vec!["cn/r".into()])
    }
}

#[test]
fn a_new_offer_goes_out_in_a_getjob_and_its_answer_is_the_next_job() {
    let t0 = Instant::now();
    let mut s = logged_in(t0, 1, &[]);
    let _ = events(&mut s);
    s.offer_perf(offer(), t0 + SEC);
    let lines: Vec<Value> = std::iter::from_fn(|| s.poll_transmit())
        .map(|l| serde_json::from_str(&l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let getjob = &lines[0];
    assert_eq!(getjob["method"], "getjob");
    assert_eq!(getjob["params"]["id"], "sess");
    assert_eq!(getjob["params"]["algo-perf"]["cn/r"], 321.0);
    assert_eq!(getjob["params"]["algo-min-time"], 30);
    assert_eq!(getjob["params"]["algo"][0], "cn/r");
    let answer = Response::ok(id_of(getjob), &job("j2"));
    s.handle_bytes(
        ServerMessage::Response(answer).encode().as_bytes(),
        t0 + 2 * SEC,
    );
    let jobs: Vec<String> = events(&mut s)
        .into_iter()
        .filter_map(|e| match e {
            SessionEvent::Job(j) => Some(j.job_id),
            _ => None,
        })
        .collect();
    assert_eq!(jobs, ["j2"]);
}

#[test]
fn an_offer_made_while_the_login_is_out_follows_the_login() {
    let t0 = Instant::now();
    let mut s = Session::new(cfg(1), t0);
    // The login line is already queued with the old figures (none).
    s.offer_perf(offer(), t0);
    let mut s = log_in(s, t0, &[]);
    let lines: Vec<Value> = std::iter::from_fn(|| s.poll_transmit())
        .map(|l| serde_json::from_str(&l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["method"], "getjob");
    assert_eq!(lines[0]["params"]["id"], "sess");
    assert_eq!(lines[0]["params"]["algo-perf"]["cn/r"], 321.0);
    assert_eq!(lines[0]["params"]["algo-min-time"], 30);
}
