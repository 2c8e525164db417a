//! Zero-copy TCP sending (`SO_ZEROCOPY`, `MSG_ZEROCOPY`, completions from the error queue), used
//! to fan one mapped agent binary out to every card without copying it per card in user space.

pub mod errqueue;
pub mod sender;
pub mod stats;

pub use errqueue::{parse_cmsg, parse_control, Completion, Notice};
pub use sender::{enable_zerocopy, SendError, SendOptions, SharedBuf, ZcSender};
pub use stats::{Fallback, ZcStats};
