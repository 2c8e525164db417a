//! The host's event journal (agent format, host flag): per-card clock-offset samples and every supervision action.

use std::path::{Path, PathBuf};

use phirig_deploy::watchdog::ActionKind;
use phirig_deploy::WatchdogAction;
use phirig_journal::{
    Event, HeaderInfo, Journal, JournalConfig, SupervisionAction, ThreadJournal, ThreadKind,
    FLAG_HOST,
};

use crate::clock_offset::Sample;
use crate::HostError;

/// Where the journal goes when running with cards and no `--journal` was given.
pub const DEFAULT_FILE: &str = "phirig.journal";

/// Thread id of the host's one journal thread (the run loop).
const HOST_THREAD: u32 = 0;

/// The open journal; cards are numbered by their position in the rig.
pub struct HostJournal {
    journal: Journal,
    thread: ThreadJournal,
    pub path: PathBuf,
}

impl HostJournal {
    pub fn create(path: &Path, api_port: u16) -> Result<Self, HostError> {
        let journal = Journal::create(
            path,
            JournalConfig::default(),
            HeaderInfo::from_env(FLAG_HOST, api_port),
        )
        .map_err(|source| HostError::Journal {
            path: path.to_path_buf(),
            source,
        })?;
        let thread = journal.thread(HOST_THREAD, ThreadKind::Host);
        Ok(HostJournal {
            journal,
            thread,
            path: path.to_path_buf(),
        })
    }

    /// One poll's round trip to `card`: card clock minus host clock, and the RTT.
    pub fn clock_sample(&mut self, card: u32, s: &Sample) {
        self.thread.record(&Event::ClockOffset {
            card,
            offset_ns: s.offset_ns(),
            rtt_ns: s.rtt_ns(),
        });
    }

    /// A deployment step or a watchdog action on `card`.
    pub fn supervision(&mut self, card: u32, action: SupervisionAction, detail: &str) {
        self.thread.record(&Event::Supervision {
            card,
            action,
            detail: detail.to_string(),
        });
    }

    /// A watchdog decision, with its cause as the detail.
    pub fn watchdog(&mut self, card: u32, a: &WatchdogAction) {
        let detail = format!("{}: {}", a.kind, a.cause);
        self.supervision(card, journal_action(a.kind), &detail);
    }

    /// Hands off what is buffered, writes it and closes the file.
    pub fn close(mut self) -> Result<(), HostError> {
        self.thread.flush();
        drop(self.thread);
        self.journal
            .close()
            .map(drop)
            .map_err(|source| HostError::Journal {
                path: self.path,
                source,
            })
    }
}

/// The journal's five supervision kinds, from the watchdog's richer ones (the detail keeps the rest).
fn journal_action(kind: ActionKind) -> SupervisionAction {
    match kind {
        ActionKind::Restart | ActionKind::ResetCard | ActionKind::BootCard => {
            SupervisionAction::Restart
        }
        ActionKind::Redeploy => SupervisionAction::Deploy,
        ActionKind::Recovered => SupervisionAction::Start,
        ActionKind::MarkUnreachable { .. } | ActionKind::MarkFailed => SupervisionAction::Unhealthy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phirig_deploy::watchdog::Cause;
    use phirig_journal::read_file;

    #[test]
    fn samples_and_actions_read_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("host.journal");
        let mut j = HostJournal::create(&path, 0).expect("create");
        let s = Sample {
            host_send_ns: 1_000,
            host_recv_ns: 3_000,
            card_ns: 10_000,
        };
        j.clock_sample(2, &s);
        j.watchdog(
            1,
            &WatchdogAction {
                card: "mic1".into(),
                kind: ActionKind::Restart,
                cause: Cause::AgentGone,
            },
        );
        j.supervision(0, SupervisionAction::Stop, "stopped");
        j.close().expect("close");
        let file = read_file(&path).expect("read");
        let events: Vec<Event> = file.events.iter().map(|e| e.event.clone()).collect();
        assert_eq!(
            events[0],
            Event::ClockOffset {
                card: 2,
                offset_ns: 8_000,
                rtt_ns: 2_000
            }
        );
        match &events[1] {
            Event::Supervision {
                card: 1,
                action: SupervisionAction::Restart,
                detail,
            } => assert!(detail.starts_with("restart agent"), "{detail}"),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(events.len(), 3);
        assert!(file.header.flags & FLAG_HOST != 0);
    }
}
