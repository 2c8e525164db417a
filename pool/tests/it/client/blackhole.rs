//! A pool behind a blackholed route (root only): mid-session its packets vanish with no RST and no FIN, and the client must notice, fail over, and account for every share.
//!
//! Topology: a network namespace of our own with a veth pair into it. The primary pool runs in
//! this process but inside the namespace: a dedicated thread `setns`es into it and runs the
//! server on its own runtime, so its sockets live there and the client's packets really cross
//! the veth. The blackhole is an `iptables -j DROP` on INPUT and OUTPUT *inside* the namespace
//! (the host's firewall is never touched; `tc netem` is not used because many kernels lack it).
//! The secondary pool is on 127.0.0.1. Nothing here talks to any other address.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use phirig_pool::client::{
    ClientConfig, ClientEvent, FoundShare, HangCause, Job, PoolConfig, PoolUrl, ShareOutcome,
    Timeouts,
};
use phirig_pool::protocol::{NONCE_LEN, NONCE_OFFSET};
use phirig_pool::server::{PoolServer, ServerConfig, ServerHandle, Sha3ShareHasher, ShareHasher};
use tokio::sync::oneshot;

use super::events::{assert_books_balance, spawn, within, LIMIT, SEC};

// ---------------------------------------------------------------- the namespace

/// Why this host cannot run the test, if it cannot.
fn skip_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root (network namespaces and iptables need it)".into());
    }
    for (tool, flag) in [("ip", "-V"), ("iptables", "--version")] {
        match Command::new(tool).arg(flag).output() {
            Ok(out) if out.status.success() => {}
            _ => return Some(format!("`{tool}` is missing or broken")),
        }
    }
    if !std::path::Path::new("/proc/self/ns/net").exists() {
        return Some("kernel without network namespaces".into());
    }
    None
}

/// Run a command; its stderr becomes the error.
fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A namespace with a veth pair into it, named after our pid so parallel runs never collide.
/// Dropping it (also on panic) deletes the veth pair and the namespace, and with the namespace
/// its iptables rules.
struct Netns {
    name: String,
    host_if: String,
    ns_if: String,
    host_ip: Ipv4Addr,
    ns_ip: Ipv4Addr,
}

impl Netns {
    fn create() -> Result<Netns, String> {
        let pid = std::process::id();
        // A /24 no interface or route on this host uses yet: a per-pid pick, then the next ones.
        let addrs = run(&["ip", "-4", "-o", "addr", "show"])?;
        let routes = run(&["ip", "-4", "route", "show", "table", "all"])?;
        let octet = (0..150u32)
            .map(|i| 100 + (pid + i) % 150)
            .find(|o| {
                let prefix = format!("172.31.{o}.");
                !addrs.contains(&prefix) && !routes.contains(&prefix)
            })
            .ok_or("no free 172.31.x.0/24 subnet")?;
        let ns = Netns {
            name: format!("phirig-bh-{pid}"),
            // Interface names are limited to 15 bytes.
            host_if: format!("phbh{pid}h"),
            ns_if: format!("phbh{pid}n"),
            host_ip: Ipv4Addr::new(172, 31, octet as u8, 254),
            ns_ip: Ipv4Addr::new(172, 31, octet as u8, 1),
        };
        // From here on `ns` owns whatever got created, so a failed step still cleans up.
        let host_cidr = format!("{}/24", ns.host_ip);
        let ns_cidr = format!("{}/24", ns.ns_ip);
        run(&["ip", "netns", "add", &ns.name])?;
        run(&[
            "ip",
            "link",
            "add",
            &ns.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &ns.ns_if,
        ])?;
        run(&["ip", "link", "set", &ns.ns_if, "netns", &ns.name])?;
        run(&["ip", "addr", "add", &host_cidr, "dev", &ns.host_if])?;
        run(&["ip", "link", "set", &ns.host_if, "up"])?;
        ns.exec(&["ip", "addr", "add", &ns_cidr, "dev", &ns.ns_if])?;
        ns.exec(&["ip", "link", "set", &ns.ns_if, "up"])?;
        ns.exec(&["ip", "link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Run a command inside the namespace.
    fn exec(&self, args: &[&str]) -> Result<String, String> {
        let mut full = vec!["ip", "netns", "exec", &self.name];
        full.extend_from_slice(args);
        run(&full)
    }

    /// Silently drop every packet into and out of the namespace (or stop doing so). DROP, not
    /// REJECT: no RST, no ICMP, exactly what a dead route or a wedged middlebox looks like.
    fn blackhole(&self, on: bool) -> Result<(), String> {
        let op = if on { "-I" } else { "-D" };
        for chain in ["INPUT", "OUTPUT"] {
            self.exec(&["iptables", "-w", "5", op, chain, "-j", "DROP"])?;
        }
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting one end of a veth deletes both; deleting the namespace takes its rules along.
        // Errors are expected for whatever a failed setup never created.
        let _ = run(&["ip", "link", "del", &self.host_if]);
        let _ = run(&["ip", "netns", "del", &self.name]);
    }
}

/// The primary pool, running on a thread that lives inside the namespace. Dropping it stops
/// the server and lets the thread end (it also ends by itself after `4 * LIMIT`).
struct NsPool {
    handle: Option<ServerHandle>,
    stop: Option<oneshot::Sender<()>>,
}

impl NsPool {
    fn start(ns: &Netns, config: ServerConfig) -> Result<NsPool, String> {
        let path = format!("/run/netns/{}", ns.name);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop, stop_rx) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("blackhole-pool".into())
            .spawn(move || {
                let entered = File::open(&path)
                    .map_err(|e| format!("{path}: {e}"))
                    .and_then(|f| {
                        // SAFETY: a valid namespace fd; this switches only the calling thread,
                        // which exists for nothing else.
                        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
                        (rc == 0)
                            .then_some(())
                            .ok_or_else(|| format!("setns: {}", std::io::Error::last_os_error()))
                    });
                if let Err(e) = entered {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("runtime: {e}")));
                        return;
                    }
                };
                rt.block_on(async move {
                    // Sockets made on this thread, and those they accept, belong to the namespace.
                    let started = PoolServer::start(config, Arc::new(Sha3ShareHasher))
                        .await
                        .map_err(|e| e.to_string());
                    let _ = ready_tx.send(started);
                    // The server's tasks run on this runtime until told to stop (bounded).
                    let _ = tokio::time::timeout(4 * LIMIT, stop_rx).await;
                });
            })
            .map_err(|e| format!("thread: {e}"))?;
        let handle = ready_rx
            .recv_timeout(LIMIT)
            .map_err(|e| format!("pool thread: {e}"))??;
        Ok(NsPool {
            handle: Some(handle),
            stop: Some(stop),
        })
    }

    fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().expect("running")
    }

    async fn shutdown(mut self) {
        if let Some(h) = self.handle.take() {
            tokio::time::timeout(LIMIT, h.shutdown())
                .await
                .expect("primary shuts down in time");
        }
    }
}

impl Drop for NsPool {
    fn drop(&mut self) {
        // Dropping the handle tells the server to stop; the runtime thread then ends.
        self.handle.take();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

// ---------------------------------------------------------------- client helpers

/// Pools with difficulty 1 and no job timer: the test decides when jobs come.
fn pool_config(bind: SocketAddr) -> ServerConfig {
    ServerConfig {
        bind,
        start_difficulty: 1,
        min_difficulty: 1,
        vardiff: false,
        job_interval: Duration::ZERO,
        ..ServerConfig::default()
    }
}

/// Timeouts of a second or two; keepalives are held off so the hang is found by the submit.
fn timeouts() -> Timeouts {
    Timeouts {
        connect: SEC,
        response: SEC,
        idle: 10 * SEC,
        keepalive: 60 * SEC,
        // Held off: each case is found by the timer it is about, not by a liveness probe.
        liveness: 60 * SEC,
        write_stall: SEC,
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_millis(400),
        probe_interval: SEC,
    }
}

/// A share that meets `job`'s target with the test hasher, searching nonces from `start`.
fn valid_share(job: &Job, start: u32) -> FoundShare {
    let mut blob = job.blob.clone();
    for nonce in start..start + 1000 {
        blob[NONCE_OFFSET..NONCE_OFFSET + NONCE_LEN].copy_from_slice(&nonce.to_le_bytes());
        let hash = Sha3ShareHasher.hash("cn/0", &blob, 0).expect("sha3");
        if job.target.is_met_by(&hash) {
            return FoundShare::for_job(job, nonce, hash);
        }
    }
    panic!("no share in 1000 nonces at {:?}", job.target);
}

// ---------------------------------------------------------------- the test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blackholed_route_is_detected_and_failed_over() {
    if let Some(reason) = skip_reason() {
        eprintln!("skipping blackholed-route test: {reason}");
        return;
    }
    let ns = match Netns::create() {
        Ok(ns) => ns,
        // Root in a container may still lack CAP_NET_ADMIN / CAP_SYS_ADMIN.
        Err(e) => {
            eprintln!("skipping blackholed-route test: cannot set up the namespace: {e}");
            return;
        }
    };
    let primary = NsPool::start(&ns, pool_config(SocketAddr::from((ns.ns_ip, 0))))
        .expect("primary pool inside the namespace");
    let primary_addr = primary.handle().local_addr();
    assert_eq!(primary_addr.ip(), ns.ns_ip);
    let secondary = PoolServer::start(
        pool_config(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))),
        Arc::new(Sha3ShareHasher),
    )
    .await
    .expect("secondary pool on loopback");
    eprintln!(
        "namespace {} ({} <-> {}), veth {}/{}, primary {primary_addr}, secondary {}",
        ns.name,
        ns.host_ip,
        ns.ns_ip,
        ns.host_if,
        ns.ns_if,
        secondary.local_addr()
    );

    let urls = [
        format!("stratum+tcp://{primary_addr}"),
        format!("stratum+tcp://{}", secondary.local_addr()),
    ];
    let pools = urls
        .iter()
        .map(|u| PoolConfig::new(PoolUrl::parse(u).unwrap(), "wallet"))
        .collect();
    let mut cfg = ClientConfig::new(pools, "phirig-test", vec!["cn/0".into()]);
    cfg.timeouts = timeouts();
    let (handle, mut events) = spawn(cfg);

    // Logged in over the veth, with a job, and a share goes through end to end.
    let job = events.job_from(0).await;
    let first = handle.submit(valid_share(&job, 0));
    events
        .wait_for("first share accepted", |e| {
            matches!(e, ClientEvent::ShareOutcome { id, outcome: ShareOutcome::Accepted } if *id == first)
        })
        .await;
    assert_eq!(primary.handle().stats().accepted, 1);

    // One share right before the route dies (its reply may or may not make it), one right after.
    let before = handle.submit(valid_share(&job, 1000));
    ns.blackhole(true).expect("blackhole on");
    let blackholed_at = Instant::now();
    let after = handle.submit(valid_share(&job, 2000));

    let (ev, detected_at) = events
        .wait_for("disconnect from the primary", |e| {
            matches!(e, ClientEvent::Disconnected { pool: 0, .. })
        })
        .await;
    let ClientEvent::Disconnected { cause, .. } = ev else {
        unreachable!()
    };
    eprintln!("hang detected as: {cause}");
    assert!(
        matches!(
            cause,
            HangCause::ResponseTimeout { .. } | HangCause::WriteStalled | HangCause::IdleTimeout
        ),
        "{cause:?}"
    );
    let detection = detected_at - blackholed_at;
    within(detection, timeouts().response + SEC, "blackhole detected");

    let (job2, got_job_at) = events.job_at(1).await;
    within(
        got_job_at - detected_at,
        SEC,
        "failover to the secondary after detection",
    );
    within(
        got_job_at - blackholed_at,
        timeouts().response + 2 * SEC,
        "blackhole to mining on the secondary",
    );
    secondary.new_job();
    let job3 = events.job_from(1).await;
    assert_ne!(
        job3.job_id, job2.job_id,
        "the secondary keeps delivering jobs"
    );
    let on_secondary = handle.submit(valid_share(&job3, 0));
    events
        .wait_for("share accepted by the secondary", |e| {
            matches!(e, ClientEvent::ShareOutcome { id, outcome: ShareOutcome::Accepted } if *id == on_secondary)
        })
        .await;

    // The primary never heard that we left: no FIN or RST crossed the blackhole.
    let p = primary.handle().stats();
    assert_eq!(p.connections_active, 1, "{p:#?}");

    // Every share has exactly one outcome; the one sent into the blackhole is stale.
    events.settle(Duration::from_millis(500)).await;
    let outcomes = events.outcomes();
    for id in [first, before, after, on_secondary] {
        let got = outcomes.get(&id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(got.len(), 1, "share {id:?}: {got:?}");
    }
    assert!(
        matches!(
            outcomes[&before][0],
            ShareOutcome::Accepted | ShareOutcome::Stale(_)
        ),
        "{:?}",
        outcomes[&before]
    );
    eprintln!(
        "outcomes: before the blackhole {:?}, after it {:?}",
        outcomes[&before][0], outcomes[&after][0]
    );
    assert!(
        matches!(outcomes[&after][0], ShareOutcome::Stale(_)),
        "{:?}",
        outcomes[&after]
    );
    let stats = handle.stats();
    assert_eq!(stats.shares.in_flight, 0, "{:?}", stats.shares);
    assert_eq!(stats.shares.found, 4, "{:?}", stats.shares);
    assert_books_balance(&handle);
    assert_eq!(stats.current_pool, Some(1));

    // The route heals: the background probe finds the primary and mining returns to it.
    ns.blackhole(false).expect("blackhole off");
    events
        .wait_for("primary recovered", |e| {
            matches!(e, ClientEvent::PoolRecovered { pool: 0 })
        })
        .await;
    events.job_from(0).await;
    assert_books_balance(&handle);

    tokio::time::timeout(LIMIT, handle.shutdown(SEC))
        .await
        .expect("client shuts down in time");
    tokio::time::timeout(LIMIT, secondary.shutdown())
        .await
        .expect("secondary shuts down in time");
    primary.shutdown().await;
    drop(ns);
}
