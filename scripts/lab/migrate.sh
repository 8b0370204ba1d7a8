#!/usr/bin/env bash
# migrate.sh <vm> <host>: "live-migrates" a VM to another host: its port moves to that host's
# bridge and its mirroring to that host's monitor port; its IP, MAC and default gateway stay.
# Off its home subnet's host, the router reaches it by a /32 route on the new host's leg and
# answers ARP for both sides (proxy ARP, gateway address on any leg). Neighbour caches are
# flushed, as a gratuitous ARP would refresh them. Migrating to the current host is a no-op.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
(($# == 2)) || die "usage: migrate.sh <vm> <host>   e.g. migrate.sh vm2 h2"
vm=$(vm_name "$1"); to=$(host_name "$2")
p=$(port_of "$vm")
link_exists "$p" || die "the lab is not up ($p missing)"
from=$(vm_host "$vm")
if [[ $from == "$to" ]]; then log "$vm is already on $to"; exit 0; fi
unmirror_port "$p"
ip link set "$p" nomaster
ip link set "$p" master "$(bridge_of "$to")"
ip=${VM_IP[$vm]}
ip -n "$ROUTER_NS" route del "$ip/32" 2>/dev/null || true
[[ $to == "${VM_HOME[$vm]}" ]] || ip -n "$ROUTER_NS" route add "$ip/32" dev "r-$to"
apply_mirrors "$from"
apply_mirrors "$to"
for v in "${LAB_VMS[@]}"; do ip -n "$(ns_of "$v")" neigh flush all 2>/dev/null || true; done
ip -n "$ROUTER_NS" neigh flush all 2>/dev/null || true
log "$vm ($ip, ${VM_MAC[$vm]}) moved from $from to $to"
