#!/usr/bin/env bash
# The whole phirig test suite: installs what the tests need (when root), then runs every test.
#
# As root it installs the Debian packages the real-network tests use (openssh-server for the card
# test bed, iproute2 for network namespaces, iptables for the blackholed-route test) and QEMU's
# user-mode emulator, and reserves 2 MiB huge pages so the kernel tests run on real huge pages.
# Without root those steps are skipped with a reason, and the tests that need them skip
# themselves and say so.
#
# On a CPU without VAES, the VAES explode/implode is then tested under `qemu-x86_64 -cpu max`,
# which has it: its own test and the hardware-AES vectors. QEMU 7.2 (bookworm's) gets the upper
# lane of a 256-bit vaesenc wrong, so on bookworm the emulator comes from bookworm-backports.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test.sh: %s\n' "$*"; }

# Huge pages wanted: enough for both vCPUs at the largest scratchpad (cn-heavy, 4 MiB) times two
# interleaved hashes, plus headroom for parallel test binaries.
HUGEPAGES_WANTED=${PHIRIG_TEST_HUGEPAGES:-64}
NEEDED_PACKAGES=(openssh-server openssh-client iproute2 iptables python3)

# QEMU 10 or later: the versions whose 256-bit vaesenc is known right.
qemu_ok() {
  local v
  v=$(qemu-x86_64 --version 2>/dev/null | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n 1)
  [ "${v:-0}" -ge 10 ]
}

install_qemu() {
  export DEBIAN_FRONTEND=noninteractive
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  if [ "$codename" = bookworm ]; then
    say "installing qemu-user from bookworm-backports"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' \
      > /etc/apt/sources.list.d/phirig-bookworm-backports.list
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-user >/dev/null
  else
    say "installing qemu-user"
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
  fi
}

if [ "$(id -u)" = 0 ]; then
  missing=()
  for p in "${NEEDED_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! grep -qw vaes /proc/cpuinfo && ! qemu_ok; then
    install_qemu || say "could not install qemu-user: the VAES path will go untested"
  fi
  have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
  if [ "$have" -lt "$HUGEPAGES_WANTED" ]; then
    if echo "$HUGEPAGES_WANTED" > /proc/sys/vm/nr_hugepages 2>/dev/null; then
      say "reserved $(cat /proc/sys/vm/nr_hugepages) huge pages of 2 MiB"
    else
      say "could not reserve huge pages; kernel tests fall back to transparent/normal pages"
    fi
  fi
else
  say "not root: skipping package installs and huge-page reservation;"
  say "the network-namespace card tests and the blackhole test will skip themselves"
fi

rc=0
cargo test --workspace --all-targets --no-fail-fast "$@" || rc=$?

if grep -qw vaes /proc/cpuinfo; then
  say "this CPU has VAES: the run above tested the VAES explode/implode"
elif qemu_ok; then
  say "VAES explode/implode under qemu-x86_64 -cpu max"
  export PHIRIG_EXPECT_VAES=1 CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER="qemu-x86_64 -cpu max"
  # The same targets as above, filtered to the tests named for VAES: nothing rebuilds.
  cargo test --workspace --all-targets --no-fail-fast -- vaes || rc=$?
else
  say "no VAES here and no QEMU 10 or later (installed only as root): VAES path not tested"
fi
exit $rc
