#!/usr/bin/env bash
# tapline lab down: removes exactly what up.sh (and traffic.sh) made, also after a half-failed
# up: the lab's processes (by pid), its namespaces (their veth ends go with them), bridges,
# monitor ports and the state directory. Safe to run when nothing is there.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
stop_lab_processes
# A veth whose peer was in a deleted namespace goes away by itself, asynchronously: deleting it
# may race with the kernel, so a failed delete is only an error if the link is still there below.
del_link() { if link_exists "$1"; then ip link del "$1" 2>/dev/null || true; fi; }
for vm in "${LAB_VMS[@]}"; do
  ns=$(ns_of "$vm")
  if ns_exists "$ns"; then ip netns del "$ns"; fi
  del_link "$(port_of "$vm")"
  del_link "tl-$vm-x"
done
if ns_exists "$ROUTER_NS"; then ip netns del "$ROUTER_NS"; fi
for host in "${LAB_HOSTS[@]}"; do
  for l in "$(uplink_of "$host")" "tl-rt-$host-x" "$(mon_of "$host")" "$(montap_of "$host")" "$(bridge_of "$host")"; do
    del_link "$l"
  done
done
lab_links() {
  ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 \
    | grep -E '^tl-(vm[0-9]+-[px]|rt-h[0-9]+(-x)?|mon-h[0-9]+(-t)?|br-h[0-9]+)$' || true
}
for _ in $(seq 50); do
  left=$(lab_links)
  [[ -z $left ]] && break
  sleep 0.1
done
for l in $left; do del_link "$l"; done
left=$(lab_links)
[[ -z $left ]] || die "could not remove: $(echo $left)"
rm -rf "$LAB_STATE"
log "lab is down"
