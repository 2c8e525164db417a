//! One-off faults played out on a logged-in connection: reset, garbage, oversized, stall, reconnect.

use super::{Conn, Ending};
use crate::protocol::{ReconnectParams, ServerMessage};
use crate::server::fault::{oversized_line, Fault, FaultSetting, GARBAGE_LINE};

impl Conn {
    /// Play out a one-off fault on this (logged-in) connection.
    pub(super) fn play_action(&mut self, setting: &FaultSetting) {
        self.fault.applied_generation = Some(setting.generation);
        tracing::debug!(peer = %self.peer, fault = %setting.fault, "injecting fault");
        if self.fault.stalled {
            return;
        }
        match &setting.fault {
            Fault::Reset => self.end(Ending::Reset),
            Fault::GarbageLine => self.out.extend(GARBAGE_LINE.as_bytes()),
            Fault::OversizedLine => self.out.extend(oversized_line().as_bytes()),
            Fault::StallMidLine => {
                let template = self.shared.jobs.current();
                if let Some(session) = self.session.as_ref() {
                    let (_, params) = self.make_job(session, &template);
                    let line = ServerMessage::Job(params).encode();
                    self.out.extend(&line.as_bytes()[..line.len() / 2]);
                }
                self.fault.stalled = true;
            }
            Fault::Reconnect { host, port, wait } => {
                let line = ServerMessage::Reconnect(ReconnectParams {
                    host: host.clone(),
                    port: *port,
                    wait: Some(*wait),
                })
                .encode();
                self.push_line(&line, &setting.fault, true);
            }
            _ => {}
        }
    }
}
