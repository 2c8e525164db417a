//! The live table: one row per card and a rig total, rendered from a `RigSnapshot`, refreshed in place on a terminal.

use std::fmt::Write;
use std::time::Duration;

use crate::snapshot::{CardSnapshot, RigSnapshot};

fn rate(r: Option<f64>) -> String {
    r.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

fn clock(c: &CardSnapshot) -> String {
    c.clock.as_ref().map_or_else(
        || "-".into(),
        |o| {
            format!(
                "{:+.2}±{:.2}ms",
                o.offset_ns as f64 / 1e6,
                o.bound_ns as f64 / 1e6
            )
        },
    )
}

/// The proxy's view of a card: leases handed out, invalid shares, and `!` when flagged.
fn proxy_cols(c: &CardSnapshot) -> (String, String) {
    match &c.proxy {
        Some(p) => (
            p.slices.to_string(),
            format!("{}{}", p.invalid, if p.flagged { "!" } else { "" }),
        ),
        None => ("-".into(), "-".into()),
    }
}

/// Renders the table; `pool` is a one-line pool summary shown under it.
pub fn render(snap: &RigSnapshot, pool: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<18} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5} {:>6} {:>5} {:>7} {:>11} {:>5} {:>16}  status",
        "card",
        "H/s 10s",
        "60s",
        "15m",
        "acc",
        "rej",
        "stale",
        "slices",
        "inval",
        "hugepg",
        "aes",
        "temp",
        "clock offset"
    );
    for c in &snap.cards {
        let (slices, invalid) = proxy_cols(c);
        let pages = if c.hashes_total == 0 && c.hugepages == [0, 0] {
            "-".to_string()
        } else {
            format!("{}/{}", c.hugepages[0], c.hugepages[1])
        };
        let status = if c.status == "mining" && !c.algo.is_empty() {
            format!("mining {}", c.algo)
        } else {
            c.status.clone()
        };
        let _ = writeln!(
            out,
            "{:<18} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5} {:>6} {:>5} {:>7} {:>11} {:>5} {:>16}  {}",
            c.name,
            rate(c.hashrate[0]),
            rate(c.hashrate[1]),
            rate(c.hashrate[2]),
            c.shares.accepted,
            c.shares.rejected,
            c.shares.stale,
            slices,
            invalid,
            pages,
            c.aes.as_deref().unwrap_or("-"),
            c.temperature_c
                .map_or_else(|| "-".into(), |t| format!("{t:.0}C")),
            clock(c),
            status
        );
    }
    // Other stratum miners: no counters, so `~` marks rates estimated from accepted difficulty.
    for w in snap.workers.iter().filter(|w| !w.card) {
        let est = |r: f64| format!("~{r:.1}");
        let _ = writeln!(
            out,
            "{:<18} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5} {:>6} {:>5} {:>7} {:>11} {:>5} {:>16}  estimated, {} conn from {}",
            w.name,
            est(w.hashrate_estimated[0]),
            est(w.hashrate_estimated[1]),
            est(w.hashrate_estimated[2]),
            w.accepted,
            w.rejected,
            "-",
            "-",
            w.invalid,
            "-",
            "-",
            "-",
            "-",
            w.connections,
            w.ip
        );
    }
    let t = &snap.total;
    let _ = writeln!(
        out,
        "{:<18} {:>9} {:>9} {:>9} {:>6} {:>5} {:>5}  {}/{} cards mining{}",
        "RIG",
        rate(t.hashrate[0]),
        rate(t.hashrate[1]),
        rate(t.hashrate[2]),
        t.shares.accepted,
        t.shares.rejected,
        t.shares.stale,
        t.cards_mining,
        t.cards,
        if t.workers > 0 {
            format!(
                " + {} other miners (~{:.1} H/s estimated)",
                t.workers, t.estimated[1]
            )
        } else {
            String::new()
        }
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
    use crate::card_poll::CardView;
    use phirig_wire::{Counters, ShareCounts};

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
                    shares: ShareCounts {
                        found: 3,
                        accepted: 2,
                        rejected: 1,
                        stale: 0,
                        in_flight: 0,
                    },
                    hugepages: [2, 2],
                    aes: Some("aes-ni".into()),
                    ..Counters::default()
                });
            }
        }
        cards[1].error = Some("timed out".into());
        let mut stopped = CardView::new("mic2", "http://z", None);
        stopped.error = Some("unreachable: connection refused".into());
        stopped.stopped = true;
        cards.push(stopped);
        let snap = RigSnapshot::build(&cards, None, 5);
        let t = render(&snap, "pool 127.0.0.1:3333");
        let rig = t.lines().find(|l| l.starts_with("RIG")).expect("rig row");
        assert!(rig.contains("300.0"), "{t}");
        assert!(rig.contains("1/3 cards mining"), "{t}");
        let mic2 = t.lines().find(|l| l.starts_with("mic2")).expect("mic2 row");
        assert!(mic2.ends_with("  stopped"), "{t}");
        assert!(t.contains("mic1") && t.contains("200.0") && t.contains("2/2"));
        assert!(t.contains("mining cn/0") && t.contains("timed out"), "{t}");
        assert_eq!(rig.split_whitespace().nth(4), Some("4"));
        assert_eq!(rewind(3), "\x1b[3F\x1b[J");
    }

    #[test]
    fn other_miners_show_estimated_rates() {
        let mut snap = RigSnapshot::default();
        snap.workers.push(crate::snapshot::WorkerSnapshot {
            name: "xmrig1".into(),
            ip: "10.0.0.9".into(),
            connections: 1,
            hashrate_estimated: [10.0, 250.0, 0.0],
            ..Default::default()
        });
        snap.total.workers = 1;
        snap.total.estimated = [10.0, 250.0, 0.0];
        let t = render(&snap, "");
        assert!(
            t.contains("~250.0") && t.contains("estimated, 1 conn from 10.0.0.9"),
            "{t}"
        );
        assert!(t.contains("+ 1 other miners (~250.0 H/s estimated)"), "{t}");
    }
}
