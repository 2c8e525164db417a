//! Agent upgrade over HTTP: one mapped binary, one zero-copy transfer per card, then a check that
//! every card came back as the new build.

pub mod card;
pub mod http;
pub mod image;

pub use card::{
    counters, put_binary, upgrade_card, Announce, CardUpgrade, Progress, PutOutcome, UpgradeError,
    BINARY_PATH, DIGEST_HEADER,
};
pub use image::{BinaryImage, ImageError};
