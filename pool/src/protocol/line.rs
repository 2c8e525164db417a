//! A bounded newline framer: splits a byte stream into lines and never buffers more than one line.
//!
//! An oversized line is reported once, then its remaining bytes are dropped up to the next `\n`,
//! where framing resumes. So a hostile peer can cost us at most `max_line` bytes of buffer.

use std::collections::VecDeque;

/// Longest line we accept, excluding the newline.
pub const MAX_LINE_LEN: usize = 64 * 1024;

/// Why a line was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("line longer than {limit} bytes")]
    Oversized { limit: usize },
    #[error("line is not UTF-8")]
    NotUtf8,
}

/// Splits bytes into lines; `\r\n` and `\n` both end a line, blank lines are skipped.
#[derive(Debug)]
pub struct LineFramer {
    partial: Vec<u8>,
    ready: VecDeque<Result<String, LineError>>,
    max_line: usize,
    /// Set after an oversized line was reported, until its terminating newline is seen.
    discarding: bool,
}

impl Default for LineFramer {
    fn default() -> Self {
        Self::new(MAX_LINE_LEN)
    }
}

impl LineFramer {
    /// A framer that refuses lines longer than `max_line` bytes.
    pub fn new(max_line: usize) -> Self {
        LineFramer {
            partial: Vec::new(),
            ready: VecDeque::new(),
            max_line: max_line.max(1),
            discarding: false,
        }
    }

    /// Feed received bytes. Completed lines (or errors) queue up for [`LineFramer::next_line`];
    /// the queue holds at most what this call delivered, so callers that drain it between
    /// reads keep memory bounded by their read size plus `max_line`.
    pub fn push(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let newline = data.iter().position(|&b| b == b'\n');
            let (chunk, rest, ends_line) = match newline {
                Some(i) => (&data[..i], &data[i + 1..], true),
                None => (data, &data[data.len()..], false),
            };
            data = rest;
            if self.discarding {
                if ends_line {
                    self.discarding = false;
                }
                continue;
            }
            // A trailing '\r' is not content: it may be the first half of a "\r\n" split
            // across reads, so it gets one byte of slack.
            let last = chunk.last().or(self.partial.last());
            let allowed = self.max_line + usize::from(last == Some(&b'\r'));
            if self.partial.len() + chunk.len() > allowed {
                // Drop what we hold and everything up to the next newline.
                self.partial = Vec::new();
                self.ready.push_back(Err(LineError::Oversized {
                    limit: self.max_line,
                }));
                self.discarding = !ends_line;
                continue;
            }
            self.partial.extend_from_slice(chunk);
            if ends_line {
                let mut line = std::mem::take(&mut self.partial);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                self.ready
                    .push_back(String::from_utf8(line).map_err(|_| LineError::NotUtf8));
            }
        }
    }

    /// The next complete line, or the error that replaced it.
    pub fn next_line(&mut self) -> Option<Result<String, LineError>> {
        self.ready.pop_front()
    }

    /// Bytes of an unfinished line currently held.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Whether an unfinished line is pending (the peer stopped mid-line).
    pub fn is_mid_line(&self) -> bool {
        !self.partial.is_empty() || self.discarding
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(f: &mut LineFramer) -> Vec<Result<String, LineError>> {
        std::iter::from_fn(|| f.next_line()).collect()
    }

    #[test]
    fn splits_across_pushes_and_strips_cr() {
        let mut f = LineFramer::new(16);
        f.push(b"ab");
        assert!(drain(&mut f).is_empty());
        assert!(f.is_mid_line());
        f.push(b"c\r\n\n  \r\nde\nf");
        assert_eq!(drain(&mut f), vec![Ok("abc".into()), Ok("de".into())]);
        assert_eq!(f.buffered(), 1);
    }

    #[test]
    fn oversized_line_is_reported_once_and_framing_resumes() {
        let mut f = LineFramer::new(8);
        f.push(b"0123456");
        f.push(b"78");
        f.push(&[b'x'; 1000]);
        f.push(b"yy\nok\n");
        let got = drain(&mut f);
        assert_eq!(
            got,
            vec![Err(LineError::Oversized { limit: 8 }), Ok("ok".into())]
        );
        assert_eq!(f.buffered(), 0);
    }

    #[test]
    fn line_of_exactly_max_is_accepted() {
        let mut f = LineFramer::new(4);
        f.push(b"abcd\r\nabcd\nabcde\n");
        assert_eq!(
            drain(&mut f),
            vec![
                Ok("abcd".into()),
                Ok("abcd".into()),
                Err(LineError::Oversized { limit: 4 })
            ]
        );
    }

    #[test]
    fn crlf_split_across_reads_at_the_limit_is_accepted() {
        let mut f = LineFramer::new(4);
        f.push(b"abcd\r");
        f.push(b"\n");
        assert_eq!(drain(&mut f), vec![Ok("abcd".into())]);
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        let mut f = LineFramer::new(8);
        f.push(b"\xff\xfe\n");
        assert_eq!(drain(&mut f), vec![Err(LineError::NotUtf8)]);
    }
}
