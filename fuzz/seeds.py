#!/usr/bin/env python3
"""Write the hand-made seeds of fuzz/corpus/<target>/ (docs/fuzzing.md).

    python3 fuzz/seeds.py          # rewrites the seeds named here, nothing else

Each seed is one meaningful input in the target's input format (see the
comment at the top of each fuzz_<target>.c). Files named regress-* are
crash inputs kept as regression tests: this script never touches them.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- inet: the text itself ------------------------------------------------------

INET = {
    "v4": "192.0.2.1",
    "v4-max": "255.255.255.255",
    "v4-leading-zero": "192.0.2.01",
    "v6-full": "2001:0db8:0000:0000:0000:ff00:0042:8329",
    "v6-compressed": "2001:db8::ff00:42:8329",
    "v6-loopback": "::1",
    "v6-any": "::",
    "v6-mapped": "::ffff:192.0.2.1",
    "v6-compat": "::192.0.2.1",
    "v6-v4tail": "1:2:3:4:5:6:1.2.3.4",
    "v6-two-gaps": "1::2::3",
    "v6-upper": "FE80::ABCD:EF01",
    "v6-scope": "fe80::1%2",
}

# ---- netif_spec: max byte, then the text -------------------------------------------

NETIF = {
    "name-only": "tap:tap0",
    "ip-gw": "tap:tap0,ip=192.0.2.2/24,gw=192.0.2.1",
    "ip6": "tap:zt0,ip6=2001:db8::2/64",
    "all-keys": "tap:br-lan.1,ip6=2001:db8::2/64,gw=10.0.0.1,ip=10.0.0.2/8",
    "two": "tap:tap0,ip=192.0.2.2/24;tap:tap1,ip=198.51.100.2/31",
    "bad-broadcast": "tap:tap0,ip=192.0.2.255/24",
    "bad-gw-outside": "tap:tap0,ip=192.0.2.2/24,gw=198.51.100.1",
    "five": "tap:a;tap:b;tap:c;tap:d;tap:e",
}

# ---- dns -----------------------------------------------------------------------------


def dns_name(text):
    out = b""
    for label in text.split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def dns_header(qid, flags, qd, an):
    return struct.pack(">HHHHHH", qid, flags, qd, an, 0, 0)


def rr(owner, rtype, rdata, rclass=1):
    return owner + struct.pack(">HHIH", rtype, rclass, 300, len(rdata)) + rdata


PTR12 = b"\xc0\x0c"


def dns_reply_seed(sel, max_, qname, msg, wrong_id=False):
    """mode (even: reply), qtype selector, raw qtype, max, name NUL, message"""
    mode = 2 if wrong_id else 0
    return bytes([mode, sel]) + b"\0\0" + bytes([max_]) + qname.encode() + b"\0" + msg


def dns_seeds():
    qid = 0x4D2A
    a = dns_header(qid, 0x8180, 1, 2) + dns_name("v4.test") + struct.pack(">HH", 1, 1)
    a += rr(PTR12, 1, bytes([192, 0, 2, 10])) + rr(PTR12, 1, bytes([192, 0, 2, 11]))
    yield "a-two", dns_reply_seed(0, 4, "v4.test", a)
    yield "a-wrong-id", dns_reply_seed(0, 4, "v4.test", a, wrong_id=True)

    aaaa = dns_header(qid, 0x8180, 1, 1) + dns_name("v6only.test") + struct.pack(">HH", 28, 1)
    aaaa += rr(dns_name("V6ONLY.TEST"), 28, bytes.fromhex("20010db8000000000000000000000010"))
    yield "aaaa-upper-owner", dns_reply_seed(1, 4, "v6only.test", aaaa)

    # www.test CNAME a.test (pointer to "test" at 16), a.test A 192.0.2.20
    msg = dns_header(qid, 0x8180, 1, 2) + dns_name("www.test") + struct.pack(">HH", 1, 1)
    cname_at = len(msg) + 12
    msg += rr(PTR12, 5, b"\x01a\xc0\x10")
    msg += rr(struct.pack(">H", 0xC000 | cname_at), 1, bytes([192, 0, 2, 20]))
    yield "cname-chain", dns_reply_seed(0, 2, "www.test", msg)

    loop = dns_header(qid, 0x8180, 1, 2) + dns_name("www.test") + struct.pack(">HH", 1, 1)
    loop += rr(dns_name("www.test"), 5, dns_name("a.test"))
    loop += rr(dns_name("a.test"), 5, dns_name("www.test"))
    yield "cname-loop", dns_reply_seed(0, 2, "www.test", loop)

    nx = dns_header(qid, 0x8183, 1, 0) + dns_name("nx.test") + struct.pack(">HH", 1, 1)
    yield "nxdomain", dns_reply_seed(0, 1, "nx.test", nx)
    sf = dns_header(qid, 0x8182, 1, 0) + dns_name("sf.test") + struct.pack(">HH", 28, 1)
    yield "servfail", dns_reply_seed(1, 1, "sf.test", sf)

    selfptr = dns_header(qid, 0x8180, 1, 1) + dns_name("v4.test") + struct.pack(">HH", 1, 1)
    selfptr += rr(struct.pack(">H", 0xC000 | (len(selfptr))), 1, bytes([1, 2, 3, 4]))
    yield "pointer-to-itself", dns_reply_seed(0, 1, "v4.test", selfptr)

    yield "servers", b"\x01" + b"192.0.2.1, [2001:db8::1]:5353,198.51.100.7:53"
    yield "servers-bad", b"\x01" + b"[192.0.2.1]:53,2001:db8::zz"


# ---- getaddrinfo ------------------------------------------------------------------


def gai(flags_byte, family_sel, type_sel, proto_sel, nulls, host, service, extra=0):
    return (bytes([0, flags_byte, extra, family_sel, type_sel, proto_sel, nulls])
            + host.encode() + b"\0" + service.encode())


def gni(family_sel, len_sel, flags, flags2, hsel, ssel, port, scope, addr):
    return (bytes([1, family_sel, len_sel, flags, flags2, hsel, ssel])
            + struct.pack(">HI", port, scope) + addr)


def gai_seeds():
    # flags bits: 1 PASSIVE, 2 CANONNAME, 4 NUMERICHOST, 8 NUMERICSERV,
    # 16 V4MAPPED, 32 ALL, 64 ADDRCONFIG, 128: one more from the extra byte
    yield "numeric-v4", gai(4 | 8, 1, 1, 1, 0, "192.0.2.1", "80")
    yield "numeric-v6-scope", gai(4, 2, 2, 0, 0, "fe80::1%3", "5683")
    yield "bracketed", gai(2, 0, 0, 0, 0, "[2001:db8::1]", "https")
    yield "localhost", gai(2, 0, 0, 0, 0, "LocalHost", "mqtt")
    yield "passive-null-host", gai(1, 0, 0, 0, 1, "", "8080")
    yield "v4mapped", gai(16 | 32, 2, 1, 0, 0, "198.51.100.7", "domain")
    yield "name-no-dns", gai(0, 0, 0, 0, 0, "example.test", "http")
    yield "free-twice", gai(0, 0, 0, 0, 1 | 16, "", "7")
    yield "free-second-first", gai(0, 0, 0, 0, 1 | 32, "", "9")
    yield "bad-flags", gai(128, 0, 0, 0, 0, "192.0.2.1", "1", extra=13)
    yield "res-null", gai(0, 0, 0, 0, 8, "192.0.2.1", "1")
    loop6 = bytes(15) + b"\x01"
    yield "ni-v4", gni(0, 0, 0, 0, 0x80, 0x80, 443, 0, bytes([192, 0, 2, 1]) + bytes(12))
    yield "ni-v6-dgram", gni(1, 0, 16, 0, 0x80, 0x80, 123, 7, loop6)
    yield "ni-overflow", gni(1, 0, 0, 0, 4, 3, 1883, 0, bytes.fromhex("20010db8" + "00" * 11 + "01"))
    yield "ni-short-salen", gni(0, 1, 1, 0, 0x80, 0x80, 80, 0, bytes(16))


# ---- net_buf: programs ------------------------------------------------------------

OPS = ["ALLOC", "FILL", "LINK", "UNLINK", "SEND", "SENDTO", "RECV", "RELEASE", "PEER",
       "POLL", "BSD_SEND", "BSD_RECV"]
SOCK = {"A": 0, "B": 1, "U0": 2, "U1": 3}


def opbyte(name, sock=0):
    o = OPS.index(name)
    for b in range(256):
        if b % len(OPS) == o and (b >> 4) % 4 == sock:
            return b
    raise ValueError(name)


def P(slot=0, kind=0):
    """pointer selector: kind 0 slot, 10 NULL, 11 stack, 12 heap, 13 copy,
    14 interior, 15 rx frag or storage"""
    return (kind << 4) | slot


DONTWAIT, ZERO, BADFLAG = 0, 2, 3


def prog(*steps):
    out = b""
    for s in steps:
        name = s[0]
        if name == "ALLOC":
            out += bytes([opbyte(name), 0, 0])
        elif name == "FILL":      # FILL slot mode len
            _, slot, mode, ln = s
            out += bytes([opbyte(name), (mode << 6) | slot, ln >> 8, ln & 0xFF])
        elif name == "LINK":      # LINK slot pointer
            out += bytes([opbyte(name), s[1], s[2]])
        elif name == "UNLINK":
            out += bytes([opbyte(name), s[1], 0])
        elif name == "SEND":      # SEND sock pointer flags
            out += bytes([opbyte(name, SOCK[s[1]]), s[2], s[3]])
        elif name == "SENDTO":    # SENDTO sock pointer flags dest port
            out += bytes([opbyte(name, SOCK[s[1]]), s[2], s[3], s[4]]) + struct.pack(">H", s[5])
        elif name == "RECV":      # RECV sock flags
            out += bytes([opbyte(name, SOCK[s[1]]), s[2], 0])
        elif name in ("RELEASE", "PEER"):
            out += bytes([opbyte(name), s[1], 0])
        elif name == "POLL":
            out += bytes([opbyte(name), s[1], 0])
        elif name in ("BSD_SEND", "BSD_RECV"):
            sock = SOCK[s[1]]
            out += bytes([opbyte(name, sock), s[2] >> 8, s[2] & 0xFF])
        else:
            raise ValueError(name)
    return out


def net_buf_seeds():
    yield "tcp-send-recv", prog(("ALLOC",), ("FILL", 0, 0, 1000), ("SEND", "A", P(0), DONTWAIT),
                                ("RECV", "B", DONTWAIT), ("PEER", P(1)), ("RELEASE", P(1)))
    yield "tcp-chain-back", prog(("ALLOC",), ("ALLOC",), ("ALLOC",), ("FILL", 0, 0, 1460),
                                 ("FILL", 1, 2, 7), ("FILL", 2, 0, 300), ("LINK", 0, P(1)),
                                 ("LINK", 1, P(2)), ("SEND", "B", P(0), ZERO),
                                 ("POLL", 4 | 0), ("RECV", "A", DONTWAIT), ("RELEASE", P(3)))
    yield "udp-send-recv", prog(("ALLOC",), ("FILL", 0, 0, 200), ("SEND", "U0", P(0), DONTWAIT),
                                ("RECV", "U1", DONTWAIT), ("PEER", P(1)), ("RELEASE", P(1)))
    # dest selector 0: UDP_0's own address
    yield "udp-sendto", prog(("ALLOC",), ("FILL", 0, 2, 5), ("SENDTO", "U1", P(0), DONTWAIT, 0, 0),
                             ("POLL", 4 | 2), ("RELEASE", P(1)), ("RELEASE", P(1)))
    yield "double-release", prog(("ALLOC",), ("RELEASE", P(0)), ("RELEASE", P(0)),
                                 ("SEND", "A", P(0), DONTWAIT))
    yield "loop", prog(("ALLOC",), ("ALLOC",), ("LINK", 0, P(1)), ("LINK", 1, P(0)),
                       ("SEND", "A", P(0), DONTWAIT), ("SEND", "U0", P(1), DONTWAIT),
                       ("RELEASE", P(0)), ("UNLINK", 1), ("RELEASE", P(0)))
    yield "foreign", prog(("ALLOC",), ("LINK", 0, P(0, 11)), ("SEND", "A", P(0), DONTWAIT),
                          ("RELEASE", P(0, 11)), ("RELEASE", P(0, 12)), ("RELEASE", P(0, 14)),
                          ("RELEASE", P(0, 13)), ("RELEASE", P(0, 15)), ("LINK", 0, P(0, 12)),
                          ("RELEASE", P(0)))
    yield "len-over-size", prog(("ALLOC",), ("FILL", 0, 3, 1), ("SEND", "A", P(0), DONTWAIT),
                                ("SEND", "U0", P(0), DONTWAIT), ("RELEASE", P(0)))
    yield "release-frag", prog(("ALLOC",), ("ALLOC",), ("ALLOC",), ("LINK", 0, P(1)),
                               ("LINK", 1, P(2)), ("RELEASE", P(1)), ("SEND", "A", P(0), DONTWAIT),
                               ("RELEASE", P(0)), ("UNLINK", 0), ("RELEASE", P(0)))
    yield "send-after-send", prog(("ALLOC",), ("FILL", 0, 0, 64), ("SEND", "A", P(0), DONTWAIT),
                                  ("SEND", "B", P(0), DONTWAIT), ("RELEASE", P(0)),
                                  ("RECV", "B", DONTWAIT), ("SEND", "A", P(1), DONTWAIT),
                                  ("LINK", 2, P(1)))
    yield "mixed-bsd", prog(("BSD_SEND", "A", 3000), ("POLL", 4 | 1), ("BSD_RECV", "B", 100),
                            ("RECV", "B", DONTWAIT), ("BSD_RECV", "B", 2000),
                            ("RELEASE", P(0)))
    yield "bad-flags", prog(("ALLOC",), ("SEND", "A", P(0), BADFLAG), ("RECV", "B", BADFLAG),
                            ("RECV", "U1", 0x80), ("SEND", "A", P(0, 10), DONTWAIT),
                            ("POLL", 8 | 0))
    yield "rx-as-frag", prog(("ALLOC",), ("FILL", 0, 0, 10), ("SEND", "A", P(0), DONTWAIT),
                             ("RECV", "B", DONTWAIT), ("ALLOC",), ("LINK", 0, P(1)),
                             ("LINK", 2, P(1)), ("SEND", "B", P(2), DONTWAIT),
                             ("RELEASE", P(2)), ("RELEASE", P(1)))


# ---- sockopt: steps of kind, op, level, name, len, bytes ------------------------------
# kinds: 0 tcp, 1 listener, 2 connected, 3 udp, 4 udp6, 5 tls, 6 tls listener,
# 7 socketpair, 8 dispatcher, 9 hostsock; level index: 0 SOL_SOCKET, 1 TCP,
# 2 IP, 3 IPV6, 4 SOL_TLS, 5 UDP (Linux option numbers)

def step(kind, op, level, name, value=b""):
    return struct.pack(">BBBHH", kind, op, level, name, len(value)) + value


def int32(v):
    return struct.pack("<i", v)


def sockopt_seeds():
    yield "so-rcvbuf-and-back", step(0, 0, 0, 8, int32(4096)) + step(0, 1, 0, 8, b"\0" * 4)
    yield "rcvtimeo", step(3, 0, 0, 20, struct.pack("<qq", 1, 500000)) + step(3, 1, 0, 20, b"\0" * 16)
    yield "linger", step(2, 0, 0, 13, int32(1) + int32(5))
    yield "nodelay", step(2, 0, 1, 1, int32(1)) + step(2, 1, 1, 1, b"\0" * 4)
    yield "bindtodevice-lo", step(3, 0, 0, 25, b"lo\0") + step(3, 1, 0, 25, b"\0" * 16)
    yield "dispatcher-bind-host", step(8, 0, 0, 25, b"host\0") + step(8, 1, 0, 3, b"\0" * 4)
    yield "ip-ttl-tos", step(3, 0, 2, 2, int32(7)) + step(3, 0, 2, 1, int32(0x10))
    yield "ipv6-v6only-hops", step(4, 0, 3, 26, int32(1)) + step(4, 0, 3, 16, int32(3))
    yield "mcast-join", step(3, 0, 2, 35, bytes([224, 0, 0, 251, 0, 0, 0, 0]))
    yield "tls-hostname", step(5, 0, 4, 2, b"server.test\0") + step(5, 1, 4, 1, b"\0" * 16)
    yield "tls-suites", step(5, 0, 4, 3, int32(0xC02B) + int32(0xCCA9)) + step(6, 1, 4, 3, b"\0" * 200)
    yield "tls-verify-cache", step(6, 0, 4, 5, int32(2)) + step(6, 0, 4, 12, int32(1)) + step(6, 0, 4, 13, b"")
    yield "tls-readonly", step(5, 1, 4, 4, b"\0" * 4) + step(5, 1, 4, 0x7a60, b"\0" * 32)
    yield "socks5", step(0, 0, 0, 0x7a50, struct.pack("<HH4s8x", 2, 0x3804, bytes([127, 0, 0, 1])))
    yield "socks5-auth", step(0, 0, 0, 0x7a51, b"user".ljust(256, b"\0") + b"pass".ljust(256, b"\0"))
    yield "pair-options", step(7, 1, 0, 3, b"\0" * 4) + step(7, 0, 0, 8, int32(1 << 20))
    yield "hostsock-reuse", step(9, 0, 0, 2, int32(1)) + step(9, 1, 0, 2, b"\0" * 4)
    yield "short-lengths", step(0, 0, 0, 8, b"\1") + step(0, 1, 0, 8, b"\0")


def main():
    for name, text in INET.items():
        write("inet", name, text)
    for name, text in NETIF.items():
        write("netif_spec", name, b"\x04" + text.encode())
    for name, data in dns_seeds():
        write("dns", name, data)
    for name, data in gai_seeds():
        write("getaddrinfo", name, data)
    for name, data in net_buf_seeds():
        write("net_buf", name, data)
    for name, data in sockopt_seeds():
        write("sockopt", name, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
