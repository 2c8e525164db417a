//! The reference pool server: jobs, variable difficulty, share verification, and fault injection for tests.
