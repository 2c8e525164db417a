//! The merge: a config file's values fill every option the command line did not give.
//! "Given" is clap's `ValueSource::CommandLine` (or the option's environment variable), so a flag
//! typed with its default value still wins over the file.

use clap::parser::ValueSource;
use clap::ArgMatches;

use super::card_set::{CardKey, CardSetting};
use super::file::{ConfigFile, PoolEntry};
use super::load;
use crate::cli::{BenchArgs, CardArgs, CardReach, Command, DeployArgs, RunArgs};
use crate::HostError;

fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Takes the file's value for `id` unless the command line gave one.
fn fill<T>(m: &ArgMatches, id: &str, field: &mut T, file: Option<T>) {
    if let Some(v) = file {
        if !given(m, id) {
            *field = v;
        }
    }
}

/// Loads the command's `--config` (if any) and fills the arguments from it. `matches` are the
/// top-level matches the command was parsed from.
pub fn apply(command: &mut Command, matches: &ArgMatches) -> Result<(), HostError> {
    let Some((_, m)) = matches.subcommand() else {
        return Ok(());
    };
    match command {
        Command::Run(args) => {
            if let Some(path) = args.config.clone() {
                run(args, &load(&path)?, m);
            }
            check_run(args)
        }
        Command::Bench(args) => {
            if let Some(path) = args.cards.config.clone() {
                bench(args, &load(&path)?, m);
            }
            Ok(())
        }
        Command::Upgrade(args) => {
            if let Some(path) = args.cards.config.clone() {
                cards(&mut args.cards, &load(&path)?, m);
            }
            Ok(())
        }
        Command::Cards { cards: args, .. } | Command::Stop(args) | Command::Status(args) => {
            if let Some(path) = args.config.clone() {
                cards(args, &load(&path)?, m);
            }
            Ok(())
        }
        Command::Deploy(args) | Command::Restart(args) => {
            if let Some(path) = args.cards.config.clone() {
                deploy(args, &load(&path)?, m);
            }
            if args.url.is_empty() {
                return Err(HostError::Usage(
                    "the agents need a pool: give -o URL or [[pools]] in the config file".into(),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn targets(f: &ConfigFile) -> Option<Vec<String>> {
    (!f.cards.is_empty()).then(|| f.cards.iter().map(|c| c.target.clone()).collect())
}

/// The card list and `[discovery]`: how every command that reaches cards finds them.
fn reach(r: &mut CardReach, f: &ConfigFile, m: &ArgMatches) {
    fill(m, "cards", &mut r.cards, targets(f));
    fill(
        m,
        "sysfs_root",
        &mut r.sysfs_root,
        f.discovery.sysfs_root.clone(),
    );
    fill(m, "etc_root", &mut r.etc_root, f.discovery.etc_root.clone());
    fill(m, "ssh_user", &mut r.ssh_user, f.discovery.ssh_user.clone());
    fill(m, "ssh_args", &mut r.ssh_args, f.discovery.ssh_args.clone());
    fill(m, "agent_port", &mut r.agent_port, f.discovery.agent_port);
}

fn cards(a: &mut CardArgs, f: &ConfigFile, m: &ArgMatches) {
    reach(&mut a.reach, f, m);
    let token = f.http.access_token.as_ref().map(|t| Some(t.0.clone()));
    fill(m, "token", &mut a.token, token);
}

fn bench(a: &mut BenchArgs, f: &ConfigFile, m: &ArgMatches) {
    cards(&mut a.cards, f, m);
    fill(m, "algo", &mut a.algo, f.algo.clone());
    fill(m, "threads", &mut a.threads, f.agent.threads.map(Some));
    fill(
        m,
        "intensity",
        &mut a.intensity,
        f.agent.intensity.map(Some),
    );
    fill(
        m,
        "remote_dir",
        &mut a.remote_dir,
        f.agent.remote_dir.clone(),
    );
}

fn deploy(a: &mut DeployArgs, f: &ConfigFile, m: &ArgMatches) {
    cards(&mut a.cards, f, m);
    fill(m, "binary", &mut a.binary, f.agent.binary.clone().map(Some));
    fill(
        m,
        "remote_dir",
        &mut a.remote_dir,
        f.agent.remote_dir.clone(),
    );
    fill(m, "algo", &mut a.algo, f.algo.clone().map(Some));
    // Agents deployed standalone take one login for all pools: the first pool's.
    if let Some(first) = f.pools.first() {
        fill(
            m,
            "url",
            &mut a.url,
            Some(f.pools.iter().map(|p| p.url.clone()).collect()),
        );
        fill(m, "user", &mut a.user, first.user.clone());
        fill(m, "pass", &mut a.pass, first.pass.clone());
    }
}

fn run(a: &mut RunArgs, f: &ConfigFile, m: &ArgMatches) {
    fill(m, "algo", &mut a.algo, f.algo.clone());
    fill(m, "difficulty", &mut a.difficulty, f.difficulty);
    fill(m, "threads", &mut a.threads, f.agent.threads.map(Some));
    fill(m, "no_aesni", &mut a.no_aesni, f.agent.no_aesni);

    let h = &mut a.http;
    fill(m, "http_host", &mut h.http_host, f.http.host);
    fill(m, "http_port", &mut h.http_port, f.http.port);
    let token = f.http.access_token.as_ref().map(|t| Some(t.0.clone()));
    fill(m, "http_access_token", &mut h.http_access_token, token);
    fill(
        m,
        "restricted_read",
        &mut h.restricted_read,
        f.http.restricted,
    );

    let r = &mut a.rig;
    reach(&mut r.reach, f, m);
    fill(m, "binary", &mut r.binary, f.agent.binary.clone().map(Some));
    fill(
        m,
        "remote_dir",
        &mut r.remote_dir,
        f.agent.remote_dir.clone(),
    );

    let t = &mut a.tuning;
    let to = &mut t.timeouts;
    fill(
        m,
        "response_timeout",
        &mut to.response_timeout,
        f.timeouts.response.map(Some),
    );
    fill(
        m,
        "idle_timeout",
        &mut to.idle_timeout,
        f.timeouts.idle.map(Some),
    );
    fill(
        m,
        "connect_timeout",
        &mut to.connect_timeout,
        f.timeouts.connect.map(Some),
    );
    fill(
        m,
        "retry_pause",
        &mut to.retry_pause,
        f.timeouts.retry_pause.map(Some),
    );
    fill(
        m,
        "intensity",
        &mut t.intensity,
        f.agent.intensity.map(Some),
    );
    let w = &f.watchdog;
    fill(
        m,
        "watchdog_restart_below",
        &mut t.watchdog_restart_below,
        w.restart_below.map(Some),
    );
    fill(
        m,
        "watchdog_minutes",
        &mut t.watchdog_minutes,
        w.minutes.map(Some),
    );
    fill(
        m,
        "watchdog_backoff",
        &mut t.watchdog_backoff,
        w.backoff.map(Some),
    );
    // Per-card settings: the file's first, so a `--card-set` for the same card and key wins.
    let mut settings = file_card_settings(f);
    settings.append(&mut t.card_set);
    t.card_set = settings;

    run_pools(a, f, m);
}

fn file_card_settings(f: &ConfigFile) -> Vec<CardSetting> {
    let mut out = Vec::new();
    for c in &f.cards {
        let set = |key, value: Option<f64>| {
            value.map(|value| CardSetting {
                card: c.target.clone(),
                key,
                value,
            })
        };
        out.extend(set(CardKey::Threads, c.threads.map(|t| t as f64)));
        out.extend(set(CardKey::Benchmark, c.benchmark));
        out.extend(set(CardKey::AgentPort, c.agent_port.map(f64::from)));
    }
    out
}

/// `-o` on the command line replaces the file's pool list; otherwise the file's pools are used,
/// with any pool flag given applied to every one of them.
fn run_pools(a: &mut RunArgs, f: &ConfigFile, m: &ArgMatches) {
    if given(m, "url") || f.pools.is_empty() {
        return;
    }
    let t = &a.tuning;
    let pools: Vec<PoolEntry> = f
        .pools
        .iter()
        .map(|p| PoolEntry {
            url: p.url.clone(),
            // A flag wins; else the pool's own; else the flag's default (as xmrig's "x").
            user: Some(if given(m, "user") {
                a.user.clone()
            } else {
                p.user.clone().unwrap_or_else(|| a.user.clone())
            }),
            pass: Some(if given(m, "pass") {
                a.pass.clone()
            } else {
                p.pass.clone().unwrap_or_else(|| a.pass.clone())
            }),
            nicehash: p.nicehash || t.nicehash,
            tls: p.tls || t.tls,
            tls_fingerprint: if given(m, "tls_fingerprint") {
                t.tls_fingerprint.clone()
            } else {
                p.tls_fingerprint.clone()
            },
        })
        .collect();
    // The plain fields say the same for code that reads only them.
    a.url = pools.iter().map(|p| p.url.clone()).collect();
    if let Some(first) = pools.first() {
        fill(m, "user", &mut a.user, first.user.clone());
        fill(m, "pass", &mut a.pass, first.pass.clone());
    }
    a.tuning.pools = pools;
}

/// Values no parser could refuse on its own (ranges across flags and file).
pub fn check_run(a: &RunArgs) -> Result<(), HostError> {
    let t = &a.tuning;
    let usage = |s: &str| Err(HostError::Usage(s.into()));
    if let Some(k) = t.intensity {
        k.check_max(phirig_agent::worker::MAX_INTENSITY)
            .map_err(HostError::Intensity)?;
    }
    if t.watchdog_restart_below
        .is_some_and(|r| !(r > 0.0 && r <= 1.0))
    {
        return usage("--watchdog-restart-below must be a fraction in (0, 1]");
    }
    if t.watchdog_minutes
        .is_some_and(|v| !(v.is_finite() && v > 0.0))
    {
        return usage("--watchdog-minutes must be positive");
    }
    if let Some(fp) = &t.tls_fingerprint {
        phirig_pool::client::parse_fingerprint(fp).map_err(HostError::Fingerprint)?;
    }
    if a.http.restricted_read && a.http.http_access_token.as_deref().unwrap_or("").is_empty() {
        return usage("--restricted-read needs --http-access-token");
    }
    Ok(())
}
