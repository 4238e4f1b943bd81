#!/usr/bin/env python3
"""Compare flowaudit's connection records with a Zeek conn.log of the same capture.

    compare.py ZEEK_CONN_LOG OURS [--case NAME] [--summary FILE] [--quiet]
    compare.py --aggregate SUMMARY...

ZEEK_CONN_LOG is a Zeek conn.log in TSV form: either as Zeek writes it (a `#fields` line) or
as `zeek-cut -m` / `btest-diff-cut -m` writes a selection of columns (the first line that is
not a comment names the columns). OURS is `flowaudit flows --format zeek` or `--format json`
output of the same capture (detected from the first record).

Records are matched by proto and 5-tuple (orig_h, orig_p, resp_h, resp_p); several records on
one 5-tuple are paired in order of ts (in file order where a side has no usable ts). Records
left over are then matched on the unordered endpoint pair, which catches a connection the two
tools orient differently (counted in the `orientation` row). If the Zeek log has no 5-tuple
columns at all (a cut of e.g. `uid service history`), the records cannot be keyed: with at
most 7 records the pairing that agrees on the most compared fields is taken, else file
order; such cases are marked `unkeyed` in the output, since the pairing itself is a guess.

Only the fields the Zeek log has are compared. `ts` only where the log has real times (Zeek's
test baselines mask them as XXXXXXXXXX.XXXXXX); `ts` and `duration` agree within 1 microsecond
(`-` and 0 are equal: Zeek writes `-` for a connection of one packet); `tunnel_parents` is
compared by the number of parents (uids differ between the tools). Two kinds of difference
come from Zeek's protocol analyzers, which flowaudit does not have, and are counted in rows of
their own (`service (analyzer)`, `history (analyzer)`) instead of as disagreements: a
`service` Zeek names from a protocol analyzer (anything but the tunnel services flowaudit
fills in), and history letters x/X (analysis partial: an analyzer's or Zeek's limit exceeded)
or a `^` on a connection whose service a protocol analyzer named (e.g. the DNS analyzer flips
a connection whose originator sent a response).

--summary writes the counts as JSON; --aggregate adds such files up and prints one table.
"""

import argparse
import itertools
import json
import sys

FIELDS = [
    "ts",
    "conn_state",
    "history",
    "orig_pkts",
    "resp_pkts",
    "orig_bytes",
    "resp_bytes",
    "orig_ip_bytes",
    "resp_ip_bytes",
    "missed_bytes",
    "duration",
    "service",
    "tunnel_parents",
]

KEY = ["id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p"]

# Services flowaudit fills in itself (the UDP tunnels it decapsulates); any other service
# name in Zeek's log comes from a protocol analyzer flowaudit does not have.
OUR_SERVICES = {"vxlan", "geneve", "gtpv1", "teredo", "ayiya", "mpls-udp"}


def read_zeek_tsv(path):
    """Return (column names, list of dicts) of a Zeek TSV log (full or zeek-cut -m form)."""
    names = None
    rows = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line:
                continue
            if line.startswith("#fields"):
                names = line.split("\t")[1:]
                continue
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if names is None:
                names = cols
                continue
            rows.append(dict(zip(names, cols)))
    return names or [], rows


def read_ours(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    first = next((l for l in text.splitlines() if l.strip()), "")
    if first.lstrip().startswith("{"):
        rows = []
        for line in text.splitlines():
            line = line.strip()
            if not line.startswith("{"):
                continue
            obj = json.loads(line)
            if "id.orig_h" not in obj and "uid" not in obj:
                continue  # a statistics or summary line, not a record
            rows.append({k: json_value(v) for k, v in obj.items()})
        return rows
    return read_zeek_tsv(path)[1]


def json_value(v):
    """Render a JSON value as Zeek's TSV would show it."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "T" if v else "F"
    if isinstance(v, list):
        return ",".join(str(x) for x in v) if v else "-"
    if isinstance(v, float):
        return "%.6f" % v
    return str(v)


def ts_of(rec, index):
    try:
        return (0, float(rec.get("ts", "")), index)
    except ValueError:
        return (1, 0.0, index)


def key_of(rec, use_proto=True):
    proto = rec.get("proto", "?") if use_proto else ""
    return (proto,) + tuple(rec.get(k, "?") for k in KEY)


def pair_key_of(rec, use_proto=True):
    proto = rec.get("proto", "?") if use_proto else ""
    a = (rec.get("id.orig_h", "?"), rec.get("id.orig_p", "?"))
    b = (rec.get("id.resp_h", "?"), rec.get("id.resp_p", "?"))
    return (proto,) + tuple(sorted([a, b]))


def num(v):
    if v in ("-", "", "(empty)", None):
        return 0.0
    return float(v)


def count_parents(v):
    if v in ("-", "", "(empty)", None):
        return 0
    return len([p for p in v.split(",") if p])


def service_set(v):
    return set() if v in ("-", "(empty)", "", None) else set(v.split(","))


def field_verdict(field, z, o):
    """Return 'agree', 'disagree' or 'analyzer' for one field of one record pair."""
    zv = z.get(field, "-")
    ov = o.get(field, "-")
    if field == "ts":
        # Zeek's test baselines often mask ts (XXXXXXXXXX.XXXXXX); then it is not compared.
        try:
            zt = float(zv)
        except ValueError:
            return "skip"
        try:
            return "agree" if abs(zt - float(ov)) <= 1e-6 else "disagree"
        except ValueError:
            return "disagree"
    if field == "duration":
        try:
            return "agree" if abs(num(zv) - num(ov)) <= 1e-6 else "disagree"
        except ValueError:
            return "disagree"
    if field == "tunnel_parents":
        return "agree" if count_parents(zv) == count_parents(ov) else "disagree"
    if field in ("orig_bytes", "resp_bytes", "missed_bytes") or field.endswith("_pkts") or field.endswith(
        "_ip_bytes"
    ):
        try:
            return "agree" if num(zv) == num(ov) else "disagree"
        except ValueError:
            return "agree" if zv == ov else "disagree"
    if field == "service":
        zs = service_set(zv)
        os_ = service_set(ov)
        if zs == os_:
            return "agree"
        if (zs & OUR_SERVICES) == os_ and zs - OUR_SERVICES:
            return "analyzer"
        return "disagree"
    if field == "history" and zv != ov:
        # x/X (analysis partial, e.g. a protocol analyzer's limit exceeded) is written by
        # Zeek's protocol analyzers, which flowaudit does not have; so is a `^` on a
        # connection whose service a protocol analyzer named (e.g. the DNS analyzer flips a
        # connection whose originator sent a response).
        stripped = zv.replace("x", "").replace("X", "")
        if stripped == ov:
            return "analyzer"
        zs = service_set(z.get("service", "-"))
        if zs - OUR_SERVICES and stripped.replace("^", "") == ov.replace("^", ""):
            return "analyzer"
        return "disagree"
    return "agree" if zv == ov else "disagree"


def match(zeek_rows, ours, fields):
    """Return (pairs, only_zeek, only_ours, flipped_pairs, unkeyed)."""
    keyed = all(k in zeek_rows[0] for k in KEY) if zeek_rows else True
    if not keyed:
        return match_unkeyed(zeek_rows, ours, fields)
    # A cut of the log may leave out proto: then the 5-tuple is matched without it.
    use_proto = "proto" in zeek_rows[0] if zeek_rows else True
    pairs, flipped = [], []
    zs = sorted(enumerate(zeek_rows), key=lambda t: ts_of(t[1], t[0]))
    os_ = sorted(enumerate(ours), key=lambda t: ts_of(t[1], t[0]))
    left_z, left_o = [], []
    for keyf, out, lz, lo in ((key_of, pairs, left_z, left_o), (pair_key_of, flipped, None, None)):
        if lz is None:
            zs, os_ = left_z, left_o
            left_z, left_o = [], []
        buckets = {}
        for i, r in os_:
            buckets.setdefault(keyf(r, use_proto), []).append((i, r))
        for i, r in zs:
            b = buckets.get(keyf(r, use_proto))
            if b:
                out.append((r, b.pop(0)[1]))
            else:
                left_z.append((i, r))
        for b in buckets.values():
            left_o.extend(b)
    return pairs, [r for _, r in left_z], [r for _, r in sorted(left_o, key=lambda t: t[0])], flipped, False


def match_unkeyed(zeek_rows, ours, fields):
    n = min(len(zeek_rows), len(ours))
    ours_sorted = sorted(ours, key=lambda r: ts_of(r, 0))
    if max(len(zeek_rows), len(ours)) <= 7:
        best, best_score = None, -1
        for perm in itertools.permutations(range(len(ours_sorted)), n):
            score = sum(
                field_verdict(f, zeek_rows[i], ours_sorted[j]) in ("agree", "analyzer")
                for i, j in enumerate(perm)
                for f in fields
            )
            if score > best_score:
                best, best_score = perm, score
        used = set(best)
        pairs = [(zeek_rows[i], ours_sorted[j]) for i, j in enumerate(best)]
        only_o = [r for j, r in enumerate(ours_sorted) if j not in used]
    else:
        pairs = list(zip(zeek_rows, ours_sorted))
        only_o = ours_sorted[n:]
    return pairs, zeek_rows[n:], only_o, [], True


def describe(rec):
    if "id.orig_h" in rec:
        return "%s%s:%s -> %s:%s" % (
            rec["proto"] + " " if "proto" in rec else "",
            rec.get("id.orig_h"),
            rec.get("id.orig_p"),
            rec.get("id.resp_h"),
            rec.get("id.resp_p"),
        )
    return "uid %s" % rec.get("uid", "?")


def compare(zeek_path, ours_path, case):
    names, zeek_rows = read_zeek_tsv(zeek_path)
    ours = read_ours(ours_path)
    fields = [f for f in FIELDS if f in names]
    pairs, only_z, only_o, flipped, unkeyed = match(zeek_rows, ours, fields)
    counts = {f: [0, 0] for f in fields}  # compared, agreed
    counts["service (analyzer)"] = [0, 0]
    counts["history (analyzer)"] = [0, 0]
    diffs = []
    all_pairs = [(z, o, False) for z, o in pairs] + [(z, o, True) for z, o in flipped]
    for z, o, was_flipped in all_pairs:
        for f in fields:
            v = field_verdict(f, z, o)
            if v == "skip":
                continue
            if v == "analyzer":
                counts[f + " (analyzer)"][0] += 1
                diffs.append((case, describe(z), f + " (analyzer)", z.get(f, "-"), o.get(f, "-")))
                continue
            counts[f][0] += 1
            if v == "agree":
                counts[f][1] += 1
            else:
                diffs.append((case, describe(z), f, z.get(f, "-"), o.get(f, "-")))
        if was_flipped:
            diffs.append((case, describe(z), "orientation", describe(z), describe(o)))
    return {
        "case": case,
        "unkeyed": unkeyed,
        "zeek_records": len(zeek_rows),
        "our_records": len(ours),
        "matched": len(pairs),
        "orientation": [len(pairs), len(pairs)] if not unkeyed else [0, 0],
        "flipped": len(flipped),
        "only_zeek": [describe(r) for r in only_z],
        "only_ours": [describe(r) for r in only_o],
        "fields": counts,
        "diffs": diffs,
    }


def add_flipped(summary):
    # A flipped pair is compared, and its orientation disagrees.
    c = summary["orientation"]
    summary["orientation"] = [c[0] + summary["flipped"], c[1]]
    return summary


def pct(a, n):
    return "%.1f" % (100.0 * a / n) if n else "-"


def print_table(summaries, out=sys.stdout):
    total = {}
    zr = orr = matched = flipped = 0
    only_z, only_o, diffs = [], [], []
    for s in summaries:
        zr += s["zeek_records"]
        orr += s["our_records"]
        matched += s["matched"] + s["flipped"]
        flipped += s["flipped"]
        for f, (n, a) in s["fields"].items():
            t = total.setdefault(f, [0, 0])
            t[0] += n
            t[1] += a
        o = s["orientation"]
        t = total.setdefault("orientation", [0, 0])
        t[0] += o[0]
        t[1] += o[1]
        only_z += ["%s: %s" % (s["case"], d) for d in s["only_zeek"]]
        only_o += ["%s: %s" % (s["case"], d) for d in s["only_ours"]]
        diffs += s["diffs"]
    unkeyed = [s["case"] for s in summaries if s["unkeyed"]]
    print("cases: %d   Zeek records: %d   flowaudit records: %d   matched: %d (%d with flipped orientation)"
          % (len(summaries), zr, orr, matched, flipped), file=out)
    if unkeyed:
        print("unkeyed (Zeek log without 5-tuple, pairing guessed): %s" % " ".join(unkeyed), file=out)
    print("", file=out)
    print("| field | compared | agree | % |", file=out)
    print("|---|---:|---:|---:|", file=out)
    order = FIELDS + ["orientation", "service (analyzer)", "history (analyzer)"]
    for f in order:
        if f not in total:
            continue
        n, a = total[f]
        if f.endswith("(analyzer)"):
            if n == 0:
                continue
            print("| %s | %d | (not ours) | - |" % (f, n), file=out)
            continue
        if n == 0:
            continue
        print("| %s | %d | %d | %s |" % (f, n, a, pct(a, n)), file=out)
    print("", file=out)
    print("only in Zeek: %d" % len(only_z), file=out)
    for d in only_z:
        print("  " + d, file=out)
    print("only in flowaudit: %d" % len(only_o), file=out)
    for d in only_o:
        print("  " + d, file=out)
    print("disagreements: %d" % len(diffs), file=out)
    for case, rec, f, zv, ov in diffs:
        print("  %s: %s: %s: zeek=%s flowaudit=%s" % (case, rec, f, zv, ov), file=out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--case", default=None, help="name of the case in the output")
    ap.add_argument("--summary", default=None, help="write the counts as JSON to this file")
    ap.add_argument("--aggregate", action="store_true", help="FILES are --summary outputs: add them up")
    ap.add_argument("--quiet", action="store_true", help="print nothing (with --summary)")
    args = ap.parse_args()
    if args.aggregate:
        summaries = []
        for p in args.files:
            with open(p) as f:
                summaries.append(json.load(f))
        print_table(summaries)
        return
    if len(args.files) != 2:
        ap.error("give ZEEK_CONN_LOG and OURS (or --aggregate SUMMARY...)")
    s = add_flipped(compare(args.files[0], args.files[1], args.case or args.files[0]))
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(s, f, indent=1)
    if not args.quiet:
        print_table([s])


if __name__ == "__main__":
    main()
