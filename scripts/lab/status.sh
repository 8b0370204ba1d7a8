#!/usr/bin/env bash
# tapline lab status: what exists of the lab. Exit 0 when complete, 1 when absent, 2 when partial.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
present=0 missing=0
check() { # description command...
  local what=$1; shift
  if "$@" >/dev/null 2>&1; then present=$((present + 1)); printf '  ok       %s\n' "$what"
  else missing=$((missing + 1)); printf '  MISSING  %s\n' "$what"; fi
}
echo "hosts:"
for host in "${LAB_HOSTS[@]}"; do
  check "bridge $(bridge_of "$host")" link_exists "$(bridge_of "$host")"
  check "monitor port $(mon_of "$host") (mirror target $(montap_of "$host"))" link_exists "$(mon_of "$host")"
  check "router leg $(uplink_of "$host") -> $ROUTER_NS/r-$host ${HOST_NET[$host]}.1" link_exists "$(uplink_of "$host")"
done
check "router namespace $ROUTER_NS" ns_exists "$ROUTER_NS"
echo "vms:"
for vm in "${LAB_VMS[@]}"; do
  p=$(port_of "$vm")
  where=$(master_of "$p"); where=${where:-none}
  # u32 filters of one clsact share their hash tables, so one listing shows both directions
  filters=$(tc filter show dev "$p" ingress 2>/dev/null | grep -c mirred || true)
  check "$vm: namespace $(ns_of "$vm") (${VM_IP[$vm]}, ${VM_MAC[$vm]})" ns_exists "$(ns_of "$vm")"
  check "$vm: port $p on ${where} ($filters mirror filters)" link_exists "$p"
done
echo "mirror mode: $(mirror_mode)"
if ((missing == 0)); then echo "lab: up"; exit 0; fi
if ((present == 0)); then echo "lab: down"; exit 1; fi
echo "lab: partial ($missing missing; run up again, or down)"; exit 2
