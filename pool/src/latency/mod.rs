//! Round-trip measurement with kernel receive timestamps (SO_TIMESTAMPNS) beside user-space ones.
