#!/usr/bin/env bash
# Times reading flow records (records::Reader: Zeek TSV conn.log and flowaudit JSON lines), one
# core, on inputs generated from a real capture's flows.
#
#   bench/records.sh [--records N] [CAPTURE] [RUNS]
#
#   --records N   records in each generated input (default 1000000)
#   CAPTURE       the capture whose flows seed the inputs (default bench/data/big.pcap, see
#                 bench/README.md; fixtures/has/has.pcap when that is absent)
#   RUNS          timed runs per format after one untimed warm-up (default 5)
#
# The seed is `flowaudit flows --format json CAPTURE` (bench/data/records/seed.json, made once
# per capture); `records_speed gen` (examples/records_speed.rs) repeats its records, each pass
# shifted in time, into bench/data/records/N.zeek and N.jsonl as `flowaudit flows` writes them
# (Zeek TSV with its header; JSON lines). Each format is timed twice under GNU time: `read`
# is `records_speed read FILE` (the reader alone, one thread), `audit` is `flowaudit audit
# --rules rules/hopex.toml ... FILE` (the whole command). The table shows, per format and run,
# the records and the MEDIAN of RUNS runs of wall time, CPU time (user + sys: the machine may be
# shared, so the rate is per CPU second), records per CPU second and per wall second, and peak
# RSS.
#
# Output: a Markdown table on stdout, the same figures in bench/data/records.tsv, progress on
# stderr. bench/data is git-ignored.
set -euo pipefail

usage() {
  echo "usage: bench/records.sh [--records N] [CAPTURE] [RUNS]" >&2
  exit 2
}
N=1000000
CAPTURE=
RUNS=5
while [ $# -gt 0 ]; do
  case $1 in
    --records) [ $# -ge 2 ] || usage; N=$2; shift 2 ;;
    --records=*) N=${1#*=}; shift ;;
    -h|--help|-*) usage ;;
    *)
      if [ -z "$CAPTURE" ] && ! [[ $1 =~ ^[0-9]+$ ]]; then CAPTURE=$1
      else RUNS=$1; fi
      shift ;;
  esac
done
for v in N RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "records.sh: $v must be a positive integer" >&2; exit 2; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
log() { echo "records.sh: $*" >&2; }
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
need_packages /usr/bin/time=time
find_cargo "$ROOT"

if [ -z "$CAPTURE" ]; then
  CAPTURE=$ROOT/bench/data/big.pcap
  [ -e "$CAPTURE" ] || CAPTURE=$ROOT/fixtures/has/has.pcap
fi
[ -e "$CAPTURE" ] || { log "$CAPTURE: no such file"; exit 2; }
DATA=$ROOT/bench/data/records
mkdir -p "$DATA"

log "building (release)"
(cd "$ROOT" && cargo build --release --bin flowaudit --example records_speed >"$DATA/build.log" 2>&1) \
  || { log "build failed: see $DATA/build.log"; exit 1; }
BIN=$TGT/release/examples/records_speed

# The seed is remade when the capture changes (its path, size and time in seed.src).
SRC="$(realpath "$CAPTURE") $(stat -c '%s %Y' "$CAPTURE")"
if [ ! -s "$DATA/seed.json" ] || [ "$(cat "$DATA/seed.src" 2>/dev/null)" != "$SRC" ]; then
  log "seed: flowaudit flows --format json $(rel "$CAPTURE")"
  "$TGT/release/flowaudit" flows --format json -q -o "$DATA/seed.json" "$CAPTURE"
  echo "$SRC" >"$DATA/seed.src"
  rm -f "$DATA"/*.zeek "$DATA"/*.jsonl
fi
for fmt in zeek json; do
  f=$DATA/$N.$fmt
  [ "$fmt" = json ] && f=$DATA/$N.jsonl
  if [ ! -s "$f" ]; then
    log "generating $N records: $(rel "$f")"
    "$BIN" gen "$fmt" "$DATA/seed.json" "$N" "$f"
  fi
done

TSV=$ROOT/bench/data/records.tsv
printf 'format\trun\trecords\twall_s\tcpu_s\trecords_per_cpu_s\tpeak_rss_mib\n' >"$TSV"
echo "| format | run | input | records | median wall s | median CPU s | records / CPU s | records / wall s | median peak RSS MiB |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
AUDIT=("$TGT/release/flowaudit" audit --rules "$ROOT/rules/hopex.toml" --inventory "$ROOT/fixtures/has/inventory.toml" -q --fail-on never -o /dev/null)
for fmt in zeek json; do
  f=$DATA/$N.$fmt
  [ "$fmt" = json ] && f=$DATA/$N.jsonl
  name=$fmt
  "$BIN" read "$f" >/dev/null # warm-up: the file in the page cache
  # read: the reader alone (one thread); audit: the whole command (reading, pairing,
  # merging, judging; the sinks on a thread of their own).
  for run in read audit; do
    walls=() cpus=() rss=() records=$N
    for ((i = 1; i <= RUNS; i++)); do
      if [ "$run" = read ]; then
        out=$(/usr/bin/time -f '%e %U %S %M' -o "$DATA/time.txt" "$BIN" read "$f")
        read -r name records _ <<<"$out"
      else
        /usr/bin/time -f '%e %U %S %M' -o "$DATA/time.txt" "${AUDIT[@]}" "$f"
      fi
      read -r w u s m <"$DATA/time.txt"
      walls+=("$w")
      cpus+=("$(echo "$u + $s" | bc -l)")
      rss+=("$m")
      log "$name $run run $i: $w s wall, $u + $s s CPU, $m KiB"
    done
    mw=$(printf '%s\n' "${walls[@]}" | median)
    mc=$(printf '%s\n' "${cpus[@]}" | median)
    mr=$(printf '%s\n' "${rss[@]}" | median)
    rate=$(echo "$records / $mc" | bc -l | xargs printf '%.0f')
    wrate=$(echo "$records / $mw" | bc -l | xargs printf '%.0f')
    mib=$(echo "$mr / 1024" | bc -l | xargs printf '%.1f')
    echo "| $name | $run | $(rel "$f") | $records | $mw | $mc | $rate | $wrate | $mib |"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$run" "$records" "$mw" "$mc" "$rate" "$mib" >>"$TSV"
  done
done
log "$(machine); $(date -u '+%Y-%m-%d %H:%M UTC')"
