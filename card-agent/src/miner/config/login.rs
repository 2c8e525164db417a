//! What a login tells the pool: the algorithms we mine and the agent string.

use phirig_kernel::cn::Algorithm;

/// Every algorithm we can mine, `first` first: what a login advertises to the pool.
pub fn advertised_algos(first: Algorithm) -> Vec<String> {
    std::iter::once(first)
        .chain(Algorithm::ALL.iter().copied().filter(|a| *a != first))
        .map(|a| a.to_string())
        .collect()
}

/// The agent string sent at login.
pub fn user_agent() -> String {
    format!("phirig-agent/{}", env!("CARGO_PKG_VERSION"))
}
