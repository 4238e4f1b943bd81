#!/usr/bin/env python3
"""Checks the outputs of an audit of the HAS lab's traffic (tests/lab/live.sh).

Usage: check.py FIXTURE_REPORT DIR [--findings-out] [--span START STOP]

FIXTURE_REPORT is fixtures/has/expected-report.json: the audit of the
committed recording of the same traffic.  DIR holds the outputs to check:

  report.json          the audit's report (--format json)
  flows.jsonl          its --flows-out
  findings.jsonl       its --findings-out (checked with --findings-out)
  offline.json         the audit of the capture's packets written to a file,
                       audited again offline (--format json)
  offline-flows.jsonl  that audit's --flows-out

START and STOP (seconds since the epoch) bracket the audit's run; a finding
raised at the end of the capture (missing) must be raised within them.

Prints one line per check and exits 1 when any check fails.
"""

import json
import os
import sys
from collections import Counter

# Fields of a finding that depend on when the traffic ran, not on what it
# was; every other field must equal the fixture's.
EXCLUDED = {
    # packet times: each run is at another time
    "first_seen", "last_seen",
    # a flow's uid is derived from its 5-tuple and start time, and the
    # clients' ports are ephemeral
    "uids",
    # the text repeats the measured values excluded below
    "message",
    # over_latency: measured handshake times of the remote browser
    # (120-128 ms: the delay line's 120 ms plus scheduling)
    "p50_ms", "p95_ms", "max_ms",
    # over_bandwidth: bytes and rates depend on TLS bytes, ACK counts and on
    # how the flows fall into 1-second bins of the clock
    "avg_kbps", "peak_kbps", "active_seconds", "ip_bytes",
}
# The summary counts that describe the traffic (not peak_open_flows, which
# depends on how the flows overlap in time).
SUMMARY = ["flows", "evicted", "by_verdict", "findings", "errors", "warnings", "findings_by_kind"]

failures = []


def check(ok, what, detail=""):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)
        if detail:
            print("      " + detail.replace("\n", "\n      "))


def load(path):
    with open(path) as f:
        return json.load(f)


def lines(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def stable(f):
    return json.dumps({k: v for k, v in f.items() if k not in EXCLUDED}, sort_keys=True)


def main():
    args = sys.argv[1:]
    fixture, d = load(args[0]), args[1]
    with_findings_out = "--findings-out" in args
    span = None
    if "--span" in args:
        i = args.index("--span")
        span = (float(args[i + 1]), float(args[i + 2]))
    p = lambda name: os.path.join(d, name)

    report = load(p("report.json"))
    findings = report["findings"]

    # 1. The findings are the lab's intended ones: those of the fixture.
    # Scheduling is the one thing the lab does not control: an exchange the
    # fixture measured under its budget (the SQL Server's UDP reply, 0.2 ms
    # against 1 ms) can take longer when the machine is busy.  Such a finding
    # is accepted only when it is what the flows measured (below), and the
    # summary counts are then expected to count it.
    flows = lines(p("flows.jsonl"))
    got, want = Counter(map(stable, findings)), Counter(map(stable, fixture["findings"]))
    timing = [json.loads(s) for s in (got - want).elements() if json.loads(s)["kind"] == "over_latency"
              and not any(f["kind"] == "over_latency" and f["rule"] == json.loads(s)["rule"]
                          for f in fixture["findings"])]
    for t in timing:
        f = next(f for f in findings if stable(f) == stable(t))
        rtts = [l.get("rtt") for l in flows if l["uid"] in f["uids"]]
        over = [r for r in rtts if r is not None and r * 1000 > f["budget_ms"]]
        check(f["flows"] <= len(f["uids"]) and len(over) == f["flows"] and f["max_ms"] > f["budget_ms"],
              f"timing: {f['rule']} {f['src_ip']} -> {f['dst_ip']}:{f['dst_port']} over its "
              f"{f['budget_ms']} ms budget in this run (max {f['max_ms']} ms), as its flows measured",
              f"flows.jsonl rtt of {f['uids']}: {rtts}")
        got[stable(t)] -= 1
    got = +got
    check(got == want, f"{len(findings) - len(timing)} findings, equal to the fixture's {len(fixture['findings'])} "
          "(all fields but " + ", ".join(sorted(EXCLUDED)) + ")",
          "missing:\n" + "\n".join(sorted(want - got)) + "\nextra:\n" + "\n".join(sorted(got - want)))
    expected = json.loads(json.dumps(fixture["summary"]))
    for t in timing:
        expected["findings"] += 1
        expected[t["severity"] + "s"] += 1
        expected["findings_by_kind"]["over_latency"] = expected["findings_by_kind"].get("over_latency", 0) + 1
    for k in SUMMARY:
        check(report["summary"].get(k) == expected[k], f"summary.{k} = {expected[k]}",
              f"got {report['summary'].get(k)}")
    check(report["rule_usage"] == fixture["rule_usage"], "rule_usage equal to the fixture's",
          json.dumps(report["rule_usage"]))

    # 2. flows.jsonl: one line per flow, each judged; every uid of the
    # findings traces to one.
    n = report["summary"]["flows"]
    check(len(flows) == n, f"flows.jsonl has {n} lines, one per flow", f"got {len(flows)}")
    check(all("rule" in l and l.get("verdict") for l in flows), "every flow line has a rule and a verdict")
    uids = Counter(l["uid"] for l in flows)
    check(all(c == 1 for c in uids.values()), "flow uids are distinct",
          str([u for u, c in uids.items() if c > 1]))
    lost = [u for f in findings for u in f["uids"] if u not in uids]
    check(not lost, "every uid of the report's findings is in flows.jsonl", str(lost))
    # A flow's finding, and the other kinds it also raised (`also`, comma-separated).
    by_finding = Counter(l["finding"] for l in flows if l.get("finding"))
    for l in flows:
        for k in (l.get("also") or "").split(","):
            if k:
                by_finding[k] += 1
    per_flow = Counter()
    for f in findings:
        if f["kind"] not in ("missing", "over_bandwidth"):
            per_flow[f["kind"]] += f["flows"]
    check(+by_finding == +per_flow, "flows.jsonl's per-flow findings add up to the report's flow counts",
          f"flows.jsonl {dict(by_finding)}, report {dict(per_flow)}")

    # 3. The capture's packets, audited offline, give the same findings (the
    # same packets: uids and times included) and the same flows.
    offline = load(p("offline.json"))
    check(offline["findings"] == findings, "offline audit of the written capture: the same findings array",
          "offline:\n" + json.dumps(offline["findings"], indent=1))
    check(offline["summary"]["flows"] == n, "offline audit: the same number of flows")
    keyed = lambda ls: {l["uid"]: l for l in ls}
    off_flows = keyed(lines(p("offline-flows.jsonl")))
    diff = [u for u in set(off_flows) | set(uids) if off_flows.get(u) != keyed(flows).get(u)]
    check(not diff, "offline audit: the same flow lines (by uid)",
          "\n".join(f"live    {json.dumps(keyed(flows).get(u))}\noffline {json.dumps(off_flows.get(u))}"
                    for u in sorted(diff)[:5]))

    # 4. findings.jsonl: each finding of the report raised exactly once, at a
    # time within the capture.
    if with_findings_out:
        raised = lines(p("findings.jsonl"))
        cap = offline["captures"][0]
        first, last = cap["first_ts"], cap["last_ts"]
        # The client and server, under the report's names `src_ip` and `dst_ip`.
        rkey = lambda r: (r.get("kind"), r.get("rule"), r.get("src_ip"), r.get("dst_ip"), r.get("dst_port"))
        want = {(f["kind"], f["rule"], f["src_ip"], f["dst_ip"], f["dst_port"]): f for f in findings}
        count = Counter(map(rkey, raised))
        check(len(raised) == len(findings) and all(count[k] == 1 for k in want),
              f"findings.jsonl: each of the {len(findings)} findings raised exactly once, nothing else",
              f"{len(raised)} lines; counts: " + ", ".join(f"{k}: {count[k]}" for k in want)
              + "; unknown: " + str([k for k in count if k not in want]))
        for r in raised:
            k = rkey(r)
            f = want.get(k)
            if f is None:
                continue
            what = f"findings.jsonl {k}"
            ts = r.get("ts")
            if not isinstance(ts, (int, float)):
                check(False, f"{what}: ts is a number", json.dumps(r))
                continue
            # Raised at a packet of the capture, not before the finding's
            # first flow began; missing, and over_bandwidth over an average
            # budget (or a peak second only known as final at the end), may be
            # raised at the end of the capture, by no flow.
            at_end = f["kind"] in ("missing", "over_bandwidth")
            hi = span[1] if (span and at_end) else last
            check(max(first, f["first_seen"]) - 1e-6 <= ts <= hi + 1e-6,
                  f"{what}: ts {ts:.6f} within [{max(first, f['first_seen']):.6f}, {hi:.6f}]")
            check(r.get("severity") == f["severity"] and r.get("proto") == f["proto"]
                  and "rollup" not in r,
                  f"{what}: severity {f['severity']}, proto {f['proto']}, no rollup", json.dumps(r))
            # The flow that raised it: for groups of at most five flows the
            # report lists every uid.
            uid = r.get("uid")
            ok = uid in f["uids"] if f["flows"] <= len(f["uids"]) else uid in uids
            check(ok or (uid is None and at_end),
                  f"{what}: uid {uid} is one of the finding's flows", json.dumps(f["uids"]))

    if failures:
        print(f"{len(failures)} checks failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
