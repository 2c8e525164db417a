//! Counters of one zero-copy sender: what went out how, and what the kernel said about it.

use serde::Serialize;

/// Why a socket sends without zero-copy, if it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Zero-copy was not asked for.
    Disabled,
    /// `SO_ZEROCOPY` refused (EINVAL/ENOPROTOOPT/EOPNOTSUPP): the kernel or socket lacks it.
    Unsupported,
    /// A completion said the kernel copied anyway (loopback, veth): zero-copy only costs here.
    KernelCopied,
}

/// Counts kept by a sender; `completions == zc_sends` once every zero-copy send is acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ZcStats {
    /// `send(MSG_ZEROCOPY)` calls that queued data (each gets one completion).
    pub zc_sends: u64,
    /// Plain `send` calls (small chunks, or after a fallback).
    pub plain_sends: u64,
    /// Zero-copy sends acknowledged by the kernel (sum of the notification ranges).
    pub completions: u64,
    /// Of those, how many the kernel reported as copied.
    pub copied: u64,
    /// Notifications read (ranges are coalesced, so usually far fewer than completions).
    pub notifications: u64,
    /// `ENOBUFS` answers (optmem or locked-memory limit), each followed by a wait for completions.
    pub enobufs: u64,
    pub bytes_zc: u64,
    pub bytes_plain: u64,
    pub fallback: Option<Fallback>,
}

impl ZcStats {
    /// Zero-copy sends not yet acknowledged: the buffer they point into must stay mapped.
    pub fn pending(&self) -> u64 {
        self.zc_sends.saturating_sub(self.completions)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes_zc + self.bytes_plain
    }

    /// Adds another sender's counts (the rig total).
    pub fn add(&mut self, o: &ZcStats) {
        self.zc_sends += o.zc_sends;
        self.plain_sends += o.plain_sends;
        self.completions += o.completions;
        self.copied += o.copied;
        self.notifications += o.notifications;
        self.enobufs += o.enobufs;
        self.bytes_zc += o.bytes_zc;
        self.bytes_plain += o.bytes_plain;
    }
}
