#!/usr/bin/env bash
# Builds one fuzz target and runs it for SECONDS at low priority, from the seed corpus.
#
#   fuzz/run.sh TARGET SECONDS [extra libFuzzer flags...]
#
# TARGET: decode | capture | flow | rules (`cargo fuzz list`). The toolchain is stable:
# RUSTC_BOOTSTRAP=1 lets cargo-fuzz pass its -Z flags (sanitizer, coverage). The default build is
# optimized with debug assertions and overflow checks, under the address sanitizer; set
# FUZZ_SANITIZER=none to build without it. The corpus grows in fuzz/corpus/TARGET (seeded by
# fuzz/seed.py on first use); crashes go to fuzz/artifacts/TARGET/.
set -euo pipefail

if [ $# -lt 2 ]; then
    echo "usage: $0 TARGET SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2

here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
export RUSTC_BOOTSTRAP=1
sanitizer=${FUZZ_SANITIZER:-address}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi
if [ ! -d "corpus/$target" ] || [ -z "$(ls -A "corpus/$target" 2>/dev/null)" ]; then
    python3 "$here/seed.py"
fi

# A known false leak report from a thread that is ending, see lsan.supp.
export LSAN_OPTIONS="suppressions=$here/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"

nice -n 19 cargo fuzz build --sanitizer "$sanitizer" "$target"
# -rss_limit_mb: the readers cap what they hold (a 16 MiB block at most); more is a leak.
exec nice -n 19 cargo fuzz run --sanitizer "$sanitizer" "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -rss_limit_mb=1024 -print_final_stats=1 "$@"
