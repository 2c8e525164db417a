//! `/v1/cards` and `/v1/rig`: the snapshot as JSON, for tools that want more than xmrig's shape.

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
