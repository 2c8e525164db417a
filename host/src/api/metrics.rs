//! `/metrics`: the snapshot in Prometheus text exposition format 0.0.4.
//!
//! Every family is written whole (HELP, TYPE, then all its samples) because the format forbids a
//! family's samples from being split. A window or figure that is not known yet is left out rather
//! than written as 0, which would read as "the card stopped".

use std::fmt::Write as _;

use crate::card_state::CardState;
use crate::snapshot::{CardSnapshot, RigSnapshot};

const WINDOWS: [&str; 3] = ["10s", "60s", "15m"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
}

/// Text being built, one family at a time.
#[derive(Default)]
struct Exposition {
    out: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let kind = match kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
        };
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {}", format_value(value));
    }

    /// A family with one sample per card (cards for which `value` is `None` are left out).
    fn per_card(
        &mut self,
        snap: &RigSnapshot,
        name: &str,
        kind: Kind,
        help: &str,
        value: impl Fn(&CardSnapshot) -> Option<f64>,
    ) {
        self.family(name, kind, help);
        for c in &snap.cards {
            if let Some(v) = value(c) {
                self.sample(name, &[("card", &c.name)], v);
            }
        }
    }
}

/// Label values escape backslash, double quote and newline (the format's only escapes).
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for ch in v.chars() {
        match ch {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// HELP text escapes backslash and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        format!("{v}")
    }
}

fn secs_from_ns(ns: f64) -> f64 {
    ns / 1e9
}

/// Card reachable and its agent answering (mining or paused).
fn card_up(c: &CardSnapshot) -> bool {
    c.error.is_none() && (c.status == "mining" || c.status == "paused")
}

pub fn render(snap: &RigSnapshot) -> String {
    let mut e = Exposition::default();
    let version = env!("CARGO_PKG_VERSION");
    e.family(
        "phirig_build_info",
        Kind::Gauge,
        "phirig host build; always 1.",
    );
    e.sample("phirig_build_info", &[("version", version)], 1.0);
    e.family(
        "phirig_uptime_seconds",
        Kind::Gauge,
        "Seconds since the rig started.",
    );
    e.sample("phirig_uptime_seconds", &[], snap.uptime_s as f64);
    e.family("phirig_cards", Kind::Gauge, "Cards in the rig.");
    e.sample("phirig_cards", &[], snap.total.cards as f64);
    e.family("phirig_cards_mining", Kind::Gauge, "Cards mining now.");
    e.sample("phirig_cards_mining", &[], snap.total.cards_mining as f64);

    rig_rates(&mut e, snap);
    cards(&mut e, snap);
    card_shares(&mut e, snap);
    proxy(&mut e, snap);
    clocks(&mut e, snap);
    upstream(&mut e, snap);
    other_miners(&mut e, snap);
    e.out
}

/// Stratum miners on the proxy that are not deployed cards: their rates are estimated from
/// accepted difficulty, so they get their own families rather than passing for counted rates.
fn other_miners(e: &mut Exposition, snap: &RigSnapshot) {
    let name = "phirig_rig_hashrate_estimated_hashes_per_second";
    e.family(
        name,
        Kind::Gauge,
        "Part of the rig hash rate estimated from other miners' accepted difficulty \
         (a window with under 16 shares widened back to the 16th latest).",
    );
    // Without other miners there is nothing estimated: left out, not 0.
    for (w, r) in WINDOWS.iter().zip(snap.total.estimated) {
        if snap.total.workers > 0 {
            e.sample(name, &[("window", w)], r);
        }
    }
    let others: Vec<_> = snap.workers.iter().filter(|w| !w.card).collect();
    let name = "phirig_worker_hashrate_estimated_hashes_per_second";
    e.family(
        name,
        Kind::Gauge,
        "A miner's hash rate estimated from its accepted difficulty (not a deployed card); \
         a window with under 16 shares is widened back to the 16th latest, and decays while \
         the miner is silent.",
    );
    for w in &others {
        for (win, r) in WINDOWS.iter().zip(w.hashrate_estimated) {
            e.sample(name, &[("worker", &w.name), ("window", win)], r);
        }
    }
    let name = "phirig_worker_shares_total";
    e.family(
        name,
        Kind::Counter,
        "A miner's shares by outcome (accepted, rejected upstream, invalid at the proxy).",
    );
    for w in &others {
        for (outcome, n) in [
            ("accepted", w.accepted),
            ("rejected", w.rejected),
            ("invalid", w.invalid),
        ] {
            e.sample(name, &[("worker", &w.name), ("outcome", outcome)], n as f64);
        }
    }
    let name = "phirig_worker_last_share_timestamp_seconds";
    e.family(name, Kind::Gauge, "When a miner's last share was accepted.");
    for w in others.iter().filter(|w| w.last_share_ms > 0) {
        e.sample(name, &[("worker", &w.name)], w.last_share_ms as f64 / 1e3);
    }
}

fn rig_rates(e: &mut Exposition, snap: &RigSnapshot) {
    let name = "phirig_rig_hashrate_hashes_per_second";
    e.family(
        name,
        Kind::Gauge,
        "Rig hash rate over a window; absent while any card's window is not full.",
    );
    for (w, r) in WINDOWS.iter().zip(snap.total.hashrate) {
        if let Some(r) = r {
            e.sample(name, &[("window", w)], r);
        }
    }
    e.family(
        "phirig_rig_hashes_total",
        Kind::Counter,
        "Hashes computed by all cards (sum of the agents' counters).",
    );
    e.sample(
        "phirig_rig_hashes_total",
        &[],
        snap.total.hashes_total as f64,
    );
}

fn cards(e: &mut Exposition, snap: &RigSnapshot) {
    e.per_card(
        snap,
        "phirig_card_up",
        Kind::Gauge,
        "1 when the card's agent answered its last poll.",
        |c| Some(if card_up(c) { 1.0 } else { 0.0 }),
    );
    // One sample per state, 1 for the card's own: `phirig_card_state{state="stopped"} == 1`
    // selects the stopped cards, and a state that never occurred still has its series.
    let name = "phirig_card_state";
    e.family(
        name,
        Kind::Gauge,
        "1 for the card's state (starting, mining, paused, stopped, flagged, unreachable), 0 for the others.",
    );
    for c in &snap.cards {
        for s in CardState::ALL {
            let v = if c.state == s { 1.0 } else { 0.0 };
            e.sample(name, &[("card", &c.name), ("state", s.as_str())], v);
        }
    }
    let name = "phirig_card_hashrate_hashes_per_second";
    e.family(
        name,
        Kind::Gauge,
        "Card hash rate over a window, on the host's time line; absent until the window is full.",
    );
    for c in &snap.cards {
        for (w, r) in WINDOWS.iter().zip(c.hashrate) {
            if let Some(r) = r {
                e.sample(name, &[("card", &c.name), ("window", w)], r);
            }
        }
    }
    e.per_card(
        snap,
        "phirig_card_hashes_total",
        Kind::Counter,
        "Hashes computed by the card since its agent started.",
        |c| Some(c.hashes_total as f64),
    );
    e.per_card(
        snap,
        "phirig_card_restarts_total",
        Kind::Counter,
        "Agent restarts seen (boot id changes).",
        |c| Some(c.restarts as f64),
    );
    let name = "phirig_card_hugepages";
    e.family(
        name,
        Kind::Gauge,
        "Huge pages the card's agent holds and wants.",
    );
    for c in &snap.cards {
        e.sample(
            name,
            &[("card", &c.name), ("state", "allocated")],
            c.hugepages[0] as f64,
        );
        e.sample(
            name,
            &[("card", &c.name), ("state", "wanted")],
            c.hugepages[1] as f64,
        );
    }
    e.per_card(
        snap,
        "phirig_card_temperature_celsius",
        Kind::Gauge,
        "Card temperature, where the card or host exposes it.",
        |c| c.temperature_c,
    );
}

fn card_shares(e: &mut Exposition, snap: &RigSnapshot) {
    // Outcomes partition the shares, so `sum by (outcome)` is meaningful; the totals they
    // partition (found by the agent, submitted to the proxy) are a family of their own.
    let name = "phirig_card_shares_total";
    e.family(
        name,
        Kind::Counter,
        "Shares by outcome: view=agent as the card's ledger counts them, view=proxy as the host's proxy judged them.",
    );
    for c in &snap.cards {
        let s = &c.shares;
        for (outcome, n) in [
            ("accepted", s.accepted),
            ("rejected", s.rejected),
            ("stale", s.stale),
        ] {
            e.sample(
                name,
                &[("card", &c.name), ("view", "agent"), ("outcome", outcome)],
                n as f64,
            );
        }
        if let Some(p) = &c.proxy {
            for (outcome, n) in [
                ("accepted", p.accepted),
                ("rejected", p.rejected),
                ("stale", p.stale),
                ("invalid", p.invalid),
                ("withheld", p.withheld),
            ] {
                e.sample(
                    name,
                    &[("card", &c.name), ("view", "proxy"), ("outcome", outcome)],
                    n as f64,
                );
            }
        }
    }
    let name = "phirig_card_shares_found_total";
    e.family(
        name,
        Kind::Counter,
        "Shares found: view=agent as the card counts them, view=proxy as submitted to the proxy.",
    );
    for c in &snap.cards {
        e.sample(
            name,
            &[("card", &c.name), ("view", "agent")],
            c.shares.found as f64,
        );
        if let Some(p) = &c.proxy {
            e.sample(
                name,
                &[("card", &c.name), ("view", "proxy")],
                p.submitted as f64,
            );
        }
    }
    e.per_card(
        snap,
        "phirig_card_shares_in_flight",
        Kind::Gauge,
        "Shares the card's agent holds or awaits an answer for.",
        |c| Some(c.shares.in_flight as f64),
    );
}

fn proxy(e: &mut Exposition, snap: &RigSnapshot) {
    e.per_card(
        snap,
        "phirig_card_proxy_slices_total",
        Kind::Counter,
        "Nonce slices the proxy handed the card, across all jobs.",
        |c| c.proxy.as_ref().map(|p| p.slices as f64),
    );
    e.per_card(
        snap,
        "phirig_card_proxy_invalid_shares_total",
        Kind::Counter,
        "Shares from the card that failed the proxy's own checks.",
        |c| c.proxy.as_ref().map(|p| p.invalid as f64),
    );
    e.per_card(
        snap,
        "phirig_card_proxy_flagged",
        Kind::Gauge,
        "1 when the proxy withholds the card's shares for failing verification.",
        |c| c.proxy.as_ref().map(|p| if p.flagged { 1.0 } else { 0.0 }),
    );
    e.per_card(
        snap,
        "phirig_card_proxy_connected",
        Kind::Gauge,
        "1 when the card is connected to the proxy.",
        |c| {
            c.proxy
                .as_ref()
                .map(|p| if p.connected { 1.0 } else { 0.0 })
        },
    );
}

fn clocks(e: &mut Exposition, snap: &RigSnapshot) {
    e.per_card(
        snap,
        "phirig_card_clock_offset_seconds",
        Kind::Gauge,
        "Card clock minus host clock (minimum-RTT estimate).",
        |c| c.clock.as_ref().map(|k| secs_from_ns(k.offset_ns as f64)),
    );
    e.per_card(
        snap,
        "phirig_card_clock_offset_bound_seconds",
        Kind::Gauge,
        "The true clock offset lies within plus or minus this.",
        |c| c.clock.as_ref().map(|k| secs_from_ns(k.bound_ns as f64)),
    );
    e.per_card(
        snap,
        "phirig_card_clock_min_rtt_seconds",
        Kind::Gauge,
        "Smallest poll round trip to the card.",
        |c| c.clock.as_ref().map(|k| secs_from_ns(k.min_rtt_ns as f64)),
    );
}

fn upstream(e: &mut Exposition, snap: &RigSnapshot) {
    let Some(up) = &snap.upstream else {
        return;
    };
    e.family(
        "phirig_upstream_connected",
        Kind::Gauge,
        "1 when the rig is logged in to a pool.",
    );
    let pool = up.pool.as_deref().unwrap_or("");
    e.sample(
        "phirig_upstream_connected",
        &[("pool", pool)],
        if up.connected { 1.0 } else { 0.0 },
    );
    e.family(
        "phirig_upstream_jobs_total",
        Kind::Counter,
        "Jobs received from the pool.",
    );
    e.sample("phirig_upstream_jobs_total", &[], up.jobs as f64);
    let name = "phirig_upstream_shares_total";
    e.family(
        name,
        Kind::Counter,
        "Shares the rig sent upstream, by the pool's outcome.",
    );
    for (outcome, n) in [
        ("accepted", up.shares.accepted),
        ("rejected", up.shares.rejected),
        ("stale", up.shares.stale),
    ] {
        e.sample(name, &[("outcome", outcome)], n as f64);
    }
    e.family(
        "phirig_upstream_shares_found_total",
        Kind::Counter,
        "Shares handed to the upstream client.",
    );
    e.sample(
        "phirig_upstream_shares_found_total",
        &[],
        up.shares.found as f64,
    );
    e.family(
        "phirig_upstream_shares_in_flight",
        Kind::Gauge,
        "Shares held for or awaiting the pool's answer.",
    );
    e.sample(
        "phirig_upstream_shares_in_flight",
        &[],
        up.shares.in_flight as f64,
    );
    let name = "phirig_upstream_reconnects_total";
    e.family(name, Kind::Counter, "Ended upstream sessions by cause.");
    for (cause, n) in &up.reconnects {
        e.sample(name, &[("cause", cause)], *n as f64);
    }
    if let Some(standby) = &up.standby {
        let name = "phirig_upstream_standby_ready";
        e.family(
            name,
            Kind::Gauge,
            "1 when the next pool is connected and logged in, ready to take over; state says where it is.",
        );
        let ready = if standby.state == "ready" { 1.0 } else { 0.0 };
        e.sample(
            name,
            &[("pool", &standby.pool), ("state", &standby.state)],
            ready,
        );
    }
    e.family(
        "phirig_upstream_standby_promotions_total",
        Kind::Counter,
        "Failovers that took the standby over, with no connect or login.",
    );
    e.sample(
        "phirig_upstream_standby_promotions_total",
        &[],
        up.standby_promotions as f64,
    );
    if let Some(rtt) = &up.rtt_ms {
        for (name, help, ms) in [
            (
                "phirig_upstream_rtt_min_seconds",
                "Smallest request round trip to the pool.",
                rtt.min,
            ),
            (
                "phirig_upstream_rtt_median_seconds",
                "Median request round trip to the pool.",
                rtt.median,
            ),
            (
                "phirig_upstream_rtt_p99_seconds",
                "99th percentile request round trip to the pool.",
                rtt.p99,
            ),
        ] {
            e.family(name, Kind::Gauge, help);
            e.sample(name, &[], ms / 1e3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_and_help_are_escaped_and_values_formatted() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_help("x\\y\nz"), "x\\\\y\\nz");
        assert_eq!(format_value(f64::NAN), "NaN");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(0.000_25), "0.00025");
        assert_eq!(format_value(3.0), "3");
    }
}
