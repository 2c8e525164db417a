//! Property tests: arbitrary bytes through the line framer, the message parsers and a session
//! never panic, and the framer never holds more than one line's worth of bytes.

use std::time::{Duration, Instant};

use phirig_pool::protocol::{
    AlgoOffer, ClientMessage, LineFramer, LoginParams, ServerMessage, Target,
};
use phirig_pool::session::{RefusedProbes, Session, SessionConfig, Timeouts};
use proptest::prelude::*;

const MAX: usize = 256;

fn session(now: Instant) -> Session {
    let cfg = SessionConfig {
        pool: 0,
        session: 1,
        login: LoginParams {
            login: "w".into(),
            pass: "x".into(),
            agent: "t".into(),
            rigid: None,
            offer: AlgoOffer::default(),
        },
        nicehash: false,
        keepalive: true,
        timeouts: Timeouts::default(),
        refused_probes: RefusedProbes::default(),
    };
    Session::new(cfg, now)
}

/// Bytes that look a bit like stratum so the parsers get past the first character often.
fn stratumish() -> impl Strategy<Value = Vec<u8>> {
    let atoms = prop_oneof![
        Just(b"{\"id\":1,\"result\":{\"id\":\"s\",\"status\":\"OK\"}}".to_vec()),
        Just(b"{\"method\":\"job\",\"params\":{".to_vec()),
        Just(b"\"blob\":\"00\",\"job_id\":\"j\",\"target\":\"b88d0600\"}".to_vec()),
        Just(b"{\"method\":\"client.reconnect\",\"params\":[".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    prop::collection::vec(atoms, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn framer_is_bounded_and_never_panics(data in prop::collection::vec(any::<u8>(), 0..4096),
                                          chunk in 1usize..300) {
        let mut f = LineFramer::new(MAX);
        for part in data.chunks(chunk) {
            f.push(part);
            prop_assert!(f.buffered() <= MAX + 1);
            while let Some(line) = f.next_line() {
                if let Ok(line) = line {
                    prop_assert!(line.len() <= MAX);
                    prop_assert!(!line.contains('\n'));
                    let _ = ServerMessage::parse(&line);
                    let _ = ClientMessage::parse(&line);
                }
            }
        }
    }

    #[test]
    fn lines_without_oversize_survive_any_chunking(lines in prop::collection::vec("[a-z{}\":,0-9]{1,40}", 0..20),
                                                   chunk in 1usize..50) {
        let joined: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut f = LineFramer::new(MAX);
        let mut got = Vec::new();
        for part in joined.as_bytes().chunks(chunk) {
            f.push(part);
            while let Some(line) = f.next_line() {
                got.push(line.expect("short UTF-8 lines are fine"));
            }
        }
        prop_assert_eq!(got, lines);
    }

    #[test]
    fn session_survives_arbitrary_input(data in stratumish(), chunk in 1usize..200) {
        let t0 = Instant::now();
        let mut s = session(t0);
        for (i, part) in data.chunks(chunk).enumerate() {
            s.handle_bytes(part, t0 + Duration::from_millis(i as u64));
            while s.poll_event().is_some() {}
            while s.poll_transmit().is_some() {}
        }
        s.handle_timeout(t0 + Duration::from_secs(3600));
        prop_assert!(s.is_hung());
    }

    #[test]
    fn target_hex_parse_never_panics(s in "[0-9a-fA-Fz]{0,20}") {
        if let Ok(t) = Target::from_hex(&s) {
            prop_assert!(t.as_u64() > 0);
        }
    }

    #[test]
    fn difficulty_round_trips(d in 1u64..=u64::from(u32::MAX)) {
        let t = Target::from_difficulty(d);
        prop_assert_eq!(t.difficulty(), d);
        prop_assert_eq!(Target::from_hex(&t.to_hex()).unwrap().difficulty(), d);
    }
}
