#!/usr/bin/env bash
# Times opening the HTML report of a flood in headless Chromium: the wall time of
# `chromium --headless --dump-dom` of the page (load, parse, the page's scripts building its
# tables, serialising the DOM), against the same for a trivial page, so that the difference is
# what the report costs over the browser's own start-up.
#
#   bench/html.sh [--rows N] [RUNS]
#
#   --rows N   rows of the flood's Zeek conn.log (default 3000000, as tests/html.rs)
#   RUNS       timed runs per page after one untimed warm-up of each (default 5)
#
# The flood is examples/gen_flood.rs (the generator tests/html.rs includes as a module: a scan
# of 60,000 ports from one client, the rest distinct clients to one server port), written to
# bench/data/html/flood-N.log once; the page is `flowaudit audit --rules rules/hopex.toml
# --inventory fixtures/has/inventory.toml --format html` of it, made with the release build at
# every run of this script. The trivial page is a paragraph and a script that sets
# data-ready="1" on the body, as the report's does when its tables are built. Both pages are
# opened with the flags of tests/common/chromium.rs (network off, a fresh profile per run) and
# each dump is checked for data-ready="1". Runs are taken in turns (trivial, flood, trivial,
# ...), so that a slow spell of the machine lands on both.
#
# Output: a Markdown table on stdout (median wall s of each page and their difference, page
# sizes), progress on stderr. bench/data is git-ignored. The browser is $FLOWAUDIT_CHROMIUM,
# else chromium, else chromium-browser (installed, as root, when missing).
set -euo pipefail

usage() {
  echo "usage: bench/html.sh [--rows N] [RUNS]" >&2
  exit 2
}
ROWS=3000000
RUNS=5
while [ $# -gt 0 ]; do
  case $1 in
    --rows) [ $# -ge 2 ] || usage; ROWS=$2; shift 2 ;;
    --rows=*) ROWS=${1#*=}; shift ;;
    -h|--help|-*) usage ;;
    *) RUNS=$1; shift ;;
  esac
done
for v in ROWS RUNS; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "html.sh: $v must be a positive integer" >&2; exit 2; }
done
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
log() { echo "html.sh: $*" >&2; }
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
find_cargo "$ROOT"

BROWSER=${FLOWAUDIT_CHROMIUM:-}
if [ -z "$BROWSER" ]; then
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
    || need_packages chromium=chromium
  BROWSER=$(command -v chromium || command -v chromium-browser)
fi

DATA=$ROOT/bench/data/html
mkdir -p "$DATA"
log "building (release)"
(cd "$ROOT" && cargo build --release --bin flowaudit --example gen_flood >"$DATA/build.log" 2>&1) \
  || { log "build failed: see $DATA/build.log"; exit 1; }

LOG=$DATA/flood-$ROWS.log
if [ ! -s "$LOG" ]; then
  log "generating $ROWS rows: $(rel "$LOG")"
  "$TGT/release/examples/gen_flood" "$ROWS" "$LOG.tmp"
  mv "$LOG.tmp" "$LOG"
fi
FLOOD=$DATA/flood-$ROWS.html
log "audit to HTML: $(rel "$FLOOD")"
set +e
"$TGT/release/flowaudit" audit -q --rules "$ROOT/rules/hopex.toml" \
  --inventory "$ROOT/fixtures/has/inventory.toml" --fail-on never --format html -o "$FLOOD" "$LOG"
rc=$?
set -e
[ $rc = 0 ] && [ -s "$FLOOD" ] || { log "flowaudit audit --format html failed (exit $rc)"; exit 1; }
TRIVIAL=$DATA/trivial.html
cat >"$TRIVIAL" <<'HTML'
<!doctype html><html><head><meta charset="utf-8"><title>trivial</title></head><body>
<p>trivial</p><script>document.body.setAttribute('data-ready', '1');</script></body></html>
HTML

# dump PAGE: one --dump-dom run with a fresh profile; prints its wall seconds.
dump() {
  local prof start end
  prof=$(mktemp -d "$DATA/profile.XXXXXX")
  start=$EPOCHREALTIME
  timeout -k 5 120 "$BROWSER" --headless --no-sandbox --disable-gpu --allow-file-access-from-files \
    --virtual-time-budget=5000 --no-first-run --no-default-browser-check --disable-extensions \
    --disable-background-networking --disable-component-update --disable-sync \
    '--host-resolver-rules=MAP * ~NOTFOUND' --proxy-server=127.0.0.1:9 \
    --user-data-dir="$prof" --dump-dom "file://$1" >"$DATA/dom.html" 2>"$DATA/chromium.err" \
    || { log "chromium failed on $(rel "$1"): see $(rel "$DATA/chromium.err")"; rm -rf "$prof"; exit 1; }
  end=$EPOCHREALTIME
  rm -rf "$prof"
  grep -q 'data-ready="1"' "$DATA/dom.html" \
    || { log "$(rel "$1"): no data-ready=\"1\" in the DOM"; exit 1; }
  echo "$end - $start" | bc -l | xargs printf '%.3f\n'
}

log "warm-up"
dump "$TRIVIAL" >/dev/null
dump "$FLOOD" >/dev/null
t_trivial=()
t_flood=()
for ((i = 1; i <= RUNS; i++)); do
  t_trivial+=("$(dump "$TRIVIAL")")
  t_flood+=("$(dump "$FLOOD")")
  log "run $i: trivial ${t_trivial[-1]} s, flood ${t_flood[-1]} s"
done
mt=$(printf '%s\n' "${t_trivial[@]}" | median | xargs printf '%.3f')
mf=$(printf '%s\n' "${t_flood[@]}" | median | xargs printf '%.3f')
diff=$(echo "$mf - $mt" | bc -l | xargs printf '%.3f')
echo "| page | bytes | median wall s of --dump-dom ($RUNS runs) | runs |"
echo "|---|---:|---:|---|"
echo "| trivial ($(rel "$TRIVIAL")) | $(stat -c %s "$TRIVIAL") | $mt | ${t_trivial[*]} |"
echo "| flood, $ROWS rows ($(rel "$FLOOD")) | $(stat -c %s "$FLOOD") | $mf | ${t_flood[*]} |"
echo "| difference (flood - trivial) | | $diff | |"
log "$("$BROWSER" --version 2>/dev/null | head -1); $(machine); $(date -u '+%Y-%m-%d %H:%M UTC')"
