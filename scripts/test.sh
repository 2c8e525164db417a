#!/usr/bin/env bash
# The whole phirig test suite: prepares the machine (`setup-test-machine.sh`), then runs every
# test, then the VAES tests again under QEMU where this CPU lacks VAES.
#
# `PHIRIG_EXPECT_CPU` names the kernel's CPU paths (`aes`, `avx`, `vaes`, `avx512`, and the
# software path's bitsliced fill `ssse3`, `avx2`) the tests must exercise instead of skipping: for
# the native run, those whose flags /proc/cpuinfo shows; under `qemu-x86_64 -cpu max`, the first
# three, since the VAES tests it runs need them. Extra arguments go to the native `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup-test-machine.sh

say() { printf 'test.sh: %s\n' "$*"; }

setup_test_machine

# The kernel CPU paths this CPU can run, as a comma list.
native_cpu_paths() {
  local flag paths=()
  for flag in aes avx vaes ssse3 avx2; do
    grep -qw "$flag" /proc/cpuinfo && paths+=("$flag")
  done
  # The EVEX loop needs AVX-512F and VL, and VAES.
  local f evex=avx512
  for f in avx512f avx512vl vaes; do grep -qw "$f" /proc/cpuinfo || evex=; done
  [[ -n $evex ]] && paths+=("$evex")
  (IFS=,; echo "${paths[*]}")
}

rc=0
export PHIRIG_EXPECT_CPU
PHIRIG_EXPECT_CPU=$(native_cpu_paths)
say "PHIRIG_EXPECT_CPU=$PHIRIG_EXPECT_CPU"
cargo test --workspace --all-targets --no-fail-fast "$@" || rc=$?

if grep -qw vaes /proc/cpuinfo; then
  say "this CPU has VAES: the run above tested the VAES explode/implode"
elif qemu_ok; then
  say "VAES explode/implode under qemu-x86_64 -cpu max"
  export PHIRIG_EXPECT_CPU=aes,avx,vaes
  export CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="qemu-x86_64 -cpu max"
  # The same targets as above, filtered to the tests named for VAES: nothing rebuilds.
  cargo test --workspace --all-targets --no-fail-fast -- vaes || rc=$?
else
  say "no VAES here and no QEMU 10 or later (installed only as root): VAES path not tested"
fi
exit $rc
