//! The proxy end to end on loopback: a reference pool upstream, raw stratum cards (and a scripted
//! third-party miner) downstream.

mod card;
mod flood;
mod long_blob;
mod rx;
mod setup;
mod slices;
mod sparse_worker;
mod switching;
mod upstream;
mod verification;
mod workers;
