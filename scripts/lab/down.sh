#!/usr/bin/env bash
# tapline lab down: removes exactly what up.sh (and traffic.sh) made, also after a half-failed
# up: the lab's processes (by pid), its namespaces (their veth ends go with them), bridges,
# monitor ports and the state directory. Safe to run when nothing is there.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
stop_lab_processes
for vm in "${LAB_VMS[@]}"; do
  ns=$(ns_of "$vm")
  ns_exists "$ns" && ip netns del "$ns"
  link_exists "$(port_of "$vm")" && ip link del "$(port_of "$vm")"
  link_exists "tl-$vm-x" && ip link del "tl-$vm-x"
done
ns_exists "$ROUTER_NS" && ip netns del "$ROUTER_NS"
for host in "${LAB_HOSTS[@]}"; do
  for l in "$(uplink_of "$host")" "tl-rt-$host-x" "$(mon_of "$host")" "$(montap_of "$host")" "$(bridge_of "$host")"; do
    link_exists "$l" && ip link del "$l"
  done
done
# veth ends in a deleted namespace disappear asynchronously; wait until they are gone
for _ in $(seq 50); do
  left=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^tl-(vm[0-9]+-p|rt-h[0-9]+|mon-h[0-9]+|br-h[0-9]+)' || true)
  [[ -z $left ]] && break
  sleep 0.1
done
rm -rf "$LAB_STATE"
log "lab is down"
