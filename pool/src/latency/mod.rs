//! Round-trip measurement with kernel receive timestamps (SO_TIMESTAMPNS) beside user-space ones.
//!
//! Why two stamps: the user-space receive time includes scheduler and runtime delay on our side,
//! which hides how fast the pool really answered. The kernel stamps the segment when it arrives;
//! the gap between the two is our in-host receive latency, reported separately.

mod recorder;
mod rx_timestamp;

pub use recorder::{RttRecorder, RttSummary, StampSource};
pub use rx_timestamp::{enable_rx_timestamps, recv_with_timestamp};
