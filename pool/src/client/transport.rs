//! Connecting to a pool (TCP, optional TLS) and the read/write halves the connection loop uses.
//!
//! Plain TCP reads go through `recvmsg` on the raw fd under tokio's readiness so the kernel's
//! receive timestamp comes with the bytes. TLS reads cannot carry one (the TLS layer reads
//! ahead and decrypts), so TLS falls back to user-space stamps; the stats say so.

use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio_rustls::client::TlsStream;

use crate::latency::{enable_rx_timestamps, recv_with_timestamp};
use crate::protocol::PoolUrl;
use crate::session::HangCause;

use super::tls::{client_config, fingerprint};

/// Reading side of a pool connection.
pub enum Reader {
    Plain(Arc<TcpStream>),
    Tls(ReadHalf<TlsStream<TcpStream>>),
}

/// Writing side of a pool connection.
pub enum Writer {
    Plain(Arc<TcpStream>),
    Tls {
        half: WriteHalf<TlsStream<TcpStream>>,
        /// Plaintext accepted by rustls that may not be on the socket yet.
        needs_flush: bool,
    },
}

/// What a connection reached: the pool's address and, over TLS, what was negotiated (the
/// `ip`, `tls` and `tls-fingerprint` of an xmrig-style summary).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub ip: IpAddr,
    pub tls: Option<TlsLink>,
}

/// The negotiated TLS version and the pool certificate's SHA-256 fingerprint (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsLink {
    /// `TLSv1.2` or `TLSv1.3`.
    pub version: String,
    pub fingerprint: String,
}

impl Link {
    /// The TLS version, `None` over plain TCP.
    pub fn tls_version(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.version.as_str())
    }

    /// The pool certificate's fingerprint, `None` over plain TCP.
    pub fn tls_fingerprint(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.fingerprint.as_str())
    }
}

/// A negotiated protocol version as miners print it.
fn version_name(v: rustls::ProtocolVersion) -> String {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLSv1.2".into(),
        rustls::ProtocolVersion::TLSv1_3 => "TLSv1.3".into(),
        other => format!("{other:?}"),
    }
}

/// Connect (and handshake) within `timeout`; errors are already the hang cause to report.
pub async fn connect(
    url: &PoolUrl,
    tls_pin: Option<&str>,
    send_buffer: Option<u32>,
    timeout: Duration,
) -> Result<(Reader, Writer, Link), HangCause> {
    match tokio::time::timeout(timeout, connect_inner(url, tls_pin, send_buffer)).await {
        Ok(r) => r,
        Err(_) => Err(HangCause::ConnectTimeout),
    }
}

async fn connect_inner(
    url: &PoolUrl,
    tls_pin: Option<&str>,
    send_buffer: Option<u32>,
) -> Result<(Reader, Writer, Link), HangCause> {
    let failed = |e: io::Error| HangCause::ConnectFailed(e.to_string());
    let mut last_err = None;
    let addrs = tokio::net::lookup_host(url.authority())
        .await
        .map_err(failed)?;
    let mut stream = None;
    for addr in addrs {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(failed)?;
        if let Some(size) = send_buffer {
            socket.set_send_buffer_size(size).map_err(failed)?;
        }
        match socket.connect(addr).await {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let stream = match stream {
        Some(s) => s,
        None => {
            return Err(HangCause::ConnectFailed(
                last_err.map_or_else(|| "no address".into(), |e| e.to_string()),
            ))
        }
    };
    stream.set_nodelay(true).map_err(failed)?;
    let ip = stream.peer_addr().map_err(failed)?.ip();
    if !url.tls {
        // Best effort: without it we simply fall back to user-space receive stamps.
        if let Err(e) = enable_rx_timestamps(stream.as_raw_fd()) {
            tracing::debug!(error = %e, "SO_TIMESTAMPNS unavailable");
        }
        let stream = Arc::new(stream);
        let link = Link { ip, tls: None };
        return Ok((Reader::Plain(stream.clone()), Writer::Plain(stream), link));
    }
    let config = client_config(tls_pin).map_err(|e| HangCause::Tls(e.to_string()))?;
    let name = rustls::pki_types::ServerName::try_from(url.host.clone())
        .map_err(|e| HangCause::Tls(format!("bad server name {:?}: {e}", url.host)))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| HangCause::Tls(e.to_string()))?;
    let session = tls.get_ref().1;
    let link = Link {
        ip,
        tls: Some(TlsLink {
            version: session
                .protocol_version()
                .map_or_else(|| "TLS".into(), version_name),
            fingerprint: session
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map_or_else(String::new, |cert| hex::encode(fingerprint(cert))),
        }),
    };
    let (r, w) = tokio::io::split(tls);
    Ok((
        Reader::Tls(r),
        Writer::Tls {
            half: w,
            needs_flush: false,
        },
        link,
    ))
}

impl Reader {
    /// Read some bytes: count, and the kernel receive stamp when there is one. Cancel-safe.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<(usize, Option<SystemTime>)> {
        match self {
            Reader::Plain(s) => loop {
                s.readable().await?;
                let fd = s.as_raw_fd();
                match s.try_io(tokio::io::Interest::READABLE, || {
                    recv_with_timestamp(fd, buf)
                }) {
                    Ok(r) => return Ok(r),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            },
            Reader::Tls(r) => Ok((r.read(buf).await?, None)),
        }
    }
}

impl Writer {
    /// Whether there is anything to push even with no new bytes (buffered TLS records).
    pub fn needs_flush(&self) -> bool {
        matches!(
            self,
            Writer::Tls {
                needs_flush: true,
                ..
            }
        )
    }

    /// Write part of `data` (or, with `data` empty, flush TLS). Returns bytes taken. Cancel-safe:
    /// a cancelled call took nothing.
    pub async fn progress(&mut self, data: &[u8]) -> io::Result<usize> {
        match self {
            Writer::Plain(s) => loop {
                if data.is_empty() {
                    return Ok(0);
                }
                s.writable().await?;
                match s.try_write(data) {
                    Ok(n) => return Ok(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => return Err(e),
                }
            },
            Writer::Tls { half, needs_flush } => {
                if data.is_empty() {
                    half.flush().await?;
                    *needs_flush = false;
                    return Ok(0);
                }
                let n = half.write(data).await?;
                *needs_flush = true;
                Ok(n)
            }
        }
    }
}
