//! phirig-deploy's integration tests, one binary: MPSS discovery on a sysfs fixture, and the local
//! machine as a card. The tests on network-namespace cards run the real agent, which is the host's
//! `phirig` binary, so they live in the host's test binary (`host/tests/it/testbed/`).

mod discovery;
mod local_card;
