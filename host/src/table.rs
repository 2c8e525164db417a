//! The live table: one row per card and a rig total, refreshed in place on a terminal.

use std::fmt::Write;
use std::time::Duration;

use phirig_agent::hashrate::WINDOWS;

use crate::card_poll::CardView;

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// Renders the table; `pool` is a one-line pool summary shown under it.
pub fn render(cards: &[CardView], pool: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<10} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>8} {:>7} {:>16}  status",
        "card", "H/s 10s", "60s", "15m", "acc", "rej", "stale", "hugepg", "aes", "clock offset"
    );
    let mut totals = [Some(0.0f64); 3];
    let (mut acc, mut rej, mut stale) = (0, 0, 0);
    for c in cards {
        let rates = WINDOWS.map(|w| c.meter.rate(w));
        for (t, r) in totals.iter_mut().zip(rates) {
            *t = match (*t, r) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        let (sh, pages, aes) = match &c.last {
            Some(l) => (
                l.shares,
                format!("{}/{}", l.hugepages[0], l.hugepages[1]),
                l.aes.clone().unwrap_or_default(),
            ),
            None => (Default::default(), "-".into(), "-".into()),
        };
        acc += sh.accepted;
        rej += sh.rejected;
        stale += sh.stale;
        let clock = c.clock().map_or_else(
            || "-".into(),
            |o| {
                format!(
                    "{:+.2}±{:.2}ms",
                    o.offset_ns as f64 / 1e6,
                    o.bound_ns as f64 / 1e6
                )
            },
        );
        let status = match (&c.error, &c.last) {
            (Some(e), _) => e.clone(),
            (None, Some(l)) if l.paused => "paused".into(),
            (None, Some(l)) => format!("mining {}", l.algo),
            (None, None) => "starting".into(),
        };
        let _ = writeln!(
            out,
            "{:<10} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6} {:>8} {:>7} {:>16}  {}",
            c.name,
            rate(rates[0]),
            rate(rates[1]),
            rate(rates[2]),
            sh.accepted,
            sh.rejected,
            sh.stale,
            pages,
            aes,
            clock,
            status
        );
    }
    let _ = writeln!(
        out,
        "{:<10} {:>9} {:>9} {:>9} {:>6} {:>6} {:>6}",
        "RIG",
        rate(totals[0]),
        rate(totals[1]),
        rate(totals[2]),
        acc,
        rej,
        stale
    );
    let _ = writeln!(out, "{pool}");
    out
}

/// Moves the cursor up over a previously printed block so the next one overwrites it.
pub fn rewind(lines: usize) -> String {
    if lines == 0 {
        String::new()
    } else {
        format!("\x1b[{lines}F\x1b[J")
    }
}

/// How often the table refreshes by default.
pub const REFRESH: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card_poll::Counters;
    use phirig_pool::session::LedgerCounts;

    #[test]
    fn rows_and_total_add_up() {
        let mut cards = vec![
            CardView::new("mic0", "http://x", None),
            CardView::new("mic1", "http://y", None),
        ];
        for (i, c) in cards.iter_mut().enumerate() {
            for s in 0..=10u64 {
                c.ingest(Counters {
                    boot_id: "b".into(),
                    wall_ns: (100 + s) * 1_000_000_000,
                    hashes_total: s * 100 * (i as u64 + 1),
                    algo: "cn/0".into(),
                    paused: false,
                    shares: LedgerCounts {
                        found: 3,
                        accepted: 2,
                        rejected: 1,
                        stale: 0,
                        in_flight: 0,
                    },
                    hugepages: [2, 2],
                    aes: Some("aes-ni".into()),
                });
            }
        }
        let t = render(&cards, "pool 127.0.0.1:3333");
        let rig = t.lines().find(|l| l.starts_with("RIG")).expect("rig row");
        assert!(rig.contains("300.0"), "{t}");
        assert!(t.contains("mic1") && t.contains("200.0") && t.contains("2/2"));
        assert_eq!(rig.split_whitespace().nth(4), Some("4"));
        assert_eq!(rewind(3), "\x1b[3F\x1b[J");
    }
}
