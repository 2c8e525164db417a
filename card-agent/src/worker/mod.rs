//! Per-core workers: thread placement, intensity, nonce ranges, self-test and share detection.
