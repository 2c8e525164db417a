//! The kernel's integration tests, one binary: the published vectors on every AES path and width.

mod vectors;
