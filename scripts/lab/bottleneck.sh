#!/usr/bin/env bash
# A bottleneck on one bridge port: a tbf (token bucket) root qdisc on the port's egress.
#   <vm> (vm1..vm4): tl-<vm>-p, the frames the switch delivers TO that VM. The port's mirror
#       filters (clsact egress) run before the root qdisc's enqueue, so the monitor port sees
#       every frame tbf then drops: losses AFTER the mirror point.
#   <host> (h1, h2): tl-rt-<host>, the host's uplink to the router = frames LEAVING the host.
#       Not mirrored in mirror mode "both": a frame dropped there was seen on the sender's port
#       (its host's monitor) but never reaches the other host's monitor port: lost BEFORE that
#       mirror point.
# Under load tbf drops what does not fit its queue (see docs/lab.md, "Loss ground truth").
#   bottleneck.sh add  <vm|host> [rate=20mbit] [burst=16kb] [limit=30kb]
#   bottleneck.sh del  <vm|host>     back to the veth's default (noqueue); no-op when absent
#   bottleneck.sh show <vm|host>     one line: "<port> qdisc=tbf|none sent=<pkts> dropped=<pkts> overlimits=<n> requeues=<n>"
# (netem is missing on these kernels; tbf only drops at the tail of its queue, no random loss.)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
need_tools tc

cmd=${1:-}; target=${2:-}
[[ -n $target ]] || die "usage: bottleneck.sh add|del|show <vm1..vm4|h1|h2> [rate burst limit]"
if [[ -n ${HOST_NET[$target]:-} ]]; then p=$(uplink_of "$target")
else vm=$(vm_name "$target") || exit 1; p=$(port_of "$vm"); fi
link_exists "$p" || die "$p does not exist (run: tapline lab up)"

case $cmd in
  add)
    rate=${3:-20mbit} burst=${4:-16kb} limit=${5:-30kb}
    tc qdisc replace dev "$p" root tbf rate "$rate" burst "$burst" limit "$limit"
    log "bottleneck on $p ($target): tbf rate $rate burst $burst limit $limit"
    ;;
  del)
    if tc qdisc show dev "$p" root | grep -q '^qdisc tbf'; then tc qdisc del dev "$p" root; fi
    ;;
  show)
    # "qdisc tbf 8001: root refcnt 2 rate 20Mbit burst 16Kb lat ..."
    # " Sent 123 bytes 4 pkt (dropped 5, overlimits 6 requeues 0)"
    out=$(tc -s qdisc show dev "$p" root)
    if ! grep -q '^qdisc tbf' <<<"$out"; then echo "$p qdisc=none sent=0 dropped=0 overlimits=0 requeues=0"; exit 0; fi
    stats=$(sed -n 's/^ *Sent [0-9]* bytes \([0-9]*\) pkt (dropped \([0-9]*\), overlimits \([0-9]*\) requeues \([0-9]*\)).*/\1 \2 \3 \4/p' <<<"$out" | head -n 1)
    [[ -n $stats ]] || die "cannot parse tc -s qdisc show dev $p: $out"
    read -r sent dropped over req <<<"$stats"
    echo "$p qdisc=tbf sent=$sent dropped=$dropped overlimits=$over requeues=$req"
    ;;
  *) die "usage: bottleneck.sh add|del|show <vm1..vm4|h1|h2> [rate burst limit]" ;;
esac
