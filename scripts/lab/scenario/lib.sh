# Helpers of scripts/lab/scenario.sh (sourced after common.sh; uses OUT, LOG, GT, STOP, SC, HERE).

now_ns() { date +%s%N; }

# sleep_until <ns>: the injections run on a fixed timeline, whatever each one took.
sleep_until() {
  local left=$(($1 - $(now_ns)))
  ((left > 0)) && sleep "$((left / 1000000000)).$(printf '%09d' $((left % 1000000000)))"
  return 0
}

gt_line() { echo "$1" >>"$GT"; }

# inject <type> <src-vm> <dst-vm|-> <detail json members> <command...>: runs the command and
# records its interval (start before it is launched, end when it has finished).
inject() {
  local type=$1 src=$2 dst=$3 detail=$4; shift 4
  local t1 t2 dstj=""
  log "inject $type $src -> $dst"
  echo "== $type $src -> $dst: $*" >>"$LOG"
  t1=$(now_ns)
  "$@" >>"$LOG" 2>&1 || log "WARNING: $type: '$*' exited $?"
  t2=$(now_ns)
  [[ $dst == - ]] || dstj=",\"dst_vm\":\"$dst\",\"dst_ip\":\"${VM_IP[$dst]}\""
  gt_line "{\"type\":\"$type\",\"src_vm\":\"$src\",\"src_ip\":\"${VM_IP[$src]}\"$dstj,\"start_ns\":$t1,\"end_ns\":$t2,\"detail\":{$detail}}"
}

# bg <http|dns|ping> <from> <to> <http sizes | dns mode | -> <min-gap-ms> <max-gap-ms> <seed>:
# one background conversation, until $STOP exists. Gaps and sizes from bash's RANDOM, seeded.
bg() {
  local kind=$1 from=$2 to=$3 arg=$4 lo=$5 hi=$6 seed=$7 gap sizes
  RANDOM=$seed
  read -r -a sizes <<<"$arg"
  while [[ ! -e $STOP ]]; do
    case $kind in
      http) bash "$HERE/traffic.sh" http "$from" "$to" "${sizes[RANDOM % ${#sizes[@]}]}" >>"$LOG" 2>&1 || echo "bg http $from $to failed" >>"$LOG" ;;
      dns) ip netns exec "tl-$from" python3 "$SC/dnsburst.py" "${VM_IP[$to]}" 1 1 "$arg" "$RANDOM" >>"$LOG" 2>&1 || echo "bg dns $from $to failed" >>"$LOG" ;;
      ping) ip netns exec "tl-$from" hping3 -1 -q -c 1 "${VM_IP[$to]}" >/dev/null 2>&1 || echo "bg ping $from $to failed" >>"$LOG" ;;
    esac
    gap=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
    # sleep in short steps so the end is not delayed by a long gap
    while ((gap > 0)) && [[ ! -e $STOP ]]; do
      sleep "0.$(printf '%03d' $((gap > 500 ? 500 : gap)))"
      gap=$((gap - 500))
    done
  done
}

# write_inventory <file> <host of vm2> <since ns of vm2's entry>: the lab's VMs (docs/lab.md).
# The other entries keep the initial version's time (unchanged: the connector republishes nothing).
write_inventory() {
  local f=$1 vm2host=$2 since2=$3 base=${INV_BASE_NS:-$3}
  INV_BASE_NS=$base
  cat >"$f" <<EOF
# the lab's VMs (docs/lab.md); since = valid_from of this version (ns)
vms:
  - {id: vm-0001, name: vm1, host: h1, macs: ["${VM_MAC[vm1]}"], ips: [${VM_IP[vm1]}], tenant: blue, project: web, subnet: 10.77.1.0/24, nicCapacityBps: 10G, since: $base}
  - {id: vm-0002, name: vm2, host: $vm2host, macs: ["${VM_MAC[vm2]}"], ips: [${VM_IP[vm2]}], tenant: blue, project: db, subnet: 10.77.1.0/24, nicCapacityBps: 10G, since: $since2}
  - {id: vm-0003, name: vm3, host: h2, macs: ["${VM_MAC[vm3]}"], ips: [${VM_IP[vm3]}], tenant: red, project: web, subnet: 10.77.2.0/24, nicCapacityBps: 10G, since: $base}
  - {id: vm-0004, name: vm4, host: h2, macs: ["${VM_MAC[vm4]}"], ips: [${VM_IP[vm4]}], tenant: red, project: batch, subnet: 10.77.2.0/24, nicCapacityBps: 10G, since: $base}
EOF
}

write_dataset_json() {
  local invs=() f
  for f in "$1"/inventory/*.yaml; do invs+=("\"inventory/$(basename "$f")\""); done
  cat >"$1/dataset.json" <<EOF
{
  "name": "tapline lab anomaly scenario",
  "captures": [
    {"file": "h1.pcap.gz", "observationPoint": "lab:h1"},
    {"file": "h2.pcap.gz", "observationPoint": "lab:h2"}
  ],
  "inventory": [$(IFS=,; echo "${invs[*]}")],
  "groundTruth": "ground-truth.jsonl",
  "observationHosts": {"lab:h1": "h1", "lab:h2": "h2"},
  "vms": {"vm1": "vm-0001", "vm2": "vm-0002", "vm3": "vm-0003", "vm4": "vm-0004"}
}
EOF
}
