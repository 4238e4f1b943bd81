#!/usr/bin/env bash
# Times flowaudit against the libpcap floor and a few well-known tools on one capture.
#
#   bench/run.sh CAPTURE [RUNS]        RUNS timed runs per tool after one warm-up (default 5)
#
# Environment:
#   ONLY='regex'       run only the rows whose tool name matches this extended regex
#                      (names: floor, flowaudit, tcpdump, tshark, argus)
#   TIMEOUT=600        seconds allowed for one run; a run past it marks the row as timed out
#   CARGO_TARGET_DIR   where cargo builds (default: target/ in the repository)
#
# Each run is one whole process tree timed by GNU time (/usr/bin/time -f '%e %U %S %M'):
# wall seconds, user + system CPU seconds, peak RSS of the largest process. The table shows
# the MEDIAN of the RUNS timed runs; the capture is read once before timing so that every
# run finds it in the page cache, and each tool gets one untimed warm-up run (also used to
# count the flows it reports). Standard output of timed runs goes to /dev/null.
#
# Output: a Markdown table on stdout, the same figures in bench/data/results.tsv, progress
# on stderr. Needs root only to install missing Debian packages.
set -euo pipefail

usage() { echo "usage: bench/run.sh CAPTURE [RUNS]   (env: ONLY=regex TIMEOUT=600)" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
[ -r "$1" ] || { echo "run.sh: cannot read capture '$1'" >&2; exit 2; }
F=$(realpath "$1")
RUNS=${2:-5}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || { echo "run.sh: RUNS must be a positive integer" >&2; exit 2; }
TIMEOUT=${TIMEOUT:-600}
ONLY=${ONLY:-.}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DATA=$HERE/data
W=$DATA/run                     # scratch: warm-up outputs, argus file, timings
mkdir -p "$W"
TSV=$DATA/results.tsv

log() { echo "run.sh: $*" >&2; }

# ---- tools ------------------------------------------------------------------------------
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need_packages tcpdump=tcpdump tshark=tshark capinfos=wireshark-common argus=argus-server ra=argus-client \
  /usr/bin/time=time timeout=coreutils /usr/include/pcap/pcap.h=libpcap-dev

# ---- build ------------------------------------------------------------------------------
find_cargo "$ROOT"
BIN=$TGT/release
FLOOR=$BIN/pcap-floor
FA=$BIN/flowaudit
FA_NOTE=""
log "building pcap-floor and flowaudit (release)"
if ! (cd "$ROOT" && cargo build --release -p pcap-floor -p flowaudit) >"$W/build.log" 2>&1; then
  FA_NOTE="flowaudit did not build (see bench/data/run/build.log)"
  log "$FA_NOTE; building pcap-floor alone"
  if ! (cd "$ROOT" && cargo build --release -p pcap-floor) >>"$W/build.log" 2>&1; then
    if [ -x "$FLOOR" ]; then
      log "WARNING: pcap-floor did not build either; using the existing $FLOOR"
    else
      tail -20 "$W/build.log" >&2; log "pcap-floor did not build"; exit 1
    fi
  fi
fi

# ---- capture ----------------------------------------------------------------------------
PKTS=$(capinfos -M -c "$F" | awk -F': *' '/Number of packets/ {print $2}')
[[ $PKTS =~ ^[0-9]+$ ]] || { log "capinfos could not count the packets of $F"; exit 1; }
BYTES=$(stat -c %s "$F")
cat "$F" > /dev/null   # into the page cache

# ---- flow counters (read the warm-up's output) -------------------------------------------
count_none()      { echo "-"; }
count_lines()     { printf "%d" "$(wc -l < "$W/flowaudit.out")"; }
count_tshark()    { awk '/^TCP Conversations/ {s = "tcp"} /^UDP Conversations/ {s = "udp"} /<->/ {c[s]++}
                      END {printf "%d (tcp %d, udp %d)", c["tcp"] + c["udp"], c["tcp"], c["udp"]}' "$W/out.txt"; }
count_argus()     { ra -r "$W/out.argus" -n -L -1 -s proto 2>/dev/null | awk '$1 != "man" {c[$1]++; n++}
                      END {printf "%d records (tcp %d, udp %d)", n, c["tcp"], c["udp"]}'; }

# ---- rows: name | flow counter | timed command | warm-up command (empty: the timed one) ---
# Commands run under 'bash -c' with F (capture), W (scratch), FLOOR and FA (binaries) exported.
ROWS=(
  "floor|count_none|\"\$FLOOR\" \"\$F\"|"
  "flowaudit|count_lines|\"\$FA\" flows \"\$F\" -q -o /dev/null|\"\$FA\" flows \"\$F\" -q -o \"\$W/flowaudit.out\""
  "tcpdump|count_none|tcpdump -r \"\$F\" -w /dev/null|"
  "tshark|count_tshark|tshark -o tcp.desegment_tcp_streams:FALSE -r \"\$F\" -q -z conv,tcp -z conv,udp|"
  "argus|count_argus|sh -c 'rm -f \"\$W/out.argus\"; argus -r \"\$F\" -w \"\$W/out.argus\" && ra -r \"\$W/out.argus\" -n'|"
)

# the command as shown in the table: capture as F, paths relative to the repository
shown() {
  local s=$1
  s=${s//\"\$FLOOR\"/$(rel "$FLOOR")}; s=${s//\"\$FA\"/$(rel "$FA")}
  s=${s//\"\$F\"/F}; s=${s//\"\$W\/out.argus\"/out.argus}; s=${s//\"\$W\//$(rel "$W")/}
  s=${s//'rm -f out.argus; '/}
  echo "$s"
}

export F W FLOOR FA
echo "machine: $(machine)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "capture: F = $(rel "$F"), $PKTS packets, $BYTES bytes; $RUNS timed runs per tool after 1 warm-up, medians; timeout ${TIMEOUT} s per run"
[ -z "$FA_NOTE" ] || echo "note: $FA_NOTE"
echo
echo "| tool | command | median wall s | median CPU s | peak RSS MiB | Mpps | × floor | flows reported |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
printf 'tool\tcommand\tstatus\truns\tmedian_wall_s\tmedian_cpu_s\tpeak_rss_mib\tmpps\tx_floor\tflows\twall_min_s\twall_max_s\tpackets\n' > "$TSV"

FLOOR_WALL=""
row_fail() {  # name shown why
  echo "| $1 | \`$2\` | $3 | | | | | |"
  printf '%s\t%s\t%s\t\t\t\t\t\t\t\t\t\t%s\n' "$1" "$2" "$3" "$PKTS" >> "$TSV"
}
why_rc() {  # rc errfile
  if [ "$1" = 124 ] || [ "$1" = 137 ]; then echo "timed out (> ${TIMEOUT} s)"
  else echo "failed (exit $1): $(tail -1 "$2" | tr '|\t' '/ ' | cut -c1-120)"; fi
}

for r in "${ROWS[@]}"; do
  IFS='|' read -r name counter cmd warm <<< "$r"
  [[ $name =~ $ONLY ]] || continue
  [ -n "$warm" ] || warm=$cmd
  show=$(shown "$cmd")
  if [ "$name" = flowaudit ] && [ -n "$FA_NOTE" ]; then
    row_fail "$name" "$show" "not built (cargo build failed)"; continue
  fi
  log "$name: warm-up"
  rc=0; timeout "$TIMEOUT" bash -c "$warm" > "$W/out.txt" 2> "$W/err.txt" || rc=$?
  if [ $rc != 0 ]; then row_fail "$name" "$show" "$(why_rc $rc "$W/err.txt")"; continue; fi
  if [ "$name" = floor ]; then
    got=$(awk '$1 == "packets" {print $2}' "$W/out.txt")
    [ "$got" = "$PKTS" ] || log "WARNING: pcap-floor read $got packets, capinfos says $PKTS"
  fi
  flows=$($counter)
  : > "$W/times"; fail=""
  for i in $(seq 1 "$RUNS"); do
    log "$name: run $i/$RUNS"
    rc=0; /usr/bin/time -f '%e %U %S %M' -o "$W/t1" timeout "$TIMEOUT" bash -c "$cmd" > /dev/null 2> "$W/err.txt" || rc=$?
    if [ $rc != 0 ]; then fail="run $i: $(why_rc $rc "$W/err.txt")"; break; fi
    tail -1 "$W/t1" >> "$W/times"
  done
  if [ -n "$fail" ]; then row_fail "$name" "$show" "$fail"; continue; fi
  wall=$(awk '{print $1}' "$W/times" | median)
  cpu=$(awk '{print $2 + $3}' "$W/times" | median)
  rss=$(awk '{print $4 / 1024}' "$W/times" | median)
  wmin=$(awk '{print $1}' "$W/times" | sort -g | head -1)
  wmax=$(awk '{print $1}' "$W/times" | sort -g | tail -1)
  [ "$name" = floor ] && FLOOR_WALL=$wall
  read -r mpps xf < <(awk -v p="$PKTS" -v w="$wall" -v f="$FLOOR_WALL" 'BEGIN {
    m = (w > 0) ? sprintf("%.2f", p / w / 1e6) : "-"
    x = (w > 0 && f != "" && f > 0) ? sprintf("%.2f", w / f) : "-"
    print m, x }')
  printf '| %s | `%s` | %.2f | %.2f | %.1f | %s | %s | %s |\n' "$name" "$show" "$wall" "$cpu" "$rss" "$mpps" "$xf" "$flows"
  printf '%s\t%s\tok\t%d\t%.3f\t%.3f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$show" "$RUNS" "$wall" "$cpu" "$rss" \
    "$mpps" "$xf" "$flows" "$wmin" "$wmax" "$PKTS" >> "$TSV"
done
echo
echo "Medians of $RUNS runs; wall and CPU have 10 ms resolution. Compare the × floor ratios, not the seconds."
log "results also in $(rel "$TSV")"
