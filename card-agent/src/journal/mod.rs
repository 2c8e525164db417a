//! The event journal: a compact, versioned binary log of what every thread did, and its reader.
