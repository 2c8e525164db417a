//! What a login tells the pool: the algorithms we mine, our measured rates and the agent string.

use phirig_kernel::cn::{Algorithm, KernelError};
use phirig_pool::protocol::AlgoPerf;
use phirig_wire::Profile;

/// Every algorithm we can mine, the one named `first` (a CryptoNight variant or rx/0) first:
/// what a login advertises to the pool.
pub fn advertised_algos(first: &str) -> Result<Vec<String>, KernelError> {
    let first = if phirig_rx::is_rx(first) {
        phirig_rx::ALGO.to_string()
    } else {
        first.parse::<Algorithm>()?.to_string()
    };
    let all = Algorithm::ALL
        .iter()
        .map(ToString::to_string)
        .chain(std::iter::once(phirig_rx::ALGO.to_string()));
    Ok(std::iter::once(first.clone())
        .chain(all.filter(|a| *a != first))
        .collect())
}

/// The H/s per algorithm a login offers a switching pool: the tuned profile's; without a profile
/// there is nothing measured.
pub fn offered_perf(profile: Option<&Profile>) -> Option<AlgoPerf> {
    profile.map(|p| AlgoPerf::new(p.algo_perf()))
}

/// The agent string sent at login.
pub fn user_agent() -> String {
    format!("phirig-agent/{}", env!("CARGO_PKG_VERSION"))
}
