//! Just enough HTTP/1.1 over a plain socket: a request head out, status + JSON body back.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Largest answer body read (the agent's answers are a few KiB).
const MAX_ANSWER: usize = 1 << 20;
const MAX_HEAD: usize = 64 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("malformed HTTP answer: {0}")]
    Malformed(String),
    #[error("connection closed before a complete answer")]
    Closed,
}

/// A response's status line and the headers we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub status: u16,
    pub content_length: Option<usize>,
    /// Bytes up to and including the blank line.
    pub len: usize,
}

/// Parses a response head from the start of `buf`; `Ok(None)` while it is incomplete.
pub fn parse_head(buf: &[u8]) -> Result<Option<Head>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        if buf.len() > MAX_HEAD {
            return Err(HttpError::Malformed("header section too long".into()));
        }
        return Ok(None);
    };
    let text = std::str::from_utf8(&buf[..end])
        .map_err(|_| HttpError::Malformed("head is not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut words = status_line.split_whitespace();
    let (Some(version), Some(code)) = (words.next(), words.next()) else {
        return Err(HttpError::Malformed(format!("status line {status_line:?}")));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed(format!("status line {status_line:?}")));
    }
    let status: u16 = code
        .parse()
        .map_err(|_| HttpError::Malformed(format!("status {code:?}")))?;
    let mut content_length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                let n = value
                    .trim()
                    .parse()
                    .map_err(|_| HttpError::Malformed(format!("Content-Length {value:?}")))?;
                content_length = Some(n);
            }
        }
    }
    Ok(Some(Head {
        status,
        content_length,
        len: end + 4,
    }))
}

/// A complete answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as JSON (`null` when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// The `error` field of a JSON error answer, else the body as text.
    pub fn message(&self) -> String {
        match self.json().get("error").and_then(|e| e.as_str()) {
            Some(m) => m.to_string(),
            None => String::from_utf8_lossy(&self.body)
                .chars()
                .take(200)
                .collect(),
        }
    }
}

/// Reads answers from one connection, keeping bytes that arrived past the current one.
pub struct AnswerReader {
    buf: Vec<u8>,
}

impl Default for AnswerReader {
    fn default() -> Self {
        Self::new()
    }
}

impl AnswerReader {
    pub fn new() -> Self {
        Self { buf: Vec::new() }
    }

    /// Reads the next answer (an interim `100 Continue` counts as one) before `deadline`.
    pub fn next(&mut self, stream: &mut TcpStream, deadline: Instant) -> Result<Answer, HttpError> {
        let head = loop {
            if let Some(h) = parse_head(&self.buf)? {
                break h;
            }
            self.fill(stream, deadline)?;
        };
        let want = match (head.status, head.content_length) {
            (100..=199 | 204 | 304, _) => 0,
            (_, Some(n)) if n <= MAX_ANSWER => n,
            (_, Some(n)) => return Err(HttpError::Malformed(format!("{n}-byte answer"))),
            // No length: the body runs to the end of the connection.
            (_, None) => usize::MAX,
        };
        loop {
            let have = self.buf.len() - head.len;
            if have >= want {
                break;
            }
            match self.fill(stream, deadline) {
                Ok(()) => {}
                Err(HttpError::Closed) if want == usize::MAX => break,
                Err(e) => return Err(e),
            }
            if have > MAX_ANSWER {
                return Err(HttpError::Malformed("answer too long".into()));
            }
        }
        let body_end = head.len + want.min(self.buf.len() - head.len);
        let body = self.buf[head.len..body_end].to_vec();
        self.buf.drain(..body_end);
        Ok(Answer {
            status: head.status,
            body,
        })
    }

    fn fill(&mut self, stream: &mut TcpStream, deadline: Instant) -> Result<(), HttpError> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(HttpError::Io(std::io::ErrorKind::TimedOut.into()));
        }
        stream.set_read_timeout(Some(left))?;
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Err(HttpError::Closed);
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// A request head; `extra` lines are `Name: value` without CRLF. The token goes in a header, never
/// in a URL or log line.
pub fn request_head(
    method: &str,
    path: &str,
    host: &SocketAddr,
    token: Option<&str>,
    extra: &[String],
) -> String {
    let mut h = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n");
    if let Some(t) = token {
        h.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for line in extra {
        h.push_str(line);
        h.push_str("\r\n");
    }
    h.push_str("\r\n");
    h
}

/// Connects with a time limit.
pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<TcpStream, HttpError> {
    let s = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|source| HttpError::Connect { addr, source })?;
    s.set_write_timeout(Some(Duration::from_secs(30)))?;
    Ok(s)
}

/// `GET path` and the whole answer.
pub fn get(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    timeout: Duration,
) -> Result<Answer, HttpError> {
    let deadline = Instant::now() + timeout;
    let mut s = connect(addr, timeout)?;
    s.write_all(request_head("GET", path, &addr, token, &[]).as_bytes())?;
    AnswerReader::new().next(&mut s, deadline)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_incrementally() {
        let full =
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        for cut in 0..full.len() - 2 {
            assert_eq!(
                parse_head(&full[..cut]).expect("partial"),
                None,
                "cut {cut}"
            );
        }
        let h = parse_head(full).expect("ok").expect("complete");
        assert_eq!(
            (h.status, h.content_length, h.len),
            (200, Some(2), full.len() - 2)
        );
        let cont = parse_head(b"HTTP/1.1 100 Continue\r\n\r\n")
            .expect("ok")
            .expect("head");
        assert_eq!((cont.status, cont.content_length), (100, None));
    }

    #[test]
    fn garbage_heads_are_errors() {
        for bad in [
            &b"SSH-2.0-OpenSSH\r\n\r\n"[..],
            b"HTTP/1.1 abc OK\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
            b"HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                parse_head(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(parse_head(&vec![b'a'; MAX_HEAD + 1]).is_err());
    }

    #[test]
    fn answers_are_read_from_a_real_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr");
        let server = std::thread::spawn(move || {
            let (mut c, _) = l.accept().expect("accept");
            let mut req = [0u8; 1024];
            let n = c.read(&mut req).expect("read");
            let req = String::from_utf8_lossy(&req[..n]).into_owned();
            c.write_all(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 403 Forbidden\r\nContent-Length: 17\r\n\r\n{\"error\":\"nope\"}\n")
                .expect("write");
            req
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut s = connect(addr, Duration::from_secs(5)).expect("connect");
        s.write_all(request_head("GET", "/x", &addr, Some("t0k"), &[]).as_bytes())
            .expect("write");
        let mut r = AnswerReader::new();
        assert_eq!(r.next(&mut s, deadline).expect("100").status, 100);
        let a = r.next(&mut s, deadline).expect("403");
        assert_eq!((a.status, a.message()), (403, "nope".to_string()));
        let req = server.join().expect("server");
        assert!(
            req.starts_with("GET /x HTTP/1.1\r\n") && req.contains("Authorization: Bearer t0k\r\n")
        );
    }
}
