#!/usr/bin/env bash
# Times reading flow records (Zeek TSV conn.log, flowaudit JSON lines, Suricata EVE, AWS VPC flow
# logs, an RFC 5655 IPFIX file), one core, on inputs generated from a real capture's flows.
#
#   bench/records.sh [--records N] [CAPTURE] [RUNS]
#
#   --records N   records in each generated input (default 1000000)
#   CAPTURE       the capture whose flows seed the inputs (default bench/data/big.pcap, see
#                 bench/README.md; fixtures/has/has.pcap when that is absent)
#   RUNS          timed runs per format after one untimed warm-up (default 5)
#
# The seed is `flowaudit flows --format json CAPTURE` (bench/data/records/NAME/seed.json, NAME
# being CAPTURE's file name without its extension, made once
# per capture); `records_speed gen` (examples/records_speed.rs) repeats its records, each pass
# shifted in time, into N.zeek and N.jsonl in the same folder as `flowaudit flows` writes them
# (Zeek TSV with its header; JSON lines). bench/gen_records.py rewrites N.jsonl's flows as
# N.eve.json (one EVE flow event a flow), N.vpc.log (VPC default format, one line a direction:
# the first N lines, from about N/2 flows) and N.ipfix (one RFC 5103 biflow record a flow); each
# holds N records. N.plain.zeek is N.zeek without its community_id column, as Zeek writes a
# conn.log without the community-id policy: the reader then computes each Community ID (a SHA-1
# of the endpoints). Each format is timed twice under GNU time: `read` is `records_speed read
# FILE` (the reader alone, one thread; line formats only, so IPFIX has no `read` row), `audit`
# is `flowaudit audit --rules rules/hopex.toml ... FILE` (the whole command). The last row,
# `two inputs`, audits N.zeek and N.jsonl together: the same flows twice, so every record goes
# through the duplicate merge (2N records). The table shows, per format and run,
# the records and the MEDIAN of RUNS runs (taken in turns: run 1 of every row, then run 2,
# ...) of wall time, CPU time (user + sys: the machine may be
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
# One folder a capture (named after it), so that a run on another capture does not remake the
# inputs of this one.
DATA=$ROOT/bench/data/records/$(basename "$CAPTURE" | sed 's/\.[^.]*$//')
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
  rm -f "$DATA"/*.zeek "$DATA"/*.jsonl "$DATA"/*.eve.json "$DATA"/*.vpc.log "$DATA"/*.ipfix
fi
for fmt in zeek json; do
  f=$DATA/$N.$fmt
  [ "$fmt" = json ] && f=$DATA/$N.jsonl
  if [ ! -s "$f" ]; then
    log "generating $N records: $(rel "$f")"
    "$BIN" gen "$fmt" "$DATA/seed.json" "$N" "$f"
  fi
done
# The same flows as Suricata EVE, AWS VPC and IPFIX (written to a temporary name, so that an
# interrupted run does not leave a short file behind).
input() { # format: its file
  case $1 in
    zeek) echo "$DATA/$N.zeek" ;;
    zeek-plain) echo "$DATA/$N.plain.zeek" ;;
    json) echo "$DATA/$N.jsonl" ;;
    eve) echo "$DATA/$N.eve.json" ;;
    vpc) echo "$DATA/$N.vpc.log" ;;
    ipfix) echo "$DATA/$N.ipfix" ;;
  esac
}
f=$(input zeek-plain)
if [ ! -s "$f" ]; then
  log "generating $N records: $(rel "$f")"
  # The column named community_id in #fields (whose first field is the word itself) is dropped
  # from #fields, #types and every row.
  awk -F'\t' 'BEGIN { OFS = "\t" }
    /^#fields\t/ { for (i = 2; i <= NF; i++) if ($i == "community_id") col = i - 1 }
    /^#fields\t/ || /^#types\t/ { drop = col + 1 }
    !/^#/ { drop = col }
    /^#/ && !/^#fields\t/ && !/^#types\t/ { print; next }
    { out = ""; for (i = 1; i <= NF; i++) if (i != drop) out = out (out == "" ? "" : OFS) $i; print out }' \
    "$(input zeek)" >"$f.tmp"
  mv "$f.tmp" "$f"
fi
for fmt in eve vpc ipfix; do
  f=$(input "$fmt")
  if [ ! -s "$f" ]; then
    log "generating $N records: $(rel "$f")"
    python3 "$HERE/gen_records.py" "$fmt" "$N" <"$DATA/$N.jsonl" >"$f.tmp"
    mv "$f.tmp" "$f"
  fi
done

AUDIT=("$TGT/release/flowaudit" audit --rules "$ROOT/rules/hopex.toml" --inventory "$ROOT/fixtures/has/inventory.toml" -q --fail-on never -o /dev/null)
# The rows: format, run (read: the reader alone, one thread; audit: the whole command:
# reading, pairing, merging, judging, with the sinks on a thread of their own).
rows=()
for fmt in zeek zeek-plain json eve vpc ipfix two; do
  # records_speed reads the line formats (records::Reader) only.
  [ "$fmt" = ipfix ] || [ "$fmt" = two ] || rows+=("$fmt read")
  rows+=("$fmt audit")
done
files_of() { # format: its input files, one a line
  if [ "$1" = two ]; then
    # Two inputs of the same flows: every record is a duplicate of one in the other file.
    input zeek
    input json
  else
    input "$1"
  fi
}
# Runs are taken in turns (run 1 of every row, then run 2, ...) rather than all runs of one
# row in a row: this machine has slow and fast spells of a minute or more, which would
# otherwise land on some rows and not others.
mapfile -t all < <(for fmt in zeek zeek-plain json eve vpc ipfix; do input "$fmt"; done)
cat "${all[@]}" >/dev/null # warm-up: the files in the page cache
declare -A walls cpus rss
for ((i = 1; i <= RUNS; i++)); do
  for row in "${rows[@]}"; do
    read -r fmt run <<<"$row"
    mapfile -t files < <(files_of "$fmt")
    if [ "$run" = read ]; then
      /usr/bin/time -f '%e %U %S %M' -o "$DATA/time.txt" "$BIN" read "${files[0]}" >/dev/null
    else
      /usr/bin/time -f '%e %U %S %M' -o "$DATA/time.txt" "${AUDIT[@]}" "${files[@]}"
    fi
    read -r w u s m <"$DATA/time.txt"
    walls[$row]+="$w "
    cpus[$row]+="$(echo "$u + $s" | bc -l) "
    rss[$row]+="$m "
    log "$fmt $run run $i: $w s wall, $u + $s s CPU, $m KiB"
  done
done

TSV=$ROOT/bench/data/records.tsv
printf 'format\trun\trecords\twall_s\tcpu_s\trecords_per_cpu_s\tpeak_rss_mib\n' >"$TSV"
echo "| format | run | input | records | median wall s | median CPU s | records / CPU s | records / wall s | median peak RSS MiB |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|"
# A run shorter than the clock's resolution (a small --records) has no rate.
per() { if [ "$(echo "$2 > 0" | bc -l)" = 1 ]; then echo "$1 / $2" | bc -l | xargs printf '%.0f'; else echo "—"; fi; }
for row in "${rows[@]}"; do
  read -r fmt run <<<"$row"
  mapfile -t files < <(files_of "$fmt")
  case $fmt in
    zeek) name=zeek-tsv ;;
    zeek-plain) name="zeek-tsv, no community_id" ;;
    json) name=flowaudit-json ;;
    eve) name=suricata-eve ;;
    vpc) name=aws-vpc ;;
    two) name="two inputs (zeek + json)" ;;
    *) name=$fmt ;;
  esac
  records=$((${#files[@]} * N))
  mw=$(printf '%s\n' ${walls[$row]} | median)
  mc=$(printf '%s\n' ${cpus[$row]} | median)
  mr=$(printf '%s\n' ${rss[$row]} | median)
  rate=$(per "$records" "$mc")
  wrate=$(per "$records" "$mw")
  mib=$(echo "$mr / 1024" | bc -l | xargs printf '%.1f')
  shown=$(for f in "${files[@]}"; do rel "$f"; done | paste -sd ' ')
  echo "| $name | $run | $shown | $records | $mw | $mc | $rate | $wrate | $mib |"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$run" "$records" "$mw" "$mc" "$rate" "$mib" >>"$TSV"
done
log "$(machine); $(date -u '+%Y-%m-%d %H:%M UTC')"
