//! `/v1/cards`, `/v1/cards/{name}/profile` and `/v1/rig`: the snapshot as JSON, for tools that
//! want more than xmrig's shape.

use serde_json::Value;

use crate::snapshot::RigSnapshot;

/// Every card's detail (the snapshot's card list), in the rig's card order.
pub fn cards_json(snap: &RigSnapshot) -> Value {
    serde_json::to_value(&snap.cards).unwrap_or(Value::Null)
}

/// The whole snapshot: cards, totals and the upstream connection.
pub fn rig_json(snap: &RigSnapshot) -> Value {
    serde_json::to_value(snap).unwrap_or(Value::Null)
}

/// The card named in a `/v1/cards/{name}/profile` path.
pub fn profile_path(path: &str) -> Option<&str> {
    let name = path.strip_prefix("/v1/cards/")?.strip_suffix("/profile")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// One card's tuned profile: `Err` says why there is none (no such card, or it has none).
pub fn profile_json(snap: &RigSnapshot, name: &str) -> Result<Value, &'static str> {
    let card = snap
        .cards
        .iter()
        .find(|c| c.name == name)
        .ok_or("no such card")?;
    let profile = card
        .profile
        .as_ref()
        .ok_or("no profile: the card was not tuned, or its profile is stale")?;
    serde_json::to_value(profile).map_err(|_| "profile not serialisable")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_path_names_one_card() {
        assert_eq!(profile_path("/v1/cards/mic0/profile"), Some("mic0"));
        assert_eq!(
            profile_path("/v1/cards/root@172.31.1.1/profile"),
            Some("root@172.31.1.1")
        );
        assert_eq!(profile_path("/v1/cards//profile"), None);
        assert_eq!(profile_path("/v1/cards/a/b/profile"), None);
        assert_eq!(profile_path("/v1/cards/mic0/restart"), None);
    }
}
