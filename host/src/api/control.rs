//! The dashboard's buttons as API routes: restart a card, pause or resume the rig.
//!
//! They are control (not GET), so the HTTP layer asks for the access token before they get here;
//! the API only hands the command to whoever runs the rig.

use hyper::Method;
use serde::Serialize;

/// What an operator asked of the rig.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", content = "card", rename_all = "snake_case")]
pub enum RigCommand {
    /// Restart this card's agent.
    RestartCard(String),
    Pause,
    Resume,
}

/// `POST /v1/cards/{name}/restart`, `POST /v1/rig/pause`, `POST /v1/rig/resume`.
pub fn parse(method: &Method, path: &str) -> Option<RigCommand> {
    if method != Method::POST {
        return None;
    }
    match path {
        "/v1/rig/pause" => Some(RigCommand::Pause),
        "/v1/rig/resume" => Some(RigCommand::Resume),
        _ => {
            let name = path.strip_prefix("/v1/cards/")?.strip_suffix("/restart")?;
            (!name.is_empty() && !name.contains('/'))
                .then(|| RigCommand::RestartCard(name.to_string()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_one_command() {
        assert_eq!(
            parse(&Method::POST, "/v1/cards/mic0/restart"),
            Some(RigCommand::RestartCard("mic0".into()))
        );
        assert_eq!(
            parse(&Method::POST, "/v1/rig/pause"),
            Some(RigCommand::Pause)
        );
        assert_eq!(
            parse(&Method::POST, "/v1/rig/resume"),
            Some(RigCommand::Resume)
        );
        assert_eq!(parse(&Method::GET, "/v1/rig/pause"), None);
        assert_eq!(parse(&Method::POST, "/v1/cards//restart"), None);
        assert_eq!(parse(&Method::POST, "/v1/cards/a/b/restart"), None);
    }
}
