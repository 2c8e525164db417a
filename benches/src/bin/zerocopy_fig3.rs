//! The shape of the MSG_ZEROCOPY paper's Figure 3: CPU time to send 1 GiB over TCP with copies
//! vs. zero-copy, per send size, across a veth pair between two network namespaces this bench
//! creates (root), or over loopback (`--loopback`, any user).

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use phirig_deploy::zerocopy::{SendOptions, SharedBuf, ZcSender, ZcStats};

const TX_NS: &str = "phirig-zc-tx";
const RX_NS: &str = "phirig-zc-rx";
const TX_IP: &str = "10.231.0.1";
const RX_IP: &str = "10.231.0.2";
const PORT: u16 = 47_311;
/// The buffer sends cycle through (never written while sending).
const BUF_LEN: usize = 64 << 20;

#[derive(Parser, Debug)]
struct Args {
    /// Loopback in this namespace instead of a veth pair between two new namespaces.
    #[arg(long)]
    loopback: bool,
    /// MiB sent per (size, mode).
    #[arg(long, default_value_t = 1024)]
    total_mib: u64,
    /// Send sizes in KiB.
    #[arg(long, value_delimiter = ',', default_value = "4,16,64,256,1024")]
    sizes_kib: Vec<usize>,
    /// Internal: run as the receiver on this address.
    #[arg(long, hide = true)]
    receiver: Option<SocketAddr>,
    /// Internal: run the sender side against this address.
    #[arg(long, hide = true)]
    sender: Option<SocketAddr>,
}

/// Accepts connections forever and discards what arrives.
fn receive(addr: SocketAddr) -> std::io::Result<()> {
    let l = TcpListener::bind(addr)?;
    for c in l.incoming() {
        let mut c = c?;
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 20];
            while matches!(c.read(&mut buf), Ok(n) if n > 0) {}
        });
    }
    Ok(())
}

/// User + system CPU time of the calling thread.
fn thread_cpu() -> (Duration, Duration) {
    // SAFETY: rusage is plain integers and timevals, for which all zeros is valid.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own and keeps no pointer to it.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) };
    let d = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    (d(u.ru_utime), d(u.ru_stime))
}

#[derive(Debug)]
struct Run {
    user: Duration,
    sys: Duration,
    wall: Duration,
    stats: ZcStats,
}

fn send_once(addr: SocketAddr, buf: &SharedBuf, total: u64, size: usize, zc: bool) -> Run {
    let stream = TcpStream::connect(addr).expect("connect to receiver");
    let opts = SendOptions {
        zerocopy: zc,
        threshold: 0,
        chunk: size,
        completion_timeout: Duration::from_secs(30),
        stop_on_copied: false,
    };
    let (u0, s0) = thread_cpu();
    let t0 = Instant::now();
    let mut s = ZcSender::new(stream, buf.clone(), opts);
    let mut left = total;
    while left > 0 {
        let n = left.min(BUF_LEN as u64) as usize;
        s.send_range(0, n, &mut |_| {}).expect("send");
        left -= n as u64;
    }
    let (_stream, stats) = s.finish().expect("completions");
    let wall = t0.elapsed();
    let (u1, s1) = thread_cpu();
    Run {
        user: u1 - u0,
        sys: s1 - s0,
        wall,
        stats,
    }
}

fn run_sender(addr: SocketAddr, args: &Args) {
    let buf: SharedBuf = Arc::new(vec![0x5au8; BUF_LEN]);
    let total = args.total_mib << 20;
    println!(
        "| send size | copy CPU s (user+sys) | zero-copy CPU s | zc / copy | copy Gbit/s | zc Gbit/s | zc sends | reported copied | completions |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &kib in &args.sizes_kib {
        let size = kib * 1024;
        // Warm up the path once (ARP, socket buffers) so the first row is not penalised.
        let _ = send_once(addr, &buf, 16 << 20, size, false);
        let copy = send_once(addr, &buf, total, size, false);
        let zc = send_once(addr, &buf, total, size, true);
        let cpu = |r: &Run| (r.user + r.sys).as_secs_f64();
        let gbit = |r: &Run| total as f64 * 8.0 / r.wall.as_secs_f64() / 1e9;
        println!(
            "| {kib} KiB | {:.3} ({:.3}+{:.3}) | {:.3} ({:.3}+{:.3}) | {:.2} | {:.1} | {:.1} | {} | {} | {} |",
            cpu(&copy),
            copy.user.as_secs_f64(),
            copy.sys.as_secs_f64(),
            cpu(&zc),
            zc.user.as_secs_f64(),
            zc.sys.as_secs_f64(),
            cpu(&zc) / cpu(&copy).max(1e-9),
            gbit(&copy),
            gbit(&zc),
            zc.stats.zc_sends,
            zc.stats.copied,
            zc.stats.completions,
        );
        assert_eq!(
            zc.stats.completions, zc.stats.zc_sends,
            "every zero-copy send completed"
        );
    }
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// The two namespaces and their veth pair; removed on drop (deleting a namespace deletes its veth end).
struct Namespaces;

impl Namespaces {
    fn create() -> Result<Self, String> {
        let _ = Self::remove();
        let ns = Namespaces;
        ip(&["netns", "add", TX_NS])?;
        ip(&["netns", "add", RX_NS])?;
        ip(&[
            "link", "add", "zctx0", "netns", TX_NS, "type", "veth", "peer", "name", "zcrx0",
            "netns", RX_NS,
        ])?;
        for (n, dev, addr) in [(TX_NS, "zctx0", TX_IP), (RX_NS, "zcrx0", RX_IP)] {
            ip(&["-n", n, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            ip(&["-n", n, "link", "set", dev, "up"])?;
            ip(&["-n", n, "link", "set", "lo", "up"])?;
        }
        Ok(ns)
    }

    fn remove() -> Result<(), String> {
        let a = ip(&["netns", "del", TX_NS]);
        let b = ip(&["netns", "del", RX_NS]);
        a.and(b)
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        if let Err(e) = Self::remove() {
            eprintln!("cleanup: {e}");
        }
    }
}

/// Kills the receiver we started (by its pid) when the bench ends.
struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_listening(ns: Option<&str>, addr: SocketAddr) {
    for _ in 0..100 {
        let probe = match ns {
            Some(n) => Command::new("ip")
                .args(["netns", "exec", n, "ss", "-Hltn", &format!("src = {addr}")])
                .output()
                .map(|o| !o.stdout.is_empty())
                .unwrap_or(false),
            None => TcpStream::connect(addr).is_ok(),
        };
        if probe {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("receiver on {addr} never listened");
}

fn main() {
    let args = Args::parse();
    if let Some(addr) = args.receiver {
        if let Err(e) = receive(addr) {
            eprintln!("receiver: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Some(addr) = args.sender {
        run_sender(addr, &args);
        return;
    }
    let me = std::env::current_exe().expect("own path");
    let pass = [
        "--total-mib".to_string(),
        args.total_mib.to_string(),
        "--sizes-kib".to_string(),
        args.sizes_kib
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(","),
    ];
    let perf = Command::new("perf")
        .args(["stat", "-e", "cycles", "true"])
        .output()
        .map(|o| {
            o.status.success() && !String::from_utf8_lossy(&o.stderr).contains("not supported")
        })
        .unwrap_or(false);
    println!(
        "cycles: {}",
        if perf {
            "perf counters available (run the sender under `perf stat` for cycles)"
        } else {
            "perf counters not supported here; CPU time from getrusage(RUSAGE_THREAD)"
        }
    );
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if args.loopback || !root {
        if !args.loopback {
            println!("not root: measuring over loopback instead of veth");
        }
        let addr: SocketAddr = format!("127.0.0.1:{PORT}").parse().expect("addr");
        std::thread::spawn(move || receive(addr));
        wait_listening(None, addr);
        println!("path: loopback {addr}, {} MiB per row", args.total_mib);
        run_sender(addr, &args);
        return;
    }
    let ns = Namespaces::create().unwrap_or_else(|e| panic!("namespaces: {e}"));
    let rx_addr: SocketAddr = format!("{RX_IP}:{PORT}").parse().expect("addr");
    let receiver = Receiver(
        Command::new("ip")
            .args(["netns", "exec", RX_NS])
            .arg(&me)
            .args(["--receiver", &rx_addr.to_string()])
            .stdin(Stdio::null())
            .spawn()
            .expect("start receiver"),
    );
    wait_listening(Some(RX_NS), rx_addr);
    println!(
        "path: veth {TX_NS} {TX_IP} → {RX_NS} {rx_addr}, {} MiB per row",
        args.total_mib
    );
    let st = Command::new("ip")
        .args(["netns", "exec", TX_NS])
        .arg(&me)
        .args(["--sender", &rx_addr.to_string()])
        .args(pass)
        .status()
        .expect("run sender");
    drop(receiver);
    drop(ns);
    if !st.success() {
        std::process::exit(1);
    }
}
