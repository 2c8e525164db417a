//! `phirig-agent`: the native miner copied to every card.
fn main() {}
