//! Stratum wire format: messages, targets and difficulty, bounded line framing, pool URLs.
