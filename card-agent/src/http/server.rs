//! The listener: each request is authorised, read whole (bounded) and answered by a `Routes`; an
//! agent binary upload is the one body streamed instead (to `crate::upgrade`).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::auth::{Access, AuthPolicy};

/// Largest request body read into memory (control calls are tiny).
pub const MAX_BODY: usize = 64 * 1024;

/// A request as routes see it: already authorised.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub body: Bytes,
}

/// A JSON answer.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: StatusCode,
    pub body: Value,
}

impl ApiResponse {
    pub fn ok(body: Value) -> Self {
        Self {
            status: StatusCode::OK,
            body,
        }
    }

    pub fn error(status: StatusCode, message: &str) -> Self {
        Self {
            status,
            body: json!({ "error": message }),
        }
    }

    pub fn not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "not found")
    }
}

/// The endpoints of one API.
pub trait Routes: Send + Sync + 'static {
    /// Whether this request changes state (and so always needs the token).
    fn is_control(&self, method: &Method, _path: &str) -> bool {
        method != Method::GET && method != Method::HEAD
    }
    fn handle(&self, req: ApiRequest) -> ApiResponse;
    /// Content served as text (e.g. Prometheus metrics); `None` means JSON.
    fn handle_text(&self, _req: &ApiRequest) -> Option<String> {
        None
    }
    /// A static file (a web page and its scripts) with its content type; `None`: not one.
    fn handle_asset(&self, _req: &ApiRequest) -> Option<(&'static str, &'static [u8])> {
        None
    }
    /// Where `PUT /v1/binary` goes; `None`: this API takes no uploads (answered 404).
    fn upgrader(&self) -> Option<&crate::upgrade::Upgrader> {
        None
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Listens on `addr` and serves until the task is aborted. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    routes: Arc<dyn Routes>,
    auth: AuthPolicy,
) -> Result<(SocketAddr, JoinHandle<()>), HttpError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let local = listener
        .local_addr()
        .map_err(|source| HttpError::Bind { addr, source })?;
    let auth = Arc::new(auth);
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _peer)) = listener.accept().await else {
                continue;
            };
            let routes = routes.clone();
            let auth = auth.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| answer(req, routes.clone(), auth.clone()));
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok((local, task))
}

async fn answer(
    req: Request<Incoming>,
    routes: Arc<dyn Routes>,
    auth: Arc<AuthPolicy>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let authorization = req
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let verdict = auth.check(authorization.as_deref(), routes.is_control(&method, &path));
    let reply = match verdict {
        Access::Unauthorized => {
            ApiResponse::error(StatusCode::UNAUTHORIZED, "missing access token")
        }
        Access::Forbidden => ApiResponse::error(
            StatusCode::FORBIDDEN,
            "wrong access token or control disabled",
        ),
        // Authorised uploads stream to disk: they are far larger than any in-memory body.
        Access::Granted
            if method == Method::PUT
                && path == crate::upgrade::BINARY_PATH
                && routes.upgrader().is_some() =>
        {
            let (parts, body) = req.into_parts();
            match routes.upgrader() {
                Some(up) => up.handle(&parts.headers, body).await,
                None => ApiResponse::not_found(),
            }
        }
        Access::Granted => match Limited::new(req.into_body(), MAX_BODY).collect().await {
            Err(_) => ApiResponse::error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
            Ok(body) => {
                let request = ApiRequest {
                    method,
                    path,
                    body: body.to_bytes(),
                };
                if let Some(text) = routes.handle_text(&request) {
                    return Ok(text_response(text));
                }
                if let Some((content_type, body)) = routes.handle_asset(&request) {
                    return Ok(asset_response(content_type, body));
                }
                routes.handle(request)
            }
        },
    };
    Ok(json_response(reply))
}

fn json_response(reply: ApiResponse) -> Response<Full<Bytes>> {
    let body = serde_json::to_vec_pretty(&reply.body).unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = reply.status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn asset_response(content_type: &'static str, body: &'static [u8]) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from_static(body)));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    resp
}

fn text_response(text: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(text)));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    resp
}
