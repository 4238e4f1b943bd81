#!/usr/bin/env bash
# Runs flowaudit on every (trace, Zeek conn.log) pair of a directory and prints how far the
# records agree, field by field (see README.md in this directory for the layout).
#
#   bench/zeek/run.sh DIR [FLOWAUDIT]
#
# DIR/<case>/ holds one capture (*.pcap or *.pcapng), Zeek's conn.log of it, and optionally a
# file `args` with the flowaudit options to use instead of the default `--checksums drop`
# (Zeek's default; write `--checksums ignore` where Zeek ran with -C).
# FLOWAUDIT: the binary (default: $CARGO_TARGET_DIR/debug/flowaudit, else target/debug/flowaudit).
# Per-case outputs go to DIR/<case>/flowaudit.log and DIR/<case>/summary.json.
set -euo pipefail

usage() { echo "usage: bench/zeek/run.sh DIR [FLOWAUDIT]" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
DIR=$1
[ -d "$DIR" ] || { echo "run.sh: no directory '$DIR'" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
FA=${2:-${CARGO_TARGET_DIR:-$HERE/../../target}/debug/flowaudit}
[ -x "$FA" ] || { echo "run.sh: no flowaudit binary at '$FA' (build it, or pass its path)" >&2; exit 2; }

summaries=()
for case_dir in "$DIR"/*/; do
    case_dir=${case_dir%/}
    name=$(basename "$case_dir")
    trace=$(find "$case_dir" -maxdepth 1 -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort | head -n 1)
    if [ -z "$trace" ] || [ ! -f "$case_dir/conn.log" ]; then
        echo "run.sh: skipping $name (needs one *.pcap/*.pcapng and conn.log)" >&2
        continue
    fi
    args=(--checksums drop)
    if [ -f "$case_dir/args" ]; then
        read -r -a args < "$case_dir/args"
    fi
    if ! "$FA" flows "${args[@]}" --format zeek "$trace" > "$case_dir/flowaudit.log" 2> "$case_dir/flowaudit.err"; then
        echo "run.sh: flowaudit failed on $name (see $case_dir/flowaudit.err)" >&2
    fi
    python3 "$HERE/compare.py" --case "$name" --summary "$case_dir/summary.json" --quiet \
        "$case_dir/conn.log" "$case_dir/flowaudit.log"
    summaries+=("$case_dir/summary.json")
done
[ ${#summaries[@]} -gt 0 ] || { echo "run.sh: no cases in '$DIR'" >&2; exit 1; }
python3 "$HERE/compare.py" --aggregate "${summaries[@]}"
