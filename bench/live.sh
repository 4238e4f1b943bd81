#!/usr/bin/env bash
# Live capture: the highest replay rate at which a capture tool loses no packet, for
# flowaudit (flows and audit) and tcpdump, with the traffic of the benchmark capture replayed
# by tcpreplay onto a veth pair at rising rates.
#
#   bench/live.sh [--capture FILE] [--prefix N] [--seconds S] [--rates R1,R2,...]
#                 [--repeats N] [--bisect N] [--buffer MIB] [--busy CORES] [--tools T1,T2,...]
#
#   --capture FILE   the capture to replay (default bench/data/big.pcap, recorded by
#                    make_capture.sh when absent)
#   --prefix N       replay only its first N packets (default 1000000), written once to
#                    bench/data/live/prefix-NAME-N.pcap and preloaded into memory by tcpreplay
#   --seconds S      length of one trial (default 10): a trial at R packets/s sends R*S
#                    packets, looping over the prefix when it is shorter
#   --rates LIST     the rising steps, packets/s, comma-separated (default
#                    25000,50000,100000,150000,200000,250000); a last step at tcpreplay's top
#                    speed follows them
#   --repeats N      trials at the rate found, and runs of the replay-alone ceiling (default 3)
#   --bisect N       at most N bisection trials between the last clean and the first lossy
#                    rate (default 3; it also stops when they are within 5 %)
#   --buffer MIB     kernel capture buffer of the tcpdump-bigbuf row (default 32)
#   --busy CORES     a lossy trial during which other processes used more than CORES cores
#                    (from /proc/stat) is run again, at most twice (default 0.5)
#   --tools LIST     rows to run, comma-separated (default all):
#                    tcpdump          tcpdump -i IF -w /dev/null
#                    tcpdump-bigbuf   tcpdump -i IF -B 32768 -w /dev/null
#                    flowaudit        flowaudit flows --interface IF -o /dev/null
#                    flowaudit-audit  flowaudit audit --rules rules/hopex.toml
#                                       --inventory fixtures/has/inventory.toml --interface IF -o /dev/null
#
# The lab: one network namespace (fabench-live-PID) holding a veth pair, fab-tx and fab-rx,
# offloads off, IPv6 off, no addresses; tcpreplay sends on fab-tx, the tool captures on fab-rx,
# and the frames go nowhere else. The namespace and every process the script started are
# removed when it ends, also on failure or Ctrl-C.
#
# One trial: start the tool under /usr/bin/time, wait until its packet socket exists, replay
# R*S packets at R packets/s (tcpreplay -K --pps R --loop 0 --limit R*S), wait 1 s, stop the
# tool with SIGINT, read the drop counters it prints at exit ("N packets received by filter",
# "N packets dropped by kernel", and for flowaudit "N packets dropped by interface"). A trial
# is clean when both drop counters are 0 and the tool received every packet tcpreplay sent.
#
# Output: a Markdown table on stdout; bench/data/live.tsv (one line per row) and
# bench/data/live-trials.tsv (every trial); progress on stderr; scratch files in
# bench/data/live/. Needs root (namespaces, capture, tcpreplay).
set -euo pipefail

usage() {
  sed -n '6,30p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DATA=$HERE/data
CAPTURE=$DATA/big.pcap
PREFIX_N=1000000
SECS=10
RATES=25000,50000,100000,150000,200000,250000
REPEATS=3
BISECT=3
BUF_MIB=32
BUSY=0.5
ALL_TOOLS=tcpdump,tcpdump-bigbuf,flowaudit,flowaudit-audit
TOOLS=$ALL_TOOLS
while [ $# -gt 0 ]; do
  case $1 in
    --capture|--prefix|--seconds|--rates|--repeats|--bisect|--buffer|--busy|--tools)
      [ $# -ge 2 ] || usage; opt=$1; val=$2; shift 2 ;;
    --*=*) opt=${1%%=*}; val=${1#*=}; shift ;;
    *) usage ;;
  esac
  case $opt in
    --capture) CAPTURE=$val ;;
    --prefix) PREFIX_N=$val ;;
    --seconds) SECS=$val ;;
    --rates) RATES=$val ;;
    --repeats) REPEATS=$val ;;
    --bisect) BISECT=$val ;;
    --buffer) BUF_MIB=$val ;;
    --busy) BUSY=$val ;;
    --tools) TOOLS=$val ;;
    *) usage ;;
  esac
done
for v in PREFIX_N SECS REPEATS BUF_MIB; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "live.sh: ${v/_N/} must be a positive integer" >&2; exit 2; }
done
[[ $BUSY =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "live.sh: --busy must be a number of cores" >&2; exit 2; }
[[ $BISECT =~ ^[0-9]+$ ]] || { echo "live.sh: --bisect must be a non-negative integer" >&2; exit 2; }
[[ $RATES =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "live.sh: --rates must be packets/s, comma-separated" >&2; exit 2; }
IFS=, read -r -a RATE_LIST <<< "$(tr , '\n' <<< "$RATES" | sort -n | uniq | paste -sd,)"
IFS=, read -r -a TOOL_LIST <<< "$TOOLS"
for t in "${TOOL_LIST[@]}"; do
  [[ ,$ALL_TOOLS, == *",$t,"* ]] || { echo "live.sh: unknown tool '$t' (known: $ALL_TOOLS)" >&2; exit 2; }
done
CAPTURE=$(realpath -m "$CAPTURE")
cd "$ROOT"   # the rows name rules/ and fixtures/ relative to the repository
[ "$(id -u)" = 0 ] || { echo "live.sh: needs root (network namespace, capture, tcpreplay)" >&2; exit 1; }

W=$DATA/live                  # scratch: prefix capture, tool and tcpreplay outputs, build log
mkdir -p "$W"
TSV=$DATA/live.tsv
TRIALS=$DATA/live-trials.tsv
NS=fabench-live-$$
TX=fab-tx
RX=fab-rx

log() { echo "live.sh: $*" >&2; }

# ---- tools ------------------------------------------------------------------------------
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need_packages tcpdump=tcpdump tcpreplay=tcpreplay capinfos=wireshark-common ip=iproute2 ethtool=ethtool \
  /usr/bin/time=time pgrep=procps

wants() { [[ ,$TOOLS, == *",$1,"* ]]; }
FA=""
FA_NOTE=""
if wants flowaudit || wants flowaudit-audit; then
  find_cargo "$ROOT"
  FA=$TGT/release/flowaudit
  log "building flowaudit (release)"
  if ! (cd "$ROOT" && cargo build --release -p flowaudit) > "$W/build.log" 2>&1; then
    FA_NOTE="not built (cargo build failed, see $(rel "$W")/build.log)"
  elif ! "$FA" flows --help 2>&1 | grep -q -- '--interface'; then
    FA_NOTE="skipped: this flowaudit has no --interface (live capture) yet"
  fi
  [ -z "$FA_NOTE" ] || log "flowaudit: $FA_NOTE"
fi

# ---- the replayed packets ---------------------------------------------------------------
if [ ! -r "$CAPTURE" ]; then
  [ "$CAPTURE" = "$DATA/big.pcap" ] || { log "cannot read capture '$CAPTURE'"; exit 2; }
  log "recording $(rel "$CAPTURE") (make_capture.sh, about 1.5 min)"
  "$HERE/make_capture.sh" "$CAPTURE" >&2
fi
CAPTURE=$(realpath "$CAPTURE")
PREFIX=$W/prefix-$(basename "$CAPTURE" .pcap)-$PREFIX_N.pcap
pcap_info() {  # file -> "packets bytes" (frame bytes, without the pcap headers)
  capinfos -M -c -d "$1" | awk -F': *' '/Number of packets/ {p = $2} /Data size/ {sub(/ .*/, "", $2); d = $2} END {print p, d}'
}
if [ ! -f "$PREFIX" ] || [ "$(pcap_info "$PREFIX" | cut -d' ' -f1)" != "$PREFIX_N" ]; then
  log "writing $(rel "$PREFIX") (the first $PREFIX_N packets of $(rel "$CAPTURE"))"
  tcpdump -Z root -r "$CAPTURE" -c "$PREFIX_N" -w "$PREFIX.part" 2> "$W/prefix.err" \
    || { cat "$W/prefix.err" >&2; rm -f "$PREFIX.part"; exit 1; }
  mv "$PREFIX.part" "$PREFIX"
fi
read -r P_PKTS P_BYTES <<< "$(pcap_info "$PREFIX")"
[ "$P_PKTS" = "$PREFIX_N" ] || log "WARNING: $(rel "$CAPTURE") has only $P_PKTS packets: the prefix is all of it"
cat "$PREFIX" > /dev/null   # into the page cache (tcpreplay -K reads it before each trial)

# ---- the lab ----------------------------------------------------------------------------
TOOL_PID=""     # /usr/bin/time around the capture tool
REPLAY_PID=""   # /usr/bin/time around tcpreplay
# timed_child PID: the program that /usr/bin/time runs, PID being the background job that
# becomes /usr/bin/time (the forked shell execs ip netns exec, which execs env, which execs
# time); nothing yet while the job is still the shell or time has not forked
timed_child() {
  local p=$1 c
  while :; do
    case $(cat "/proc/$p/comm" 2>/dev/null) in
      time) c=$(pgrep -P "$p" | head -1 || true); [ -n "$c" ] || return 0; p=$c ;;
      ""|bash|ip|env) return 0 ;;
      *) echo "$p"; return 0 ;;
    esac
  done
}

stop_pid() {  # pid: SIGTERM, then SIGKILL, /usr/bin/time (pid) and the program it runs
  local p=$1 kids
  kill -0 "$p" 2>/dev/null || return 0
  kids=$(timed_child "$p")
  # shellcheck disable=SC2086
  kill -TERM $kids "$p" 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || return 0; sleep 0.5; done
  # shellcheck disable=SC2086
  kill -KILL $kids "$p" 2>/dev/null || true
}
cleanup() {
  set +e
  [ -z "$REPLAY_PID" ] || stop_pid "$REPLAY_PID"
  [ -z "$TOOL_PID" ] || stop_pid "$TOOL_PID"
  ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { ip netns exec "$NS" "$@"; }
ip netns add "$NS"
ip -n "$NS" link add "$TX" type veth peer name "$RX"
for i in "$TX" "$RX"; do
  in_ns sysctl -qw "net.ipv6.conf.$i.disable_ipv6=1"
  in_ns ethtool -K "$i" tso off gso off gro off lro off tx off rx off sg off >/dev/null 2>&1 || true
  ip -n "$NS" link set "$i" mtu 1500 up
done

# ---- one trial --------------------------------------------------------------------------
# CPU time of processes, jiffies: user, nice, system and steal; not irq and softirq, where the
# kernel delivers the replayed frames (the veth's receive path and the copies into capture
# buffers are not charged to tcpreplay)
cpu_busy() { awk '$1 == "cpu" {print $2 + $3 + $4 + $9; exit}' /proc/stat; }
HZ=$(getconf CLK_TCK)
packet_sockets() { in_ns cat /proc/net/packet | awk 'NR > 1' | wc -l; }

# replay RATE (packets/s, or "top"; TOOL_CMD empty: nothing listens): sets the R_* figures
# and, when a tool listens, the T_* figures. Returns 1 when the tool failed.
TOOL_CMD=()
replay() {
  local rate=$1 limit rateopt t0 t1 b0 b1 n0 cpid="" rc=0 i
  if [ "$rate" = top ]; then rateopt=(--topspeed); limit=$((CEIL_LIMIT))
  else rateopt=(--pps="$rate"); limit=$((rate * SECS)); fi
  R_LOAD=$(cut -d' ' -f1 /proc/loadavg)
  b0=$(cpu_busy); t0=$(date +%s.%N)
  T_RC=""; T_RECV=""; T_KDROP=""; T_IFDROP=""; T_MISS=""; T_CLEAN=""; T_CPU=""; T_US=""; T_RSS=""; T_NOTE=""
  if [ ${#TOOL_CMD[@]} -gt 0 ]; then
    n0=$(packet_sockets)
    # a background command of a script starts with SIGINT ignored: give the tool the default
    ip netns exec "$NS" env --default-signal=INT,QUIT /usr/bin/time -f '%e %U %S %M' -o "$W/tool.time" \
      "${TOOL_CMD[@]}" > "$W/tool.out" 2> "$W/tool.err" &
    TOOL_PID=$!
    for i in $(seq 1 150); do   # up to 30 s for the capture to open
      [ -n "$cpid" ] || cpid=$(timed_child "$TOOL_PID")
      [ -n "$cpid" ] && [ "$(packet_sockets)" -gt "$n0" ] && break
      kill -0 "$TOOL_PID" 2>/dev/null || break
      sleep 0.2
    done
    if [ -z "$cpid" ] || ! kill -0 "$cpid" 2>/dev/null || [ "$(packet_sockets)" -le "$n0" ]; then
      stop_pid "$TOOL_PID"; wait "$TOOL_PID" || true; TOOL_PID=""
      T_NOTE="did not start capturing: $(grep -m1 . "$W/tool.err" | tr '|\t' '/ ' | cut -c1-150)"
      return 1
    fi
    sleep 1
  fi
  ip netns exec "$NS" /usr/bin/time -f '%e %U %S %M' -o "$W/replay.time" \
    tcpreplay -i "$TX" -K --no-flow-stats --loop=0 --limit="$limit" "${rateopt[@]}" "$PREFIX" > "$W/replay.out" 2>&1 &
  REPLAY_PID=$!
  wait "$REPLAY_PID" || { REPLAY_PID=""; log "tcpreplay failed:"; tail -5 "$W/replay.out" >&2; exit 1; }
  REPLAY_PID=""
  if [ ${#TOOL_CMD[@]} -gt 0 ]; then
    sleep 1
    kill -INT "$cpid" 2>/dev/null || true
    for i in $(seq 1 600); do kill -0 "$TOOL_PID" 2>/dev/null || break; sleep 0.2; done   # 120 s to write
    if kill -0 "$TOOL_PID" 2>/dev/null; then
      stop_pid "$TOOL_PID"; wait "$TOOL_PID" || true; TOOL_PID=""
      T_NOTE="did not exit within 120 s of SIGINT"
      return 1
    fi
    wait "$TOOL_PID" || rc=$?
    TOOL_PID=""; T_RC=$rc
  fi
  b1=$(cpu_busy); t1=$(date +%s.%N)
  # tcpreplay: "Actual: N packets (B bytes) sent in T seconds", "Rated: x Bps, M Mbps, P pps"
  read -r R_SENT R_BYTES R_SECS <<< "$(awk '/^Actual:/ {gsub(/[()]/, ""); print $2, $4, $8}' "$W/replay.out")"
  read -r R_MBPS R_PPS <<< "$(awk '/^Rated:/ {print $4, $6}' "$W/replay.out")"
  R_FAILED=$(awk '/Failed packets:/ {print $3}' "$W/replay.out")
  R_CPU=$(awk 'END {printf "%.2f", $2 + $3}' "$W/replay.time")
  [ -n "$R_SENT" ] && [ -n "$R_PPS" ] || { log "cannot read tcpreplay's figures:"; cat "$W/replay.out" >&2; exit 1; }
  R_PPS=$(printf '%.0f' "$R_PPS")
  # tcpreplay's CPU while sending, in % of one core: its CPU less what preloading costs
  R_SEND_PCT=$(awk -v c="$R_CPU" -v p="$PRELOAD_CPU" -v s="$R_SECS" 'BEGIN {v = (s > 0) ? 100 * (c - p) / s : 0; printf "%.0f", (v < 0) ? 0 : v}')
  R_OTHERS=""
  if [ ${#TOOL_CMD[@]} -gt 0 ]; then
    # the tool's stderr: tcpdump's "N packets received by filter" / "N packets dropped by
    # kernel", flowaudit's "capture IF: N packets received by filter, N packets dropped by
    # kernel, N packets dropped by interface" (summed over its lines)
    sum() { grep -oE "[0-9]+ packets $1" "$W/tool.err" | awk '{s += $1; n++} END {if (n) print s}'; }
    T_RECV=$(sum 'received by filter'); T_KDROP=$(sum 'dropped by kernel'); T_IFDROP=$(sum 'dropped by interface')
    [ -n "$T_IFDROP" ] || T_IFDROP=0
    if [ -z "$T_RECV" ] || [ -z "$T_KDROP" ]; then
      [ -n "$T_NOTE" ] || T_NOTE="exit $rc, no drop counters on stderr: $(tail -1 "$W/tool.err" | tr '|\t' '/ ' | cut -c1-150)"
      return 1
    fi
    # the last line: GNU time puts "Command exited with non-zero status N" before the figures
    read -r _ u s m <<< "$(tail -1 "$W/tool.time")"
    T_CPU=$(awk -v u="$u" -v s="$s" 'BEGIN {printf "%.2f", u + s}')
    T_RSS=$(awk -v m="$m" 'BEGIN {printf "%.1f", m / 1024}')
    T_MISS=$((R_SENT > T_RECV ? R_SENT - T_RECV : 0))
    T_US=$(awk -v c="$T_CPU" -v n="$T_RECV" 'BEGIN {printf "%.3f", (n > 0) ? c * 1e6 / n : 0}')
    R_OTHERS=$(awk -v b="$((b1 - b0))" -v hz="$HZ" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
      -v r="$R_CPU" -v c="$T_CPU" 'BEGIN {o = (b / hz - r - c) / t; printf "%.2f", (o < 0) ? 0 : o}')
    T_CLEAN=no
    [ "$T_KDROP" = 0 ] && [ "$T_IFDROP" = 0 ] && [ "$T_MISS" = 0 ] && [ -z "$T_NOTE" ] && T_CLEAN=yes
  else
    R_OTHERS=$(awk -v b="$((b1 - b0))" -v hz="$HZ" -v t="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" \
      -v r="$R_CPU" 'BEGIN {o = (b / hz - r) / t; printf "%.2f", (o < 0) ? 0 : o}')
  fi
  return 0
}

printf 'tool\tphase\trequested_pps\tsent\tsent_bytes\treplay_s\tachieved_pps\tachieved_mbps\treplay_failed\treplay_cpu_s\treplay_send_cpu_pct\treceived\tdropped_kernel\tdropped_interface\tmissing\tclean\ttool_cpu_s\tcpu_us_per_packet\tmax_rss_mib\texit\tload1\tothers_cores\tnote\n' > "$TRIALS"
trial_line() {  # tool phase rate
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" \
    "$R_SENT" "$R_BYTES" "$R_SECS" "$R_PPS" "$R_MBPS" "$R_FAILED" "$R_CPU" "$R_SEND_PCT" "${T_RECV:-}" "${T_KDROP:-}" "${T_IFDROP:-}" \
    "${T_MISS:-}" "${T_CLEAN:-}" "${T_CPU:-}" "${T_US:-}" "${T_RSS:-}" "${T_RC:-}" "$R_LOAD" "$R_OTHERS" "${T_NOTE:-}" >> "$TRIALS"
}

# trial TOOL PHASE RATE: one trial of the search, logged; a lossy trial during which other
# processes used more than BUSY cores is run again, at most twice (its line in the trials
# file says "busy, redone"). Returns 1 when the tool failed.
trial() {
  local n=0 ok
  while :; do
    ok=yes; replay "$3" || ok=no
    if [ $ok = no ]; then trial_line "$1" "$2" "$3"; log "  $2 at $(show_rate "$3"): $T_NOTE"; return 1; fi
    log "  $2 at $(show_rate "$3"): sent $R_SENT at $R_PPS pps, received $T_RECV, dropped $T_KDROP + $T_IFDROP, missing $T_MISS, $T_US us/packet, load $R_LOAD, others' cores $R_OTHERS"
    if [ "$T_CLEAN" = no ] && [ $n -lt 2 ] && awk -v o="$R_OTHERS" -v b="$BUSY" 'BEGIN {exit !(o > b)}'; then
      trial_line "$1" "$2 (busy, redone)" "$3"
      log "  lossy while other processes used $R_OTHERS cores (> $BUSY): again"
      n=$((n + 1)); continue
    fi
    trial_line "$1" "$2" "$3"; return 0
  done
}

# ---- tcpreplay alone: its ceiling on this machine ---------------------------------------
# what preloading the prefix costs (-K reads all of it whatever --limit says): one packet sent
PRELOAD_CPU=0
ip netns exec "$NS" /usr/bin/time -f '%e %U %S %M' -o "$W/replay.time" \
  tcpreplay -i "$TX" -K --no-flow-stats --limit=1 --topspeed "$PREFIX" > "$W/replay.out" 2>&1 \
  || { log "tcpreplay failed:"; tail -5 "$W/replay.out" >&2; exit 1; }
PRELOAD_CPU=$(awk 'END {printf "%.2f", $2 + $3}' "$W/replay.time")
log "tcpreplay preloads the prefix in ${PRELOAD_CPU} s of CPU"
CEIL_LIMIT=$P_PKTS
: > "$W/ceiling"
for i in $(seq 1 "$REPEATS"); do
  log "tcpreplay alone at top speed, run $i/$REPEATS ($CEIL_LIMIT packets)"
  TOOL_CMD=()
  replay top
  trial_line "(none)" ceiling top
  echo "$R_PPS $R_MBPS $R_SEND_PCT $R_SECS $R_LOAD $R_OTHERS" >> "$W/ceiling"
  log "  $R_PPS packets/s, $R_MBPS Mbit/s in $R_SECS s, tcpreplay CPU $R_SEND_PCT % of one core, load $R_LOAD, others' cores $R_OTHERS"
done
col() { awk -v c="$1" '{print $c}' "$2" | median; }
CEIL_PPS=$(col 1 "$W/ceiling" | xargs printf '%.0f')
CEIL_MBPS=$(col 2 "$W/ceiling" | xargs printf '%.1f')
CEIL_BUSY=$(col 3 "$W/ceiling" | xargs printf '%.0f')
CEIL_LOAD=$(col 5 "$W/ceiling")
# a top-speed trial sends what the replay alone sends in about S seconds
CEIL_LIMIT=$((CEIL_PPS * SECS))

# ---- the rows ---------------------------------------------------------------------------
tool_cmd() {  # tool -> TOOL_CMD and SHOWN
  case $1 in
    tcpdump) TOOL_CMD=(tcpdump -i "$RX" -w /dev/null) ;;
    tcpdump-bigbuf) TOOL_CMD=(tcpdump -i "$RX" -B $((BUF_MIB * 1024)) -w /dev/null) ;;
    flowaudit) TOOL_CMD=("$FA" flows --interface "$RX" -o /dev/null) ;;
    flowaudit-audit) TOOL_CMD=("$FA" audit --rules rules/hopex.toml --inventory fixtures/has/inventory.toml --interface "$RX" -o /dev/null) ;;
  esac
  SHOWN=${TOOL_CMD[*]}
  [ -z "$FA" ] || SHOWN=${SHOWN//$FA/$(rel "$FA")}
}
show_rate() { if [ "$1" = top ]; then echo "top speed"; else echo "$1 pps"; fi; }

HEAD=$(
  echo "machine: $(machine); $(tcpreplay --version 2>&1 | head -1 | cut -d' ' -f1-3), $(tcpdump --version 2>&1 | head -1)"
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "replayed: the first $P_PKTS packets of $(rel "$CAPTURE") ($P_BYTES bytes of frames, $(awk -v b="$P_BYTES" -v n="$P_PKTS" 'BEGIN {printf "%.0f", b / n}') bytes on average), looped as needed; a trial at R pps sends R*$SECS packets"
  echo "tcpreplay alone at top speed (nothing capturing): $CEIL_PPS pps, $CEIL_MBPS Mbit/s, its CPU ${CEIL_BUSY} % of one core, load $CEIL_LOAD (median of $REPEATS)"
)

printf 'tool\tcommand\tstatus\tdrop_free_pps\tdrop_free_mbps\tat_replay_ceiling\tclean_repeats\trepeats\tcpu_us_per_packet\tmax_rss_mib\treplay_cpu_pct\tload1\tothers_cores\tfirst_lossy_pps\tfirst_lossy_drops\ttrial_s\tprefix_packets\treplay_alone_pps\n' > "$TSV"
ROWS_MD=()
row_note() {  # tool shown why
  ROWS_MD+=("| $1 | \`$2\` | $3 | | | | | | |")
  printf '%s\t%s\t%s\t\t\t\t\t\t\t\t\t\t\t\t\t%s\t%s\t%s\n' "$1" "$2" "$3" "$SECS" "$P_PKTS" "$CEIL_PPS" >> "$TSV"
}

for tool in "${TOOL_LIST[@]}"; do
  tool_cmd "$tool"
  if [[ $tool == flowaudit* ]] && [ -n "$FA_NOTE" ]; then row_note "$tool" "$SHOWN" "$FA_NOTE"; continue; fi
  log "$tool: $SHOWN"
  # rising steps, then top speed; a step is the last one when tcpreplay gets below 90 % of it
  lo=""; hi=""; hi_pps=""; hi_drops=""; failed=""; ceiling=no
  for r in "${RATE_LIST[@]}" top; do
    if ! trial "$tool" step "$r"; then failed=$T_NOTE; break; fi
    if [ "$T_CLEAN" = no ]; then
      hi=$r; hi_pps=$R_PPS; hi_drops=$((T_KDROP + T_IFDROP + T_MISS)); break
    fi
    lo=$r
    if [ "$r" = top ] || [ "$R_PPS" -lt $((r * 9 / 10)) ]; then ceiling=yes; break; fi
  done
  if [ -n "$failed" ]; then row_note "$tool" "$SHOWN" "failed: $failed"; continue; fi
  # bisection between the last clean and the first lossy requested rate (a lossy top-speed
  # step counts at the rate it reached)
  if [ -n "$hi" ]; then
    [ "$hi" != top ] || hi=$hi_pps
    for _ in $(seq 1 "$BISECT"); do
      l=${lo:-0}; [ "$l" != top ] || break
      [ $((hi - l)) -gt $((hi / 20)) ] && [ $((hi - l)) -gt 1000 ] || break
      mid=$(((l + hi) / 2000 * 1000))
      [ "$mid" -gt "$l" ] || break
      if ! trial "$tool" bisect "$mid"; then failed=$T_NOTE; break; fi
      if [ "$T_CLEAN" = yes ]; then lo=$mid
      else hi=$mid; hi_pps=$R_PPS; hi_drops=$((T_KDROP + T_IFDROP + T_MISS)); fi
    done
    if [ -n "$failed" ]; then row_note "$tool" "$SHOWN" "failed: $failed"; continue; fi
  fi
  if [ -z "$lo" ]; then
    row_note "$tool" "$SHOWN" "drops at every rate tried (lowest: ${hi_pps} pps, $hi_drops lost)"; continue
  fi
  # repeats at the rate found
  : > "$W/repeats"
  for i in $(seq 1 "$REPEATS"); do
    if ! trial "$tool" "repeat $i/$REPEATS" "$lo"; then failed=$T_NOTE; break; fi
    echo "$R_PPS $R_MBPS $T_US $T_RSS $R_LOAD $R_OTHERS $T_CLEAN $R_SEND_PCT" >> "$W/repeats"
  done
  if [ -n "$failed" ]; then row_note "$tool" "$SHOWN" "failed: $failed"; continue; fi
  pps=$(col 1 "$W/repeats" | xargs printf '%.0f'); mbps=$(col 2 "$W/repeats" | xargs printf '%.1f')
  us=$(col 3 "$W/repeats" | xargs printf '%.2f'); rss=$(col 4 "$W/repeats" | xargs printf '%.1f')
  load=$(col 5 "$W/repeats"); others=$(col 6 "$W/repeats" | xargs printf '%.2f')
  rcpu=$(col 8 "$W/repeats" | xargs printf '%.0f')
  clean=$(grep -c ' yes ' "$W/repeats" || true)
  mark=""; [ "$ceiling" = no ] || [ "$clean" != "$REPEATS" ] || mark="≥ "
  if [ -n "$hi_pps" ]; then lossy="$hi_pps ($hi_drops lost)"; else lossy="none"; fi
  ROWS_MD+=("| $tool | \`$SHOWN\` | $mark$pps | $mark$mbps | $clean/$REPEATS | $us | $rss | $load, $others | $rcpu % | $lossy |")
  printf '%s\t%s\tok\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$SHOWN" "$pps" "$mbps" "$ceiling" \
    "$clean" "$REPEATS" "$us" "$rss" "$rcpu" "$load" "$others" "${hi_pps:-}" "${hi_drops:-}" "$SECS" "$P_PKTS" "$CEIL_PPS" >> "$TSV"
done

echo "$HEAD"
echo
echo "| tool | command (IF = $RX) | drop-free pps | Mbit/s | clean repeats | CPU µs/packet | max RSS MiB | load 1 min, others' cores | tcpreplay CPU | first lossy pps |"
echo "|---|---|---:|---:|---:|---:|---:|---|---:|---|"
printf '%s\n' "${ROWS_MD[@]}"
echo
echo "Drop-free rate: the median rate tcpreplay reached in $REPEATS trials of $SECS s at the highest requested rate"
echo "without a drop (kernel or interface) or a missing packet; \"≥\" means no drop even at tcpreplay's top speed,"
echo "so the figure is the replay's ceiling with this tool listening, not the tool's. CPU µs/packet: the tool's"
echo "user + system CPU / packets received, median; load: 1-minute load average at the start of the trials, and"
echo "the cores used by other processes during them (median)."
log "results also in $(rel "$TSV") and $(rel "$TRIALS")"
