//! The config file: values reach the commands, flags given on the command line win, unknown keys
//! and malformed files are clear errors that start nothing, and the shipped example parses.

mod errors;
mod example;
mod fixture;
mod merge;
mod per_algo;
