//! The operator's stops, also recorded on this machine.
//!
//! A card keeps its own "stopped" marker beside the agent, but an MPSS card's root file system
//! lives in RAM: a card reboot forgets the marker together with the binary, and the watchdog
//! would then redeploy and start a card the operator had stopped. The host's record survives
//! that; the operator's next start, restart or deploy clears both.

use std::io;
use std::path::PathBuf;

use super::error::DeployError;
use crate::discovery::Card;

/// One file per stopped card under `dir`.
#[derive(Debug, Clone)]
pub(crate) struct StopRecord {
    dir: PathBuf,
}

impl StopRecord {
    pub(crate) fn new(dir: PathBuf) -> StopRecord {
        StopRecord { dir }
    }

    /// The record's file: the card name with anything but letters, digits and `.-_@:`
    /// replaced, so a name never reaches outside `dir`.
    fn path(&self, card: &Card) -> PathBuf {
        let safe: String = card
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || ".-_@:".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        // The suffix keeps even `..` a plain file name.
        self.dir.join(format!("{safe}.stopped"))
    }

    pub(crate) fn mark(&self, card: &Card) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        std::fs::write(self.path(card), b"")
    }

    pub(crate) fn clear(&self, card: &Card) -> io::Result<()> {
        match std::fs::remove_file(self.path(card)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    pub(crate) fn is_marked(&self, card: &Card) -> bool {
        self.path(card).is_file()
    }

    /// A failed `mark` or `clear`, naming the card, the step and the file.
    pub(crate) fn error(&self, card: &Card, step: &'static str, e: io::Error) -> DeployError {
        DeployError::StopRecord {
            card: card.name.clone(),
            step,
            path: self.path(card),
            source: e,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(name: &str) -> Card {
        let mut c = Card::local();
        c.name = name.into();
        c
    }

    #[test]
    fn marks_clears_and_keeps_cards_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rec = StopRecord::new(dir.path().join("stops"));
        let (a, b) = (card("mic0"), card("root@172.31.2.1:22"));
        assert!(!rec.is_marked(&a));
        rec.mark(&a).expect("mark");
        assert!(rec.is_marked(&a));
        assert!(!rec.is_marked(&b));
        rec.clear(&a).expect("clear");
        rec.clear(&a).expect("clearing twice is fine");
        assert!(!rec.is_marked(&a));
    }

    #[test]
    fn a_name_never_leaves_the_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rec = StopRecord::new(dir.path().join("stops"));
        for name in ["../../etc/passwd", "..", "a/b", "/abs"] {
            let p = rec.path(&card(name));
            assert_eq!(
                p.parent(),
                Some(dir.path().join("stops").as_path()),
                "{name}"
            );
        }
    }
}
