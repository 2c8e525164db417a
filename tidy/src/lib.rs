//! phirig-tidy: checks the rules ARCHITECTURE.md states in prose on the workspace's Rust files.
//!
//! [`source`] finds the files and tells test code from the rest; [`checks`] holds one function per
//! rule, each returning the places a file breaks it. The rules' paths and reasons are in
//! `tests/invariants.rs`, the test that applies them to the workspace.

pub mod checks;
pub mod source;
