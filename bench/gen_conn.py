#!/usr/bin/env python3
"""Writes N Zeek TSV conn.log records to standard output, for the records benchmarks.

Usage: gen_conn.py N [RATE]  (RATE: connections per second of log time, default 1000)

A deterministic mix: clients in 10.20.0.0/16 and 10.30.0.0/16, servers of the HAS sample's
inventory (rules/hopex.toml with fixtures/has/inventory.toml) and others, TCP and UDP,
established, rejected and unanswered connections, durations from 0 to 2 minutes. Rows are in
order of their end (as Zeek writes them, when a connection is removed), one header block.
"""
import sys

def main():
    n = int(sys.argv[1])
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 1000.0
    out = sys.stdout
    out.write("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#open\t2026-11-29-00-00-00\n")
    out.write("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n")
    out.write("#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\tset[string]\n")
    servers = [("10.20.0.10", 443), ("10.20.0.21", 5000), ("10.20.0.30", 1433), ("10.20.0.40", 445),
               ("10.20.0.50", 25), ("10.20.0.10", 80), ("10.20.0.99", 8080), ("10.20.0.31", 22)]
    x = 12345
    t0 = 1_795_000_000.0
    buf = []
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
        r = x >> 11
        client = f"10.{20 + (r & 1) * 10}.{(r >> 1) & 255}.{(r >> 9) & 255}"
        sh, sp = servers[(r >> 17) % len(servers)]
        cport = 1024 + ((r >> 20) % 60000)
        kind = (r >> 36) % 10
        dur = ((r >> 40) % 120000) / 1000.0
        end = t0 + i / rate
        ts = end - dur
        if kind < 7:
            state, hist, op, ob, rp, rb = "SF", "ShADadFf", 10, 1200, 9, 9000
            proto = "tcp"
        elif kind == 7:
            state, hist, op, ob, rp, rb, dur = "REJ", "Sr", 1, 60, 1, 40, 0.0
            proto = "tcp"
        elif kind == 8:
            state, hist, op, ob, rp, rb, dur = "S0", "S", 3, 180, 0, 0, 3.0
            proto = "tcp"
        else:
            state, hist, op, ob, rp, rb = "SF", "Dd", 1, 80, 1, 120
            proto, sh, sp = "udp", "10.20.0.30", 1434
        buf.append(f"{ts:.6f}\tC{i:017d}\t{client}\t{cport}\t{sh}\t{sp}\t{proto}\t-\t{dur:.6f}\t{ob - 40 * op}\t{rb - 40 * rp if rp else 0}\t{state}\t-\t-\t0\t{hist}\t{op}\t{ob}\t{rp}\t{rb}\t-\n")
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf.clear()
    out.write("".join(buf))
    out.write("#close\t2026-11-29-23-59-59\n")

if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:
        pass
