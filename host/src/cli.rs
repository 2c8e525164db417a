//! Every `phirig` flag, in one place (clap derive).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Worker threads on the local card.
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// Force the software AES path.
    #[arg(long)]
    pub no_aesni: bool,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    pub seconds: Option<u64>,
    /// Seconds between status refreshes.
    #[arg(long, default_value_t = 2)]
    pub refresh: u64,
    #[command(flatten)]
    pub http: HttpArgs,
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
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[arg(short = 'a', long = "algo", default_value = "cn/0")]
    pub algo: String,
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    #[arg(long)]
    pub json: bool,
    /// Directory the agent was deployed to on remote cards.
    #[arg(long, default_value = "/var/lib/phirig")]
    pub remote_dir: String,
    #[command(flatten)]
    pub cards: CardArgs,
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
    /// Block height sent with jobs (cn/r needs one).
    #[arg(long)]
    pub height: Option<u64>,
    #[arg(long, default_value_t = 1000)]
    pub difficulty: u64,
    /// Fault to inject (tests): silent-after-login, stop-reading, reset, garbage, oversized, …
    #[arg(long)]
    pub fault: Option<String>,
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

/// Which cards a card command acts on, and how to reach them.
#[derive(Debug, Args, Clone)]
pub struct CardArgs {
    /// A card: mic0, local, root@172.31.1.1, user@host:port. Repeatable. None: every MPSS card.
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
    /// API token for the agents (or PHIRIG_HTTP_TOKEN).
    #[arg(
        long = "http-access-token",
        env = "PHIRIG_HTTP_TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,
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
    /// Pool for the agents; repeat for failover.
    #[arg(short = 'o', long = "url", required = true)]
    pub url: Vec<String>,
    #[arg(short = 'u', long = "user", default_value = "phirig")]
    pub user: String,
    #[arg(short = 'p', long = "pass", default_value = "x")]
    pub pass: String,
    #[arg(short = 'a', long = "algo")]
    pub algo: Option<String>,
}
