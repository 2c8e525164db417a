//! The signals that stop `phirig run`: Ctrl-C, a supervisor's SIGTERM, SIGHUP; a second one exits at once.

use tokio::signal::unix::{signal, Signal, SignalKind};

/// A stop signal that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StopSignal {
    pub name: &'static str,
    number: i32,
}

impl StopSignal {
    /// The exit status of a process that leaves because of this signal (128 + its number).
    pub fn exit_code(self) -> i32 {
        128 + self.number
    }
}

/// The installed handlers. From [`StopSignals::install`] on, these signals no longer end the
/// process on the spot: a supervisor's SIGTERM (`systemctl stop`, `docker stop`) would otherwise
/// leave every agent the rig started running without its host. SIGHUP stops too: the host has
/// nothing to reload, and a closed terminal should not orphan the agents either.
pub struct StopSignals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl StopSignals {
    /// Installs the handlers; call before starting anything that must be stopped.
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next stop signal.
    pub async fn recv(&mut self) -> StopSignal {
        let (name, number) = tokio::select! {
            _ = self.int.recv() => ("SIGINT", libc::SIGINT),
            _ = self.term.recv() => ("SIGTERM", libc::SIGTERM),
            _ = self.hup.recv() => ("SIGHUP", libc::SIGHUP),
        };
        StopSignal { name, number }
    }

    /// For the rest of the run, any stop signal ends the process at once: the rig is already
    /// stopping, and whoever asks again does not want to wait for its bound. Agents left running
    /// are replaced by the next `phirig run` on the same cards.
    pub fn exit_on_next(mut self) {
        tokio::spawn(async move {
            let s = self.recv().await;
            eprintln!("phirig: {} while stopping: exiting now", s.name);
            std::process::exit(s.exit_code());
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Raises `sig` at this process; the installed handler catches it.
    fn raise(sig: i32) {
        // SAFETY: raising a signal this test installed a handler for.
        assert_eq!(unsafe { libc::raise(sig) }, 0);
    }

    #[tokio::test]
    async fn term_and_hup_are_caught_and_named() {
        let mut signals = StopSignals::install().expect("install");
        for (sig, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGHUP, "SIGHUP")] {
            raise(sig);
            let got = tokio::time::timeout(std::time::Duration::from_secs(5), signals.recv())
                .await
                .expect("the signal arrives");
            assert_eq!(got.name, name);
            assert_eq!(got.exit_code(), 128 + sig);
        }
    }
}
