//! The host's stratum proxy: one upstream client session, a downstream server for the cards, nonce leases per card.
//!
//! **Jobs.** Every upstream job is re-issued to each logged-in card with the same blob, target,
//! algo and height, a proxy-local job id `"{seq}.{lease}"` (mapped back to the upstream job on
//! submit), and the card's current nonce lease ([`slices::JobSlices`]). Each card owns a
//! *block* of the job's nonce space and receives it in leases of [`ProxyConfig::lease_len`]
//! counters; when a card goes away, its current lease is abandoned and the unleased rest of its
//! block is handed to the next card that asks for work, so no nonce repeats within a job and
//! none is lost to a dead card.
//!
//! * Upstream job *not* NiceHash: the proxy owns all 2^32 nonces. Each block is one top byte
//!   (`0, 1, …, 255` per job) with all 2^24 counters under it; the byte is written at blob offset
//!   42 and every card is told the `nicehash` extension. So a third-party miner (xmrig) pointed at
//!   the proxy keeps that byte and still gets work disjoint from every other card.
//! * Upstream job NiceHash (the pool owns byte 42): the byte is left as the pool sent it and the
//!   2^24 counters beneath it are split into blocks of [`ProxyConfig::nicehash_slice_len`]. Only
//!   miners that honour `nonce_range` (phirig agents) stay disjoint here; a third-party miner
//!   only sees the `nicehash` byte and may overlap another card. Its duplicates are still caught
//!   (and out-of-slice nonces refused), never sent upstream; that is the trade-off of a pool
//!   that already took the byte we would have used.
//!
//! **The `nonce_range` extension.** Job params (in the login result, `job` notifications and
//! `getjob` results) carry `"nonce_range": [start, end]`: the half-open range of nonce
//! *counters* the card may use. Nonce = `(blob[42] << 24) | counter`, counters `< 2^24`, i.e.
//! `NonceRange::new(start, end, Some(blob[42]))`. The login result lists the extensions
//! `nicehash`, `nonce_range` and `keepalive`. A card that used its lease up sends
//! `{"id":N,"method":"getjob"}` and gets its next lease of the newest job as the result
//! (or the error "No work available" when the job's space is spent).
//!
//! **Shares.** A submit is checked (job known and the slice the card's, nonce inside it, not a
//! duplicate of any card's within the job), re-hashed with the injected [`ShareHasher`] on the
//! blocking pool and judged against the *upstream* target; only then is it handed to the
//! upstream client, and the card's request is answered with the client's one outcome ("OK",
//! the pool's error, or a stale error), at most [`ProxyConfig::outcome_timeout`] later. A card
//! with ≥ 5 invalid shares that are > 50 % of its submits is flagged; its shares are refused.
//!
//! **Strangers.** Miners that are not the rig's deployed cards ([`ProxyHandle::set_cards`]) are
//! also judged by address over all their connections (`state/peers.rs`): a flagged address
//! gets no login, no lease and no verification until its flag expires
//! ([`ProxyConfig::flag_expiry`], doubling for a repeat offence), and one address has at most
//! [`MAX_PEER_VERIFYING`] shares in verification. The cards' shares are hashed ahead of
//! strangers' (`verify_queue.rs`), and one verifier hashes only theirs.

mod card;
mod config;
mod downstream;
mod error;
mod handle;
mod rig_perf;
mod shared;
mod slices;
mod state;
mod stats;
mod upstream;
mod verify_queue;
mod workers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use phirig_pool::client;
use phirig_pool::server::ShareHasher;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use card::{LocalReject, ShareCounts, FLAG_INVALID_PERCENT, FLAG_MIN_INVALID};
pub use config::{ProxyConfig, DEFAULT_LEASE_LEN};
pub use downstream::NONCE_RANGE_EXTENSION;
pub use error::ProxyError;
pub use handle::ProxyHandle;
pub use slices::{CardId, JobSlices, Lease, COUNTERS_PER_BYTE};
pub use state::{
    Clock, FlagTerms, DEFAULT_FLAG_EXPIRY, MAX_PEER_LEASES_PER_JOB, MAX_PEER_VERIFYING,
};
pub use stats::{CardStats, ProxyStats, WorkerStats, XMRIG_PROXY_WINDOWS};

/// Start the proxy on the current tokio runtime: bind the card listener, start the upstream
/// client, and return at once (cards may connect before the first upstream job).
pub async fn start(
    config: ProxyConfig,
    hasher: Arc<dyn ShareHasher>,
) -> Result<ProxyHandle, ProxyError> {
    config.upstream.validate()?;
    let listener = TcpListener::bind(config.bind)
        .await
        .map_err(|source| ProxyError::Bind {
            addr: config.bind,
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| ProxyError::Bind {
        addr: config.bind,
        source,
    })?;
    let (client, events) = client::spawn(config.upstream.clone());
    let mut state = state::ProxyState::new(
        config.recent_jobs,
        config.nicehash_slice_len,
        config.lease_len,
        config.outcome_timeout,
    );
    state.set_flag_terms(FlagTerms {
        expiry: config.flag_expiry,
        ..FlagTerms::default()
    });
    let shared = Arc::new(shared::Shared {
        state: Mutex::new(state),
        outboxes: Mutex::new(HashMap::new()),
        client: Mutex::new(Some(client)),
        hasher,
        verify_queue: verify_queue::VerifyQueue::default(),
        rig_perf: Mutex::new(rig_perf::RigPerf::new(&config.upstream)),
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let limits = downstream::Limits {
        max_cards: config.max_cards,
        max_line: config.max_line,
        outbox: config.outbox,
    };
    let mut tasks = vec![
        tokio::spawn(upstream::run(shared.clone(), events, shutdown_rx.clone())),
        tokio::spawn(downstream::serve(
            listener,
            shared.clone(),
            limits,
            shutdown_rx.clone(),
        )),
    ];
    // With two or more verifiers the first hashes cards' shares only, so a stranger's flood can
    // never hold every verifier when a card's share arrives.
    let verifiers = config.verify_threads.max(1);
    for i in 0..verifiers {
        let others_too = verifiers == 1 || i > 0;
        tasks.push(tokio::spawn(
            shared.clone().verifier(others_too, shutdown_rx.clone()),
        ));
    }
    tracing::info!(%local_addr, "proxy listening for cards");
    Ok(ProxyHandle {
        local_addr,
        shared,
        shutdown,
        tasks,
    })
}
