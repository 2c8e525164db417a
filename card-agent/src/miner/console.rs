//! The console status line, printed every `--print-time` seconds.

use super::state::{lock, MinerState};

fn fmt_rate(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".into(), |v| format!("{v:.1}"))
}

/// `speed 10s/60s/15m 95.1 94.8 n/a H/s max 96.0 | accepted 3 rejected 0 stale 0 | pool … | huge pages 100% 2/2`
pub fn status_line(state: &MinerState) -> String {
    let (rates, max) = {
        let m = lock(&state.meters);
        (m.total.rates(), m.total.highest())
    };
    let shares = state.client_stats().map(|c| c.shares).unwrap_or_default();
    let pool = lock(&state.results)
        .pool_url
        .clone()
        .unwrap_or_else(|| "(connecting)".into());
    let [huge, all] = state.workers.hugepages();
    let pct = (huge * 100).checked_div(all).unwrap_or(0);
    format!(
        "speed 10s/60s/15m {} {} {} H/s max {:.1} | accepted {} rejected {} stale {} | pool {} | huge pages {}% {}/{}",
        fmt_rate(rates[0]),
        fmt_rate(rates[1]),
        fmt_rate(rates[2]),
        max,
        shares.accepted,
        shares.rejected,
        shares.stale,
        pool,
        pct,
        huge,
        all
    )
}
