//! The API access token, given inline or as `@PATH` to keep it out of process arguments.

use super::error::ConfigError;

/// Environment variable naming a file that holds the API token (set by `phirig deploy`).
pub const TOKEN_FILE_ENV: &str = "PHIRIG_TOKEN_FILE";

/// Reads a token given inline or as `@PATH` (keeps it out of process arguments).
pub fn resolve_token(raw: Option<String>) -> Result<Option<String>, ConfigError> {
    match raw {
        Some(t) if t.starts_with('@') => {
            let path = &t[1..];
            let text = std::fs::read_to_string(path).map_err(|source| ConfigError::TokenFile {
                path: path.to_string(),
                source,
            })?;
            Ok(Some(text.trim().to_string()).filter(|t| !t.is_empty()))
        }
        other => Ok(other.filter(|t| !t.is_empty())),
    }
}
