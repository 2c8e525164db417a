#!/usr/bin/env bash
# What this machine needs for the test suite, in one place; `scripts/test.sh` runs it first.
#
# As root it installs the Debian packages the real-network tests use (openssh-server and
# openssh-client for the card test bed, iproute2 for network namespaces, iptables for the
# blackholed-route test, python3 for the test bed's helpers, systemd for `systemd-analyze verify`
# of the host's unit), reserves 2 MiB huge pages so the kernel tests run on real huge pages,
# and on a CPU without VAES installs QEMU's user-mode emulator
# so test.sh can run the VAES tests under `qemu-x86_64 -cpu max`. QEMU 7.2 (bookworm's) gets the
# upper lane of a 256-bit vaesenc wrong, so on bookworm the emulator comes from bookworm-backports.
# Without root every step is skipped and named; the tests that need it skip themselves and say so.
#
# Run it alone (`bash scripts/setup-test-machine.sh`), or source it for `qemu_ok` and
# `setup_test_machine`.
set -euo pipefail

# Huge pages wanted: enough for both vCPUs at the largest scratchpad (cn-heavy, 4 MiB) times two
# interleaved hashes, plus headroom for parallel test binaries.
HUGEPAGES_WANTED=${PHIRIG_TEST_HUGEPAGES:-64}
# cmake builds the reference RandomX (randomx-rs); without it scripts/cmake fetches one from PyPI.
NEEDED_PACKAGES=(openssh-server openssh-client iproute2 iptables python3 systemd prometheus
  chromium chromium-driver cmake)

setup_say() { printf 'setup-test-machine.sh: %s\n' "$*"; }

# QEMU 10 or later: the versions whose 256-bit vaesenc is known right.
qemu_ok() {
  local v
  v=$(qemu-x86_64 --version 2>/dev/null | sed -n 's/.*version \([0-9]*\)\..*/\1/p' | head -n 1)
  [ "${v:-0}" -ge 10 ]
}

install_packages() {
  local missing=() p
  for p in "${NEEDED_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  setup_say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_qemu() {
  export DEBIAN_FRONTEND=noninteractive
  local codename
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  if [ "$codename" = bookworm ]; then
    setup_say "installing qemu-user from bookworm-backports"
    echo 'deb http://deb.debian.org/debian bookworm-backports main' \
      > /etc/apt/sources.list.d/phirig-bookworm-backports.list
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends -t bookworm-backports qemu-user >/dev/null
  else
    setup_say "installing qemu-user"
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends qemu-user >/dev/null
  fi
}

reserve_huge_pages() {
  local have
  have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
  [ "$have" -ge "$HUGEPAGES_WANTED" ] && return
  if echo "$HUGEPAGES_WANTED" > /proc/sys/vm/nr_hugepages 2>/dev/null; then
    setup_say "reserved $(cat /proc/sys/vm/nr_hugepages) huge pages of 2 MiB"
  else
    setup_say "could not reserve huge pages; kernel tests fall back to transparent/normal pages"
  fi
}

setup_test_machine() {
  if [ "$(id -u)" != 0 ]; then
    setup_say "not root, skipped: installing ${NEEDED_PACKAGES[*]} and QEMU, reserving huge pages;"
    setup_say "so the network-namespace card tests and the blackhole test skip themselves, the"
    setup_say "kernel tests use transparent or normal pages, and without VAES or QEMU 10 or later"
    setup_say "on this machine the VAES path goes untested"
    return
  fi
  install_packages
  if ! grep -qw vaes /proc/cpuinfo && ! qemu_ok; then
    install_qemu || setup_say "could not install qemu-user: the VAES path will go untested"
  fi
  reserve_huge_pages
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cd "$(dirname "$0")/.."
  setup_test_machine
fi
