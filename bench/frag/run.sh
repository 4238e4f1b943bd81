#!/usr/bin/env bash
# CPU time of flowaudit's reassembly and of etherparse's IpDefragPool on the same traffic
# (bench/frag/src/main.rs): each run's task-clock minus a run that only builds the traffic,
# over its 7 passes, per frame. Medians of 5 runs.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cargo build -q --release --manifest-path "$HERE/Cargo.toml"
BIN=${CARGO_TARGET_DIR:-$HERE/target}/release/frag-bench
FRAMES=$("$BIN" none | head -1 | cut -d' ' -f1)
msec() { perf stat -x, -e task-clock "$BIN" "$1" 2>&1 >/dev/null | grep task-clock | cut -d, -f1; }
median() { sort -n | sed -n 3p; }
base=$(for _ in 1 2 3 4 5; do msec none; done | median)
for impl in flowaudit etherparse; do
    t=$(for _ in 1 2 3 4 5; do msec $impl; done | median)
    "$BIN" $impl | tail -1
    awk -v t="$t" -v b="$base" -v n="$FRAMES" -v i="$impl" \
        'BEGIN { printf "%10s: %.0f ms CPU for 7 passes (%.0f ms of it building the traffic): %.0f ns of CPU per frame\n", i, t, b, (t - b) * 1e6 / (7 * n) }'
done
