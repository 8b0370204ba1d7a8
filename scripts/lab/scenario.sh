#!/usr/bin/env bash
# scenario.sh <out-dir> [--short] [--seed N] [--snaplen N]
#
# The anomaly ground truth of the lab (issue #6): steady NORMAL traffic between the VMs for a
# learning period, then anomalies injected one after the other at known times, all captured on
# both monitor ports. Writes to <out-dir>:
#   h1.pcap.gz, h2.pcap.gz    tcpdump of tl-mon-h1 / tl-mon-h2 (kernel timestamps, ns, snaplen), gzipped
#   inventory/00-initial.yaml the four VMs at their home hosts (valid before the capture)
#   inventory/01-<vm>-<host>.yaml the inventory after the migration (since = the move's time)
#   ground-truth.jsonl        one JSON object a line: the scenario header, each background pair,
#                             each injected anomaly {type, start_ns, end_ns, src_vm, dst_vm, ...}
#   dataset.json              what a replay needs: captures + observation points, inventory files
#   scenario.log              every traffic command's output
# The lab must be up (scripts/lab/up.sh). Root. Runs ~6 minutes (--short: ~3).
# The anomalies and what they do are described in scripts/lab/scenario/README.md.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
need_tools tcpdump nmap hping3 iperf3 curl python3 iptables gzip
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SC=$HERE/scenario
source "$SC/lib.sh"

out=${1:-}; shift || true
[[ -n $out ]] || die "usage: scenario.sh <out-dir> [--short] [--seed N] [--snaplen N]"
short=0; seed=7; snaplen=256
while (($#)); do
  case $1 in
    --short) short=1 ;;
    --seed) seed=$2; shift ;;
    --snaplen) snaplen=$2; shift ;;
    *) die "unknown option $1" ;;
  esac
  shift
done
[[ $seed =~ ^[0-9]+$ && $snaplen =~ ^[0-9]+$ ]] || die "--seed and --snaplen take integers"
bash "$HERE/status.sh" >/dev/null 2>&1 || die "the lab is not up (scripts/lab/up.sh)"

if ((short)); then LEARN=60; GAP=12; TAIL=30; else LEARN=150; GAP=20; TAIL=50; fi
mkdir -p "$out/inventory"
OUT=$(cd "$out" && pwd)
LOG=$OUT/scenario.log; GT=$OUT/ground-truth.jsonl
: >"$LOG"; : >"$GT"
STOP=$OUT/.stop; rm -f "$STOP"
rm -f "$OUT"/inventory/*.yaml "$OUT"/h[12].pcap "$OUT"/h[12].pcap.gz

# Every VM at home, servers up before the capture (starting them makes no traffic on the wire:
# a VM's request to itself stays on its loopback).
[[ $(vm_host vm2) == h1 ]] || bash "$HERE/migrate.sh" vm2 h1
for vm in vm1 vm2 vm3 vm4; do
  for b in 1000 2000 4000 5000 8000 12000 20000 40000; do bash "$HERE/traffic.sh" http "$vm" "$vm" "$b" >>"$LOG"; done
done
bash "$HERE/traffic.sh" dns vm3 vm3 vm3.lab >>"$LOG"

write_inventory "$OUT/inventory/00-initial.yaml" h1 "$(($(now_ns) - 60000000000))"

TCPDUMP_PIDS=(); BG_PIDS=()
for h in h1 h2; do
  tcpdump -i "tl-mon-$h" -nn -U --immediate-mode -B 16384 -s "$snaplen" --time-stamp-precision=nano \
    -w "$OUT/$h.pcap" 2>"$OUT/.tcpdump-$h.err" &
  TCPDUMP_PIDS+=($!)
done
cleanup() {
  touch "$STOP"
  ip netns exec tl-vm4 iptables -D OUTPUT -p tcp --tcp-flags RST RST -j DROP 2>/dev/null || true
  for p in "${BG_PIDS[@]}" "${TCPDUMP_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$STOP"
}
trap cleanup EXIT
for h in h1 h2; do
  for _ in $(seq 100); do grep -q 'listening on' "$OUT/.tcpdump-$h.err" 2>/dev/null && break; sleep 0.05; done
  grep -q 'listening on' "$OUT/.tcpdump-$h.err" || die "tcpdump on tl-mon-$h did not start: $(cat "$OUT/.tcpdump-$h.err")"
done

T0=$(now_ns)
LEARN_END=$((T0 + LEARN * 1000000000))
log "scenario: capture started, learning period ${LEARN}s (short=$short seed=$seed snaplen=$snaplen)"

# Background: every VM pair but vm1<->vm4 talks from the start, at its own pace and mix
# (sizes and gaps drawn from a seeded RNG: the same seed gives the same schedule).
bg http vm1 vm2 "3000 8000 20000 40000" 1500 4000 $((seed + 1)) & BG_PIDS+=($!)
bg http vm3 vm1 "2000 5000 12000" 2000 6000 $((seed + 2)) & BG_PIDS+=($!)
bg http vm2 vm3 "1000 4000" 4000 9000 $((seed + 3)) & BG_PIDS+=($!)
bg dns vm4 vm3 mixed 1000 4000 $((seed + 4)) & BG_PIDS+=($!)
bg dns vm1 vm3 mixed 3000 8000 $((seed + 5)) & BG_PIDS+=($!)
bg ping vm4 vm2 - 4000 8000 $((seed + 6)) & BG_PIDS+=($!)
for pair in "http vm1 vm2" "http vm3 vm1" "http vm2 vm3" "dns vm4 vm3" "dns vm1 vm3" "ping vm4 vm2"; do
  read -r k a b <<<"$pair"
  gt_line "{\"type\":\"background\",\"kind\":\"$k\",\"src_vm\":\"$a\",\"dst_vm\":\"$b\",\"src_ip\":\"${VM_IP[$a]}\",\"dst_ip\":\"${VM_IP[$b]}\",\"start_ns\":$T0}"
done

sleep_until "$LEARN_END"
at=$LEARN_END

# 1. port scan vm3 -> vm1: SYN scan of 1000 ports
inject port_scan vm3 vm1 '"ports":"1-1000","tool":"nmap -sS -T4"' \
  ip netns exec tl-vm3 nmap -n -Pn -sS --max-retries 1 -T4 -p 1-1000 "${VM_IP[vm1]}"
at=$(($(now_ns) + GAP * 1000000000)); sleep_until "$at"
# 2. host sweep from the same VM: ping scan of h1's subnet (254 addresses, 3 of them alive)
inject host_sweep vm3 - '"targets":"10.77.1.0/24","tool":"nmap -sn -T4"' \
  ip netns exec tl-vm3 nmap -n -sn -T4 10.77.1.0/24
at=$(($(now_ns) + GAP * 1000000000)); sleep_until "$at"
# 3. SYN flood vm4 -> vm2:80, 1000 SYN/s for 12 s nominal (rate-limited: the lab and the capture keep
#    up; on a loaded machine hping3 paces slower, ~500/s for ~25 s). Like real flood tools, the attacker's own
#    kernel must not answer the SYN-ACKs with RSTs: iptables drops vm4's outgoing RSTs meanwhile.
ip netns exec tl-vm4 iptables -A OUTPUT -p tcp --tcp-flags RST RST -j DROP
inject syn_flood vm4 vm2 '"dst_port":80,"rate_pps":1000,"tool":"hping3 -S -i u1000 -c 12000","attacker_rst":"dropped"' \
  ip netns exec tl-vm4 hping3 -q -S -p 80 -i u1000 -c 12000 "${VM_IP[vm2]}"
ip netns exec tl-vm4 iptables -D OUTPUT -p tcp --tcp-flags RST RST -j DROP
at=$(($(now_ns) + GAP * 1000000000)); sleep_until "$at"
# 4. traffic burst on the quiet pair vm4 -> vm2 (baseline: one ping every 4-8 s): iperf3 3 Mbit/s
#    for 12 s (whatever the window alignment, one 10-s window averages >= 1.8 Mbit/s); a
#    repeating payload keeps the gzipped capture small
inject traffic_burst vm4 vm2 '"tool":"iperf3 -b 3M -t 12 --repeating-payload","baseline":"ping every 4-8 s"' \
  bash "$HERE/traffic.sh" iperf vm4 vm2 12 -b 3M --repeating-payload
at=$(($(now_ns) + GAP * 1000000000)); sleep_until "$at"
# 5. first-time pair vm1 -> vm4 (never talked before): the first download is the injection
#    (its interval spans the first connection), then HTTP every 3-6 s until the end
inject new_pair vm1 vm4 '"tool":"curl, then every 3-6 s"' bash "$HERE/traffic.sh" http vm1 vm4 2000
bg http vm1 vm4 "2000 5000" 3000 6000 $((seed + 7)) & BG_PIDS+=($!)
at=$(($(now_ns) + GAP * 1000000000)); sleep_until "$at"
# 6. NXDOMAIN burst vm1 -> vm3:53: 300 random names at 30/s
inject dns_nxdomain_burst vm1 vm3 '"queries":300,"rate_per_s":30' \
  ip netns exec tl-vm1 python3 "$SC/dnsburst.py" "${VM_IP[vm3]}" 300 30 nx "$seed"
at=$(($(now_ns) + GAP * 1000000000)); sleep_until "$at"
# 7. DNS tunnel-like queries vm4 -> vm3:53: 60 long random names at 3/s
inject dns_tunnel_suspect vm4 vm3 '"queries":60,"rate_per_s":3,"name_len":"150-180"' \
  ip netns exec tl-vm4 python3 "$SC/dnsburst.py" "${VM_IP[vm3]}" 60 3 tunnel "$seed"
at=$(($(now_ns) + GAP * 1000000000)); sleep_until "$at"
# 8. live migration of vm2 to h2 while vm1->vm2, vm2->vm3 and vm4->vm2 go on; then the inventory says so
t=$(now_ns)
bash "$HERE/migrate.sh" vm2 h2 >>"$LOG" 2>&1
t2=$(now_ns)
write_inventory "$OUT/inventory/01-vm2-h2.yaml" h2 "$t2"
gt_line "{\"type\":\"vm_migration\",\"src_vm\":\"vm2\",\"src_ip\":\"${VM_IP[vm2]}\",\"start_ns\":$t,\"end_ns\":$t2,\"detail\":{\"from\":\"h1\",\"to\":\"h2\",\"inventory_since_ns\":$t2}}"
sleep "$TAIL"

touch "$STOP"
for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
BG_PIDS=()
sleep 1
T_END=$(now_ns)
for p in "${TCPDUMP_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
TCPDUMP_PIDS=()
for h in h1 h2; do grep -h 'packets' "$OUT/.tcpdump-$h.err" | sed "s/^/[$h] /" >>"$LOG"; done
grep -q '^0 packets dropped by kernel' "$OUT/.tcpdump-h1.err" && grep -q '^0 packets dropped by kernel' "$OUT/.tcpdump-h2.err" ||
  log "WARNING: tcpdump dropped packets: $(cat "$OUT"/.tcpdump-*.err)"
rm -f "$OUT"/.tcpdump-*.err
# gzip: the lab's traffic is repetitive (floods, scans, headers), the readers take .gz as is
for h in h1 h2; do gzip -9 -n -f "$OUT/$h.pcap"; done

# the header goes first: prepend it
{ echo "{\"type\":\"scenario\",\"start_ns\":$T0,\"learn_end_ns\":$LEARN_END,\"end_ns\":$T_END,\"short\":$((short ? 1 : 0)),\"seed\":$seed,\"snaplen\":$snaplen,\"mirror\":\"$(mirror_mode)\"}"; cat "$GT"; } >"$GT.tmp"
mv "$GT.tmp" "$GT"
write_dataset_json "$OUT"
log "scenario done: $(wc -l <"$GT") ground-truth lines, $(du -ch "$OUT"/h?.pcap.gz | tail -1 | cut -f1) of captures in $OUT"
