//! Typed JSON-RPC messages in both directions, with `parse` and `encode` for each side.
//!
//! Parsing goes through `serde_json::Value` first so that one odd field gives a precise error
//! instead of a generic "did not match any variant", and so that harmless variations seen in
//! real pools (string ids, `error: null`, string errors) are accepted.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::algo_offer::AlgoOffer;
use super::error::ProtocolError;

/// JSON-RPC request id. We always send numbers; numeric strings are accepted on input.
pub type RequestId = u64;

/// `login` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginParams {
    pub login: String,
    #[serde(default)]
    pub pass: String,
    #[serde(default)]
    pub agent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rigid: Option<String>,
    /// `algo` (always sent, even empty), `algo-perf` and `algo-min-time`.
    #[serde(flatten)]
    pub offer: AlgoOffer,
}

/// `job` notification params, also embedded in the login result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobParams {
    /// Hashing blob, hex.
    pub blob: String,
    pub job_id: String,
    /// 8 or 16 hex digits, see [`super::Target`].
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algo: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed_hash: Option<String>,
    /// The next RandomX epoch's seed, when the pool knows it (p2pool and some pools send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_seed_hash: Option<String>,
    /// Some pools repeat the session id inside each job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// phirig extension (sent by the host's proxy to its cards): the half-open range of nonce
    /// counters `[start, end)` this miner may use. A counter is the nonce's low 24 bits; the top
    /// byte is the blob's byte 42, as in NiceHash mode. Absent from ordinary pools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce_range: Option<[u64; 2]>,
}

/// Result of a successful `login`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResult {
    /// Session id the pool expects back in every submit and keepalived.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobParams>,
    #[serde(default = "ok_status")]
    pub status: String,
    #[serde(default)]
    pub extensions: Vec<String>,
}

fn ok_status() -> String {
    "OK".into()
}

/// `submit` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitParams {
    /// Session id from the login result.
    pub id: String,
    pub job_id: String,
    /// 8 hex digits: the nonce as 4 little-endian bytes.
    pub nonce: String,
    /// 64 hex digits: the 32-byte hash.
    pub result: String,
    /// Only when the pool advertised the `algo` extension.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algo: Option<String>,
}

impl SubmitParams {
    /// Build from typed values, encoding the nonce little-endian as pools expect.
    pub fn new(
        session_id: &str,
        job_id: &str,
        nonce: u32,
        result: &[u8; 32],
        algo: Option<String>,
    ) -> Self {
        SubmitParams {
            id: session_id.into(),
            job_id: job_id.into(),
            nonce: hex::encode(nonce.to_le_bytes()),
            result: hex::encode(result),
            algo,
        }
    }

    /// The nonce as a number (from its little-endian hex).
    pub fn nonce_u32(&self) -> Result<u32, ProtocolError> {
        let bytes: [u8; 4] = decode_fixed(&self.nonce, "nonce")?;
        Ok(u32::from_le_bytes(bytes))
    }

    /// The claimed 32-byte hash.
    pub fn result_bytes(&self) -> Result<[u8; 32], ProtocolError> {
        decode_fixed(&self.result, "result")
    }
}

fn decode_fixed<const N: usize>(s: &str, field: &'static str) -> Result<[u8; N], ProtocolError> {
    let mut out = [0u8; N];
    if s.len() != 2 * N {
        return Err(ProtocolError::BadHex {
            field,
            reason: format!("need {} hex digits, got {}", 2 * N, s.len()),
        });
    }
    hex::decode_to_slice(s, &mut out).map_err(|e| ProtocolError::BadHex {
        field,
        reason: e.to_string(),
    })?;
    Ok(out)
}

/// `keepalived` params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeepalivedParams {
    pub id: String,
}

/// `{"status": "..."}`, the result of submit and keepalived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResult {
    pub status: String,
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

/// Server-sent `client.reconnect`: go to this host and port (after `wait` seconds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectParams {
    pub host: String,
    pub port: u16,
    pub wait: Option<u64>,
}

/// Messages a miner sends to a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    Login {
        id: RequestId,
        params: LoginParams,
    },
    Submit {
        id: RequestId,
        params: SubmitParams,
    },
    Keepalived {
        id: RequestId,
        params: KeepalivedParams,
    },
}

impl ClientMessage {
    /// The request id.
    pub fn id(&self) -> RequestId {
        match self {
            ClientMessage::Login { id, .. }
            | ClientMessage::Submit { id, .. }
            | ClientMessage::Keepalived { id, .. } => *id,
        }
    }

    /// The JSON-RPC method name.
    pub fn method(&self) -> &'static str {
        match self {
            ClientMessage::Login { .. } => "login",
            ClientMessage::Submit { .. } => "submit",
            ClientMessage::Keepalived { .. } => "keepalived",
        }
    }

    /// One line of JSON ending in `\n`.
    pub fn encode(&self) -> String {
        let params = match self {
            ClientMessage::Login { params, .. } => to_value(params),
            ClientMessage::Submit { params, .. } => to_value(params),
            ClientMessage::Keepalived { params, .. } => to_value(params),
        };
        line(json!({"id": self.id(), "jsonrpc": "2.0", "method": self.method(), "params": params}))
    }

    /// Parse one line received by a pool.
    pub fn parse(line: &str) -> Result<ClientMessage, ProtocolError> {
        let mut obj = parse_object(line)?;
        let id = take_id(&obj).ok_or(ProtocolError::MissingId)?;
        let method = method_of(&obj)?;
        let params = obj.remove("params").unwrap_or(Value::Null);
        match method.as_str() {
            "login" => Ok(ClientMessage::Login {
                id,
                params: from_params(&method, params)?,
            }),
            "submit" => Ok(ClientMessage::Submit {
                id,
                params: from_params(&method, params)?,
            }),
            "keepalived" => Ok(ClientMessage::Keepalived {
                id,
                params: from_params(&method, params)?,
            }),
            _ => Err(ProtocolError::UnknownMethod(method)),
        }
    }
}

/// A reply to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub id: RequestId,
    pub result: Result<Value, RpcError>,
}

impl Response {
    /// A success carrying any serializable result.
    pub fn ok(id: RequestId, result: &impl Serialize) -> Response {
        Response {
            id,
            result: Ok(to_value(result)),
        }
    }

    /// A success with `{"status": status}` (submit: "OK", keepalived: "KEEPALIVED").
    pub fn status(id: RequestId, status: &str) -> Response {
        Response::ok(
            id,
            &StatusResult {
                status: status.into(),
            },
        )
    }

    /// A failure with a code and message.
    pub fn error(id: RequestId, code: i64, message: &str) -> Response {
        Response {
            id,
            result: Err(RpcError {
                code,
                message: message.into(),
            }),
        }
    }

    /// Read the result as a login result.
    pub fn login_result(&self) -> Result<Result<LoginResult, RpcError>, ProtocolError> {
        self.typed("login")
    }

    /// Read the result as a status result.
    pub fn status_result(&self) -> Result<Result<StatusResult, RpcError>, ProtocolError> {
        self.typed("result")
    }

    fn typed<T: for<'de> Deserialize<'de>>(
        &self,
        what: &str,
    ) -> Result<Result<T, RpcError>, ProtocolError> {
        match &self.result {
            Ok(v) => from_params(what, v.clone()).map(Ok),
            Err(e) => Ok(Err(e.clone())),
        }
    }
}

/// Messages a pool sends to a miner.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    Response(Response),
    Job(JobParams),
    Reconnect(ReconnectParams),
}

impl ServerMessage {
    /// One line of JSON ending in `\n`.
    pub fn encode(&self) -> String {
        match self {
            ServerMessage::Response(r) => {
                let (result, error) = match &r.result {
                    Ok(v) => (v.clone(), Value::Null),
                    Err(e) => (Value::Null, to_value(e)),
                };
                line(json!({"id": r.id, "jsonrpc": "2.0", "error": error, "result": result}))
            }
            ServerMessage::Job(job) => {
                line(json!({"jsonrpc": "2.0", "method": "job", "params": to_value(job)}))
            }
            ServerMessage::Reconnect(r) => {
                let mut params = vec![json!(r.host), json!(r.port)];
                if let Some(wait) = r.wait {
                    params.push(json!(wait));
                }
                line(json!({"jsonrpc": "2.0", "method": "client.reconnect", "params": params}))
            }
        }
    }

    /// Parse one line received by a miner.
    pub fn parse(line: &str) -> Result<ServerMessage, ProtocolError> {
        let mut obj = parse_object(line)?;
        if let Some(Value::String(_)) = obj.get("method") {
            let method = method_of(&obj)?;
            let params = obj.remove("params").unwrap_or(Value::Null);
            return match method.as_str() {
                "job" => Ok(ServerMessage::Job(from_params(&method, params)?)),
                "client.reconnect" => Ok(ServerMessage::Reconnect(parse_reconnect(params)?)),
                _ => Err(ProtocolError::UnknownMethod(method)),
            };
        }
        let id = take_id(&obj).ok_or(ProtocolError::MissingId)?;
        let error = obj.remove("error").unwrap_or(Value::Null);
        let result = match error {
            Value::Null => Ok(obj.remove("result").unwrap_or(Value::Null)),
            Value::String(message) => Err(RpcError { code: -1, message }),
            other => Err(from_params("error", other)?),
        };
        Ok(ServerMessage::Response(Response { id, result }))
    }
}

fn parse_reconnect(params: Value) -> Result<ReconnectParams, ProtocolError> {
    let bad = |reason: &str| ProtocolError::BadParams {
        method: "client.reconnect".into(),
        reason: reason.into(),
    };
    let (host, port, wait) = match params {
        Value::Array(items) => {
            let mut it = items.into_iter();
            (it.next(), it.next(), it.next())
        }
        Value::Object(mut m) => (m.remove("host"), m.remove("port"), m.remove("wait")),
        _ => return Err(bad("params must be [host, port, wait?] or {host, port}")),
    };
    let host = match host {
        Some(Value::String(h)) if !h.is_empty() => h,
        _ => return Err(bad("missing host")),
    };
    let port = match port {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .and_then(|p| u16::try_from(p).ok())
    .filter(|p| *p != 0)
    .ok_or_else(|| bad("missing or bad port"))?;
    let wait = match wait {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    Ok(ReconnectParams { host, port, wait })
}

fn parse_object(line: &str) -> Result<Map<String, Value>, ProtocolError> {
    match serde_json::from_str::<Value>(line)? {
        Value::Object(obj) => Ok(obj),
        _ => Err(ProtocolError::NotAnObject),
    }
}

fn take_id(obj: &Map<String, Value>) -> Option<RequestId> {
    match obj.get("id")? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn method_of(obj: &Map<String, Value>) -> Result<String, ProtocolError> {
    match obj.get("method") {
        Some(Value::String(m)) => Ok(m.clone()),
        _ => Err(ProtocolError::BadParams {
            method: String::new(),
            reason: "missing method".into(),
        }),
    }
}

fn from_params<T: for<'de> Deserialize<'de>>(method: &str, v: Value) -> Result<T, ProtocolError> {
    serde_json::from_value(v).map_err(|e| ProtocolError::BadParams {
        method: method.into(),
        reason: e.to_string(),
    })
}

fn to_value(v: &impl Serialize) -> Value {
    // Our own plain structs always serialize; Null is a harmless fallback that keeps encode total.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn line(v: Value) -> String {
    let mut s = v.to_string();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> JobParams {
        JobParams {
            blob: "00".repeat(76),
            job_id: "j1".into(),
            target: "b88d0600".into(),
            algo: Some("cn/r".into()),
            height: Some(7),
            seed_hash: None,
            next_seed_hash: None,
            id: None,
            nonce_range: None,
        }
    }

    #[test]
    fn client_messages_round_trip() {
        let msgs = [
            ClientMessage::Login {
                id: 1,
                params: LoginParams {
                    login: "wallet".into(),
                    pass: "x".into(),
                    agent: "phirig/0.1".into(),
                    rigid: Some("rig1".into()),
                    offer: AlgoOffer {
                        algo: vec!["cn/r".into(), "cn/2".into()],
                        perf: Some(crate::protocol::AlgoPerf::new([(
                            "cn/r".to_string(),
                            219.5,
                        )])),
                        min_time: Some(60),
                    },
                },
            },
            ClientMessage::Submit {
                id: 2,
                params: SubmitParams::new("s", "j1", 0x0102_0304, &[0xab; 32], None),
            },
            ClientMessage::Keepalived {
                id: 3,
                params: KeepalivedParams { id: "s".into() },
            },
        ];
        for m in msgs {
            let line = m.encode();
            assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
            assert_eq!(ClientMessage::parse(&line).unwrap(), m);
        }
    }

    #[test]
    fn submit_nonce_is_little_endian_hex_and_algo_is_optional() {
        let p = SubmitParams::new("s", "j", 0x0102_0304, &[1; 32], None);
        assert_eq!(p.nonce, "04030201");
        assert_eq!(p.nonce_u32().unwrap(), 0x0102_0304);
        assert_eq!(p.result_bytes().unwrap(), [1; 32]);
        let line = ClientMessage::Submit { id: 9, params: p }.encode();
        assert!(!line.contains("algo"));
        let bad = SubmitParams {
            nonce: "123".into(),
            ..SubmitParams::new("s", "j", 0, &[0; 32], None)
        };
        assert!(bad.nonce_u32().is_err());
    }

    #[test]
    fn server_messages_round_trip() {
        let login = LoginResult {
            id: "sess".into(),
            job: Some(job()),
            status: "OK".into(),
            extensions: vec!["algo".into(), "keepalive".into()],
        };
        let msgs = [
            ServerMessage::Response(Response::ok(1, &login)),
            ServerMessage::Response(Response::status(2, "OK")),
            ServerMessage::Response(Response::error(3, -1, "Low difficulty share")),
            ServerMessage::Job(job()),
            ServerMessage::Reconnect(ReconnectParams {
                host: "127.0.0.1".into(),
                port: 3333,
                wait: Some(0),
            }),
        ];
        for m in msgs {
            assert_eq!(ServerMessage::parse(&m.encode()).unwrap(), m);
        }
        let ServerMessage::Response(r) =
            ServerMessage::parse(&ServerMessage::Response(Response::ok(1, &login)).encode())
                .unwrap()
        else {
            panic!("not a response")
        };
        assert_eq!(r.login_result().unwrap().unwrap(), login);
    }

    #[test]
    fn tolerant_of_real_pool_variations() {
        let r = ServerMessage::parse(r#"{"id":"5","error":"Invalid job id"}"#).unwrap();
        assert_eq!(
            r,
            ServerMessage::Response(Response::error(5, -1, "Invalid job id"))
        );
        let r = ServerMessage::parse(
            r#"{"method":"client.reconnect","params":{"host":"h","port":"3333"}}"#,
        )
        .unwrap();
        assert!(matches!(
            r,
            ServerMessage::Reconnect(ReconnectParams { port: 3333, .. })
        ));
    }

    #[test]
    fn malformed_lines_are_errors() {
        for bad in [
            "",
            "not json",
            "[1,2]",
            r#"{"result":{}}"#,
            r#"{"method":"job","params":{"blob":1}}"#,
            r#"{"method":"client.reconnect","params":["h",0]}"#,
        ] {
            assert!(ServerMessage::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            ServerMessage::parse(r#"{"method":"mining.notify","params":[]}"#),
            Err(ProtocolError::UnknownMethod(_))
        ));
        assert!(ClientMessage::parse(r#"{"id":1,"method":"submit","params":{}}"#).is_err());
    }
}
