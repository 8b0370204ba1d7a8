#!/usr/bin/env bash
# tapline lab up: two "physical hosts" (bridges tl-br-h1, tl-br-h2), a router namespace between
# them and four VM namespaces, every VM port mirrored to its host's monitor port. Idempotent:
# every step creates only what is missing, so `up` twice, or after a half-failed `up`, is fine.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
need_tools ip tc ethtool sysctl

trap 'log "lab up failed (line $LINENO); run it again, or scripts/lab/down.sh to remove what was made"' ERR

mkdir -p "$LAB_STATE/pids"
# The mirror mode is fixed when the lab is first brought up (TAPLINE_LAB_MIRROR=both|ingress).
if [[ ! -e $LAB_STATE/mirror ]]; then
  mode=${TAPLINE_LAB_MIRROR:-both}
  [[ $mode == both || $mode == ingress ]] || die "TAPLINE_LAB_MIRROR must be both or ingress"
  echo "$mode" >"$LAB_STATE/mirror"
fi

ensure_ns() {
  ns_exists "$1" || ip netns add "$1"
  ip -n "$1" link set lo up
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}

# A veth whose $1 end stays in the root namespace and whose $2 end goes into namespace $3 as $4.
ensure_veth_into_ns() { # root-end tmp-peer ns ns-name mac
  local a=$1 b=$2 ns=$3 name=$4 mac=$5
  if ! ip -n "$ns" link show dev "$name" >/dev/null 2>&1; then
    link_exists "$a" && ip link del "$a"           # half-made pair from a failed run
    link_exists "$b" && ip link del "$b" 2>/dev/null || true
    ip link add "$a" type veth peer name "$b"
    no_ipv6 "$a"
    ip link set "$b" netns "$ns"
    ip -n "$ns" link set "$b" name "$name"
  fi
  link_exists "$a" || die "$a is missing while $ns/$name exists; run down.sh then up.sh"
  ip -n "$ns" link set "$name" address "$mac"
  no_offloads "$a"
  no_offloads "$ns" "$name"
  ip link set "$a" up
  ip -n "$ns" link set "$name" up
}

ensure_addr() { # ns dev cidr
  ip -n "$1" -4 addr show dev "$2" | grep -q " ${3} " || ip -n "$1" addr add "$3" dev "$2"
}

for host in "${LAB_HOSTS[@]}"; do
  br=$(bridge_of "$host")
  if ! link_exists "$br"; then
    ip link add "$br" type bridge stp_state 0 nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0
  fi
  no_ipv6 "$br"
  ip link set "$br" up
  # monitor port: tl-mon-hN (capture here) <-> tl-mon-hN-t (mirror target); both ends stay in
  # the root namespace, carry no address and answer no ARP.
  mon=$(mon_of "$host"); tap=$(montap_of "$host")
  if ! link_exists "$mon" || ! link_exists "$tap"; then
    link_exists "$mon" && ip link del "$mon"
    link_exists "$tap" && ip link del "$tap"
    ip link add "$mon" type veth peer name "$tap"
  fi
  for d in "$mon" "$tap"; do no_ipv6 "$d"; ip link set "$d" arp off; no_offloads "$d"; ip link set "$d" up; done
done

# router between the hosts
ensure_ns "$ROUTER_NS"
ip netns exec "$ROUTER_NS" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 \
  net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0 >/dev/null
for host in "${LAB_HOSTS[@]}"; do
  up=$(uplink_of "$host")
  ensure_veth_into_ns "$up" "tl-rt-$host-x" "$ROUTER_NS" "r-$host" "${ROUTER_MAC[$host]}"
  ip link set "$up" master "$(bridge_of "$host")"
  ensure_addr "$ROUTER_NS" "r-$host" "${HOST_NET[$host]}.1/24"
  # proxy ARP: answers for migrated VMs (see migrate.sh); rp_filter off for the same reason
  ip netns exec "$ROUTER_NS" sysctl -qw "net.ipv4.conf.r-$host.proxy_arp=1" "net.ipv4.conf.r-$host.send_redirects=0" \
    "net.ipv4.conf.r-$host.rp_filter=0" >/dev/null
done

# VMs
for vm in "${LAB_VMS[@]}"; do
  ns=$(ns_of "$vm"); p=$(port_of "$vm"); home=${VM_HOME[$vm]}
  ensure_ns "$ns"
  ensure_veth_into_ns "$p" "tl-$vm-x" "$ns" eth0 "${VM_MAC[$vm]}"
  # a VM that was migrated stays where it is; a new one goes to its home host
  [[ $(master_of "$p") == tl-br-* ]] || ip link set "$p" master "$(bridge_of "$home")"
  ensure_addr "$ns" eth0 "${VM_IP[$vm]}/24"
  ip -n "$ns" route replace default via "${HOST_NET[$home]}.1" dev eth0
done

for host in "${LAB_HOSTS[@]}"; do apply_mirrors "$host"; done

log "lab is up (mirror mode: $(mirror_mode)); capture on tl-mon-h1 / tl-mon-h2"
