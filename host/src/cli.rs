//! Every `phirig` flag, in one place (clap derive).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use phirig_agent::worker::{parse_intensity, PerAlgo};

#[derive(Debug, Parser)]
#[command(
    name = "phirig",
    version,
    about = "phirig: a mining host for rigs of coprocessor cards"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once per process: boxing `RunArgs` to shrink the enum would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mine: start the cards' agents and show what every card is doing. With no pool given, this
    /// machine mines against the built-in pool on loopback.
    Run(RunArgs),
    /// Benchmark every card at once (each runs `phirig-agent bench`).
    Bench(BenchArgs),
    /// The reference pool server.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Read an event journal.
    #[command(subcommand)]
    Log(LogCommand),
    /// List the cards: MPSS, static SSH hosts, this machine.
    Cards {
        #[command(flatten)]
        cards: CardArgs,
        /// Also ask each card whether its agent runs.
        #[arg(long)]
        check: bool,
        #[arg(long)]
        json: bool,
    },
    /// Copy the agent to the cards, verify it, start it and confirm it answers.
    Deploy(DeployArgs),
    /// Stop the agents.
    Stop(CardArgs),
    /// Restart the agents.
    Restart(DeployArgs),
    /// Is the agent there, running, answering?
    Status(CardArgs),
    /// Replace the running agents with a new binary (sent to all cards at once, zero-copy).
    Upgrade(UpgradeArgs),
    /// The config file: print a commented example, or check one.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Run the card agent in this process (the local card runs this way).
    #[command(disable_help_flag = true)]
    Agent {
        /// `phirig-agent` arguments.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Pool URL; repeat for a failover list. None: mine against the built-in pool.
    #[arg(short = 'o', long = "url")]
    pub url: Vec<String>,
    #[arg(short = 'u', long = "user", default_value = "phirig")]
    pub user: String,
    #[arg(short = 'p', long = "pass", default_value = "x")]
    pub pass: String,
    /// Algorithm for the built-in pool (a real pool chooses its own).
    #[arg(short = 'a', long = "algo", default_value = "cn/0")]
    pub algo: String,
    /// Starting share difficulty of the built-in pool (it adjusts toward a share every 10 s).
    #[arg(long, default_value_t = 200)]
    pub difficulty: u64,
    /// Worker threads on every card (a card's own `threads` wins): N, or per algorithm as in
    /// `2,cn/r=1`.
    #[arg(short = 't', long, value_name = "N|ALGO=N,…")]
    pub threads: Option<PerAlgo>,
    /// Force the software AES path.
    #[arg(long)]
    pub no_aesni: bool,
    /// rx/0 on this machine's own agent: auto (the full dataset when the memory is free), full,
    /// or light (cache only).
    #[arg(long, value_name = "MODE", value_parser = ["auto", "full", "light"])]
    pub rx_mode: Option<String>,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Seconds between status refreshes.
    #[arg(long, default_value_t = 2)]
    pub refresh: u64,
    #[command(flatten)]
    pub http: HttpArgs,
    #[command(flatten)]
    pub rig: RigArgs,
    #[command(flatten)]
    pub tuning: TuningArgs,
    /// Config file (TOML, or JSON when it ends in .json); a flag given on the command line wins.
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
}

/// Pool, timeout, agent and watchdog settings of `phirig run` (each also a config-file key).
#[derive(Debug, Args, Clone, Default)]
pub struct TuningArgs {
    /// NiceHash mode for the pools given with -o.
    #[arg(long, help_heading = "Pool")]
    pub nicehash: bool,
    /// TLS for the pools given with -o.
    #[arg(long, help_heading = "Pool")]
    pub tls: bool,
    /// Pin the pools' TLS certificate by its SHA-256 fingerprint (hex).
    #[arg(long = "tls-fingerprint", help_heading = "Pool")]
    pub tls_fingerprint: Option<String>,
    #[command(flatten)]
    pub timeouts: phirig_agent::cli::PoolTimeoutArgs,
    /// Interleaved hashes per thread on every card, 1–5: N, or per algorithm as in
    /// `2,cn/r=1,cn-pico=5` (default: from the card's cache sizes).
    #[arg(long, help_heading = "Agent", value_name = "N|ALGO=N,…", value_parser = parse_intensity)]
    pub intensity: Option<PerAlgo>,
    /// Restart a card whose rate stays below this fraction of its benchmark …
    #[arg(long = "watchdog-restart-below", help_heading = "Watchdog")]
    pub watchdog_restart_below: Option<f64>,
    /// … for this many minutes.
    #[arg(long = "watchdog-minutes", help_heading = "Watchdog")]
    pub watchdog_minutes: Option<f64>,
    /// Longest pause in seconds between restart attempts of a failing card.
    #[arg(
        long = "watchdog-backoff",
        value_name = "SECS",
        help_heading = "Watchdog"
    )]
    pub watchdog_backoff: Option<u64>,
    /// One card's own setting, CARD.KEY=VALUE with KEY threads, benchmark (H/s) or agent-port;
    /// repeatable.
    #[arg(
        long = "card-set",
        value_name = "CARD.KEY=VALUE",
        help_heading = "Cards"
    )]
    pub card_set: Vec<crate::config::CardSetting>,
    /// The config file's `[[pools]]` after the merge (each with its own login and TLS settings);
    /// empty when the pools come from -o. Read it through `config::pool_configs`.
    #[arg(skip)]
    pub pools: Vec<crate::config::PoolEntry>,
}

/// `phirig run` over cards: which cards, how the host reaches them and they reach it back.
/// (Not `CardArgs`: its `--http-access-token` would clash with the host API's.)
#[derive(Debug, Args, Clone)]
pub struct RigArgs {
    #[command(flatten)]
    pub reach: CardReach,
    /// The agent binary to copy (default: `phirig-agent` beside `phirig`, else `phirig` itself).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Directory on the cards.
    #[arg(long, default_value = "/var/lib/phirig")]
    pub remote_dir: String,
    /// Where the proxy listens for the cards' stratum connections.
    #[arg(long, default_value = "0.0.0.0:3334")]
    pub proxy_bind: SocketAddr,
    /// The address cards dial to reach the proxy (default: this machine's address on the route to
    /// each card, e.g. 172.31.(N+1).254 for MPSS card N).
    #[arg(long)]
    pub proxy_host: Option<IpAddr>,
    /// Nonces per lease a card gets at a time (its unleased rest is reassigned if it dies).
    #[arg(long, default_value_t = crate::proxy::DEFAULT_LEASE_LEN)]
    pub lease_len: u64,
    /// Seconds an address whose miners sent mostly bad shares stays flagged (no work, no
    /// verification); each repeat offence doubles it. 0: addresses are never flagged.
    #[arg(long, value_name = "SECS", default_value_t = crate::proxy::DEFAULT_FLAG_EXPIRY.as_secs())]
    pub flag_expiry: u64,
    /// Each card's benchmark (H/s): the watchdog restarts a card far below it for minutes.
    #[arg(long)]
    pub card_benchmark: Option<f64>,
    /// Seconds between the watchdog's probes of a healthy card.
    #[arg(long, default_value_t = 2)]
    pub watchdog_interval: u64,
    /// Send keepalives upstream (also how a silent pool is noticed between shares).
    #[arg(short = 'k', long)]
    pub keepalive: bool,
    /// Seconds between upstream keepalives (with `-k`).
    #[arg(long, value_name = "SECS", help_heading = "Advanced")]
    pub keepalive_interval: Option<u64>,
    /// Write the rig snapshot (JSON) to this file at every refresh, atomically.
    #[arg(long)]
    pub status_json: Option<PathBuf>,
    /// Host event journal (clock-offset samples, supervision actions); default `phirig.journal`
    /// when running with cards.
    #[arg(long, conflicts_with = "no_journal")]
    pub journal: Option<PathBuf>,
    /// No host journal.
    #[arg(long)]
    pub no_journal: bool,
}

#[derive(Debug, Args, Clone)]
pub struct HttpArgs {
    #[arg(long = "http-host", default_value = "127.0.0.1")]
    pub http_host: IpAddr,
    /// Host API port (0: off).
    #[arg(long = "http-port", default_value_t = 0)]
    pub http_port: u16,
    #[arg(
        long = "http-access-token",
        env = "PHIRIG_HTTP_TOKEN",
        hide_env_values = true
    )]
    pub http_access_token: Option<String>,
    /// Require the token for reads too (control always needs it).
    #[arg(long = "restricted-read")]
    pub restricted_read: bool,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(short = 'a', long = "algo", default_value = "cn/0")]
    pub algo: String,
    /// Tune every algorithm on every card (`phirig-agent tune`, stored as each card's profile)
    /// and show a card × algorithm table.
    #[arg(long, conflicts_with_all = ["threads", "intensity"])]
    pub all: bool,
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Worker threads: N, or per algorithm as in `2,cn/r=1` (the benchmark uses its algorithm's).
    #[arg(short = 't', long, value_name = "N|ALGO=N,…")]
    pub threads: Option<PerAlgo>,
    /// Interleaved hashes per thread, 1–5: N, or per algorithm as in `2,cn/r=1`.
    #[arg(long, value_name = "N|ALGO=N,…", value_parser = parse_intensity)]
    pub intensity: Option<PerAlgo>,
    #[arg(long)]
    pub json: bool,
    /// rx/0 on every card: `auto` (the card's default: full dataset when its memory is free,
    /// else light), `full` or `light`; with `--all`, the mode its profile is measured in.
    #[arg(long, value_name = "MODE", value_parser = phirig_agent::rx::parse_mode)]
    pub rx_mode: Option<phirig_rx::Mode>,
    /// Directory the agent was deployed to on remote cards.
    #[arg(long, default_value = "/var/lib/phirig")]
    pub remote_dir: String,
    #[command(flatten)]
    pub cards: CardArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented example config file (the same as phirig.example.toml).
    Example,
    /// Read a config file and say whether it is valid, without starting anything.
    Check { file: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum PoolCommand {
    /// Serve stratum: random jobs, variable difficulty, every share verified with the kernel.
    Serve(PoolServeArgs),
}

#[derive(Debug, Args)]
pub struct PoolServeArgs {
    #[arg(long, default_value = "127.0.0.1:3333")]
    pub bind: SocketAddr,
    #[arg(short = 'a', long = "algo", default_value = "cn/0")]
    pub algo: String,
    /// rx/0: the `seed_hash` (RandomX key, 64 hex digits) of every job; default a fixed one.
    #[arg(long, value_name = "HEX")]
    pub seed_hash: Option<String>,
    /// rx/0: announce the next epoch's seed in every job (`next_seed_hash`, as p2pool sends it),
    /// so miners build its dataset ahead.
    #[arg(long, value_name = "HEX")]
    pub next_seed_hash: Option<phirig_rx::Seed>,
    /// Block height sent with jobs (cn/r needs one).
    #[arg(long)]
    pub height: Option<u64>,
    #[arg(long, default_value_t = 1000)]
    pub difficulty: u64,
    /// Fault to inject (tests): silent-after-login, stop-reading, reset, garbage, oversized, …
    #[arg(long)]
    pub fault: Option<String>,
    /// Switching mode: a JSON object of what one hash of each algorithm is worth, e.g.
    /// `{"cn/r": 1.0, "cn-pico": 0.02}`. A miner that reports algo-perf gets the best-paying
    /// algorithm; the file is read again whenever it changes.
    #[arg(long, value_name = "FILE")]
    pub algo_values: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Per-thread hash rate over time, shares, submit RTT, reconnects, gaps.
    Report {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Every event, one per line.
    Dump { file: PathBuf },
}

/// Which cards, and how the host reaches them: the same flags for `run` and the card commands.
#[derive(Debug, Args, Clone)]
pub struct CardReach {
    /// A card: mic0, local, root@172.31.1.1, user@host:port. Repeatable. None: every MPSS card
    /// (and, for `run`, none of those: this machine mines alone against the built-in pool).
    #[arg(long = "card")]
    pub cards: Vec<String>,
    /// Root of the sysfs tree MPSS cards appear in.
    #[arg(long, default_value = "/sys")]
    pub sysfs_root: PathBuf,
    /// Root of /etc (MPSS keeps micN.conf under etc/mpss).
    #[arg(long, default_value = "/etc")]
    pub etc_root: PathBuf,
    /// SSH user for MPSS cards.
    #[arg(long, default_value = "root")]
    pub ssh_user: String,
    /// Extra ssh option (e.g. `-i KEY`, `-oUserKnownHostsFile=…`); repeatable.
    #[arg(long = "ssh-arg", allow_hyphen_values = true)]
    pub ssh_args: Vec<String>,
    /// Agent HTTP port on each card.
    #[arg(long, default_value_t = 8640)]
    pub agent_port: u16,
}

/// Which cards a card command acts on, and how to reach them.
#[derive(Debug, Args, Clone)]
pub struct CardArgs {
    #[command(flatten)]
    pub reach: CardReach,
    /// API token for the agents (or PHIRIG_HTTP_TOKEN).
    #[arg(
        long = "http-access-token",
        env = "PHIRIG_HTTP_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
    /// Config file (TOML, or JSON when it ends in .json); a flag given on the command line wins.
    #[arg(short = 'c', long = "config")]
    pub config: Option<PathBuf>,
}

/// `phirig upgrade [--binary PATH] [CARD…]`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub cards: CardArgs,
    /// The new agent (default: `phirig-agent` beside `phirig`, else `phirig` itself).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Cards, as with --card.
    #[arg(value_name = "CARD")]
    pub card_names: Vec<String>,
    /// Send with plain copies only.
    #[arg(long)]
    pub no_zerocopy: bool,
    /// Seconds each agent has to come back as the new build.
    #[arg(long, default_value_t = 60)]
    pub restart_timeout: u64,
}

/// What `phirig deploy` starts on each card.
#[derive(Debug, Args, Clone)]
pub struct DeployArgs {
    #[command(flatten)]
    pub cards: CardArgs,
    /// The agent binary to copy (default: `phirig-agent` beside `phirig`, else `phirig` itself).
    #[arg(long)]
    pub binary: Option<PathBuf>,
    /// Directory on the card.
    #[arg(long, default_value = "/var/lib/phirig")]
    pub remote_dir: String,
    /// Pool for the agents; repeat for failover (required here or in the config file).
    #[arg(short = 'o', long = "url")]
    pub url: Vec<String>,
    #[arg(short = 'u', long = "user", default_value = "phirig")]
    pub user: String,
    #[arg(short = 'p', long = "pass", default_value = "x")]
    pub pass: String,
    #[arg(short = 'a', long = "algo")]
    pub algo: Option<String>,
}
