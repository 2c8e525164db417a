//! Scratchpad memory: 2 MiB / 1 GiB huge pages, transparent huge pages, plain pages, and what each thread got.
