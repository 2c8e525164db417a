//! The agent's HTTP API: xmrig's `/1/summary` and `/2/backends` shapes, `/v1/counters`, and control.

use std::sync::Arc;

use hyper::{Method, StatusCode};
use phirig_wire::{
    round_rate, rounded_rates, Backend, BackendThread, Counters, Cpu, Hashrate, JobSeen, Link,
    RxMemory, ShareCounts, Summary, Tally, ThreadHashes,
};
use serde::Serialize;
use serde_json::{json, Value};

use super::config::ConfigError;
use super::state::{lock, monotonic_ns, wall_ns, Meters, MinerState};
use crate::http::{ApiRequest, ApiResponse, Routes};
use crate::rx::RxWorkers;

/// Routes over the shared miner state.
pub struct AgentApi {
    pub state: Arc<MinerState>,
    pub worker_id: String,
    /// Takes `PUT /v1/binary` (self-upgrade); `None` disables it.
    pub upgrader: Option<Arc<crate::upgrade::Upgrader>>,
    /// xmrig's `restricted`: the API cannot be used for control (no access token configured).
    pub restricted: bool,
}

impl Routes for AgentApi {
    fn is_control(&self, method: &Method, path: &str) -> bool {
        // The config holds the pool password and the token itself: reading it is control too.
        (method != Method::GET && method != Method::HEAD) || path == "/1/config"
    }

    fn handle(&self, req: ApiRequest) -> ApiResponse {
        match (&req.method, req.path.as_str()) {
            (&Method::GET, "/1/summary" | "/2/summary" | "/api.json") => ok_json(&self.summary()),
            (&Method::GET, "/2/backends" | "/1/backends") => ok_json(&self.backends()),
            (&Method::GET, "/v1/counters") => ok_json(&self.counters()),
            (&Method::GET, "/v1/profile") => match self.state.workers.profile() {
                Some(p) => ok_json(p.as_ref()),
                None => ApiResponse::not_found(),
            },
            (&Method::POST, "/json_rpc") => self.json_rpc(&req.body),
            (&Method::GET, "/1/config") => match self.state.reloader.get() {
                Some(r) => ApiResponse::ok(r.current_json()),
                None => ApiResponse::not_found(),
            },
            (&Method::PUT | &Method::POST, "/1/config") => self.put_config(&req.body),
            _ => ApiResponse::not_found(),
        }
    }

    fn upgrader(&self) -> Option<&crate::upgrade::Upgrader> {
        self.upgrader.as_deref()
    }
}

/// Serialises a wire document; an error (none is expected: their keys are all strings) is a 500.
fn ok_json(doc: &impl Serialize) -> ApiResponse {
    match serde_json::to_value(doc) {
        Ok(v) => ApiResponse::ok(v),
        Err(e) => ApiResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

impl AgentApi {
    /// xmrig's summary: dashboards written for xmrig read it unchanged.
    pub fn summary(&self) -> Summary {
        let s = &self.state;
        let uptime = s.started.elapsed().as_secs();
        let (total, highest, mut threads) = {
            let m = lock(&s.meters);
            (
                rounded_rates(m.total.rates()),
                round_rate(m.total.highest()),
                m.threads
                    .iter()
                    .map(|t| rounded_rates(t.rates()))
                    .collect::<Vec<_>>(),
            )
        };
        // One entry per thread from the start (dashboards index it); null until sampled. While
        // rx/0 is mined its threads are the ones hashing.
        let rx = mining_rx(s);
        let thread_count = rx.map_or(s.workers.threads(), |r| r.thread_info().len());
        threads.resize(thread_count, [None; 3]);
        let results = lock(&s.results).clone();
        let stats = s.client_stats();
        let shares = stats.as_ref().map(|c| c.shares).unwrap_or_default();
        let ping = stats
            .as_ref()
            .and_then(|c| c.current_pool.and_then(|i| c.pools.get(i)))
            .and_then(|p| p.rtt.as_ref())
            .map_or(0, |r| r.median.as_millis() as u64);
        let algo = s.algo_name();
        let pool_link = stats.as_ref().and_then(|c| c.link.as_ref());
        let tally = Tally {
            uptime,
            diff: results.diff_current,
            accepted: shares.accepted,
            rejected: shares.rejected,
            stale: shares.stale,
            hashes_total: s.hash_counts().iter().sum(),
            best: results.best.top().to_vec(),
        };
        let link = Link {
            pool: results.pool_url,
            ip: pool_link.map(|l| l.ip.to_string()),
            uptime: results.connected_at.map_or(0, |t| t.elapsed().as_secs()),
            ping,
            failures: results.failures,
            tls: pool_link.and_then(|l| l.tls_version()).map(str::to_string),
            tls_fingerprint: pool_link
                .and_then(|l| l.tls_fingerprint())
                .map(str::to_string),
        };
        Summary {
            id: s.boot_id.clone(),
            worker_id: self.worker_id.clone(),
            uptime,
            restricted: self.restricted,
            kind: "miner".into(),
            ua: super::super::miner::config::user_agent(),
            version: format!(
                "{}+{}",
                env!("CARGO_PKG_VERSION"),
                crate::upgrade::build_id()
            ),
            build: Some(crate::upgrade::build_id().to_string()),
            paused: s.workers.is_paused(),
            donate_level: 0,
            algorithms: phirig_kernel::cn::Algorithm::ALL
                .iter()
                .map(|a| a.to_string())
                .chain(std::iter::once(phirig_rx::ALGO.to_string()))
                .collect(),
            hugepages: hugepages(s),
            hashrate: Hashrate {
                total,
                highest,
                threads,
            },
            results: tally.results(),
            connection: tally.connection(link, &algo),
            algo,
            cpu: Some(cpu_info()),
            resources: Some(crate::system::resources()),
            phirig: None,
        }
    }

    /// Per-thread detail: rates, intensity, affinity, AES path, pages.
    pub fn backends(&self) -> Vec<Backend> {
        if let Some(rx) = mining_rx(&self.state) {
            return self.rx_backends(rx);
        }
        let s = &self.state;
        let info = s.workers.thread_info();
        let m = lock(&s.meters);
        let threads = info.into_iter().enumerate().map(|(i, t)| BackendThread {
            index: i as u64,
            affinity: t.cpu.map_or(-1, |c| c as i64),
            intensity: t.intensity as u64,
            algo: t.algo,
            aes: t.aes.map(str::to_string),
            pages: t.pages.iter().map(|p| p.name().to_string()).collect(),
            hashrate: [None; 3],
        });
        cpu_backend(s.algo_name(), threads, &m, None)
    }

    /// `/2/backends` while rx/0 is mined: its threads, and the dataset and cache they share.
    fn rx_backends(&self, rx: &RxWorkers) -> Vec<Backend> {
        let epoch = rx.mining();
        let aes = epoch.as_deref().map(rx_aes);
        let m = lock(&self.state.meters);
        let threads = rx
            .thread_info()
            .into_iter()
            .enumerate()
            .map(|(i, t)| BackendThread {
                index: i as u64,
                affinity: t.cpu.map_or(-1, |c| c as i64),
                intensity: 1,
                algo: Some(phirig_rx::ALGO.to_string()),
                aes: aes.clone(),
                pages: t.scratchpad.iter().map(|b| b.to_string()).collect(),
                hashrate: [None; 3],
            });
        let memory = epoch.as_deref().map(crate::rx::status::memory);
        cpu_backend(phirig_rx::ALGO.to_string(), threads, &m, memory)
    }

    /// Cumulative counters on the agent's own clocks: the host computes rates from differences.
    pub fn counters(&self) -> Counters {
        let s = &self.state;
        let hashes = s.hash_counts();
        let shares = s.client_stats().map(|c| c.shares).unwrap_or_default();
        let job = lock(&s.results).job.as_ref().map(|(id, at)| JobSeen {
            id: id.clone(),
            received_wall_ns: *at,
        });
        Counters {
            boot_id: s.boot_id.clone(),
            build: crate::upgrade::build_id().to_string(),
            monotonic_ns: monotonic_ns(),
            wall_ns: wall_ns(),
            uptime_s: s.started.elapsed().as_secs_f64(),
            algo: s.algo_name(),
            paused: s.workers.is_paused(),
            threads: hashes
                .iter()
                .enumerate()
                .map(|(i, &h)| ThreadHashes {
                    index: i as u64,
                    hashes: h,
                })
                .collect(),
            hashes_total: hashes.iter().sum(),
            restarts: s.workers.restarts().iter().sum(),
            shares: ShareCounts {
                found: shares.found,
                accepted: shares.accepted,
                rejected: shares.rejected,
                stale: shares.stale,
                in_flight: shares.in_flight,
            },
            hugepages: hugepages(s),
            aes: match mining_rx(s).and_then(RxWorkers::mining) {
                Some(epoch) => Some(rx_aes(&epoch)),
                None => s
                    .workers
                    .thread_info()
                    .first()
                    .and_then(|t| t.aes)
                    .map(str::to_string),
            },
            job,
        }
    }

    /// `PUT /1/config`: validate whole, save, apply live; 400 with the reason otherwise.
    fn put_config(&self, body: &[u8]) -> ApiResponse {
        let Some(reloader) = self.state.reloader.get() else {
            return ApiResponse::not_found();
        };
        match reloader.put(body) {
            Ok(plan) => {
                let mut applied = Vec::new();
                if plan.client {
                    applied.push("pools: reconnecting");
                }
                if plan.workers {
                    applied.push("cpu: restarting the workers");
                }
                let restart: Vec<&str> = if plan.http_needs_restart {
                    vec!["http: takes effect when the agent is restarted"]
                } else {
                    vec![]
                };
                ApiResponse::ok(
                    json!({"status": "OK", "applied": applied, "restart_required": restart}),
                )
            }
            Err(e @ super::reload::ReloadError::Save { .. }) => {
                tracing::error!("config reload refused: {e}");
                ApiResponse::error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())
            }
            Err(e) => {
                // Parser messages quote the offending value, which could be a secret: the
                // client gets the reason, the log only the verdict.
                match &e {
                    super::reload::ReloadError::Invalid(ConfigError::Body(_)) => {
                        tracing::warn!(
                            "config reload refused: not a valid config; the running config stays"
                        )
                    }
                    other => {
                        tracing::warn!("config reload refused: {other}; the running config stays")
                    }
                }
                ApiResponse::error(StatusCode::BAD_REQUEST, &e.to_string())
            }
        }
    }

    /// `{"method": "pause" | "resume" | "stop"}`, JSON-RPC style as xmrig's.
    fn json_rpc(&self, body: &[u8]) -> ApiResponse {
        let Ok(req) = serde_json::from_slice::<Value>(body) else {
            return ApiResponse::error(StatusCode::BAD_REQUEST, "body is not JSON");
        };
        let id = req.get("id").cloned().unwrap_or(Value::Null);
        let method = req
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or_default();
        match method {
            "pause" => self.state.set_paused(true),
            "resume" => self.state.set_paused(false),
            "stop" => self.state.request_stop(),
            other => {
                return ApiResponse::ok(json!({"id": id, "jsonrpc": "2.0",
                    "error": {"code": -32601, "message": format!("unknown method {other:?}")}}))
            }
        }
        ApiResponse::ok(json!({"id": id, "jsonrpc": "2.0", "result": {"status": "OK"}}))
    }
}

/// CPU facts for the summary.
fn cpu_info() -> Cpu {
    let topo = crate::worker::Topology::detect();
    let brand = crate::system::cpu_brand();
    Cpu {
        brand,
        aes: phirig_kernel::cpu::Cpu::detect().aes_ni(),
        x64: cfg!(target_arch = "x86_64"),
        bits_64: cfg!(target_pointer_width = "64"),
        l2: topo.l2_bytes as u64,
        l3: topo.l3_bytes as u64,
        window: topo.window.name().to_string(),
        cores: topo.cores() as u64,
        threads: topo.logical_cpus as u64,
        arch: std::env::consts::ARCH.to_string(),
    }
}

/// The rx/0 workers while they mine a job (the CryptoNight workers idle meanwhile).
fn mining_rx(s: &MinerState) -> Option<&RxWorkers> {
    s.rx.get().filter(|r| r.current_seq().is_some())
}

/// The AES path rx/0 hashes with, named as the CryptoNight threads name theirs.
/// The one CPU backend `/2/backends` shows: `threads`, each given its rates from the meters.
fn cpu_backend(
    algo: String,
    threads: impl Iterator<Item = BackendThread>,
    m: &Meters,
    rx: Option<RxMemory>,
) -> Vec<Backend> {
    let threads = threads
        .map(|t| BackendThread {
            hashrate: m
                .threads
                .get(t.index as usize)
                .map_or([None; 3], |r| rounded_rates(r.rates())),
            ..t
        })
        .collect();
    vec![Backend {
        kind: "cpu".into(),
        enabled: true,
        algo,
        threads,
        hashrate: rounded_rates(m.total.rates()),
        rx,
    }]
}

fn rx_aes(epoch: &phirig_rx::Epoch) -> String {
    if epoch.options().hard_aes {
        "aes-ni"
    } else {
        "soft"
    }
    .to_string()
}

/// [huge, all] pages of what is mining: rx/0's dataset, cache and scratchpads in 2 MiB pages
/// (as xmrig), else the CryptoNight scratchpads.
fn hugepages(s: &MinerState) -> [u64; 2] {
    mining_rx(s)
        .and_then(RxWorkers::hugepages)
        .unwrap_or_else(|| s.workers.hugepages().map(|n| n as u64))
}
