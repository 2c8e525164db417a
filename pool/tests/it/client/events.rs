//! The client's side of the tests: its events, kept so a test can look back, and the checks on them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use phirig_pool::client::{
    self, ClientConfig, ClientEvent, ClientHandle, HangCause, Job, ShareId, ShareOutcome,
};
use tokio::sync::mpsc::Receiver;

pub const SEC: Duration = Duration::from_secs(1);
/// Every wait in these tests is bounded by this.
pub const LIMIT: Duration = Duration::from_secs(30);

/// The client's events, remembered, so a test can look for an outcome that came earlier.
pub struct Events {
    rx: Receiver<ClientEvent>,
    seen: Vec<(ClientEvent, Instant)>,
    /// `wait_for` only looks at events after the last one it returned.
    cursor: usize,
}

impl Events {
    fn new(rx: Receiver<ClientEvent>) -> Events {
        Events {
            rx,
            seen: Vec::new(),
            cursor: 0,
        }
    }

    /// Wait (bounded) for the next event after the cursor matching `pred`.
    pub async fn wait_for(
        &mut self,
        what: &str,
        pred: impl Fn(&ClientEvent) -> bool,
    ) -> (ClientEvent, Instant) {
        self.find(what, pred, false).await
    }

    async fn find(
        &mut self,
        what: &str,
        pred: impl Fn(&ClientEvent) -> bool,
        whole_history: bool,
    ) -> (ClientEvent, Instant) {
        let from = if whole_history { 0 } else { self.cursor };
        if let Some(i) = (from..self.seen.len()).find(|i| pred(&self.seen[*i].0)) {
            if !whole_history {
                self.cursor = i + 1;
            }
            return self.seen[i].clone();
        }
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(ev)) => {
                    self.seen.push((ev.clone(), Instant::now()));
                    if pred(&ev) {
                        if !whole_history {
                            self.cursor = self.seen.len();
                        }
                        return self.seen[self.seen.len() - 1].clone();
                    }
                }
                Ok(None) => panic!("event channel closed while waiting for {what}"),
                Err(_) => panic!("no {what} within {LIMIT:?}; seen: {:#?}", self.seen),
            }
        }
    }

    pub async fn job_from(&mut self, pool: usize) -> Job {
        self.job_at(pool).await.0
    }

    /// The next job from `pool`, with when it came.
    pub async fn job_at(&mut self, pool: usize) -> (Job, Instant) {
        match self
            .wait_for(
                &format!("job from pool {pool}"),
                |e| matches!(e, ClientEvent::Job(j) if j.pool == pool),
            )
            .await
        {
            (ClientEvent::Job(j), at) => (j, at),
            _ => unreachable!(),
        }
    }

    pub async fn disconnect(&mut self, pool: usize) -> (HangCause, Instant) {
        let pred =
            |e: &ClientEvent| matches!(e, ClientEvent::Disconnected { pool: p, .. } if *p == pool);
        match self.wait_for("disconnect", pred).await {
            (ClientEvent::Disconnected { cause, .. }, at) => (cause, at),
            _ => unreachable!(),
        }
    }

    /// The outcome of a share, whenever it came.
    pub async fn outcome(&mut self, id: ShareId) -> ShareOutcome {
        let pred =
            |e: &ClientEvent| matches!(e, ClientEvent::ShareOutcome { id: i, .. } if *i == id);
        match self.find("share outcome", pred, true).await.0 {
            ClientEvent::ShareOutcome { outcome, .. } => outcome,
            _ => unreachable!(),
        }
    }

    /// Outcomes already delivered, without waiting.
    pub fn drain_outcomes(&mut self) -> Vec<ShareOutcome> {
        while let Ok(ev) = self.rx.try_recv() {
            self.seen.push((ev, Instant::now()));
        }
        self.seen
            .iter()
            .filter_map(|(e, _)| match e {
                ClientEvent::ShareOutcome { outcome, .. } => Some(outcome.clone()),
                _ => None,
            })
            .collect()
    }

    /// Take in whatever has arrived, waiting at most `quiet` for more.
    pub async fn settle(&mut self, quiet: Duration) {
        // Bounded: the event channel is finite and each pass waits at most `quiet`.
        for _ in 0..10_000 {
            match tokio::time::timeout(quiet, self.rx.recv()).await {
                Ok(Some(ev)) => self.seen.push((ev, Instant::now())),
                _ => return,
            }
        }
    }

    /// Every outcome reported so far, per share.
    pub fn outcomes(&self) -> BTreeMap<ShareId, Vec<ShareOutcome>> {
        let mut all: BTreeMap<ShareId, Vec<ShareOutcome>> = BTreeMap::new();
        for (ev, _) in &self.seen {
            if let ClientEvent::ShareOutcome { id, outcome } = ev {
                all.entry(*id).or_default().push(outcome.clone());
            }
        }
        all
    }
}

pub fn spawn(cfg: ClientConfig) -> (ClientHandle, Events) {
    let (handle, rx) = client::spawn(cfg);
    (handle, Events::new(rx))
}

pub fn assert_books_balance(handle: &ClientHandle) {
    let s = handle.stats().shares;
    assert_eq!(
        s.found,
        s.accepted + s.rejected + s.stale + s.in_flight,
        "{s:?}"
    );
}

pub fn within(elapsed: Duration, limit: Duration, what: &str) {
    eprintln!("timing: {what}: {elapsed:?} (limit {limit:?})");
    assert!(elapsed <= limit, "{what} took {elapsed:?}, limit {limit:?}");
}
