#!/usr/bin/env bash
# phirig test bed: N fake "cards" on this machine, each a network namespace with its own sshd and a
# private tmpfs, reached from the host like MPSS cards (host side micI 172.31.(I+1).254, card .1).
#
#   testbed.sh up COUNT [FIRST]     create cards FIRST..FIRST+COUNT-1 (default FIRST=0); idempotent
#   testbed.sh down [COUNT [FIRST]] remove those cards, or every card this script made
#
# State (keys, sshd configs, pid files) lives under $PHIRIG_TESTBED_DIR (default /tmp/phirig-testbed).
# Nothing outside it is touched except the namespaces, veths and /var/lib/phirig-card (an empty mount
# point). Needs root; installs openssh-server and iproute2 with apt-get when missing.
set -euo pipefail

STATE=${PHIRIG_TESTBED_DIR:-/tmp/phirig-testbed}
CARD_DIR=/var/lib/phirig-card
SSHD=/usr/sbin/sshd

die() { echo "testbed: $*" >&2; exit 1; }

need_tools() {
    local missing=()
    [ -x "$SSHD" ] || missing+=(openssh-server)
    command -v ip >/dev/null 2>&1 || missing+=(iproute2)
    command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
    if [ ${#missing[@]} -gt 0 ]; then
        command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]} and no apt-get"
        echo "testbed: installing ${missing[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null 2>&1 ||
            { apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}" >/dev/null; } ||
            die "could not install ${missing[*]}"
    fi
}

client_key() {
    mkdir -p "$STATE"
    chmod 700 "$STATE"
    if [ ! -f "$STATE/id_ed25519" ]; then
        ssh-keygen -q -t ed25519 -N '' -C phirig-testbed -f "$STATE/id_ed25519"
    fi
    # Every card's sshd reads this file on each login, and other tests' cards are logging in while
    # this runs: rewriting it in place (cp truncates first) let a login see it empty and fail with
    # "Permission denied (publickey)". So it is written only when it differs, and by rename.
    if ! cmp -s "$STATE/id_ed25519.pub" "$STATE/authorized_keys"; then
        cp "$STATE/id_ed25519.pub" "$STATE/authorized_keys.tmp"
        chmod 600 "$STATE/authorized_keys.tmp"
        mv -f "$STATE/authorized_keys.tmp" "$STATE/authorized_keys"
    fi
    touch "$STATE/known_hosts"
}

card_up() {
    local i=$1 net=$(( $1 + 1 ))
    local ns="phirig-mic$i" host_if="mic$i" card_if="phm$i" dir="$STATE/mic$i"
    local card_ip="172.31.$net.1" host_ip="172.31.$net.254"
    mkdir -p "$dir" /run/sshd "$CARD_DIR"
    ip netns list | grep -qw "^$ns" || ip netns add "$ns"
    if ! ip link show "$host_if" >/dev/null 2>&1; then
        ip link add "$host_if" type veth peer name "$card_if"
        ip link set "$card_if" netns "$ns"
    fi
    ip addr replace "$host_ip/24" dev "$host_if"
    ip link set "$host_if" up
    ip -n "$ns" link set lo up
    ip -n "$ns" addr replace "$card_ip/24" dev "$card_if"
    ip -n "$ns" link set "$card_if" up
    [ -f "$dir/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C "mic$i" -f "$dir/host_key"
    cat >"$dir/sshd_config" <<CONF
Port 22
ListenAddress $card_ip
HostKey $dir/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $STATE/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
LogLevel ERROR
Subsystem sftp internal-sftp
CONF
    # known_hosts entry for this card (replaced, so re-running up stays correct).
    local kh="$STATE/known_hosts"
    grep -v "^$card_ip " "$kh" >"$kh.tmp" || true
    echo "$card_ip $(cut -d' ' -f1,2 "$dir/host_key.pub")" >>"$kh.tmp"
    mv -f "$kh.tmp" "$kh"
    if [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; then
        return 0
    fi
    # sshd (and everything started through it) runs in the card's netns and in a private mount
    # namespace whose tmpfs on $CARD_DIR is the card's writable space. /root gets an empty tmpfs
    # too: the card has its own root home, and the host's dotfiles (e.g. a pyenv init in
    # .bashrc, which bash sources for ssh commands) must not run, or be killed mid-way, there.
    ip netns exec "$ns" unshare -m --propagation private sh -c \
        "mount -t tmpfs -o size=256m,mode=755 phirig-card-$i '$CARD_DIR' && mount -t tmpfs -o size=4m,mode=700 phirig-card-home-$i /root && exec $SSHD -f '$dir/sshd_config' -E '$dir/sshd.log'"
    local n=0
    while ! { [ -f "$dir/sshd.pid" ] && kill -0 "$(cat "$dir/sshd.pid")" 2>/dev/null; }; do
        n=$((n + 1))
        [ $n -le 50 ] || die "sshd for mic$i did not start (see $dir/sshd.log)"
        sleep 0.1
    done
}

card_down() {
    local i=$1 ns="phirig-mic$i" dir="$STATE/mic$i"
    if ip netns list | grep -qw "^$ns"; then
        # Everything in the namespace: sshd, sessions, agents. Their mount namespace (and tmpfs)
        # goes away with the last of them.
        local pids
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
        ip netns del "$ns" || true
    fi
    if [ -f "$dir/sshd.pid" ]; then
        kill -9 "$(cat "$dir/sshd.pid")" 2>/dev/null || true
    fi
    ip link del "mic$i" 2>/dev/null || true
    rm -rf "$dir"
    if [ -f "$STATE/known_hosts" ]; then
        grep -v "^172\.31\.$(( i + 1 ))\.1 " "$STATE/known_hosts" >"$STATE/known_hosts.tmp" || true
        mv -f "$STATE/known_hosts.tmp" "$STATE/known_hosts"
    fi
}

all_cards() {
    ip netns list 2>/dev/null | sed -n 's/^phirig-mic\([0-9][0-9]*\).*/\1/p'
    if [ -d "$STATE" ]; then
        ls "$STATE" | sed -n 's/^mic\([0-9][0-9]*\)$/\1/p'
    fi
}

[ "$(id -u)" = 0 ] || die "needs root"
cmd=${1:-}
case "$cmd" in
up)
    count=${2:?usage: testbed.sh up COUNT [FIRST]}
    first=${3:-0}
    [ "$count" -ge 1 ] && [ "$first" -ge 0 ] && [ $((first + count)) -le 250 ] || die "bad COUNT/FIRST"
    need_tools
    client_key
    for ((i = first; i < first + count; i++)); do card_up "$i"; done
    echo "$STATE"
    ;;
down)
    if [ -n "${2:-}" ]; then
        first=${3:-0}
        for ((i = first; i < first + $2; i++)); do card_down "$i"; done
    else
        for i in $(all_cards | sort -un); do card_down "$i"; done
        rm -rf "$STATE"
    fi
    ;;
*)
    die "usage: testbed.sh up COUNT [FIRST] | down [COUNT [FIRST]]"
    ;;
esac
