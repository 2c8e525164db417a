//! The downstream side: the cards' stratum server, one task per connection, lines in and out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use phirig_pool::protocol::{
    ClientMessage, GetJobParams, LineFramer, LoginResult, ProtocolError, Response, GETJOB_METHOD,
    NICEHASH_EXTENSION,
};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};

use super::card::LocalReject;
use super::shared::Shared;
use super::slices::CardId;
use super::state::REJECT_CODE;

/// Extension advertised to cards: job params carry `nonce_range` (see the module doc of `proxy`).
pub const NONCE_RANGE_EXTENSION: &str = "nonce_range";

/// Malformed lines a card may send before it is disconnected.
const MAX_MALFORMED: u32 = 16;

/// Per-connection limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub max_cards: usize,
    pub max_line: usize,
    pub outbox: usize,
}

/// Accepts cards until shutdown.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let active = Arc::new(tokio::sync::Semaphore::new(limits.max_cards.max(1)));
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // Usually EMFILE or a reset during the handshake; do not spin on it.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = active.clone().try_acquire_owned() else {
            tracing::warn!(%peer, "too many cards; closing connection");
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            connection(stream, peer, shared, limits, shutdown).await;
        });
    }
}

async fn connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    limits: Limits,
    mut shutdown: watch::Receiver<bool>,
) {
    let card = shared.state().connect(peer);
    let (tx, mut rx) = mpsc::channel::<String>(limits.outbox.max(1));
    shared.open_outbox(card, tx);
    tracing::info!(card, %peer, "card connected");
    let (mut reader, mut writer) = stream.split();
    let mut framer = LineFramer::new(limits.max_line);
    let mut buf = vec![0u8; 4096];
    let mut malformed = 0u32;
    let why = loop {
        tokio::select! {
            read = reader.read(&mut buf) => match read {
                Ok(0) => break "closed by card".to_string(),
                Ok(n) => {
                    shared.state().traffic(card, 0, n as u64);
                    framer.push(&buf[..n]);
                    while let Some(line) = framer.next_line() {
                        let ok = match line {
                            Ok(line) => handle_line(&shared, card, &line),
                            Err(e) => {
                                tracing::debug!(card, error = %e, "bad line from card");
                                false
                            }
                        };
                        malformed += u32::from(!ok);
                    }
                    if malformed > MAX_MALFORMED {
                        break "too many malformed lines".to_string();
                    }
                }
                Err(e) => break format!("read: {e}"),
            },
            line = rx.recv() => match line {
                Some(line) => {
                    if let Err(e) = writer.write_all(line.as_bytes()).await {
                        break format!("write: {e}");
                    }
                    shared.state().traffic(card, line.len() as u64, 0);
                }
                None => break "outbox closed".to_string(),
            },
            _ = shutdown.changed() => break "proxy shutting down".to_string(),
        }
    };
    shared.close_outbox(card);
    shared.state().disconnect(card);
    shared.card_perf(card, None);
    tracing::info!(card, %peer, reason = %why, "card disconnected");
}

/// Handle one line; `false` when it was malformed.
fn handle_line(shared: &Arc<Shared>, card: CardId, line: &str) -> bool {
    let message = match ClientMessage::parse(line) {
        Ok(m) => m,
        Err(ProtocolError::UnknownMethod(method)) if method == GETJOB_METHOD => {
            return getjob(shared, card, line);
        }
        Err(e) => {
            tracing::debug!(card, error = %e, "malformed request from card");
            if let Some(id) = request_id(line) {
                shared.reply(card, Response::error(id, REJECT_CODE, &e.to_string()));
            }
            return false;
        }
    };
    match message {
        ClientMessage::Login { id, params } => {
            let login = shared.state().login(card, &params, Instant::now());
            let job = match login {
                Ok(job) => job,
                Err(why) => {
                    tracing::debug!(card, login = %params.login, ?why, "login refused");
                    shared.refuse(card, id, why);
                    return true;
                }
            };
            shared.card_perf(card, Some(&params.offer));
            tracing::info!(card, login = %params.login, agent = %params.agent, "card logged in");
            let result = LoginResult {
                id: format!("card-{card}"),
                job,
                status: "OK".into(),
                extensions: vec![
                    NICEHASH_EXTENSION.into(),
                    NONCE_RANGE_EXTENSION.into(),
                    phirig_pool::protocol::KEEPALIVE_EXTENSION.into(),
                ],
            };
            shared.reply(card, Response::ok(id, &result));
        }
        ClientMessage::Keepalived { id, .. } => {
            shared.reply(card, Response::status(id, "KEEPALIVED"));
        }
        ClientMessage::Submit { id, params } => {
            let checked = shared.state().precheck(card, id, &params);
            match checked {
                Ok(share) => shared.verify_queue.push(share),
                Err(why) => shared.refuse(card, id, why),
            }
        }
    }
    true
}

/// `getjob`: the card used its slice up (or just wants work): a fresh slice of the newest job
/// as the result, or an error when there is none left. Its `algo-perf`, if any, is the card's new
/// offer.
fn getjob(shared: &Shared, card: CardId, line: &str) -> bool {
    let Some(id) = request_id(line) else {
        return false;
    };
    // A card's new algo-perf comes in its getjob (MoneroOcean's way), not a new login.
    let params = GetJobParams::of_line(line).filter(|p| p.offer.scored_perf().is_some());
    if let Some(params) = params.filter(|_| shared.state().logged_in(card)) {
        shared.card_perf(card, Some(&params.offer));
    }
    let state_says = {
        let mut state = shared.state();
        if state.logged_in(card) {
            Ok(state.next_slice(card))
        } else {
            Err(LocalReject::Unauthenticated)
        }
    };
    match state_says {
        Ok(Some(job)) => shared.reply(card, Response::ok(id, &job)),
        Ok(None) => shared.reply(card, Response::error(id, REJECT_CODE, "No work available")),
        Err(why) => shared.refuse(card, id, why),
    }
    true
}

fn request_id(line: &str) -> Option<u64> {
    match serde_json::from_str::<Value>(line).ok()?.get("id")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}
