//! The stratum session as a state machine without I/O: feed it lines and instants, get lines, events and deadlines.
