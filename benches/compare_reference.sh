#!/usr/bin/env bash
# Single-thread hash rate of phirig against Monero's reference C (py-cryptonight) for cn/0, cn/1,
# cn/2 and cn/r. Sets up .venv-bench (gitignored), builds release binaries, then runs
# compare_reference.py, which measures both alternately and prints phirig / reference.
#
# Usage: benches/compare_reference.sh [--seconds S] [--rounds N] [--algos cn/2,cn/r] [--cpu K] [--intensity K]
#        [--soft-aes]            both sides on software AES
#        benches/compare_reference.sh --xmrig PATH [compare_xmrig.py options]
# With --xmrig, the side-by-side harness against an xmrig you built (compare_xmrig.py) runs
# instead: both miners on one loopback pool, xmrig at its best ways, in paired rounds.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'compare_reference: %s\n' "$*" >&2; }
TARGET_DIR=${CARGO_TARGET_DIR:-target}

for arg in "$@"; do
  if [ "$arg" = "--xmrig" ]; then
    say "building the release agent and host (for its pool)"
    cargo build --release --quiet -p phirig-agent -p phirig
    exec python3 benches/compare_xmrig.py --agent "$TARGET_DIR/release/phirig-agent" \
      --phirig "$TARGET_DIR/release/phirig" "$@"
  fi
done

VENV=.venv-bench
if [ ! -x "$VENV/bin/python" ]; then
  say "creating $VENV"
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" -c 'import pycryptonight' 2>/dev/null; then
  # py-cryptonight builds Monero's C from source: it needs a C++ compiler and Python headers.
  say "installing py-cryptonight into $VENV"
  "$VENV/bin/pip" install --quiet --upgrade pip
  "$VENV/bin/pip" install --quiet py-cryptonight
fi

# Only the agent: its `bench` command is the phirig side (the bench crate's other binaries
# add a long fat-LTO link for nothing here).
say "building the release agent"
cargo build --release --quiet -p phirig-agent

exec "$VENV/bin/python" benches/compare_reference.py \
  --agent "$TARGET_DIR/release/phirig-agent" \
  --vectors testdata/cryptonight.txt \
  "$@"
