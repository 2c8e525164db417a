//! Finding the cards: MPSS sysfs, static SSH targets, the local machine.

mod card;
mod mpss;
mod spec;
mod table;
mod target;

pub use card::{Card, CardKind, CardState};
pub use mpss::{default_card_address, mic_index, DiscoveryError, MpssDiscovery};
pub use spec::{select_cards, CardSpec};
pub use table::{render_table, CardRow};
pub use target::{url_host, SshTarget, TargetParseError};
