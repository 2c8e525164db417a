//! The miner's event loop: pool jobs to the workers, found shares to the pool, outcomes to the counters.

use std::sync::Arc;
use std::time::Duration;

use phirig_pool::client::{self, ClientEvent, FoundShare, HangCause, Job, ShareId, ShareOutcome};
use tokio::sync::mpsc::UnboundedReceiver;
use tracing::{error, info, warn};

use super::config::MinerConfig;
use super::console::status_line;
use super::online_tune::OnlineTune;
use super::profile_watch::{apply_changed_profile, ProfileWatch, PROFILE_POLL};
use super::reload::Reload;
use super::state::{lock, monotonic_ns, MinerState};
use crate::worker::{JobError, MiningJob, NonceRange, WorkerNote};
use phirig_journal::{Event, SessionEvent, SubmitOutcome};
use phirig_kernel::cn::Algorithm;
use phirig_pool::protocol::NICEHASH_BYTE_OFFSET;

/// How long in-flight submits may take to be answered at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Why a pool job cannot be mined; the previous job keeps running.
#[derive(Debug, thiserror::Error)]
pub enum MiningJobError {
    #[error("job {job_id}: {source}")]
    Algorithm {
        job_id: String,
        #[source]
        source: phirig_kernel::cn::KernelError,
    },
    #[error(transparent)]
    Invalid(#[from] JobError),
}

/// Turns a pool job into work, or says why it cannot be mined.
pub fn mining_job(
    job: &Job,
    seq: u64,
    default_algo: Algorithm,
) -> Result<MiningJob, MiningJobError> {
    let algo = match &job.algo {
        Some(name) => name
            .parse::<Algorithm>()
            .map_err(|source| MiningJobError::Algorithm {
                job_id: job.job_id.clone(),
                source,
            })?,
        None => default_algo,
    };
    let fixed = job
        .nicehash
        .then(|| job.blob.get(NICEHASH_BYTE_OFFSET).copied())
        .flatten();
    let mj = MiningJob {
        seq,
        job_id: job.job_id.clone(),
        blob: job.blob.clone(),
        target: job.target.as_u64(),
        algo,
        height: job.height.unwrap_or(0),
        // Rig mode: the host's proxy hands each card its own slice of the counters.
        range: match job.nonce_range {
            Some((start, end)) => NonceRange::new(start, end, fixed),
            None => NonceRange::full(fixed),
        },
    };
    mj.validate()?;
    Ok(mj)
}

/// Runs until stopped (API `stop`, SIGTERM or Ctrl-C). Applies reloaded configs as they come.
pub async fn run(
    mut config: MinerConfig,
    state: Arc<MinerState>,
    mut notes: UnboundedReceiver<WorkerNote>,
    mut reloads: UnboundedReceiver<Reload>,
) {
    let (handle, mut events) = client::spawn(config.client.clone());
    *lock(&state.client) = Some(handle);
    let mut seq = 0u64;
    let mut sample = tokio::time::interval(Duration::from_secs(1));
    let mut print = tokio::time::interval(config.print_time);
    print.tick().await;
    use tokio::signal::unix::{signal, SignalKind};
    let mut online = config.online_tune.then(OnlineTune::new);
    let mut profile = ProfileWatch::new(&config.profile_path);
    let mut profile_poll = tokio::time::interval(PROFILE_POLL);
    let mut sigterm = signal(SignalKind::terminate()).ok();
    let mut sighup = signal(SignalKind::hangup()).ok();
    loop {
        tokio::select! {
            ev = events.recv() => match ev {
                Some(ev) => on_client_event(&state, ev, &mut seq, &config),
                None => { error!("pool client stopped"); break; }
            },
            Some(note) = notes.recv() => on_worker_note(&state, note),
            Some(reload) = reloads.recv() => {
                apply_reload(&state, &mut config, reload);
                profile.follow(&config.profile_path);
                print = tokio::time::interval(config.print_time);
                print.tick().await;
            }
            _ = sample.tick() => {
                state.sample(monotonic_ns());
                state.flush_journal();
                if let Some(online) = online.as_mut() {
                    online.tick(&state, &config);
                }
            }
            _ = recv_signal(&mut sighup) => match state.reloader.get().map(|r| r.reload_file()) {
                Some(Ok(_)) => info!("SIGHUP: configuration file read again"),
                Some(Err(e)) => error!("SIGHUP: {e}; the running configuration stays"),
                None => {}
            },
            _ = profile_poll.tick() => if profile.changed() {
                apply_changed_profile(&state, &mut config);
            },
            _ = print.tick() => info!("{}", status_line(&state)),
            _ = state.stop.notified() => { info!("stop requested through the API"); break; }
            _ = tokio::signal::ctrl_c() => { info!("interrupted; stopping"); break; }
            _ = recv_signal(&mut sigterm) => { info!("SIGTERM; stopping"); break; }
        }
    }
    // Stop hashing first, then give submits already on the wire a bounded time to be answered.
    state.set_paused(true);
    while let Ok(note) = notes.try_recv() {
        on_worker_note(&state, note);
    }
    let handle = lock(&state.client).take();
    if let Some(h) = handle {
        h.shutdown(SHUTDOWN_GRACE).await;
    }
}

/// Waits for a signal; forever when it could not be installed.
async fn recv_signal(s: &mut Option<tokio::signal::unix::Signal>) {
    match s.as_mut() {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending::<()>().await,
    }
}

/// Applies a validated new configuration: only what changed is restarted.
fn apply_reload(state: &MinerState, config: &mut MinerConfig, reload: Reload) {
    let Reload {
        config: mut new,
        plan,
    } = reload;
    new.workers.journal = config.workers.journal.clone();
    if plan.client {
        let handle = lock(&state.client);
        if let Some(Err(e)) = handle.as_ref().map(|c| c.reconfigure(new.client.clone())) {
            error!("new pool list refused: {e}; staying on the old one");
            new.client = config.client.clone();
        } else {
            info!(
                "configuration reloaded: reconnecting to {} pool(s), first {}",
                new.client.pools.len(),
                new.client
                    .pools
                    .first()
                    .map_or(String::new(), |p| p.url.to_string())
            );
        }
    }
    if plan.perf && !plan.client {
        if let Some(client) = lock(&state.client).as_ref() {
            info!("configuration reloaded: offering the pool the new algo-perf");
            client.offer_perf(new.client.offer.clone());
        }
    }
    if plan.workers {
        info!("configuration reloaded: restarting the workers");
        // Joining waits at most one hash batch per thread.
        tokio::task::block_in_place(|| state.workers.restart(new.workers.clone(), new.algo));
    }
    if plan.http_needs_restart {
        warn!("configuration reloaded: the HTTP API settings change when the agent is restarted");
    }
    // Journal and HTTP stay as started (they are not part of a reload).
    new.journal = config.journal.clone();
    new.http = config.http.clone();
    *config = new;
    info!("configuration reloaded");
}

fn on_client_event(state: &MinerState, ev: ClientEvent, seq: &mut u64, config: &MinerConfig) {
    let default_algo = config.algo;
    match ev {
        ClientEvent::Job(job) if crate::rx::miner::is_rx_job(&job, config.rx_by_default) => {
            *seq += 1;
            crate::rx::miner::on_job(state, job, *seq);
        }
        ClientEvent::Job(job) => {
            *seq += 1;
            match mining_job(&job, *seq, default_algo) {
                Ok(mj) => {
                    let algo = mj.algo;
                    let diff = job.target.difficulty();
                    // An algorithm with another thread count restarts the workers, and joining
                    // them waits up to one hash batch: not on an async worker thread.
                    let set = if state.workers.threads_for(algo) != state.workers.threads() {
                        tokio::task::block_in_place(|| state.workers.set_job(mj))
                    } else {
                        state.workers.set_job(mj)
                    };
                    match set {
                        Ok(()) => {
                            if let Some(rx) = state.rx.get() {
                                rx.clear_job();
                            }
                            state.journal(&Event::JobReceived {
                                job_id: job.job_id.clone(),
                                algo: algo.to_string(),
                                height: job.height.unwrap_or(0),
                                difficulty: diff,
                            });
                            info!(
                                "new job {} from pool {} algo {algo} diff {diff} height {:?}",
                                job.job_id, job.pool, job.height
                            );
                            *lock(&state.algo) = algo;
                            {
                                let mut results = lock(&state.results);
                                results.diff_current = diff;
                                results.job = Some((job.job_id.clone(), super::state::wall_ns()));
                            }
                            state.remember_job(*seq, job);
                        }
                        Err(e) => refused(state, &e),
                    }
                }
                Err(e) => refused(state, &e),
            }
        }
        ClientEvent::ShareOutcome { id, outcome } => {
            let (kind, reason) = match &outcome {
                ShareOutcome::Accepted => (SubmitOutcome::Accepted, String::new()),
                ShareOutcome::Rejected(r) => (SubmitOutcome::Rejected, r.clone()),
                ShareOutcome::Stale(r) => (SubmitOutcome::Stale, r.clone()),
            };
            let rtt_ns = state.journal_rtt_ns(id.0);
            state.journal(&Event::SubmitResult {
                request_id: id.0,
                outcome: kind,
                rtt_ns,
                reason,
            });
            log_outcome(state, id, outcome);
        }
        ClientEvent::Connected { pool, url } => {
            info!("connected to pool {pool} {url}");
            state.journal(&Event::Session(SessionEvent::Connected {
                pool: url.clone(),
            }));
            // The client reports a connection once the pool accepted the login.
            state.journal(&Event::Session(SessionEvent::Login { ok: true }));
            let mut r = lock(&state.results);
            if let Some(from) = r.last_pool.filter(|from| *from != pool) {
                let name = |i: usize| {
                    config
                        .client
                        .pools
                        .get(i)
                        .map_or_else(|| format!("#{i}"), |p| p.url.to_string())
                };
                state.journal(&Event::Session(SessionEvent::Failover {
                    from: name(from),
                    to: name(pool),
                }));
            }
            r.last_pool = Some(pool);
            r.pool_url = Some(url);
            r.connected_at = Some(std::time::Instant::now());
        }
        ClientEvent::Disconnected { pool, cause } => {
            let t = &config.client.timeouts;
            // Which timer found the session hung, and after how long a silence.
            let timer = match &cause {
                HangCause::ResponseTimeout { .. } => Some(t.response),
                HangCause::IdleTimeout => Some(t.idle),
                HangCause::WriteStalled => Some(t.write_stall),
                _ => None,
            };
            if let Some(after) = timer {
                state.journal(&Event::Session(SessionEvent::Hung {
                    timer: cause.kind().to_string(),
                    silent_ms: after.as_millis() as u64,
                }));
            }
            if matches!(cause, HangCause::LoginRejected(_)) {
                state.journal(&Event::Session(SessionEvent::Login { ok: false }));
            }
            state.journal(&Event::Session(SessionEvent::Disconnected {
                reason: format!("{}: {cause}", cause.kind()),
            }));
            let attempt = lock(&state.results).failures + 1;
            state.journal(&Event::Session(SessionEvent::Reconnect {
                cause: cause.kind().to_string(),
                attempt: u32::try_from(attempt).unwrap_or(u32::MAX),
            }));
            // The job belonged to that connection: hashing on would only make stale shares.
            let had_job = state.workers.current_job().is_some();
            state.workers.clear_job();
            if had_job {
                warn!("pool {pool} disconnected: {cause}; hashing paused until the next job");
            } else {
                warn!("pool {pool} disconnected: {cause}");
            }
            let mut r = lock(&state.results);
            r.failures += 1;
            r.connected_at = None;
        }
        ClientEvent::PoolRecovered { pool } => info!("pool {pool} answers again"),
        ClientEvent::Probe {
            pool,
            method,
            result,
        } => {
            let url = config
                .client
                .pools
                .get(pool)
                .map_or_else(|| format!("#{pool}"), |p| p.url.to_string());
            state.journal(&Event::Session(SessionEvent::Probe {
                pool: url,
                method: method.to_string(),
                result: result.to_string(),
            }));
        }
    }
}

/// Logs a refused job, saying truthfully what the workers do meanwhile.
fn refused(state: &MinerState, why: &dyn std::fmt::Display) {
    match state.workers.current_job() {
        Some(_) => error!("{why}; the previous job keeps running"),
        None => error!("{why}; no job to mine until the pool sends one we can"),
    }
}

fn log_outcome(state: &MinerState, id: ShareId, outcome: ShareOutcome) {
    match outcome {
        ShareOutcome::Accepted => {
            let c = state.client_stats().map(|s| s.shares).unwrap_or_default();
            info!(
                "share {} accepted ({}/{})",
                id.0,
                c.accepted,
                c.accepted + c.rejected + c.stale
            );
        }
        ShareOutcome::Rejected(reason) => warn!("share {} rejected: {reason}", id.0),
        ShareOutcome::Stale(reason) => warn!("share {} stale: {reason}", id.0),
    }
}

fn on_worker_note(state: &MinerState, note: WorkerNote) {
    match note {
        WorkerNote::Share(found) => {
            let Some(job) = state.job_by_seq(found.seq) else {
                warn!("share for forgotten job {} dropped", found.job_id);
                return;
            };
            lock(&state.results).best.note_hash(&found.hash);
            let share = FoundShare::for_job(&job, found.nonce, found.hash);
            let id = lock(&state.client).as_ref().map(|c| c.submit(share));
            if let Some(id) = id {
                let difficulty = job.target.difficulty();
                state.journal(&Event::ShareFound {
                    job_id: found.job_id.clone(),
                    nonce: found.nonce,
                    difficulty,
                });
                state.journal(&Event::SubmitSent {
                    request_id: id.0,
                    job_id: found.job_id.clone(),
                    nonce: found.nonce,
                });
                state.journal_submitted(id.0);
                info!(
                    "thread {} found share {} nonce {:08x} for job {}",
                    found.thread, id.0, found.nonce, found.job_id
                );
            }
        }
        WorkerNote::Exhausted { seq } => {
            // Only the host's proxy hands out slices and answers `getjob`; an ordinary pool
            // might drop us for an unknown method, and its 2^32 nonces outlast any job.
            let sliced = state
                .job_by_seq(seq)
                .is_some_and(|j| j.nonce_range.is_some());
            let current = state.workers.current_job().is_some_and(|j| j.seq == seq)
                || state.rx.get().and_then(|r| r.current_seq()) == Some(seq);
            if sliced && current {
                info!("nonce slice of job #{seq} used up; asking for a fresh one");
                if let Some(c) = lock(&state.client).as_ref() {
                    c.request_job();
                }
            } else if !sliced {
                warn!("nonce space of job #{seq} used up; waiting for the next job")
            }
        }
        WorkerNote::Ready {
            thread,
            algo,
            aes,
            intensity,
            pages,
        } => {
            let report = phirig_kernel::memory::PageReport::new(&pages, algo, 1);
            info!("thread {thread} ready: {algo} aes {aes} intensity {intensity}, {report}");
        }
        WorkerNote::Refused {
            thread,
            algo,
            error,
        } => error!("thread {thread} will not mine {algo}: {error}"),
        WorkerNote::Panicked { thread, message } => {
            error!("thread {thread} panicked ({message}); restarting it")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phirig_pool::protocol::Target;

    fn job(algo: Option<&str>, nicehash: bool, nonce_range: Option<(u64, u64)>) -> Job {
        let mut blob = vec![0u8; 76];
        blob[NICEHASH_BYTE_OFFSET] = 0x7e;
        Job {
            job_id: "j1".into(),
            blob,
            target: Target::from_difficulty(1000),
            algo: algo.map(str::to_string),
            height: None,
            seed_hash: None,
            next_seed_hash: None,
            nicehash,
            pool: 0,
            session: 1,
            nonce_range,
        }
    }

    #[test]
    fn rig_mode_mines_only_the_slice_under_the_fixed_byte() {
        let cn0: Algorithm = "cn/0".parse().expect("algo");
        let mj = mining_job(&job(None, true, Some((100, 200))), 1, cn0).expect("job");
        assert_eq!(
            (mj.range.start(), mj.range.end(), mj.range.fixed_byte()),
            (100, 200, Some(0x7e))
        );
        assert!(mj.range.contains_nonce(0x7e00_0064) && !mj.range.contains_nonce(0x7e00_00c8));
        let plain = mining_job(&job(Some("cn-pico/trtl"), false, None), 2, cn0).expect("job");
        assert_eq!(plain.range.len(), 1 << 32);
        assert_eq!(plain.algo.to_string(), "cn-pico");
    }

    #[test]
    fn unknown_algorithms_are_refused_with_the_name() {
        let cn0: Algorithm = "cn/0".parse().expect("algo");
        let err = mining_job(&job(Some("cn/nonsense"), false, None), 1, cn0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("cn/nonsense") && err.contains("j1"), "{err}");
    }
}
