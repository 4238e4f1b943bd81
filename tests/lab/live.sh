#!/usr/bin/env bash
# The HAS lab audited live: builds the lab of fixtures/has/lab.sh (network
# namespaces prefixed "falab-", bridge falab-br0), runs
#
#   flowaudit audit --interface falab-br0 --format json -o report.json
#       --flows-out flows.jsonl --findings-out findings.jsonl --write live.pcap
#       --rules rules/hopex.toml --inventory fixtures/has/inventory.toml
#
# in the switch namespace while the lab makes its traffic, stops it with
# SIGINT, audits live.pcap again offline, and checks the outputs with
# check.py beside this script against fixtures/has/expected-report.json (the
# audit of the committed recording of the same traffic):
#
#   - exit status 1 (the lab's findings include errors), for the live and the
#     offline audit;
#   - the live report's findings are the fixture's, field for field except
#     the fields that depend on timing (check.py, EXCLUDED); an extra
#     over_latency finding on an edge the fixture measured under its budget
#     (a busy machine can delay the SQL Server's UDP reply past 1 ms) is
#     accepted only when its flows' measured rtt is over the budget;
#   - flows.jsonl has one judged line per flow, and every uid of the
#     findings;
#   - findings.jsonl raised every finding exactly once, within the capture;
#   - the offline audit of live.pcap has exactly the live report's findings
#     (uids and times included) and the same flow lines.
#
# Usage (as root, from anywhere):
#
#   tests/lab/live.sh [FLOWAUDIT]     default: target/debug/flowaudit
#
# Environment:
#   LAB_PREFIX=falab-      namespace prefix (1-12 characters)
#   LAB_OUT=DIR            write the outputs to DIR and keep them (default: a
#                          temporary directory, removed on success, kept and
#                          named on failure)
#   LAB_KEEP=1             keep the temporary directory on success too
#   LAB_CAPTURE=tcpdump    capture with tcpdump instead and audit the file
#                          offline (for a flowaudit without live capture; the
#                          findings.jsonl checks are then skipped unless the
#                          file audit has --findings-out)
#
# Runs one lab at a time per prefix (flock on /tmp/flowaudit-lab-PREFIX.lock);
# on exit, also on failure or Ctrl-C, it stops every process it started (by
# PID) and deletes the namespaces.  Takes about 20 s.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FLOWAUDIT=${1:-${FLOWAUDIT:-$ROOT/target/debug/flowaudit}}
LAB_PREFIX=${LAB_PREFIX:-falab-}
LAB_TAG=live
LAB_CAPTURE=${LAB_CAPTURE:-flowaudit}
RULES=(--rules rules/hopex.toml --inventory fixtures/has/inventory.toml)
# shellcheck source=fixtures/has/lab.sh
source "$ROOT/fixtures/has/lab.sh"
cd "$ROOT"

T0=$SECONDS
[[ -x $FLOWAUDIT ]] || lab_die "no flowaudit binary at $FLOWAUDIT (cargo build)"
FLOWAUDIT=$(cd "$(dirname "$FLOWAUDIT")" && pwd)/$(basename "$FLOWAUDIT")
case $LAB_CAPTURE in
flowaudit)
    help=$("$FLOWAUDIT" audit --help)
    [[ $help == *--interface* ]] \
        || lab_die "$FLOWAUDIT audit has no --interface option: this build cannot capture live"
    ;;
tcpdump) ;;
*) lab_die "LAB_CAPTURE=$LAB_CAPTURE: flowaudit or tcpdump" ;;
esac

# One lab per prefix at a time: a second run waits for the first (its
# cleanup would delete the namespaces of the first).
if command -v flock >/dev/null; then
    exec {lock_fd}>"/tmp/flowaudit-lab-${LAB_PREFIX}lock"
    flock -w 600 "$lock_fd" || lab_die "another lab with prefix $LAB_PREFIX is still running"
fi

lab_init
if [[ -n ${LAB_OUT:-} ]]; then
    W=$LAB_OUT
    mkdir -p "$W"
    rm -f "$W"/{report.json,flows.jsonl,findings.jsonl,live.pcap,offline.json,offline-flows.jsonl}
else
    W=$(mktemp -d /tmp/flowaudit-live.XXXXXX)
fi
on_exit() {
    local rc=$?
    lab_cleanup
    if ((rc == 0)) && [[ -z ${LAB_OUT:-} && -z ${LAB_KEEP:-} ]]; then
        rm -rf "$W"
    else
        lab_log "outputs kept in $W"
    fi
    exit $rc
}
trap on_exit EXIT

# One copy of the binary for the live and the offline audit: a rebuild in the
# same target directory meanwhile changes neither.
cp "$FLOWAUDIT" "$W/flowaudit"
FLOWAUDIT=$W/flowaudit

lab_packages
lab_build
lab_content
lab_servers

show_stderr() { [[ ! -s $W/stderr.txt ]] || sed 's/^/    /' "$W/stderr.txt" >&2; }

# Whether process $1 has a packet socket in the switch namespace (libpcap
# has opened the interface).
has_packet_socket() { lab_in sw ss -0 -H -p 2>/dev/null | grep -q "pid=$1,"; }

START=$(date +%s.%N)
case $LAB_CAPTURE in
flowaudit)
    lab_log "starting flowaudit audit --interface $LAB_BRIDGE"
    # A background command of a script starts with SIGINT ignored; reset it
    # (env --default-signal) so that the SIGINT below is the Ctrl-C of a
    # terminal.  ip netns exec and env exec the program: $! is its PID.
    reset_sig=()
    # shellcheck disable=SC2054  # INT,TERM is one argument
    if env --default-signal=INT true 2>/dev/null; then reset_sig=(env --default-signal=INT,TERM); fi
    ip netns exec "$LAB_NS_SW" "${reset_sig[@]}" "$FLOWAUDIT" audit "${RULES[@]}" \
        --interface "$LAB_BRIDGE" --format json -o "$W/report.json" \
        --flows-out "$W/flows.jsonl" --findings-out "$W/findings.jsonl" --write "$W/live.pcap" \
        >"$W/stdout.txt" 2>"$W/stderr.txt" &
    FA_PID=$!
    LAB_PIDS+=("$FA_PID")
    # Capturing once its packet socket is open on the bridge (or, where ss
    # cannot tell, once the capture file is there); then a moment for the
    # filter and the ring to be set up, as for tcpdump.
    ss_works=0
    ip netns exec "$LAB_NS_SW" ss -0 -H -p >/dev/null 2>&1 && ss_works=1
    for _ in $(seq 150); do
        kill -0 "$FA_PID" 2>/dev/null || { show_stderr; lab_die "flowaudit exited before the traffic"; }
        if ((ss_works)); then has_packet_socket "$FA_PID" && break; else [[ -e $W/live.pcap ]] && break; fi
        sleep 0.1
    done
    if ((ss_works)); then
        has_packet_socket "$FA_PID" || { show_stderr; lab_die "flowaudit opened no packet socket in 15 s"; }
    else
        [[ -e $W/live.pcap ]] || { show_stderr; lab_die "flowaudit wrote no $W/live.pcap in 15 s"; }
    fi
    sleep 0.5
    ;;
tcpdump)
    lab_tcpdump_start "$W/live.pcap"
    ;;
esac

T_TRAFFIC=$SECONDS
lab_traffic
T_TRAFFIC=$((SECONDS - T_TRAFFIC))

case $LAB_CAPTURE in
flowaudit)
    lab_log "stopping flowaudit (SIGINT to PID $FA_PID)"
    kill -INT "$FA_PID"
    for _ in $(seq 300); do kill -0 "$FA_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$FA_PID" 2>/dev/null; then
        show_stderr
        lab_die "flowaudit still running 30 s after SIGINT"
    fi
    set +e
    wait "$FA_PID"
    FA_RC=$?
    set -e
    lab_forget "$FA_PID"
    ;;
tcpdump)
    lab_tcpdump_stop
    findings_out=()
    help=$("$FLOWAUDIT" audit --help)
    [[ $help != *--findings-out* ]] || findings_out=(--findings-out "$W/findings.jsonl")
    set +e
    "$FLOWAUDIT" audit "${RULES[@]}" --format json -o "$W/report.json" \
        --flows-out "$W/flows.jsonl" "${findings_out[@]}" "$W/live.pcap" \
        >"$W/stdout.txt" 2>"$W/stderr.txt"
    FA_RC=$?
    set -e
    ;;
esac
STOP=$(date +%s.%N)
lab_log "flowaudit exited with status $FA_RC; its standard error:"
show_stderr

# The lab is no longer needed: remove it before the checks.
lab_cleanup

failed=0
if [[ $FA_RC -ne 1 ]]; then
    lab_log "FAIL: exit status $FA_RC, want 1 (the lab's findings include errors)"
    failed=1
fi
for f in report.json flows.jsonl live.pcap; do
    [[ -s $W/$f ]] || lab_die "flowaudit wrote no $W/$f"
done
check_args=()
if [[ -e $W/findings.jsonl || $LAB_CAPTURE == flowaudit ]]; then
    [[ -e $W/findings.jsonl ]] || lab_die "flowaudit wrote no $W/findings.jsonl"
    check_args=(--findings-out --span "$START" "$STOP")
fi

lab_log "auditing $W/live.pcap offline"
set +e
"$FLOWAUDIT" audit -q "${RULES[@]}" --format json -o "$W/offline.json" \
    --flows-out "$W/offline-flows.jsonl" "$W/live.pcap"
OFF_RC=$?
set -e
if [[ $OFF_RC -ne 1 ]]; then
    lab_log "FAIL: offline audit exit status $OFF_RC, want 1"
    failed=1
fi
[[ -s $W/offline.json ]] || lab_die "the offline audit wrote no report"

lab_log "checking the outputs against fixtures/has/expected-report.json"
"$PY" "$HERE/check.py" fixtures/has/expected-report.json "$W" "${check_args[@]}" >&2 || failed=1

"$PY" - "$W/report.json" >&2 <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
print("[live] report: %d flows; %d findings (%d errors, %d warnings): %s" % (
    s["flows"], s["findings"], s["errors"], s["warnings"],
    ", ".join("%d %s" % (n, k) for k, n in s["findings_by_kind"].items())))
EOF
((failed == 0)) || lab_die "the live audit does not match the lab (outputs in $W)"
lab_log "passed in $((SECONDS - T0)) s (traffic $T_TRAFFIC s, capture: $LAB_CAPTURE)"
