//! The reference pool server: share verification, vardiff, fault injection and hostile clients.

mod faults;
mod robustness;
mod shares;
pub(crate) mod support;
mod switching;
mod vardiff;
