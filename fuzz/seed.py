#!/usr/bin/env python3
"""Builds the fuzz targets' seed corpora from the repository's fixtures.

    python3 fuzz/seed.py
    # writes fuzz/corpus/{decode,capture,flow,rules,records,eve,vpc,json_scan,netflow,merge}/

- decode: every distinct frame of every fixtures/**/*.pcap* file, prefixed with the 4-byte
  selector of fuzz_targets/common.rs (link type u16 LE, wire length minus captured length i16 LE).
- flow: per capture file, its first frames as one flow-target input (12-byte header, then per
  frame: time step in microseconds i32 LE, selector, length u16 LE, bytes), see fuzz_targets/flow.rs.
- capture: every capture file up to 64 KiB whole, larger ones cut to their first 64 KiB (a cut
  capture is a seed too: it ends inside a record).
- rules: fixtures/rules/*.toml and rules/*.toml; each inventory file also paired with the rules
  files it goes with (rules text, NUL, inventory text), see fuzz_targets/rules.rs.
- records: every flow-record log among the fixtures (fixtures/records/*.log, the committed
  expected outputs *.jsonl and *.zeek), up to 64 KiB each, and each also gzip-compressed.
- eve, vpc: fixtures/records/eve/*.json and fixtures/records/vpc/*.log, behind each selector
  byte of their targets.
- json_scan: each JSON line of those logs alone.
- netflow: the UDP payloads (export messages) of each fixtures/netflow/*.pcap in the netflow
  target's layout (per message: length u16 LE, exporter selector byte 0, the bytes; see
  fuzz_targets/netflow.rs): one input per capture with all its messages in capture order (so
  templates come before the data that needs them), and each message alone; plus every
  fixtures/netflow/*.ipfix file as it is (the target also reads its whole input as an RFC 5655
  IPFIX file).
- merge: for each limit 0 to 7, one sequence of pairing and merge operations (see
  fuzz_targets/merge.rs).

File names are content hashes, as libFuzzer names its own; rerunning adds nothing twice.
Standard library only.
"""

import glob
import gzip
import hashlib
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")

# Limits that keep the corpus small: frames per capture for the decoder, frames and bytes per flow
# input, bytes per capture input.
MAX_FRAMES_PER_FILE = 300
MAX_FLOW_FRAMES = 64
MAX_FLOW_BYTES = 16 * 1024
MAX_CAPTURE_BYTES = 64 * 1024


def pcap_frames(data):
    """Yields (ts_ns, linktype, wire_len, frame) from a pcap file; stops at damage."""
    magic = data[:4]
    table = {
        b"\xd4\xc3\xb2\xa1": ("<", 1000, 16),
        b"\xa1\xb2\xc3\xd4": (">", 1000, 16),
        b"\x4d\x3c\xb2\xa1": ("<", 1, 16),
        b"\xa1\xb2\x3c\x4d": (">", 1, 16),
        b"\x34\xcd\xb2\xa1": ("<", 1000, 24),
        b"\xa1\xb2\xcd\x34": (">", 1000, 24),
    }
    if magic not in table or len(data) < 24:
        return
    e, mult, rec_len = table[magic]
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    off = 24
    while off + rec_len <= len(data):
        sec, frac, caplen, wire = struct.unpack(e + "IIII", data[off : off + 16])
        off += rec_len
        if off + caplen > len(data):
            return
        yield (sec * 1_000_000_000 + frac * mult, linktype, wire, data[off : off + caplen])
        off += caplen


def pcapng_frames(data):
    """Yields (ts_ns, linktype, wire_len, frame) from a pcapng file; stops at damage."""
    off = 0
    e = "<"
    ifaces = []  # (linktype, ns per unit numerator, denominator)
    while off + 12 <= len(data):
        btype_raw = data[off : off + 4]
        if btype_raw == b"\x0a\x0d\x0d\x0a":
            bom = data[off + 8 : off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        btype, blen = struct.unpack(e + "II", data[off : off + 8])
        if blen < 12 or off + blen > len(data):
            return
        body = data[off : off + blen]
        if btype == 1 and blen >= 20:
            lt = struct.unpack(e + "H", body[8:10])[0]
            num, den = 1000, 1  # default: microseconds
            o = 16
            while o + 4 <= blen - 4:
                code, olen = struct.unpack(e + "HH", body[o : o + 4])
                if code == 0:
                    break
                if code == 9 and olen >= 1:
                    r = body[o + 4]
                    if r & 0x80:
                        num, den = 1_000_000_000, 1 << (r & 0x7F)
                    else:
                        num, den = 10 ** max(0, 9 - r), 10 ** max(0, r - 9)
                o += 4 + ((olen + 3) & ~3)
            ifaces.append((lt, num, den))
        elif btype in (2, 6) and blen >= 32:
            if btype == 6:
                iface = struct.unpack(e + "I", body[8:12])[0]
            else:
                iface = struct.unpack(e + "H", body[8:10])[0]
            hi, lo, caplen, wire = struct.unpack(e + "IIII", body[12:28])
            if iface < len(ifaces) and 28 + caplen <= blen - 4:
                lt, num, den = ifaces[iface]
                ts = ((hi << 32) | lo) * num // den
                yield (ts, lt, wire, body[28 : 28 + caplen])
        elif btype == 3 and blen >= 16 and ifaces:
            wire = struct.unpack(e + "I", body[8:12])[0]
            caplen = min(wire, blen - 16)
            yield (0, ifaces[0][0], wire, body[12 : 12 + caplen])
        off += blen


def udp_payloads(frames):
    """The UDP payloads of IPv4 and IPv6 frames (Ethernet, Linux cooked v1/v2, BSD loopback),
    in order; other frames are passed over."""
    for _, lt, _, frame in frames:
        off = {1: 14, 113: 16, 276: 20, 0: 4}.get(lt)
        if off is None or len(frame) < off + 1:
            continue
        ip = frame[off:]
        if ip[0] >> 4 == 4 and len(ip) >= 20 and ip[9] == 17:
            ihl = (ip[0] & 0x0F) * 4
            total = struct.unpack(">H", ip[2:4])[0]
            udp = ip[ihl:total]
        elif ip[0] >> 4 == 6 and len(ip) >= 40 and ip[6] == 17:
            udp = ip[40 : 40 + struct.unpack(">H", ip[4:6])[0]]
        else:
            continue
        if len(udp) >= 8:
            yield udp[8 : struct.unpack(">H", udp[4:6])[0]]


def netflow_message(payload, exporter=0):
    """One message of a netflow-target input: length u16 LE, exporter byte, the bytes."""
    return struct.pack("<HB", len(payload), exporter) + payload


def frames_of(data):
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return list(pcapng_frames(data))
    return list(pcap_frames(data))


def selector(linktype, wire_len, caplen):
    adjust = max(-32768, min(32767, wire_len - caplen))
    return struct.pack("<Hh", linktype & 0xFFFF, adjust)


def put(target, blob, counts):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, hashlib.sha1(blob).hexdigest())
    if not os.path.exists(path):
        with open(path, "wb") as f:
            f.write(blob)
        counts[target] = counts.get(target, 0) + 1


def flow_input(frames):
    """One flow-target input from a capture's first frames."""
    first = frames[0][0] if frames else 0
    out = bytearray(struct.pack("<BHqB", 0b0000_0001, 443, first, 0))
    prev = first
    for ts, lt, wire, frame in frames[:MAX_FLOW_FRAMES]:
        if len(out) + 10 + len(frame) > MAX_FLOW_BYTES:
            break
        step = max(-(2**31), min(2**31 - 1, (ts - prev) // 1000))
        prev = ts
        out += struct.pack("<i", step) + selector(lt, wire, len(frame))
        out += struct.pack("<H", min(len(frame), 0xFFFF)) + frame[:0xFFFF]
    return bytes(out)


def main():
    counts = {}
    captures = sorted(
        p
        for p in glob.glob(os.path.join(ROOT, "fixtures", "**", "*.pcap*"), recursive=True)
        if os.path.isfile(p)
    )
    for path in captures:
        with open(path, "rb") as f:
            data = f.read()
        put("capture", data[:MAX_CAPTURE_BYTES], counts)
        frames = frames_of(data)
        for ts, lt, wire, frame in frames[:MAX_FRAMES_PER_FILE]:
            put("decode", selector(lt, wire, len(frame)) + frame, counts)
        if frames:
            put("flow", flow_input(frames), counts)

    rules = sorted(glob.glob(os.path.join(ROOT, "fixtures", "rules", "*.toml")))
    rules += sorted(glob.glob(os.path.join(ROOT, "rules", "*.toml")))
    inventories = [p for p in rules if "inventory" in os.path.basename(p)]
    inventories += sorted(glob.glob(os.path.join(ROOT, "fixtures", "**", "inventory*.toml"), recursive=True))
    texts = {}
    for path in rules + inventories:
        with open(path, "rb") as f:
            texts[path] = f.read()
    for path in rules:
        put("rules", texts[path], counts)
    # Inventories with the rules files of their own folder (the has/ fixture's inventory goes
    # with the repository's rules; the fixtures/rules inventories with good.toml and eth.toml).
    mains = [p for p in rules if p not in inventories]
    for inv in sorted(set(inventories)):
        for main in mains:
            put("rules", texts[main] + b"\0" + texts[inv], counts)

    logs = sorted(
        p
        for pattern in ("records/*.log", "**/*.jsonl", "**/*.zeek")
        for p in glob.glob(os.path.join(ROOT, "fixtures", pattern), recursive=True)
        if os.path.isfile(p)
    )
    for path in logs:
        with open(path, "rb") as f:
            data = f.read()[:MAX_CAPTURE_BYTES]
        put("records", data, counts)
        put("records", gzip.compress(data, mtime=0), counts)
        # json_scan: each JSON line alone.
        for line in data.split(b"\n"):
            if line.startswith(b"{"):
                put("json_scan", line, counts)

    # EVE and VPC lines, behind each selector byte of their targets (see fuzz_targets/eve.rs,
    # vpc.rs), plain: those targets feed lines, not files.
    for target, pattern, selectors in (
        ("eve", "records/eve/*.json", (0, 1)),
        ("vpc", "records/vpc/*.log", (0, 1, 2)),
    ):
        for path in sorted(glob.glob(os.path.join(ROOT, "fixtures", pattern))):
            with open(path, "rb") as f:
                data = f.read()[:MAX_CAPTURE_BYTES]
            for sel in selectors:
                put(target, bytes([sel]) + data, counts)

    # NetFlow v5, v9 and IPFIX export messages (softflowd's, fixtures/netflow/record.sh).
    netflow = os.path.join(ROOT, "fixtures", "netflow")
    for path in sorted(glob.glob(os.path.join(netflow, "*.pcap"))):
        with open(path, "rb") as f:
            messages = [m for m in udp_payloads(frames_of(f.read())) if len(m) <= 0xFFFF]
        if messages:
            put("netflow", b"".join(netflow_message(m) for m in messages), counts)
        for m in messages:
            put("netflow", netflow_message(m), counts)
    for path in sorted(glob.glob(os.path.join(netflow, "*.ipfix"))):
        with open(path, "rb") as f:
            put("netflow", f.read(), counts)

    # merge: for each limit, a connection seen by two inputs (both halves, one input closing
    # with FIN), a record of both directions, halves with flow ids, and the clock advancing
    # (operations of fuzz_targets/merge.rs: kind, input, host, port, flags, step, duration,
    # packets).
    ops = [
        (0, 0, 1, 1, 0x02, 0, 3, 2),
        (0, 0, 1, 1, 0x52, 0, 3, 2),
        (0, 1, 1, 1, 0x13, 1, 2, 4),
        (0, 1, 1, 1, 0x53, 0, 2, 4),
        (1, 2, 2, 2, 0x1b, 1, 5, 9),
        (2, 0, 3, 3, 0x82, 2, 1, 1),
        (2, 1, 3, 3, 0xc2, 0, 1, 1),
        (3, 0, 0, 0, 0, 7, 0, 0),
        (0, 2, 0, 0, 0x02, 1, 0, 0),
        (3, 0, 0, 0, 0, 7, 0, 0),
    ]
    body = b"".join(bytes(op) for op in ops)
    for limit in range(8):
        put("merge", bytes([limit]) + body, counts)

    for target in (
        "decode",
        "capture",
        "flow",
        "rules",
        "records",
        "eve",
        "vpc",
        "json_scan",
        "netflow",
        "merge",
    ):
        print(f"{target}: {counts.get(target, 0)} new inputs in fuzz/corpus/{target}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
