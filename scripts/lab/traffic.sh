#!/usr/bin/env bash
# Traffic between lab VMs (only between the lab's own namespaces):
#   traffic.sh http  <from> <to> [bytes=100000] [count=1]   curl downloads of a <bytes> file from
#                                                             a python http.server on <to>:80
#   traffic.sh dns   <from> <to> [name=vm1.lab] [count=1]     A queries to a tiny responder on <to>:53
#   traffic.sh iperf <from> <to> [seconds=2] [iperf3 args...] iperf3 TCP (default -b 100M) to <to>:5201
#   traffic.sh nmap  <from> <to> [ports=1-1024]               nmap SYN scan of <to>
#   traffic.sh stop                                          stops the servers started here
# Servers are started on first use and left running (pid files in $LAB_STATE/pids; `down` stops
# them). Output: one machine-readable line per connection/query on stdout.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=$(command -v python3 || true)

kind=${1:-}; shift || true
if [[ $kind == stop ]]; then stop_lab_processes; log "lab servers stopped"; exit 0; fi
(($# >= 2)) || die "usage: traffic.sh http|dns|iperf|nmap <from-vm> <to-vm> [args]  (or: traffic.sh stop)"
from=$(vm_name "$1"); to=$(vm_name "$2"); shift 2
fns=$(ns_of "$from"); tns=$(ns_of "$to"); tip=${VM_IP[$to]}
ns_exists "$fns" && ns_exists "$tns" || die "the lab is not up (run: tapline lab up)"
mkdir -p "$LAB_STATE/pids" "$LAB_STATE/logs"

listening() { # ns proto port
  ip netns exec "$1" ss -Hln"$2" "sport = :$3" 2>/dev/null | grep -q .
}
# start_server name ns proto port command...: runs a server in a namespace unless one listens.
start_server() {
  local name=$1 ns=$2 proto=$3 port=$4; shift 4
  local pidf="$LAB_STATE/pids/$name-${ns#tl-}.pid"
  if listening "$ns" "$proto" "$port"; then return 0; fi
  ip netns exec "$ns" "$@" </dev/null >>"$LAB_STATE/logs/$name-${ns#tl-}.log" 2>&1 &
  echo $! >"$pidf"
  disown
  for _ in $(seq 100); do listening "$ns" "$proto" "$port" && return 0; sleep 0.05; done
  die "$name server in $ns did not start (see $LAB_STATE/logs/$name-${ns#tl-}.log)"
}

case $kind in
  http)
    bytes=${1:-100000}; count=${2:-1}
    [[ $bytes =~ ^[0-9]+$ && $count =~ ^[0-9]+$ ]] || die "http: bytes and count must be integers"
    [[ -n $PY ]] || die "python3 is needed for the HTTP server (Debian: python3)"
    need_tools curl
    mkdir -p "$LAB_STATE/www"
    f="$LAB_STATE/www/f$bytes.bin"
    if [[ ! -e $f ]]; then head -c "$bytes" /dev/urandom >"$f.tmp"; mv -f "$f.tmp" "$f"; fi
    start_server http "$tns" t 80 "$PY" -m http.server 80 --bind 0.0.0.0 --directory "$LAB_STATE/www"
    for ((i = 0; i < count; i++)); do
      out=$(ip netns exec "$fns" curl -sS --max-time 30 -o /dev/null \
        -w '%{http_code} %{size_download} %{local_ip} %{local_port}' "http://$tip/f$bytes.bin")
      read -r code size lip lport <<<"$out"
      echo "http $lip:$lport -> $tip:80 code=$code bytes=$size"
      [[ $code == 200 && $size == "$bytes" ]] || die "http download failed: $out"
    done
    ;;
  dns)
    name=${1:-vm1.lab}; count=${2:-1}
    [[ -n $PY ]] || die "python3 is needed for the DNS responder (Debian: python3)"
    start_server dns "$tns" u 53 "$PY" "$HERE/dnstool.py" serve 53
    ip netns exec "$fns" "$PY" "$HERE/dnstool.py" query "$tip" "$name" "$count"
    ;;
  iperf)
    need_tools iperf3
    secs=${1:-2}; shift || true
    [[ $secs =~ ^[0-9]+$ && $secs -le 60 ]] || die "iperf: seconds must be an integer <= 60"
    ((${#@} > 0)) || set -- -b 100M
    start_server iperf3 "$tns" t 5201 iperf3 -s -1
    ip netns exec "$fns" iperf3 -c "$tip" -t "$secs" "$@" | tail -n 4
    ;;
  nmap)
    need_tools nmap
    ports=${1:-1-1024}
    ip netns exec "$fns" nmap -n -Pn -sS --max-retries 1 -T4 -p "$ports" "$tip" | grep -vE '^(Starting|$)'
    ;;
  *) die "unknown traffic kind '$kind' (http, dns, iperf, nmap, stop)" ;;
esac
