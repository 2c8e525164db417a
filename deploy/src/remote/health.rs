//! The agent's HTTP health check: a 2xx on the configured path, with the bearer token.

use super::error::DeployError;
use crate::discovery::{url_host, Card};
use std::time::{Duration, Instant};

/// `http://<card>:<port><path>`.
pub fn health_url(card: &Card, port: u16, path: &str) -> String {
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    format!("http://{}:{port}{path}", url_host(&card.address))
}

/// One GET; Ok with the body when the agent answers 2xx.
pub(super) async fn check_once(
    http: &reqwest::Client,
    card: &Card,
    url: &str,
    token: Option<&str>,
) -> Result<String, DeployError> {
    let mut req = http.get(url).timeout(Duration::from_secs(2));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let fail = |detail: String| DeployError::Health {
        card: card.name.clone(),
        url: url.to_string(),
        detail,
    };
    // reqwest errors carry the URL, never headers, so the token cannot leak into this message.
    let resp = req.send().await.map_err(|e| fail(e.to_string()))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(fail(format!("HTTP {status}")));
    }
    resp.text().await.map_err(|e| fail(e.to_string()))
}

/// Retries [`check_once`] every 250 ms until it succeeds or `within` has passed.
pub async fn wait_healthy(
    http: &reqwest::Client,
    card: &Card,
    url: &str,
    token: Option<&str>,
    within: Duration,
) -> Result<String, DeployError> {
    let deadline = Instant::now() + within;
    loop {
        match check_once(http, card, url, token).await {
            Ok(body) => return Ok(body),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}
