//! cn/r (Monero variant 4): the per-height random program, its generator, cache and executor.
