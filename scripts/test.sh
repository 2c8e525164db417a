#!/usr/bin/env bash
# The whole phirig test suite: installs what the tests need (when root), then runs every test.
#
# As root it installs the Debian packages the real-network tests use (openssh-server for the card
# test bed, iproute2 for network namespaces, iptables for the blackholed-route test) and reserves
# 2 MiB huge pages so the kernel tests run on real huge pages. Without root those steps are skipped
# with a reason, and the tests that need them skip themselves and say so.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'test.sh: %s\n' "$*"; }

# Huge pages wanted: enough for both vCPUs at the largest scratchpad (cn-heavy, 4 MiB) times two
# interleaved hashes, plus headroom for parallel test binaries.
HUGEPAGES_WANTED=${PHIRIG_TEST_HUGEPAGES:-64}
NEEDED_PACKAGES=(openssh-server openssh-client iproute2 iptables python3)

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

cargo test --workspace --all-targets --no-fail-fast "$@"
