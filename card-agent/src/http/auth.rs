//! Bearer-token rules shared by the agent's and the host's HTTP APIs.

/// Who may do what.
#[derive(Clone, Default)]
pub struct AuthPolicy {
    token: Option<String>,
    /// Reads need the token too.
    pub restricted_read: bool,
}

impl std::fmt::Debug for AuthPolicy {
    // Tokens never appear in logs, not even through a Debug print of the config.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPolicy")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("restricted_read", &self.restricted_read)
            .finish()
    }
}

/// The verdict on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Granted,
    /// 401: no credentials where they are needed.
    Unauthorized,
    /// 403: wrong credentials, or control asked of an API that has no token configured.
    Forbidden,
}

impl AuthPolicy {
    pub fn new(token: Option<String>, restricted_read: bool) -> Self {
        Self {
            token: token.filter(|t| !t.is_empty()),
            restricted_read,
        }
    }

    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// `control` is anything that changes state (pause, stop, upgrade); it always needs the token.
    pub fn check(&self, authorization: Option<&str>, control: bool) -> Access {
        let needs = control || self.restricted_read;
        if !needs {
            return Access::Granted;
        }
        let Some(expected) = &self.token else {
            // Control without a configured token would let anyone on the network stop the miner.
            return Access::Forbidden;
        };
        let Some(given) = authorization.and_then(|h| h.strip_prefix("Bearer ")) else {
            return Access::Unauthorized;
        };
        if constant_time_eq(given.trim().as_bytes(), expected.as_bytes()) {
            Access::Granted
        } else {
            Access::Forbidden
        }
    }
}

/// Compares without an early exit, so response timing does not reveal how much of a guess matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_rules() {
        let open = AuthPolicy::new(Some("s3cret".into()), false);
        assert_eq!(open.check(None, false), Access::Granted);
        assert_eq!(open.check(None, true), Access::Unauthorized);
        assert_eq!(open.check(Some("Bearer nope"), true), Access::Forbidden);
        assert_eq!(open.check(Some("Bearer s3cret"), true), Access::Granted);
        assert_eq!(open.check(Some("Basic s3cret"), true), Access::Unauthorized);
        let restricted = AuthPolicy::new(Some("s3cret".into()), true);
        assert_eq!(restricted.check(None, false), Access::Unauthorized);
        assert_eq!(
            restricted.check(Some("Bearer s3cret"), false),
            Access::Granted
        );
        let none = AuthPolicy::new(None, false);
        assert_eq!(none.check(Some("Bearer x"), true), Access::Forbidden);
        assert_eq!(none.check(None, false), Access::Granted);
        assert!(!format!("{open:?}").contains("s3cret"));
    }
}
