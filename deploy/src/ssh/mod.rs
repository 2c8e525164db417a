//! Talking to cards through the system OpenSSH client, with every remote word shell-quoted.

mod error;
mod exec;
mod options;
mod quote;

pub use error::SshError;
pub use exec::{run, ssh_args, Input, Output};
pub use options::SshOptions;
pub use quote::{shell_join, shell_quote};
