#!/usr/bin/env bash
# Times flowaudit on two generated scale-test captures: a SYN flood (many flows, all open at
# once, one finding group per source) and a long sequence of short connections (many flows,
# one open at a time, 4-tuples reused).
#
#   bench/scale.sh [--packets N] [--connections N] [RUNS]
#
#   --packets N       SYN packets (= flows) in the flood capture (default 3000000)
#   --connections N   connections in the sequence capture (default 2000000, 9 packets each)
#   RUNS              timed runs per row after one untimed warm-up (default 3)
#
# The captures are bench/data/flood.pcap and bench/data/sequence.pcap at the default sizes,
# bench/data/flood-N.pcap and bench/data/sequence-N.pcap otherwise; each is written by
# bench-gen (bench/gen) when absent or not of the size its arguments give, and never
# committed (bench/data is git-ignored).
#
# Environment:
#   ONLY='regex'       run only the rows whose name matches this extended regex (names:
#                      flood-flows, flood-flows-nocap, flood-audit-json, flood-audit-text,
#                      sequence-flows, sequence-audit-json)
#   TIMEOUT=600        seconds allowed for one run; a run past it marks the row as timed out
#   CARGO_TARGET_DIR   where cargo builds (default: target/ in the repository)
#
# Each run is timed by GNU time (/usr/bin/time -f '%e %U %S %M'); the table shows the MEDIAN
# wall time and the median peak RSS of RUNS runs. The warm-up run also measures the output:
# flow records for `flows` (written to a file there, to /dev/null in the timed runs), the
# report's lines (text) or bytes (json) for `audit`.
#
# Output: a Markdown table on stdout, the same figures in bench/data/scale.tsv, progress on
# stderr, scratch files (reports, build log) in bench/data/scale/. Needs root only to install
# missing Debian packages.
set -euo pipefail

usage() {
  echo "usage: bench/scale.sh [--packets N] [--connections N] [RUNS]   (env: ONLY=regex TIMEOUT=600)" >&2
  exit 2
}
DEF_PACKETS=3000000
DEF_CONNECTIONS=2000000
PACKETS=$DEF_PACKETS
CONNECTIONS=$DEF_CONNECTIONS
RUNS=3
while [ $# -gt 0 ]; do
  case $1 in
    --packets) [ $# -ge 2 ] || usage; PACKETS=$2; shift 2 ;;
    --packets=*) PACKETS=${1#*=}; shift ;;
    --connections) [ $# -ge 2 ] || usage; CONNECTIONS=$2; shift 2 ;;
    --connections=*) CONNECTIONS=${1#*=}; shift ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "${RUNS_SET:-}" ] || usage; RUNS=$1; RUNS_SET=1; shift ;;
  esac
done
for v in PACKETS CONNECTIONS RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "scale.sh: $v must be a positive integer" >&2; exit 2; }
done
TIMEOUT=${TIMEOUT:-600}
ONLY=${ONLY:-.}
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
DATA=$HERE/data
W=$DATA/scale                  # scratch: warm-up outputs, reports, timings, build log
mkdir -p "$W"
TSV=$DATA/scale.tsv
RULES=rules/hopex.toml
INV=fixtures/has/inventory.toml

log() { echo "scale.sh: $*" >&2; }

# ---- tools ------------------------------------------------------------------------------
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need_packages /usr/bin/time=time timeout=coreutils /usr/include/pcap/pcap.h=libpcap-dev

# ---- build ------------------------------------------------------------------------------
find_cargo "$ROOT"
GEN=$TGT/release/bench-gen
FA=$TGT/release/flowaudit
FA_NOTE=""
log "building bench-gen and flowaudit (release)"
if ! (cd "$ROOT" && cargo build --release -p bench-gen -p flowaudit) >"$W/build.log" 2>&1; then
  FA_NOTE="flowaudit did not build (see $(basename "$DATA")/scale/build.log)"
  log "$FA_NOTE; building bench-gen alone"
  (cd "$ROOT" && cargo build --release -p bench-gen) >>"$W/build.log" 2>&1 \
    || { tail -20 "$W/build.log" >&2; log "bench-gen did not build"; exit 1; }
fi

# ---- captures ---------------------------------------------------------------------------
# File sizes are exact: 24-byte header, then per packet a 16-byte record header and the frame.
# flood: N frames of 60 bytes. sequence: per connection 7 frames of 60 bytes, a 154-byte
# request (100 B of data) and a 254-byte response (200 B).
if [ "$PACKETS" = "$DEF_PACKETS" ]; then FLOOD=$DATA/flood.pcap; else FLOOD=$DATA/flood-$PACKETS.pcap; fi
if [ "$CONNECTIONS" = "$DEF_CONNECTIONS" ]; then SEQ=$DATA/sequence.pcap; else SEQ=$DATA/sequence-$CONNECTIONS.pcap; fi
FLOOD_SIZE=$((24 + PACKETS * 76))
SEQ_SIZE=$((24 + CONNECTIONS * 972))

make_capture() {  # file size mode args...
  local f=$1 size=$2; shift 2
  if [ -f "$f" ] && [ "$(stat -c %s "$f")" = "$size" ]; then return; fi
  [ -f "$f" ] && log "$(rel "$f") is not $size bytes: writing it again"
  log "writing $(rel "$f") (bench-gen $*)"
  "$GEN" "$1" "$f.part" "${@:2}" 2>"$W/gen.err" || { cat "$W/gen.err" >&2; rm -f "$f.part"; exit 1; }
  sed -e 's/^/scale.sh: /' -e 's/\.part: /: /' "$W/gen.err" >&2
  mv "$f.part" "$f"
}
# only the captures the selected rows read
if [[ flood-flows =~ $ONLY || flood-flows-nocap =~ $ONLY || flood-audit-json =~ $ONLY || flood-audit-text =~ $ONLY ]]; then
  make_capture "$FLOOD" "$FLOOD_SIZE" flood --packets "$PACKETS"
fi
if [[ sequence-flows =~ $ONLY || sequence-audit-json =~ $ONLY ]]; then
  make_capture "$SEQ" "$SEQ_SIZE" sequence --connections "$CONNECTIONS"
fi

# ---- the uncapped flows row -------------------------------------------------------------
# `flows --max-flows` is optional: the row runs only if the help text documents the flag and
# a value of it meaning "no cap" (0, or a word such as unlimited/none).
NOCAP=""
NOCAP_NOTE=""
HAS_MAX_FLOWS=no
if [ -z "$FA_NOTE" ]; then
  help=$("$FA" flows --help 2>&1 || true)
  block=$(awk '/^[[:space:]]*(-[[:alnum:]], )?--max-flows([ =<[]|$)/ {on = 1; print; next}
               on && /^[[:space:]]*(-[[:alnum:]], )?--[[:alnum:]]/ {exit}
               on {print}' <<< "$help")
  if [ -z "$block" ]; then
    NOCAP_NOTE="flowaudit flows --help does not mention --max-flows"
  else
    HAS_MAX_FLOWS=yes
    flat=$(tr '\n' ' ' <<< "$block" | tr -s ' ')
    unlimited='(no (flow )?(cap|limit|maximum)|uncapped|unlimited|unbounded|disables?|infinite|without (a )?(cap|limit))'
    if grep -qiE "(\\b0\\b|\`0\`|'0'|\"0\")[^.;]{0,40}$unlimited|$unlimited[^.;]{0,40}(\\b0\\b|\`0\`)" <<< "$flat"; then
      NOCAP=0
    else
      for word in unlimited none off inf infinite; do
        if grep -qiE "(\`$word\`|'$word'|\"$word\"|possible values:[^]]*\\b$word\\b|=$word\\b)" <<< "$flat"; then
          NOCAP=$word; break
        fi
      done
    fi
    [ -n "$NOCAP" ] || NOCAP_NOTE="flowaudit flows --help documents --max-flows but no value meaning no cap: $(cut -c1-200 <<< "$flat")"
  fi
fi

# ---- rows: name | input | kind | timed command | warm-up command (empty: the timed one) ---
# kind: flows (count the warm-up's records), lines (text report), bytes (json report).
# Commands run under 'bash -c' in the repository root with F (capture), W (scratch) and FA
# exported. Audit exits 1 when a finding is an error (both captures have them): 0 and 1 pass.
ROWS=(
  "flood-flows|$FLOOD|flows|\"\$FA\" flows \"\$F\" -q -o /dev/null|\"\$FA\" flows \"\$F\" -q -o \"\$W/flows.out\""
  "flood-flows-nocap|$FLOOD|flows|\"\$FA\" flows \"\$F\" -q -o /dev/null --max-flows $NOCAP|\"\$FA\" flows \"\$F\" -q -o \"\$W/flows.out\" --max-flows $NOCAP"
  "flood-audit-json|$FLOOD|bytes|\"\$FA\" audit --rules $RULES --inventory $INV --format json -q -o \"\$W/flood-audit.json\" \"\$F\"|"
  "flood-audit-text|$FLOOD|lines|\"\$FA\" audit --rules $RULES --inventory $INV --format text -q -o \"\$W/flood-audit.txt\" \"\$F\"|"
  "sequence-flows|$SEQ|flows|\"\$FA\" flows \"\$F\" -q -o /dev/null|\"\$FA\" flows \"\$F\" -q -o \"\$W/flows.out\""
  "sequence-audit-json|$SEQ|bytes|\"\$FA\" audit --rules $RULES --inventory $INV --format json -q -o \"\$W/sequence-audit.json\" \"\$F\"|"
)

# the command as shown in the table: capture as F, paths relative to the repository
shown() {
  local s=$1
  s=${s//\"\$FA\"/$(rel "$FA")}; s=${s//\"\$F\"/F}; s=${s//\"\$W\//$(rel "$W")/}; s=${s//\"/}
  echo "$s"
}
mib() { awk -v b="$1" 'BEGIN {if (b < 1048576) printf "%.1f KiB", b / 1024; else printf "%.1f MiB", b / 1048576}'; }

export W FA
echo "machine: $(machine)"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
[ ! -f "$FLOOD" ] || echo "flood: $(rel "$FLOOD"), $PACKETS SYN packets from as many sources to 10.20.0.21:5000, $FLOOD_SIZE bytes"
[ ! -f "$SEQ" ] || echo "sequence: $(rel "$SEQ"), $CONNECTIONS connections, $((CONNECTIONS * 9)) packets, $SEQ_SIZE bytes"
echo "$RUNS timed run(s) per row after 1 warm-up, medians; timeout ${TIMEOUT} s per run"
[ -z "$FA_NOTE" ] || echo "note: $FA_NOTE"
echo
echo "| row | input | command | median wall s | median peak RSS MiB | output size |"
echo "|---|---|---|---:|---:|---|"
printf 'row\tinput\tcommand\tstatus\truns\tmedian_wall_s\tmedian_cpu_s\tpeak_rss_mib\toutput\toutput_lines\toutput_bytes\twall_min_s\twall_max_s\tinput_packets\tinput_bytes\n' > "$TSV"

row_fail() {  # name input shown why
  echo "| $1 | $2 | \`$3\` | $4 | | |"
  printf '%s\t%s\t%s\t%s\t\t\t\t\t\t\t\t\t\t\t\n' "$1" "$2" "$3" "$4" >> "$TSV"
}
why_rc() {  # rc errfile
  if [ "$1" = 124 ] || [ "$1" = 137 ]; then echo "timed out (> ${TIMEOUT} s)"
  else echo "failed (exit $1): $(tail -1 "$2" | tr '|\t' '/ ' | cut -c1-120)"; fi
}
ok_rc() {  # rc kind
  [ "$1" = 0 ] || { [ "$2" != flows ] && [ "$1" = 1 ]; }
}

RSS_FLOW=""
for r in "${ROWS[@]}"; do
  IFS='|' read -r name F kind cmd warm <<< "$r"
  [[ $name =~ $ONLY ]] || continue
  export F
  [ -n "$warm" ] || warm=$cmd
  input=$(basename "$F")
  show=$(shown "$cmd")
  if [ "$name" = flood-flows-nocap ] && [ -z "$NOCAP" ]; then
    show=$(shown "\"\$FA\" flows \"\$F\" -q -o /dev/null --max-flows <no cap>")
    [ -n "$FA_NOTE" ] || { row_fail "$name" "$input" "$show" "skipped: $NOCAP_NOTE"; continue; }
  fi
  if [ -n "$FA_NOTE" ]; then row_fail "$name" "$input" "$show" "not built (cargo build failed)"; continue; fi
  cat "$F" > /dev/null   # into the page cache
  log "$name: warm-up"
  rc=0; (cd "$ROOT" && timeout "$TIMEOUT" bash -c "$warm") > /dev/null 2> "$W/err.txt" || rc=$?
  if ! ok_rc $rc "$kind"; then row_fail "$name" "$input" "$show" "warm-up $(why_rc $rc "$W/err.txt")"; rm -f "$W/flows.out"; continue; fi
  case $kind in
    flows) out_lines=$(wc -l < "$W/flows.out"); out_bytes=$(stat -c %s "$W/flows.out"); rm -f "$W/flows.out"
           output="$out_lines flows" ;;
    lines|bytes)
           report=$(sed -E 's/.* -o "\$W\/([^"]+)".*/\1/' <<< "$cmd")
           out_lines=$(wc -l < "$W/$report"); out_bytes=$(stat -c %s "$W/$report")
           if [ "$kind" = lines ]; then output="$out_lines lines"; else output="$out_bytes bytes ($(mib "$out_bytes"))"; fi ;;
  esac
  : > "$W/times"; fail=""
  for i in $(seq 1 "$RUNS"); do
    log "$name: run $i/$RUNS"
    rc=0; (cd "$ROOT" && /usr/bin/time -f '%e %U %S %M' -o "$W/t1" timeout "$TIMEOUT" bash -c "$cmd") > /dev/null 2> "$W/err.txt" || rc=$?
    if ! ok_rc $rc "$kind"; then fail="run $i: $(why_rc $rc "$W/err.txt")"; break; fi
    tail -1 "$W/t1" >> "$W/times"
  done
  if [ -n "$fail" ]; then row_fail "$name" "$input" "$show" "$fail"; continue; fi
  wall=$(awk '{print $1}' "$W/times" | median)
  cpu=$(awk '{print $2 + $3}' "$W/times" | median)
  rss_kib=$(awk '{print $4}' "$W/times" | median)
  rss=$(awk -v k="$rss_kib" 'BEGIN {printf "%.1f", k / 1024}')
  wmin=$(awk '{print $1}' "$W/times" | sort -g | head -1)
  wmax=$(awk '{print $1}' "$W/times" | sort -g | tail -1)
  if [[ $input == flood* ]]; then ipk=$PACKETS; else ipk=$((CONNECTIONS * 9)); fi
  printf '| %s | %s | `%s` | %.2f | %s | %s |\n' "$name" "$input" "$show" "$wall" "$rss" "$output"
  printf '%s\t%s\t%s\tok\t%d\t%.3f\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$input" "$show" "$RUNS" "$wall" "$cpu" "$rss" \
    "$output" "$out_lines" "$out_bytes" "$wmin" "$wmax" "$ipk" "$(stat -c %s "$F")" >> "$TSV"
  # peak RSS per open flow: the uncapped flows row's peak RSS over the flows open at its peak
  # (a flood SYN without reply ends Zeek's attempt delay after it, so not every flow of the
  # flood is open at once; the JSON audit report of the same capture says how many were)
  if [ "$name" = flood-flows-nocap ] || { [ "$name" = flood-flows ] && [ "$HAS_MAX_FLOWS" = no ]; }; then
    RSS_ROW=$name RSS_KIB=$rss_kib
  fi
done
if [ -n "${RSS_KIB:-}" ]; then
  peak=""
  if [ -s "$W/flood-audit.json" ] && [ "$W/flood-audit.json" -nt "$FLOOD" ]; then
    peak=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"]["peak_open_flows"])' \
      "$W/flood-audit.json" 2>/dev/null || true)
  fi
  if [ -n "$peak" ] && [ "$peak" -gt 0 ]; then
    RSS_FLOW=$(awk -v k="$RSS_KIB" -v n="$peak" -v r="$RSS_ROW" 'BEGIN {
      printf "%.0f bytes (%s: median peak RSS %.1f MiB / %d flows open at the peak, from flood-audit-json'"'"'s summary.peak_open_flows)", k * 1024 / n, r, k / 1024, n }')
  else
    RSS_FLOW="not known: run the flood-audit-json row too (its report gives the flows open at the peak)"
  fi
fi
echo
echo "Medians of $RUNS run(s); wall has 10 ms resolution, peak RSS is the largest process's maximum resident set."
[ -z "$NOCAP_NOTE" ] || [[ ! flood-flows-nocap =~ $ONLY ]] || echo "flood-flows-nocap: $NOCAP_NOTE."
if [ "$HAS_MAX_FLOWS" = no ] && [ -z "$FA_NOTE" ]; then echo "flowaudit has no flow cap: flood-flows holds every flow."; fi
if [ -n "$RSS_FLOW" ]; then echo "Peak RSS per open flow (flood, no cap): $RSS_FLOW."
elif [[ flood-flows-nocap =~ $ONLY || flood-flows =~ $ONLY ]] && [ -z "$FA_NOTE" ]; then
  echo "Peak RSS per open flow (flood, no cap): not measured (no uncapped flows row ran)."
fi
log "results also in $(rel "$TSV")"
