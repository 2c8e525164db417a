//! The host API on a real loopback server, over snapshots built from real `CardView`s: xmrig's
//! summary shape, null-until-full windows, `/v1/cards` and `/v1/rig`, `/metrics` that parses
//! line by line, the agent's token rules, and a real agent's tuned profile read and served.

mod access;
mod dashboard;
mod exposition;
mod fixture;
mod grafana;
mod json;
mod metrics;
pub(crate) mod profile;
