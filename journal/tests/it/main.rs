//! The journal's integration tests, one binary: round trips, damage, the writer and the reports.

mod damage;
mod report;
mod roundtrip;
mod writer;
