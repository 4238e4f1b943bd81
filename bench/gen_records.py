#!/usr/bin/env python3
"""Rewrites flowaudit JSON flow records (`flowaudit flows --format json`, one object a line) as
Suricata EVE `flow` events, AWS VPC flow log lines or an RFC 5655 IPFIX file, for the records
benchmarks (bench/records.sh): the same flows in each source's format, so the figures compare.

    gen_records.py eve|vpc|ipfix [N] < FLOWS.jsonl > OUT

Reads standard input line by line and writes standard output as it goes (memory: one IPFIX
message at most); deterministic (the same input gives the same bytes). N (default: no limit)
stops after N records written. Only TCP and UDP flows are written (the other protocols are
skipped by every one of these readers); every record written is read as one record.

- eve: one `flow` event a flow (a pair of directions: one record), as Suricata writes it:
  `src_*` the originator, `timestamp` the flow's end, `flow.start`/`end` in UTC
  (`2026-11-29T12:00:00.123456+0000`), `flow_id` the line number, `in_iface` eth0;
  `bytes_toserver`/`bytes_toclient` are the IP bytes plus 14 bytes of Ethernet header a packet
  (Suricata counts the packet as captured); `tcp.tcp_flags_ts`/`tcp_flags_tc` from the Zeek
  history letters (below).
- vpc: the default version-2 format, no header: one line a direction (the originator's, then
  the responder's when it sent a packet: two records a flow), all on one interface
  (eni-0b1c2d3e4f5a6b7c8, account 123456789010), ACCEPT OK; `start`/`end` are whole seconds
  (the flow's first second, and the second it ended).
- ipfix: an RFC 5655 file (IPFIX messages back to back, as fixtures/netflow/ipfix-file.py
  writes them from exports): one message with the template set (256 for IPv4, 257 for IPv6),
  then messages of at most 1,400 bytes (one export datagram's worth) with a data set of each
  family present. One RFC 5103 biflow record a flow: addresses, ports, protocol,
  tcpControlBits, octetDeltaCount and packetDeltaCount (IP bytes and packets) forward and
  reverse (enterprise 29305), flowStart/EndMilliseconds, biflowDirection 1 (the source is the
  initiator). Export time: the latest end in the message; observation domain 1; sequence
  numbers count data records.

TCP flags from the history letters (upper case: the originator's, lower case: the
responder's): S SYN; H, h SYN|ACK; A, a ACK; D, d ACK|PSH; F, f FIN|ACK; R, r RST; other
letters add nothing.

Times are read from the JSON numbers' digits (microseconds), never through a float.
Standard library only.
"""
import ipaddress
import json
import struct
import sys
import time

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
ORIG_FLAGS = {"S": SYN, "H": SYN | ACK, "A": ACK, "D": ACK | PSH, "F": FIN | ACK, "R": RST}
RESP_FLAGS = {k.lower(): v for k, v in ORIG_FLAGS.items()}
RESP_FLAGS["s"] = SYN


def usec(v):
    """A JSON number (as its text, or an int) of seconds, as integer microseconds."""
    if isinstance(v, int):
        return v * 1_000_000
    if "e" in v or "E" in v:
        from decimal import Decimal

        return int(Decimal(v) * 1_000_000)
    whole, _, frac = v.partition(".")
    neg = whole.startswith("-")
    us = abs(int(whole)) * 1_000_000 + int((frac + "000000")[:6])
    return -us if neg else us


def flags(history):
    o = r = 0
    for c in history or "":
        o |= ORIG_FLAGS.get(c, 0)
        r |= RESP_FLAGS.get(c, 0)
    return o, r


def flows(lines):
    """(record, start µs, end µs, orig flags, resp flags) of each TCP or UDP record."""
    for line in lines:
        if not line.strip():
            continue
        d = json.loads(line, parse_float=lambda s: s)
        if d.get("proto") not in ("tcp", "udp"):
            continue
        start = usec(d["ts"])
        end = start + usec(d.get("duration") or 0)
        o, r = flags(d.get("history")) if d["proto"] == "tcp" else (0, 0)
        yield d, start, end, o, r


_days = {}


def iso(us):
    """`YYYY-MM-DDTHH:MM:SS.ffffff+0000` of µs since the epoch."""
    s, f = divmod(us, 1_000_000)
    day, sod = divmod(s, 86400)
    date = _days.get(day)
    if date is None:
        date = time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
        _days[day] = date
    h, rem = divmod(sod, 3600)
    m, sec = divmod(rem, 60)
    return f"{date}T{h:02d}:{m:02d}:{sec:02d}.{f:06d}+0000"


def eve(lines, out, limit):
    n = 0
    buf = []
    for d, start, end, o, r in flows(lines):
        if n == limit:
            break
        n += 1
        tcp = d["proto"] == "tcp"
        op, rp = d.get("orig_pkts", 0), d.get("resp_pkts", 0)
        state = {"S0": "new", "SF": "closed", "REJ": "closed", "RSTO": "closed", "RSTR": "closed"}
        ev = {
            "timestamp": iso(end),
            "flow_id": n,
            "in_iface": "eth0",
            "event_type": "flow",
            "src_ip": d["id.orig_h"],
            "src_port": d["id.orig_p"],
            "dest_ip": d["id.resp_h"],
            "dest_port": d["id.resp_p"],
            "proto": "TCP" if tcp else "UDP",
            "flow": {
                "pkts_toserver": op,
                "pkts_toclient": rp,
                "bytes_toserver": d.get("orig_ip_bytes", 0) + 14 * op,
                "bytes_toclient": d.get("resp_ip_bytes", 0) + 14 * rp,
                "start": iso(start),
                "end": iso(end),
                "age": end // 1_000_000 - start // 1_000_000,
                "state": state.get(d.get("conn_state"), "established") if tcp else "established",
                "reason": "timeout",
                "alerted": False,
            },
        }
        if d.get("community_id"):
            ev["community_id"] = d["community_id"]
        if tcp:
            ev["tcp"] = {
                "tcp_flags": f"{o | r:02x}",
                "tcp_flags_ts": f"{o:02x}",
                "tcp_flags_tc": f"{r:02x}",
            }
        buf.append(json.dumps(ev, separators=(",", ":")))
        if len(buf) >= 10000:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")


def vpc(lines, out, limit):
    n = 0
    buf = []
    head = "2 123456789010 eni-0b1c2d3e4f5a6b7c8"
    for d, start, end, _, _ in flows(lines):
        proto = 6 if d["proto"] == "tcp" else 17
        s, e = start // 1_000_000, end // 1_000_000
        a, ap, b, bp = d["id.orig_h"], d["id.orig_p"], d["id.resp_h"], d["id.resp_p"]
        dirs = [(a, b, ap, bp, d.get("orig_pkts", 0), d.get("orig_ip_bytes", 0))]
        if d.get("resp_pkts", 0) > 0:
            dirs.append((b, a, bp, ap, d["resp_pkts"], d.get("resp_ip_bytes", 0)))
        for src, dst, sp, dp, pk, by in dirs:
            if n == limit:
                break
            n += 1
            buf.append(f"{head} {src} {dst} {sp} {dp} {proto} {pk} {by} {s} {e} ACCEPT OK")
        if n == limit:
            break
        if len(buf) >= 10000:
            out.write("\n".join(buf) + "\n")
            buf.clear()
    if buf:
        out.write("\n".join(buf) + "\n")


# IPFIX (RFC 7011, 5103, 5655).
REVERSE_PEN = 29305
MAX_MESSAGE = 1400
# (element id, length): the fields after the addresses, forward then reverse.
COMMON = [(7, 2), (11, 2), (4, 1), (6, 1), (1, 8), (2, 8), (152, 8), (153, 8)]
REVERSE = [(1, 8), (2, 8), (6, 1)]
TEMPLATES = {4: (256, 8, 12, 4), 6: (257, 27, 28, 16)}  # family: id, src, dst, address length
RECORD = ">HHBBQQQQQQBB"  # after the addresses: COMMON, REVERSE, biflowDirection (239)


def template_set():
    body = b""
    for tid, src, dst, alen in TEMPLATES.values():
        fields = [(src, alen, 0), (dst, alen, 0)] + [(i, n, 0) for i, n in COMMON]
        fields += [(i, n, REVERSE_PEN) for i, n in REVERSE] + [(239, 1, 0)]
        rec = struct.pack(">HH", tid, len(fields))
        for i, n, pen in fields:
            if pen:
                rec += struct.pack(">HHI", i | 0x8000, n, pen)
            else:
                rec += struct.pack(">HH", i, n)
        body += rec
    return struct.pack(">HH", 2, 4 + len(body)) + body


def message(sets, export_s, seq):
    body = b"".join(sets)
    return struct.pack(">HHIII", 10, 16 + len(body), export_s, seq, 1) + body


def ipfix(lines, out, limit):
    out = out.buffer
    out.write(message([template_set()], 0, 0))
    n = 0
    seq = 0
    pending = {4: [], 6: []}
    size = 16
    latest = 0

    def flush():
        nonlocal size, seq, latest
        sets = []
        count = 0
        for fam, recs in pending.items():
            if recs:
                body = b"".join(recs)
                sets.append(struct.pack(">HH", TEMPLATES[fam][0], 4 + len(body)) + body)
                count += len(recs)
                recs.clear()
        if sets:
            out.write(message(sets, latest // 1_000_000, seq))
        seq += count
        size = 16
        latest = 0

    for d, start, end, o, r in flows(lines):
        if n == limit:
            break
        n += 1
        a = ipaddress.ip_address(d["id.orig_h"])
        b = ipaddress.ip_address(d["id.resp_h"])
        fam = a.version
        rec = a.packed + b.packed + struct.pack(
            RECORD,
            d["id.orig_p"],
            d["id.resp_p"],
            6 if d["proto"] == "tcp" else 17,
            o,
            d.get("orig_ip_bytes", 0),
            d.get("orig_pkts", 0),
            start // 1000,
            end // 1000,
            d.get("resp_ip_bytes", 0),
            d.get("resp_pkts", 0),
            r,
            1,
        )
        grow = len(rec) + (0 if pending[fam] else 4)
        if size + grow > MAX_MESSAGE:
            flush()
            grow = len(rec) + 4
        pending[fam].append(rec)
        size += grow
        latest = max(latest, end)
    flush()


def main():
    if len(sys.argv) not in (2, 3) or sys.argv[1] not in ("eve", "vpc", "ipfix"):
        sys.exit("usage: gen_records.py eve|vpc|ipfix [N] < FLOWS.jsonl > OUT")
    limit = int(sys.argv[2]) if len(sys.argv) == 3 else -1
    lines = sys.stdin.buffer
    {"eve": eve, "vpc": vpc, "ipfix": ipfix}[sys.argv[1]](lines, sys.stdout, limit)
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        pass
