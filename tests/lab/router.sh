#!/usr/bin/env bash
# A router between two links, audited live on both: one flow table for two interfaces.
#
#   farte-a 10.9.1.2 --- r1 [farte-r] r2 --- 10.9.2.2 farte-b
#                       10.9.1.1   10.9.2.1
#
# flowaudit runs in the router namespace with `-i r1 -i r2 --write`, while a client in
# farte-a makes TCP connections and UDP exchanges to a server in farte-b (every packet crosses
# both interfaces), then gets SIGINT. Checks: each connection is one flow holding its packets
# from both interfaces (each counted as captured: twice); the per-interface files written,
# read back together (merged by time), give the same records as the live run.
#
# Usage: tests/lab/router.sh FLOWAUDIT OUTDIR   (as root)
set -euo pipefail
BIN=$1 OUT=$2
PREFIX=${ROUTER_PREFIX:-farte}
A=$PREFIX-a R=$PREFIX-r B=$PREFIX-b
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    # Anything still running in the lab's namespaces was started here.
    for ns in $A $R $B; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
        ip netns del "$ns" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "FAIL $*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

mkdir -p "$OUT"
for ns in $A $R $B; do
    ip netns del "$ns" 2>/dev/null || true
    ip netns add "$ns"
    nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    nsx "$ns" ip link set lo up
done
ip link add r1 netns $R type veth peer name eth0 netns $A
ip link add r2 netns $R type veth peer name eth0 netns $B
for pair in "$A eth0" "$R r1" "$R r2" "$B eth0"; do
    set -- $pair
    nsx "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true
done
nsx $A ip addr add 10.9.1.2/24 dev eth0; nsx $A ip link set eth0 up
nsx $B ip addr add 10.9.2.2/24 dev eth0; nsx $B ip link set eth0 up
nsx $R ip addr add 10.9.1.1/24 dev r1; nsx $R ip link set r1 up
nsx $R ip addr add 10.9.2.1/24 dev r2; nsx $R ip link set r2 up
nsx $R sysctl -qw net.ipv4.ip_forward=1
nsx $A ip route add default via 10.9.1.1
nsx $B ip route add default via 10.9.2.1

# Server in B: TCP 7000 answers one line per connection; UDP 7001 echoes. Started directly
# (`ip netns exec` execs it) so that $! is the server.
ip netns exec $B python3 -c '
import socket, threading
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("10.9.2.2", 7000)); s.listen(8)
    while True:
        c, _ = s.accept(); c.recv(100); c.sendall(b"pong " * 200); c.close()
def udp():
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.9.2.2", 7001))
    while True:
        d, a = u.recvfrom(2000); u.sendto(d, a)
threading.Thread(target=tcp, daemon=True).start(); udp()
' &
PIDS+=($!)

# Started directly (not through a function, which would fork a subshell) so that $! is
# flowaudit itself (`ip netns exec` execs it); a background command of a script starts with
# SIGINT ignored, which env --default-signal undoes.
ip netns exec $R env --default-signal=INT,TERM "$BIN" flows -i r1 -i r2 -w "$OUT/cap.pcap" \
    -o "$OUT/live.jsonl" 2>"$OUT/live.err" &
FA=$!
PIDS+=($FA)
for _ in $(seq 100); do
    [[ -f $OUT/cap-r1.pcap && -f $OUT/cap-r2.pcap ]] && break
    sleep 0.05
done
[[ -f $OUT/cap-r2.pcap ]] || fail "flowaudit did not start: $(cat "$OUT/live.err")"
sleep 0.3

nsx $A python3 -c '
import socket
for i in range(4):
    c = socket.create_connection(("10.9.2.2", 7000)); c.sendall(b"ping\n")
    while c.recv(4096): pass
    c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
for i in range(3):
    u.sendto(b"hello", ("10.9.2.2", 7001)); u.recvfrom(100)
'
sleep 0.5
kill -INT $FA
wait $FA || fail "flowaudit exit $?: $(cat "$OUT/live.err")"
PIDS=("${PIDS[@]/$FA}")

cat "$OUT/live.err" >&2
"$BIN" flows -q "$OUT/cap-r1.pcap" "$OUT/cap-r2.pcap" > "$OUT/offline.jsonl"
python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
live = [json.loads(l) for l in open(f"{out}/live.jsonl")]
offline = [json.loads(l) for l in open(f"{out}/offline.jsonl")]
tcp = [r for r in live if r["proto"] == "tcp" and r["id.resp_p"] == 7000]
udp = [r for r in live if r["proto"] == "udp" and r["id.resp_p"] == 7001]
fails = []
def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok: fails.append(what)
check(len(tcp) == 4, f"4 TCP connections are 4 flows (got {len(tcp)})")
for r in tcp:
    # Every packet was seen twice, once per interface: even counts, state and direction kept.
    check(r["conn_state"] == "SF" and r["id.orig_h"] == "10.9.1.2" and not r["direction_inferred"],
          f"{r['uid']}: SF from the client, {r['history']}")
    check(r["orig_pkts"] % 2 == 0 and r["resp_pkts"] % 2 == 0,
          f"{r['uid']}: packets counted on both interfaces ({r['orig_pkts']}/{r['resp_pkts']})")
    # As captured: each segment twice, so its payload twice, and the second copy is a
    # retransmission in the history (T, t).
    check(r["orig_bytes"] == 2 * 5 and r["resp_bytes"] == 2 * 1000,
          f"{r['uid']}: payload of both copies ({r['orig_bytes']}/{r['resp_bytes']})")
    check("T" in r["history"] and "t" in r["history"], f"{r['uid']}: history {r['history']} has T and t")
check(len(udp) == 1 and udp[0]["orig_pkts"] == 6 and udp[0]["resp_pkts"] == 6,
      "3 UDP exchanges: one flow, 6 datagrams each way (3 per interface)")
check(live == offline, "the two --write files read together give the live run's records")
sys.exit(1 if fails else 0)
PY
