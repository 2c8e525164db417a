//! phirig host library: the pieces behind the `phirig` binary — card commands, the local card, the
//! built-in pool, polling and clock offsets, the live table.
//!
//! Not here: hashing (`phirig-agent`), stratum (`phirig-pool`), ssh and discovery (`phirig-deploy`).
//! This crate wires them.

pub mod api;
pub mod bench;
pub mod card_poll;
pub mod card_state;
pub mod cards;
pub mod cli;
pub mod clock_offset;
pub mod config;
mod error;
pub mod local_card;
mod local_control;
pub mod log_cmd;
pub mod pool_serve;
mod pool_values;
pub mod proxy;
pub mod rig;
pub mod run;
pub mod share_hasher;
pub mod snapshot;
pub mod table;
pub mod temperature;
pub mod upgrade_cmd;

pub use error::HostError;
