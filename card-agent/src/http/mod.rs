//! A small JSON-over-HTTP/1.1 server (hyper) with bearer-token rules, shared by the agent and the host.

mod auth;
mod server;

pub use auth::{Access, AuthPolicy};
pub use server::{serve, ApiRequest, ApiResponse, HttpError, Routes, MAX_BODY};
