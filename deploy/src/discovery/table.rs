//! `phirig cards` output: one row per card, as an aligned text table or JSON.

use super::card::{Card, CardKind, CardState};
use serde::Serialize;

/// One line of `phirig cards` (also the `--json` element).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardRow {
    pub name: String,
    pub address: String,
    pub kind: CardKind,
    pub state: CardState,
    pub cores: Option<u32>,
    pub memory_bytes: Option<u64>,
    /// `running`, `stopped`, `no binary`, `unreachable`, … or `-` when not checked.
    pub agent: String,
}

impl CardRow {
    /// A row for `card`, with the agent status as already determined (or `-`).
    pub fn new(card: &Card, agent: impl Into<String>) -> CardRow {
        CardRow {
            name: card.name.clone(),
            address: card.address.clone(),
            kind: card.kind,
            state: card.state.clone(),
            cores: card.cores,
            memory_bytes: card.memory_bytes,
            agent: agent.into(),
        }
    }
}

/// Human-sized memory: MPSS sizes are whole MiB, so GiB with one decimal reads best.
fn memory(bytes: Option<u64>) -> String {
    match bytes {
        None => "-".into(),
        Some(b) if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        Some(b) => format!("{} MiB", b >> 20),
    }
}

/// Left-aligned columns separated by two spaces; every line ends with `\n`.
pub fn render_table(rows: &[CardRow]) -> String {
    const HEAD: [&str; 7] = [
        "NAME", "ADDRESS", "KIND", "STATE", "CORES", "MEMORY", "AGENT",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.address.clone(),
                r.kind.to_string(),
                r.state.to_string(),
                r.cores.map_or("-".into(), |c| c.to_string()),
                memory(r.memory_bytes),
                r.agent.clone(),
            ]
        })
        .collect();
    let mut width = HEAD.map(str::len);
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |row: &[String]| {
        let mut l = String::new();
        for (i, c) in row.iter().enumerate() {
            if i + 1 == row.len() {
                l.push_str(c);
            } else {
                l.push_str(&format!("{c:<w$}  ", w = width[i]));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&HEAD.map(String::from));
    for row in &cells {
        line(row);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_json() {
        let mut card = Card::local();
        card.cores = Some(64);
        card.memory_bytes = Some(16 << 30);
        let rows = vec![CardRow::new(&card, "running")];
        let t = render_table(&rows);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("NAME"));
        assert!(lines[1].contains("16.0 GiB"), "{t}");
        assert!(lines[1].ends_with("running"));
        let json = serde_json::to_value(&rows).expect("json");
        assert_eq!(json[0]["kind"], "local");
        assert_eq!(json[0]["state"], "unknown");
    }
}
