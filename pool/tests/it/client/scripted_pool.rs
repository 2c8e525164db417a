//! A tiny scripted pool on loopback: each connection plays a list of steps (answer, stall, reset,
//! garbage), so every fault a real pool can show is reproducible.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use phirig_pool::client::{ClientConfig, FoundShare, Job, PoolConfig, PoolUrl, Timeouts};
use phirig_pool::protocol::{ClientMessage, JobParams, LoginResult, Response, ServerMessage};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::events::{LIMIT, SEC};

/// What one connection of the test pool does, in order.
#[derive(Clone, Debug)]
pub enum Step {
    /// Wait for `login`, answer with this job id and extensions.
    Login(&'static str, &'static [&'static str]),
    /// Answer logins, submits and keepalives until the client goes away.
    Serve,
    /// Read and ignore everything.
    Silent,
    /// Never read again; hold the socket open.
    StopReading,
    /// Close with RST.
    Reset,
    Raw(String),
    /// Send bytes one at a time with this pause between them.
    Drip(String, Duration),
    /// Wait for one line from the client and ignore it.
    AwaitLine,
    Sleep(Duration),
}

#[derive(Default, Debug)]
pub struct PoolLog {
    pub connections: usize,
    pub submits: Vec<(String, u32)>,
}

pub struct TestPool {
    pub addr: SocketAddr,
    pub log: Arc<Mutex<PoolLog>>,
}

impl TestPool {
    /// A pool on 127.0.0.1 where connection `k` plays `scripts[min(k, last)]`.
    pub async fn start(scripts: Vec<Vec<Step>>) -> TestPool {
        Self::serve(
            TcpListener::bind("127.0.0.1:0").await.unwrap(),
            scripts,
            None,
        )
    }

    pub fn serve(
        listener: TcpListener,
        scripts: Vec<Vec<Step>>,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> TestPool {
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(Mutex::new(PoolLog::default()));
        let log2 = log.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let n = {
                    let mut l = log2.lock().unwrap();
                    l.connections += 1;
                    l.connections - 1
                };
                let steps = scripts[n.min(scripts.len() - 1)].clone();
                let log = log2.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        None => {
                            if let Some(s) = play(stream, steps, n, log).await {
                                let _ = s.set_zero_linger();
                            }
                        }
                        Some(acceptor) => {
                            if let Ok(s) = acceptor.accept(stream).await {
                                play(s, steps, n, log).await;
                            }
                        }
                    }
                });
            }
        });
        TestPool { addr, log }
    }

    pub fn url(&self) -> PoolUrl {
        PoolUrl::parse(&format!("stratum+tcp://{}", self.addr)).unwrap()
    }

    pub fn connections(&self) -> usize {
        self.log.lock().unwrap().connections
    }

    pub fn submits(&self) -> Vec<(String, u32)> {
        self.log.lock().unwrap().submits.clone()
    }
}

fn job_params(job_id: &str) -> JobParams {
    JobParams {
        blob: "00".repeat(76),
        job_id: job_id.into(),
        target: "b88d0600".into(),
        algo: Some("cn/r".into()),
        height: Some(100),
        seed_hash: None,
        next_seed_hash: None,
        id: None,
        nonce_range: None,
    }
}

fn login_reply(id: u64, job_id: &str, extensions: &[&str]) -> String {
    let result = LoginResult {
        id: "sess".into(),
        job: Some(job_params(job_id)),
        status: "OK".into(),
        extensions: extensions.iter().map(|e| e.to_string()).collect(),
    };
    ServerMessage::Response(Response::ok(id, &result)).encode()
}

/// Play a script on one connection. Returns the stream if the script asked for a reset.
async fn play<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    steps: Vec<Step>,
    conn: usize,
    log: Arc<Mutex<PoolLog>>,
) -> Option<S> {
    let mut io = BufReader::new(stream);
    let mut line = String::new();
    for step in steps {
        match step {
            Step::Login(job, ext) => loop {
                line.clear();
                if io.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                if let Ok(ClientMessage::Login { id, .. }) = ClientMessage::parse(&line) {
                    io.get_mut()
                        .write_all(login_reply(id, job, ext).as_bytes())
                        .await
                        .ok()?;
                    break;
                }
            },
            Step::Serve => loop {
                line.clear();
                if io.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
                let reply = match ClientMessage::parse(&line) {
                    Ok(ClientMessage::Login { id, .. }) => {
                        login_reply(id, &format!("serve-{conn}"), &[])
                    }
                    Ok(ClientMessage::Submit { id, params }) => {
                        let nonce = params.nonce_u32().unwrap_or(0);
                        log.lock().unwrap().submits.push((params.job_id, nonce));
                        ServerMessage::Response(Response::status(id, "OK")).encode()
                    }
                    Ok(ClientMessage::Keepalived { id, .. }) => {
                        ServerMessage::Response(Response::status(id, "KEEPALIVED")).encode()
                    }
                    Err(_) => continue,
                };
                io.get_mut().write_all(reply.as_bytes()).await.ok()?;
            },
            Step::Silent => loop {
                line.clear();
                if io.read_line(&mut line).await.ok()? == 0 {
                    return None;
                }
            },
            Step::StopReading => tokio::time::sleep(LIMIT * 2).await,
            Step::Reset => return Some(io.into_inner()),
            Step::Raw(s) => io.get_mut().write_all(s.as_bytes()).await.ok()?,
            Step::Drip(s, pause) => {
                for b in s.bytes() {
                    io.get_mut().write_all(&[b]).await.ok()?;
                    tokio::time::sleep(pause).await;
                }
            }
            Step::AwaitLine => {
                line.clear();
                io.read_line(&mut line).await.ok()?;
            }
            Step::Sleep(d) => tokio::time::sleep(d).await,
        }
    }
    None
}

fn fast_timeouts() -> Timeouts {
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

pub fn config(urls: &[PoolUrl]) -> ClientConfig {
    let pools = urls
        .iter()
        .map(|u| PoolConfig::new(u.clone(), "wallet"))
        .collect();
    let mut cfg = ClientConfig::new(pools, "phirig-test", vec!["cn/r".into()]);
    cfg.timeouts = fast_timeouts();
    cfg
}

pub fn share(job: &Job, nonce: u32) -> FoundShare {
    FoundShare::for_job(job, nonce, [0x11; 32])
}
