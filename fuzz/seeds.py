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


# ---- socks5: flags byte, then the proxy's bytes ---------------------------------------
# flags: 1 connect() through a loopback proxy (else the parser alone), 2 offer
# username/password, 4 IPv6, bits 3..5 log2 of the proxy's send size

S5_CONNECT, S5_AUTH, S5_V6 = 1, 2, 4
S5_BYTEWISE = 0 << 3   # pieces of one byte
S5_AT_ONCE = 7 << 3    # pieces of 128 bytes


def s5_ok_v4(port=4242):
    return bytes([5, 0, 0, 1, 198, 51, 100, 7]) + struct.pack(">H", port)


def socks5_seeds():
    none = bytes([5, 0])
    userpass = bytes([5, 2]) + bytes([1, 0])
    v6 = bytes([5, 0, 0, 4]) + bytes.fromhex("20010db8000000000000000000000077") + b"\x10\x92"
    dom = bytes([5, 0, 0, 3, 11]) + b"example.org" + b"\x01\xbb"
    for mode, tag in ((0, "parse"), (S5_CONNECT | S5_AT_ONCE, "connect")):
        yield tag + "-none-v4", bytes([mode]) + none + s5_ok_v4()
        yield tag + "-none-v4-data", bytes([mode]) + none + s5_ok_v4() + b"HTTP/1.0 200 OK\r\n\r\n"
        yield tag + "-auth-v6", bytes([mode | S5_AUTH | S5_V6]) + userpass + v6 + b"x"
        yield tag + "-domain", bytes([mode]) + none + dom
        yield tag + "-refused-method", bytes([mode | S5_AUTH]) + bytes([5, 0xFF])
        yield tag + "-auth-failed", bytes([mode | S5_AUTH]) + bytes([5, 2, 1, 1])
        yield tag + "-auth-not-offered", bytes([mode]) + bytes([5, 2, 1, 0]) + s5_ok_v4()
        yield tag + "-rep-refused", bytes([mode]) + none + bytes([5, 5, 0, 1, 0, 0, 0, 0, 0, 0])
        yield tag + "-rep-ttl", bytes([mode]) + none + bytes([5, 6, 0, 1])
        yield tag + "-rep-unknown", bytes([mode]) + none + bytes([5, 9, 0, 1, 0, 0, 0, 0, 0, 0])
        yield tag + "-bad-rsv", bytes([mode]) + none + bytes([5, 0, 1, 1, 0, 0, 0, 0, 0, 0])
        yield tag + "-bad-atyp", bytes([mode]) + none + bytes([5, 0, 0, 2, 0, 0, 0, 0, 0, 0])
        yield tag + "-domain-empty", bytes([mode]) + none + bytes([5, 0, 0, 3, 0, 0, 80])
        yield tag + "-domain-255", bytes([mode]) + none + bytes([5, 0, 0, 3, 255]) + b"d" * 255 + b"\0\x50"
        yield tag + "-cut", bytes([mode]) + none + s5_ok_v4()[:7]
        yield tag + "-socks4-reply", bytes([mode]) + bytes([0, 0x5A, 0, 80, 127, 0, 0, 1])
    yield "connect-bytewise", bytes([S5_CONNECT | S5_BYTEWISE | S5_AUTH]) + userpass + dom + b"late"
    yield "connect-v6-v4-reply", bytes([S5_CONNECT | S5_V6 | (2 << 3)]) + none + s5_ok_v4()


# ---- netif: frames, each kind | length (2) | bytes ---------------------------------
# kind: bits 0-1 0 raw Ethernet, 1 IPv4, 2 IPv6, 3 ARP; 4 fix lengths; 8 fix
# checksums; 0x10 TCP seq/ack relative to the connection of the ports;
# bits 5-6 destination MAC (0 ours, 1 broadcast, 2 multicast of the IP
# destination, 3 another); 0x80 run lwIP's timers once after the frame.
# The addresses and sockets are those fuzz/fuzz_netif.c sets up.

N_RAW, N_V4, N_V6, N_ARP = 0, 1, 2, 3
N_FIX = 0x04 | 0x08
N_REL = 0x10
N_BCAST, N_MCAST = 1 << 5, 2 << 5
N_TICK = 0x80
V4 = N_V4 | N_FIX
V6 = N_V6 | N_FIX

OUR_MAC = bytes([2, 0, 0, 0, 0, 2])
PEER_MAC = bytes([2, 0, 0, 0, 0, 1])
OUR4, PEER4 = bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])
OUR6 = bytes.fromhex("20010db8000000000000000000000002")
PEER6 = bytes.fromhex("20010db8000000000000000000000001")
OUR_LL = bytes.fromhex("fe80000000000000000000fffe000002")   # from OUR_MAC
PEER_LL = bytes.fromhex("fe800000000000000000000000000001")
ALL_NODES = bytes.fromhex("ff020000000000000000000000000001")
SOLICITED_OUR6 = bytes.fromhex("ff0200000000000000000001ff000002")
LISTEN, UDP_PORT, CONN_L, CONN_R = 80, 7, 40000, 5000


def frame(kind, data):
    return bytes([kind]) + struct.pack(">H", len(data)) + data


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(">%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def ip4(proto, payload, src=PEER4, dst=OUR4, ttl=64, ident=1, frag=0, options=b""):
    """lengths and checksum left 0: the target's kind bits fill them in"""
    ihl = 5 + len(options) // 4
    return struct.pack(">BBHHHBBH4s4s", 0x40 | ihl, 0, 0, ident, frag, ttl, proto, 0,
                       src, dst) + options + payload


def ip6(nh, payload, src=PEER6, dst=OUR6, hlim=64):
    return struct.pack(">IHBB16s16s", 0x60000000, 0, nh, hlim, src, dst) + payload


def tcp(sport, dport, seq, ack, flags, payload=b"", win=65535, opts=b""):
    off = (20 + len(opts)) // 4
    return struct.pack(">HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       off << 4, flags, win, 0, 0) + opts + payload


def udp(sport, dport, payload, checksum=0):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), checksum) + payload


def icmp(typ, code, body):
    return struct.pack(">BBH", typ, code, 0) + body


FIN, SYN, RST, PSH, ACK, URG = 1, 2, 4, 8, 16, 32
MSS = b"\x02\x04\x05\xb4"


def conn(flags, seq=0, ack=0, payload=b"", win=65535):
    """a segment of the per-input connection; seq and ack relative to the
    connection's rcv_nxt and snd_nxt when the frame arrives (0: in order,
    everything acknowledged)"""
    return frame(V4 | N_REL, ip4(6, tcp(CONN_R, CONN_L, seq, ack, flags, payload, win)))


def tick(n=1):
    return frame(N_RAW | N_TICK, b"") * n


def arp(op, sha, spa, tha, tpa):
    return struct.pack(">HHBBH6s4s6s4s", 1, 0x0800, 6, 4, op, sha, spa, tha, tpa)


def ns(target, src=PEER6, dst=None):
    body = struct.pack(">I16s", 0, target) + b"\x01\x01" + PEER_MAC
    return ip6(58, icmp(135, 0, body), src=src,
               dst=dst or bytes.fromhex("ff0200000000000000000001ff") + target[13:], hlim=255)


def hbh_router_alert(nh):
    return bytes([nh, 0, 5, 2, 0, 0, 1, 0])   # router alert (MLD), PadN


def mld(typ, group, dst, maxdelay=1000):
    return ip6(0, hbh_router_alert(58) + icmp(typ, 0, struct.pack(">HH16s", maxdelay, 0, group)),
               src=PEER_LL, dst=dst, hlim=1)


def igmp(typ, maxresp, group, dst):
    body = struct.pack(">BBH4s", typ, maxresp, 0, group)
    return ip4(2, body, dst=dst, ttl=1, options=b"\x94\x04\x00\x00")


def pseudo4(src, dst, proto, length):
    return src + dst + struct.pack(">BBH", 0, proto, length)


def pseudo6(src, dst, nh, length):
    return src + dst + struct.pack(">IxxxB", length, nh)


def udp_whole4(payload, sport=5353, dport=UDP_PORT):
    u = udp(sport, dport, payload)
    c = csum(pseudo4(PEER4, OUR4, 17, len(u)) + u) or 0xFFFF
    return u[:6] + struct.pack(">H", c) + u[8:]


def udp_whole6(payload, sport=5353, dport=UDP_PORT):
    u = udp(sport, dport, payload)
    c = csum(pseudo6(PEER6, OUR6, 17, len(u)) + u) or 0xFFFF
    return u[:6] + struct.pack(">H", c) + u[8:]


def frags4(whole, size, ident, order=None, overlap=0):
    """IPv4 fragments of whole (the UDP datagram), size bytes each (a
    multiple of 8), in the given order; overlap moves each offset back"""
    parts = []
    off = 0
    while off < len(whole):
        start = max(0, off - overlap)
        chunk = whole[start:off + size]
        more = 0x2000 if off + size < len(whole) else 0
        parts.append(frame(N_V4 | N_FIX, ip4(17, chunk, ident=ident, frag=more | (start // 8))))
        off += size
    order = order or range(len(parts))
    return b"".join(parts[i] for i in order)


def first_frame(frames):
    return frames[:3 + struct.unpack(">H", frames[1:3])[0]]


def frags6(whole, size, ident):
    out = b""
    off = 0
    while off < len(whole):
        more = 1 if off + size < len(whole) else 0
        fh = struct.pack(">BBHI", 17, 0, (off // 8) << 3 | more, ident)
        out += frame(N_V6 | N_FIX, ip6(44, fh + whole[off:off + size]))
        off += size
    return out


def netif_seeds():
    # link layer
    yield "arp-request", frame(N_ARP | N_BCAST, arp(1, PEER_MAC, PEER4, bytes(6), OUR4))
    yield "arp-reply", frame(N_ARP, arp(2, PEER_MAC, PEER4, OUR_MAC, OUR4))
    yield "arp-gratuitous", frame(N_ARP | N_BCAST, arp(1, bytes([2, 0, 0, 0, 0, 7]),
                                                         bytes([10, 0, 0, 7]), bytes(6),
                                                         bytes([10, 0, 0, 7])))
    yield "arp-claims-our-address", frame(N_ARP | N_BCAST, arp(2, PEER_MAC, OUR4, bytes(6), OUR4))
    eth = OUR_MAC + PEER_MAC
    yield "raw-vlan-tagged", frame(N_RAW, eth + b"\x81\x00\x00\x05\x08\x00" +
                                   ip4(1, icmp(8, 0, b"\0\1\0\1vlan")))
    yield "raw-short", frame(N_RAW, eth[:10])
    yield "raw-unknown-type", frame(N_RAW, eth + b"\x88\xcc" + bytes(40))

    # ICMP
    yield "icmp-echo", frame(V4, ip4(1, icmp(8, 0, b"\x12\x34\x00\x01" + b"ping" * 8)))
    yield "icmp-echo-broadcast", frame(V4 | N_BCAST, ip4(1, icmp(8, 0, b"\0\1\0\1"),
                                                         dst=bytes([10, 0, 0, 255])))
    yield "icmp-echo-options", frame(V4, ip4(1, icmp(8, 0, b"\0\1\0\2opts"),
                                             options=b"\x07\x07\x04" + bytes(4) + b"\x00"))
    sent = ip4(17, udp(UDP_PORT, 5353, b"x"), src=OUR4, dst=PEER4)
    yield "icmp-port-unreachable", frame(V4, ip4(1, icmp(3, 3, bytes(4) + sent[:28])))
    yield "icmp-bad-checksum", frame(N_V4 | 0x04, ip4(1, icmp(8, 0, b"\0\1\0\1")))

    # TCP: the connection made per input (relative sequence numbers)
    yield "tcp-conn-data-fin", conn(PSH | ACK, 0, 0, b"hello") + conn(FIN | ACK, 0, 0)
    yield "tcp-conn-ooseq", (conn(ACK, 100, 0, b"B" * 50) + conn(ACK, 0, 0, b"A" * 100) +
                             conn(ACK, 0, 0))
    yield "tcp-conn-rst", conn(RST, 0, 0)
    yield "tcp-conn-rst-outside", conn(RST, 70000, 0)
    yield "tcp-conn-window0", conn(ACK, 0, 0, win=0) + tick(6) + conn(ACK, 0, 0)
    yield "tcp-conn-dupacks", conn(ACK, 0, -64) * 4 + conn(ACK, 0, 0)
    yield "tcp-conn-retransmit", tick(12) + conn(ACK, 0, 0)
    yield "tcp-conn-syn-again", conn(SYN | ACK, -1, 0)
    yield "tcp-conn-urgent", conn(URG | PSH | ACK, 0, 0, b"urgent!")
    yield "tcp-conn-ack-future", conn(ACK, 0, 1000)
    yield "tcp-conn-overlap", conn(ACK, 0, 0, b"abcdef") + conn(ACK, -3, 0, b"defghi")

    # TCP: the listeners
    syn = ip4(6, tcp(1234, LISTEN, 1000, 0, SYN, opts=MSS))
    rel = lambda flags, seq, payload=b"": frame(V4 | N_REL, ip4(6, tcp(1234, LISTEN, seq, 0,
                                                                      flags, payload)))
    yield "tcp-listen-handshake", (frame(V4, syn) + rel(ACK, 0) +
                                   rel(PSH | ACK, 0, b"GET / HTTP/1.0\r\n\r\n") + rel(FIN | ACK, 0))
    yield "tcp-listen-syn-only", frame(V4, syn) + tick(4)
    yield "tcp-listen-syn-rst", frame(V4, syn) + rel(RST, 0)
    syn6 = ip6(6, tcp(1234, LISTEN, 7, 0, SYN, opts=MSS))
    rel6 = lambda flags, seq, payload=b"": frame(V6 | N_REL, ip6(6, tcp(1234, LISTEN, seq, 0,
                                                                       flags, payload)))
    # the peer's NS first: it leaves a neighbour entry, so replies go out
    yield "tcp6-listen-handshake", (frame(V6 | N_MCAST, ns(OUR6)) + frame(V6, syn6) + rel6(ACK, 0) +
                                    rel6(PSH | ACK, 0, b"data"))
    yield "tcp-syn-from-self", frame(V4, ip4(6, tcp(LISTEN, LISTEN, 1, 0, SYN), src=OUR4))
    yield "tcp-closed-port", frame(V4, ip4(6, tcp(1234, 81, 1, 0, SYN)))

    # UDP
    yield "udp4", frame(V4, ip4(17, udp(5353, UDP_PORT, b"ping")))
    yield "udp4-multicast", frame(V4 | N_MCAST, ip4(17, udp(5353, UDP_PORT, b"group"),
                                                    dst=bytes([239, 1, 2, 3])))
    yield "udp4-broadcast", frame(V4 | N_BCAST, ip4(17, udp(5353, UDP_PORT, b"all"),
                                                    dst=b"\xff\xff\xff\xff"))
    yield "udp4-closed-port", frame(V4, ip4(17, udp(5353, 9, b"nobody")))
    yield "udp6", frame(V6 | N_MCAST, ns(OUR6)) + frame(V6, ip6(17, udp(5353, UDP_PORT, b"ping6")))
    yield "udp6-link-local", frame(V6, ip6(17, udp(5353, UDP_PORT, b"ll"), src=PEER_LL, dst=OUR_LL))
    yield "udp6-ext-headers", frame(V6, ip6(0, bytes([60, 0, 1, 4, 0, 0, 0, 0]) +
                                            bytes([17, 0, 1, 4, 0, 0, 0, 0]) +
                                            udp(5353, UDP_PORT, b"ext")))

    # reassembly
    big = bytes(range(256)) * 12
    yield "ip4-fragments", frags4(udp_whole4(big), 1480, 0x100)
    yield "ip4-fragments-reverse", frags4(udp_whole4(big), 1480, 0x101, order=[2, 1, 0])
    yield "ip4-fragments-overlap", frags4(udp_whole4(big[:1000]), 400, 0x102, overlap=16)
    yield "ip4-fragment-expires", first_frame(frags4(udp_whole4(big), 1480, 0x103)) + tick(16)
    yield "ip6-fragments", frags6(udp_whole6(big), 1232, 0x200)
    yield "ip6-fragment-expires", first_frame(frags6(udp_whole6(big), 1232, 0x201)) + tick(61)

    # neighbour discovery, MLD, IGMP
    yield "nd-solicit", frame(V6 | N_MCAST, ns(OUR6))
    yield "nd-solicit-link-local", frame(V6 | N_MCAST, ns(OUR_LL, src=PEER_LL))
    yield "nd-advert", frame(V6, ip6(58, icmp(136, 0, struct.pack(">I16s", 0x20000000, PEER6) +
                                              b"\x02\x01" + PEER_MAC), hlim=255))
    ra_opts = (b"\x01\x01" + PEER_MAC + struct.pack(">BBHI", 5, 1, 0, 1280) +
               struct.pack(">BBBBIII16s", 3, 4, 64, 0xC0, 3600, 1800, 0,
                           bytes.fromhex("20010db8000000010000000000000000")))
    yield "nd-router-advert", frame(V6 | N_MCAST, ip6(58, icmp(134, 0, struct.pack(">BBHII", 64, 0, 1800, 0, 0) + ra_opts),
                                                     src=PEER_LL, dst=ALL_NODES, hlim=255))
    yield "nd-redirect", frame(V6, ip6(58, icmp(137, 0, bytes(4) + PEER_LL + PEER6), src=PEER_LL,
                                       hlim=255))
    yield "icmp6-echo", frame(V6, ip6(58, icmp(128, 0, b"\0\1\0\1ping6")))
    yield "icmp6-echo-link-local", frame(V6, ip6(58, icmp(128, 0, b"\0\1\0\2"), src=PEER_LL,
                                                 dst=OUR_LL))
    sent6 = ip6(17, udp(UDP_PORT, 5353, b"x"), src=OUR6, dst=PEER6)
    yield "icmp6-packet-too-big", frame(V6, ip6(58, icmp(2, 0, struct.pack(">I", 1280) + sent6)))
    yield "mld-query", frame(V6 | N_MCAST, mld(130, bytes(16), ALL_NODES)) + tick(12)
    yield "mld-query-specific", frame(V6 | N_MCAST, mld(130, SOLICITED_OUR6, SOLICITED_OUR6)) + tick(12)
    yield "mld-report", frame(V6 | N_MCAST, mld(131, SOLICITED_OUR6, SOLICITED_OUR6))
    yield "igmp-query", frame(V4 | N_MCAST, igmp(0x11, 10, bytes(4), bytes([224, 0, 0, 1]))) + tick(12)
    yield "igmp-query-group", frame(V4 | N_MCAST, igmp(0x11, 10, bytes([239, 1, 2, 3]),
                                                       bytes([239, 1, 2, 3]))) + tick(12)
    yield "igmp-report", frame(V4 | N_MCAST, igmp(0x16, 0, bytes([239, 1, 2, 3]),
                                                  bytes([239, 1, 2, 3])))


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
    for name, data in socks5_seeds():
        write("socks5", name, data)
    for name, data in netif_seeds():
        write("netif", name, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
