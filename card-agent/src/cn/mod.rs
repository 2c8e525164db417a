//! The CryptoNight kernel: one entry point per algorithm, hardware and software AES behind it.
