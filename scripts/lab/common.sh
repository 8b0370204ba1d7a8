#!/usr/bin/env bash
# Shared definitions of the tapline lab (sourced by the other scripts; see docs/lab.md).
# Every object the lab creates carries the tl- prefix; nothing else on the machine is touched.
set -euo pipefail

LAB_STATE=${TAPLINE_LAB_STATE:-/run/tapline-lab}
LAB_HOSTS=(h1 h2)
LAB_VMS=(vm1 vm2 vm3 vm4)
ROUTER_NS=tl-router

# vm -> home host, address, MAC. Addresses live only inside the lab's namespaces.
declare -A VM_HOME=([vm1]=h1 [vm2]=h1 [vm3]=h2 [vm4]=h2)
declare -A VM_IP=([vm1]=10.77.1.11 [vm2]=10.77.1.12 [vm3]=10.77.2.13 [vm4]=10.77.2.14)
declare -A VM_MAC=([vm1]=02:77:00:00:00:01 [vm2]=02:77:00:00:00:02 [vm3]=02:77:00:00:00:03 [vm4]=02:77:00:00:00:04)
# host -> subnet prefix, the router's address and MAC on that host's segment
declare -A HOST_NET=([h1]=10.77.1 [h2]=10.77.2)
declare -A ROUTER_MAC=([h1]=02:77:00:00:01:01 [h2]=02:77:00:00:01:02)

bridge_of()   { echo "tl-br-$1"; }        # host -> bridge (the "physical host" switch)
mon_of()      { echo "tl-mon-$1"; }       # host -> monitor port (capture here, root namespace)
montap_of()   { echo "tl-mon-$1-t"; }     # host -> far end of the monitor veth (mirror target)
uplink_of()   { echo "tl-rt-$1"; }        # host -> bridge port of the router's leg
ns_of()       { echo "tl-$1"; }           # vm -> namespace
port_of()     { echo "tl-$1-p"; }         # vm -> its bridge port (root namespace)

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }

need_root() { [[ $(id -u) -eq 0 ]] || die "the lab needs root (network namespaces, bridges, tc): run as root"; }
need_tools() {
  local t missing=()
  for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
  ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (Debian: apt-get install iproute2 ethtool)"
}

link_exists() { ip link show dev "$1" >/dev/null 2>&1; }
ns_exists()   { [[ -e /run/netns/$1 ]]; }
master_of()   { { ip -o link show dev "$1" 2>/dev/null || true; } | sed -n 's/.* master \([^ ]*\) .*/\1/p'; }

# "vm2" or "tl-vm2" -> "vm2"; anything else is refused (traffic only goes to lab VMs).
vm_name() {
  local v=${1#tl-}
  [[ -n ${VM_IP[$v]:-} ]] || die "unknown VM '$1' (known: ${LAB_VMS[*]})"
  echo "$v"
}
host_name() {
  [[ -n ${HOST_NET[$1]:-} ]] || die "unknown host '$1' (known: ${LAB_HOSTS[*]})"
  echo "$1"
}
# The host whose bridge the VM's port is attached to now (after migrations), or its home.
vm_host() {
  local m; m=$(master_of "$(port_of "$1")")
  if [[ $m == tl-br-* ]]; then echo "${m#tl-br-}"; else echo "${VM_HOME[$1]}"; fi
}

mirror_mode() { cat "$LAB_STATE/mirror" 2>/dev/null || echo "${TAPLINE_LAB_MIRROR:-both}"; }

# Wire-sized frames: no segmentation/aggregation offloads on a veth end.
no_offloads() { # [netns] dev
  local ns=() dev
  if (($# == 2)); then ns=(ip netns exec "$1"); dev=$2; else dev=$1; fi
  "${ns[@]}" ethtool -K "$dev" gso off tso off gro off >/dev/null
}

no_ipv6() { sysctl -qw "net.ipv6.conf.$1.disable_ipv6=1" >/dev/null 2>&1 || true; }

# Port mirroring of one bridge port to a host's monitor port with tc clsact + u32 + mirred.
#   dirs: "ingress egress" (both directions) or "ingress".
mirror_port() { # dev host dirs...
  local dev=$1 host=$2; shift 2
  tc qdisc del dev "$dev" clsact 2>/dev/null || true
  tc qdisc add dev "$dev" clsact
  local d
  for d in "$@"; do
    tc filter add dev "$dev" "$d" protocol all pref 10 u32 match u32 0 0 \
      action mirred egress mirror dev "$(montap_of "$host")"
  done
}
unmirror_port() { tc qdisc del dev "$1" clsact 2>/dev/null || true; }

# (Re)applies the mirror rules of one host: every VM port attached to its bridge, both
# directions (mode "both", the default: a frame between two VMs of one host is seen twice,
# as with a SPAN of both ports), or only what enters the bridge (mode "ingress": VM ports'
# ingress + the router uplink's ingress, every frame exactly once).
apply_mirrors() { # host
  local host=$1 mode vm
  mode=$(mirror_mode)
  for vm in "${LAB_VMS[@]}"; do
    local p; p=$(port_of "$vm")
    link_exists "$p" || continue
    [[ $(master_of "$p") == "$(bridge_of "$host")" ]] || continue
    if [[ $mode == ingress ]]; then mirror_port "$p" "$host" ingress
    else mirror_port "$p" "$host" ingress egress; fi
  done
  if [[ $mode == ingress ]]; then mirror_port "$(uplink_of "$host")" "$host" ingress
  else unmirror_port "$(uplink_of "$host")"; fi
}

# Kills the processes the traffic scripts started (pid files in $LAB_STATE/pids), by pid,
# only while they still run inside a lab namespace; waits for them to exit (SIGKILL after 5 s).
stop_lab_processes() {
  local f pid killed=()
  for f in "$LAB_STATE"/pids/*.pid; do
    [[ -e $f ]] || continue
    pid=$(cat "$f")
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
      local netns; netns=$(ip netns identify "$pid" 2>/dev/null || true)
      if [[ $netns == tl-* ]]; then kill "$pid" 2>/dev/null || true; killed+=("$pid"); fi
    fi
    rm -f "$f"
  done
  local i
  for pid in "${killed[@]}"; do
    for i in $(seq 50); do running "$pid" || break; sleep 0.1; done
    if running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}
# alive and not a zombie
running() { [[ -e /proc/$1/stat ]] && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
