//! Every `phirig-agent` flag, in one place (clap derive). xmrig users should recognise the mining flags.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use phirig_pool::client::TimeoutSeconds;

use crate::worker::{parse_intensity, PerAlgo};

#[derive(Debug, Parser)]
#[command(
    name = "phirig-agent",
    version,
    about = "phirig card agent: a CryptoNight miner for one card (or one machine)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub mine: MineArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Hash one input and print the 32-byte result in hex.
    Hash(HashArgs),
    /// Measure this machine's hash rate (per thread and total).
    Bench(BenchArgs),
    /// Find this card's fastest threads and ways per algorithm and store them as its profile.
    Tune(TuneArgs),
}

#[derive(Debug, Args, Clone)]
pub struct TuneArgs {
    /// Algorithms to tune, comma-separated (default: all 20 CryptoNight variants and rx/0).
    #[arg(short = 'a', long = "algo", value_delimiter = ',')]
    pub algos: Vec<String>,
    /// Milliseconds one measured round lasts.
    #[arg(long = "round-ms", default_value_t = 600)]
    pub round_ms: u64,
    /// Rounds of each side when two settings are compared.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=20))]
    pub pairs: u64,
    /// Where to store the profile (default: `phirig-agent.profile.json` beside the agent).
    #[arg(long = "profile", value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Measure only; leave the stored profile alone.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    #[arg(long)]
    pub no_aesni: bool,
    #[arg(long)]
    pub no_vaes: bool,
    #[arg(long)]
    pub no_hugepages: bool,
    /// Print the profile as one JSON object instead of a line per algorithm.
    #[arg(long)]
    pub json: bool,
    /// rx/0: `auto` (full dataset when the memory is free, else light), `full` or `light`.
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = crate::rx::parse_mode)]
    pub rx_mode: phirig_rx::Mode,
}

#[derive(Debug, Args)]
pub struct HashArgs {
    /// Algorithm name as pools send it (cn/0, cn/r, cn-pico, …; aliases accepted).
    #[arg(short = 'a', long = "algo")]
    pub algo: String,
    /// Block height (cn/r only).
    #[arg(long)]
    pub height: Option<u64>,
    /// The job's `seed_hash`, 64 hex digits, or any hex key (rx/0 only).
    #[arg(long, value_name = "SEED_HEX")]
    pub seed: Option<String>,
    /// Force the portable software AES path.
    #[arg(long)]
    pub no_aesni: bool,
    /// Keep explode and implode on AES-NI where the CPU has VAES, and the main loop off EVEX.
    #[arg(long)]
    pub no_vaes: bool,
    /// Input bytes in hex.
    pub input: String,
}

#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    #[arg(short = 'a', long = "algo", default_value = "cn/0")]
    pub algo: String,
    /// Worker threads: N, or per algorithm as in `2,cn/r=1` (default: one per core, capped by the
    /// L3 cache).
    #[arg(short = 't', long, value_name = "N|ALGO=N,…")]
    pub threads: Option<PerAlgo>,
    /// Interleaved hashes per thread, 1–5: N, or per algorithm as in `2,cn/r=1,cn-pico=5`
    /// (default: from the cache sizes).
    #[arg(short = 'k', long, value_name = "N|ALGO=N,…", value_parser = parse_intensity)]
    pub intensity: Option<PerAlgo>,
    /// How long to measure, after warm-up.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    #[arg(long)]
    pub no_aesni: bool,
    /// Keep explode and implode on AES-NI where the CPU has VAES, and the main loop off EVEX
    /// (for comparison).
    #[arg(long)]
    pub no_vaes: bool,
    /// Do not use huge pages (for comparison).
    #[arg(long)]
    pub no_hugepages: bool,
    /// Reserve the 2 MiB huge pages this run needs first (root only).
    #[arg(long)]
    pub reserve_hugepages: bool,
    /// rx/0: `auto` (full dataset when the memory is free), `full` or `light` (cache only).
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = crate::rx::parse_mode)]
    pub rx_mode: phirig_rx::Mode,
    /// One JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// What the online tuner costs: it tries one way more and fewer during the run in rounds of
    /// this many milliseconds (mining's: 5000), a pair every ten rounds' time; compare the total
    /// with a run without it.
    #[arg(long, value_name = "MS")]
    pub online_tune_round_ms: Option<u64>,
}

/// Mining flags (standalone mode, or rig mode when pointed at the host's proxy).
#[derive(Debug, Args, Clone, Default)]
pub struct MineArgs {
    /// Pool URL: stratum+tcp://host:port, stratum+ssl://host:port or host:port. Repeat for failover.
    #[arg(short = 'o', long = "url")]
    pub url: Vec<String>,
    /// Pool login (wallet address).
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,
    /// Pool password.
    #[arg(short = 'p', long = "pass")]
    pub pass: Option<String>,
    /// Rig id sent to the pool.
    #[arg(long = "rig-id")]
    pub rig_id: Option<String>,
    /// rx/0: `auto` (full dataset when the memory is free, else light, said at start-up),
    /// `full` or `light` (cache only: 256 MiB instead of 2 GiB, much slower).
    #[arg(long, value_name = "MODE", default_value = "auto", value_parser = crate::rx::parse_mode)]
    pub rx_mode: phirig_rx::Mode,
    /// Algorithm to mine (the pool may switch it per job).
    #[arg(short = 'a', long = "algo")]
    pub algo: Option<String>,
    /// Worker threads: N, or per algorithm as in `2,cn/r=1` (an algorithm's own wins).
    #[arg(short = 't', long = "threads", value_name = "N|ALGO=N,…")]
    pub threads: Option<PerAlgo>,
    /// Interleaved hashes per thread (1–5): N, or per algorithm as in `2,cn/r=1,cn-pico=5`.
    #[arg(long = "intensity", value_name = "N|ALGO=N,…", value_parser = parse_intensity)]
    pub intensity: Option<PerAlgo>,
    /// Send keepalives (when the pool advertises them).
    #[arg(short = 'k', long = "keepalive")]
    pub keepalive: bool,
    /// NiceHash mode: never change the pool's nonce byte.
    #[arg(long)]
    pub nicehash: bool,
    /// Use TLS for every pool.
    #[arg(long)]
    pub tls: bool,
    /// Pin the pool's TLS certificate by its SHA-256 fingerprint (hex).
    #[arg(long = "tls-fingerprint")]
    pub tls_fingerprint: Option<String>,
    /// JSON configuration file (xmrig keys: pools[], cpu{}, http{}).
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
    /// The tuned profile (default: `phirig-agent.profile.json` beside the agent binary).
    #[arg(long = "profile", value_name = "FILE")]
    pub profile: Option<PathBuf>,
    /// Seconds an algorithm-switching pool should keep us on one algorithm (`algo-min-time`).
    #[arg(long = "algo-min-time", value_name = "SECS")]
    pub algo_min_time: Option<u64>,
    /// Let the workers try one way more and fewer on live jobs (a pair of 5 s rounds a minute,
    /// every hash still mined) and store a setting that wins every pair in the profile.
    #[arg(long = "online-tune")]
    pub online_tune: bool,
    #[arg(long)]
    pub no_aesni: bool,
    /// Keep explode and implode on AES-NI where the CPU has VAES, and the main loop off EVEX.
    #[arg(long)]
    pub no_vaes: bool,
    #[arg(long)]
    pub no_hugepages: bool,
    /// HTTP API address (127.0.0.1 by default; the card's own address in rig mode).
    #[arg(long = "http-host")]
    pub http_host: Option<IpAddr>,
    /// HTTP API port (0 = disabled unless a config enables it).
    #[arg(long = "http-port")]
    pub http_port: Option<u16>,
    /// Bearer token for the HTTP API (or PHIRIG_HTTP_TOKEN; read from a file with @PATH).
    #[arg(
        long = "http-access-token",
        env = "PHIRIG_HTTP_TOKEN",
        hide_env_values = true
    )]
    pub http_access_token: Option<String>,
    /// Require the token for reads too.
    #[arg(long = "restricted-read")]
    pub restricted_read: bool,
    /// Start with mining paused, as after the API's `pause`, until `resume` (`POST /json_rpc`).
    /// The host starts cards with it while the rig is paused.
    #[arg(long = "pause-on-start")]
    pub pause_on_start: bool,
    /// Seconds between console status lines.
    #[arg(long = "print-time", default_value_t = 10)]
    pub print_time: u64,
    /// Rig mode: mine under the host's proxy (the host starts agents with it). Turns the event
    /// journal on by default, as `phirig-agent.journal` in the working directory.
    #[arg(long)]
    pub rig: bool,
    /// Event journal file (on by default in rig mode).
    #[arg(long, conflicts_with = "no_journal")]
    pub journal: Option<PathBuf>,
    /// No event journal, even in rig mode.
    #[arg(long = "no-journal")]
    pub no_journal: bool,
    /// Seconds between fsyncs of the journal (0 = only when it is closed).
    #[arg(long = "journal-fsync", value_name = "SECS", default_value_t = 10)]
    pub journal_fsync: u64,
    /// Size cap of the journal file in MiB: it is rotated to FILE.1 … FILE.4 beyond that.
    #[arg(long = "journal-max-mb", value_name = "MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub journal_max_mb: u64,
    #[command(flatten)]
    pub timeouts: PoolTimeoutArgs,
}

/// The stratum client's timeouts, the same flags on the agent and on the host (`phirig run`).
#[derive(Debug, Args, Clone, Default)]
pub struct PoolTimeoutArgs {
    /// Seconds to wait for a pool to answer a request (login, submit, keepalive) before
    /// treating the connection as hung and failing over.
    #[arg(
        long = "response-timeout",
        value_name = "SECS",
        help_heading = "Timeouts"
    )]
    pub response_timeout: Option<u64>,
    /// Seconds allowed for TCP connect plus TLS handshake to a pool.
    #[arg(
        long = "connect-timeout",
        value_name = "SECS",
        help_heading = "Timeouts"
    )]
    pub connect_timeout: Option<u64>,
    /// Seconds without a new job before the connection counts as hung.
    #[arg(long = "idle-timeout", value_name = "SECS", help_heading = "Timeouts")]
    pub idle_timeout: Option<u64>,
    /// Seconds to wait before reconnecting when every pool failed (doubles per failure).
    #[arg(long = "retry-pause", value_name = "SECS", help_heading = "Timeouts")]
    pub retry_pause: Option<u64>,
    /// Seconds between background checks of a failed higher-priority pool.
    #[arg(
        long = "probe-interval",
        value_name = "SECS",
        help_heading = "Timeouts"
    )]
    pub probe_interval: Option<u64>,
}

impl PoolTimeoutArgs {
    /// The flags as the client takes them; keepalive is the caller's (only the host has a flag).
    pub fn seconds(&self) -> TimeoutSeconds {
        TimeoutSeconds {
            connect: self.connect_timeout,
            response: self.response_timeout,
            idle: self.idle_timeout,
            keepalive: None,
            probe_interval: self.probe_interval,
            retry_pause: self.retry_pause,
        }
    }
}
