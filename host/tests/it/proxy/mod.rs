//! The proxy end to end on loopback: a reference pool upstream, raw stratum cards downstream.

mod card;
mod setup;
mod slices;
mod upstream;
mod verification;
