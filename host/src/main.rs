//! `phirig`: the rig operator's command.
fn main() {}
