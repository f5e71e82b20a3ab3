/*
 * Fuzz target dtls: the DTLS 1.2 / TLS-PSK protocol core
 * (tls_bearssl/dtls/dtls.h) with a real client core and a real server core
 * talking in memory, and the input standing between them: it delivers,
 * drops, duplicates, reorders, edits, refragments and replaces their
 * datagrams (stream mode: record bytes), injects its own, advances the fake
 * clock, seals application data and closes. Because the genuine peer's
 * flights are always there to be let through, the fuzzer gets past the
 * cookie exchange, the key exchange and Finished into application data,
 * and mutates real traffic at any point of it ("mutate real traffic").
 *
 * Input: 4 configuration bytes, then operations until the input ends.
 *   cfg[0] bit 0     stream mode (TLS 1.2 over a byte pipe) / datagrams
 *          bits 1-2  suite: PSK CCM_8, PSK GCM, ECDHE_ECDSA CCM_8, ... GCM
 *          bit 3     the client offers every suite (default list), not one
 *          bit 4     the server accepts every suite, not one
 *          bit 5     the server sends a PSK identity hint
 *          bit 6     ECDHE client: verify_none (else the chain is checked
 *                    against the CA, name fuzz.test)
 *          bit 7     the clock starts 30 s before it wraps
 *   cfg[1]  the server's MTU: 0 the default (1200), else 60 + 4 * cfg[1]
 *           (64..1080); the client's is the same but at least 160 (a
 *           ClientHello with its cookie, 108 to 140 bytes, must stay whole:
 *           zs_dtls_cookie_answer() takes no fragments), unless cfg[2]
 *           bit 6 is set
 *   cfg[2]  retransmission timer: min 50 * (1 + bits 0-2) ms, max
 *           min << bits 3-5; bit 7: ALPN on both sides (the client offers
 *           zz, fuzz/1, the server takes fuzz/1) and an ECDHE client
 *           with verify_optional (a chain that fails goes on)
 *   cfg[3]  seed of the cores' random numbers
 * An operation is one byte: kind = op & 15, dir = op >> 4 & 1 (0: the
 * queue towards the server, 1: towards the client; for APP and CLOSE the
 * sending side: 0 client, 1 server), arg = op >> 5, then its operands:
 *   0 DELIVER       take the queue's head and give it to the receiver
 *   1 DELIVER_AS    len(2) bytes: take the head (if any) but deliver these
 *                   bytes instead (the seeds are made of these, with the
 *                   real bytes: the fuzzer mutates them in place)
 *   2 DROP          3 DUP (head twice)    4 SWAP head with entry 1 + arg
 *   5 FLIP          pos(2) xor(1): a byte of the head
 *   6 TRUNC         len(2): cut the head
 *   7 FRAG          datagrams: type(1) msg_len(3) msg_seq(2) frag_off(3)
 *                   frag_len(3) body(frag_len, what the input has): one
 *                   handshake fragment in an epoch-0 record, delivered now.
 *                   Stream: type(1) len(2) bytes: one raw TLS record.
 *   8 REFRAG        cut(2): the head's first record, when it is one whole
 *                   epoch-0 handshake fragment, becomes two fragments cut
 *                   there, overlapping by arg & 3 bytes, the second first
 *                   when arg & 4 (stream mode: SPLIT)
 *   9 TICK          ms(2): the clock moves on (arg & 1: to the earliest
 *                   deadline of the two cores instead)
 *  10 APP           len(1) bytes: the side seals them (arg 7: into one byte
 *                   less than it needs) and queues the record
 *  11 CLOSE         the side sends close_notify
 *  12 COOKIE        len(2) bytes: zs_dtls_cookie_answer() on them, reply
 *                   buffer 59 + 10 * arg bytes, twice (same answer)
 *  13 SETTLE        deliver everything queued, in order, until quiet
 *  14 CAP           cap(2): output is taken into buffers of cap % 1501
 *                   bytes from now on (0: 1500)
 *  15 SPLIT         pos(2): the head becomes two (a TCP read boundary in
 *                   stream mode)
 * After every operation both cores' output is taken (zs_dtls_output until
 * 0) and queued. A datagram server has no context until a ClientHello
 * passes zs_dtls_cookie_answer(): until then every datagram towards it
 * goes through that function (arbitrary ClientHellos), the
 * HelloVerifyRequests go back. When the input ends, the queues are
 * delivered (output buffers of 1500 bytes again) and the timers run (a
 * bounded number of times) until the pair is established, failed or
 * closed.
 *
 * What must hold, besides no crash and no sanitizer report:
 *   - no call returns a length beyond its buffer: every buffer given to the
 *     core is a heap block of exactly the length given (ASan sees a read or
 *     write past it); output <= min(cap, MTU), seal <= cap and exactly the
 *     plaintext plus its overhead, consumed <= given, application data
 *     inside the record consumed, a HelloVerifyRequest within its buffer;
 *   - every error is one the header documents for that call, and a FAILED
 *     context repeats its sticky error; documented invariants of struct
 *     zs_dtls hold after every call (reasm_len, sbuf_len, the flight);
 *   - the context's size is zs_dtls_ctx_size(), each context is a heap
 *     block of exactly that size, and the core allocates nothing (a malloc
 *     hook counts allocations made inside core calls);
 *   - a datagram exchange with the clock stopped ends (no retransmission
 *     ping-pong between two honest cores);
 *   - once both are ESTABLISHED (stream mode: and their pipes untouched), a
 *     fresh message each way is delivered exactly once, intact; the same
 *     datagram again delivers nothing.
 *
 * ZSOCK_FUZZ_DTLS_TRACE=1 prints the first datagrams moved, with both
 * states, and how each input ended (states, errors, alerts, application
 * records). ZSOCK_FUZZ_DTLS_SEEDS=DIR writes the seed corpus (real
 * associations in both modes with both kinds of suite, small MTUs, loss,
 * data, close...) into DIR and exits: that is how fuzz/corpus/dtls/ was
 * made. The seeds hold the cores' own bytes: write them again when the
 * core changes what it sends (regress-* files are never written).
 */
#include "tls_bearssl/dtls/dtls.h"

#include <sanitizer/allocator_interface.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* ---- the test PKI: a P-256 CA and a leaf for fuzz.test, valid 2026-2126,
 * made once with the openssl CLI and kept here so that every run is the
 * same (the chain check's clock is fixed at 2030-01-01) ---------------- */
static const uint8_t pki_ca[410] = {
	0x30, 0x82, 0x01, 0x96, 0x30, 0x82, 0x01, 0x3d, 0xa0, 0x03, 0x02, 0x01,
	0x02, 0x02, 0x14, 0x23, 0xb8, 0xba, 0x01, 0x36, 0x68, 0x32, 0xea, 0x0e,
	0xff, 0xe5, 0xa1, 0x90, 0xfb, 0x0f, 0xe2, 0xff, 0x8b, 0x25, 0x42, 0x30,
	0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x30,
	0x18, 0x31, 0x16, 0x30, 0x14, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0d,
	0x7a, 0x73, 0x6f, 0x63, 0x6b, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x63,
	0x61, 0x30, 0x20, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x31, 0x32, 0x36, 0x30,
	0x36, 0x34, 0x34, 0x32, 0x36, 0x5a, 0x18, 0x0f, 0x32, 0x31, 0x32, 0x36,
	0x31, 0x31, 0x30, 0x32, 0x30, 0x36, 0x34, 0x34, 0x32, 0x36, 0x5a, 0x30,
	0x18, 0x31, 0x16, 0x30, 0x14, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0d,
	0x7a, 0x73, 0x6f, 0x63, 0x6b, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x63,
	0x61, 0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
	0x03, 0x42, 0x00, 0x04, 0x59, 0xe3, 0xce, 0x13, 0x9e, 0x49, 0x4a, 0x63,
	0xc9, 0xb5, 0x7c, 0x6d, 0xa6, 0x2e, 0x44, 0x30, 0xf9, 0x99, 0x31, 0x1f,
	0x94, 0x19, 0x91, 0x93, 0x74, 0x1d, 0x18, 0x3d, 0x06, 0x69, 0xcc, 0xb3,
	0x4c, 0x8c, 0x96, 0x90, 0xe9, 0xfc, 0x5b, 0xde, 0x5d, 0xe1, 0x7d, 0x1e,
	0xd7, 0x96, 0x42, 0xb3, 0x98, 0x81, 0x96, 0x08, 0xf2, 0x6a, 0xf1, 0xba,
	0xfe, 0x8a, 0x1f, 0xf5, 0x4e, 0xa9, 0xe3, 0x9f, 0xa3, 0x63, 0x30, 0x61,
	0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0x0e,
	0x74, 0x9a, 0xe7, 0x70, 0x06, 0xd9, 0x4f, 0x6d, 0x98, 0x4f, 0x36, 0xd9,
	0x4f, 0x41, 0x0c, 0x03, 0x16, 0xd0, 0xd3, 0x30, 0x1f, 0x06, 0x03, 0x55,
	0x1d, 0x23, 0x04, 0x18, 0x30, 0x16, 0x80, 0x14, 0x0e, 0x74, 0x9a, 0xe7,
	0x70, 0x06, 0xd9, 0x4f, 0x6d, 0x98, 0x4f, 0x36, 0xd9, 0x4f, 0x41, 0x0c,
	0x03, 0x16, 0xd0, 0xd3, 0x30, 0x0f, 0x06, 0x03, 0x55, 0x1d, 0x13, 0x01,
	0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01, 0xff, 0x30, 0x0e, 0x06,
	0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x02,
	0x04, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	0x02, 0x03, 0x47, 0x00, 0x30, 0x44, 0x02, 0x20, 0x3b, 0x3f, 0x64, 0xfa,
	0xce, 0xf8, 0x84, 0x61, 0x46, 0x0d, 0x68, 0xae, 0x5f, 0x11, 0x98, 0xfe,
	0xdd, 0x89, 0x18, 0x77, 0xa5, 0x75, 0x3e, 0xa6, 0xa0, 0xae, 0x93, 0x70,
	0x3b, 0x68, 0x24, 0xae, 0x02, 0x20, 0x75, 0x92, 0xd1, 0x74, 0x30, 0x3d,
	0x81, 0x53, 0x46, 0x4e, 0x9a, 0x4c, 0x5d, 0xc9, 0x26, 0xac, 0xd9, 0x42,
	0x6c, 0x33, 0x5c, 0x4d, 0x90, 0x11, 0x61, 0x14, 0x17, 0x6b, 0x58, 0x79,
	0x1f, 0xf9,
};
static const uint8_t pki_leaf[423] = {
	0x30, 0x82, 0x01, 0xa3, 0x30, 0x82, 0x01, 0x49, 0xa0, 0x03, 0x02, 0x01,
	0x02, 0x02, 0x14, 0x07, 0x5f, 0x02, 0x41, 0x6f, 0x7e, 0x29, 0x98, 0x2b,
	0x0c, 0xfb, 0x73, 0xda, 0x70, 0xe2, 0x3c, 0xd4, 0xdb, 0x14, 0xf4, 0x30,
	0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02, 0x30,
	0x18, 0x31, 0x16, 0x30, 0x14, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x0d,
	0x7a, 0x73, 0x6f, 0x63, 0x6b, 0x2d, 0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x63,
	0x61, 0x30, 0x20, 0x17, 0x0d, 0x32, 0x36, 0x31, 0x31, 0x32, 0x36, 0x30,
	0x36, 0x34, 0x34, 0x32, 0x36, 0x5a, 0x18, 0x0f, 0x32, 0x31, 0x32, 0x36,
	0x31, 0x31, 0x30, 0x32, 0x30, 0x36, 0x34, 0x34, 0x32, 0x36, 0x5a, 0x30,
	0x14, 0x31, 0x12, 0x30, 0x10, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x09,
	0x66, 0x75, 0x7a, 0x7a, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x30, 0x59, 0x30,
	0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
	0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
	0x82, 0x8a, 0x02, 0x98, 0x91, 0x8f, 0x0f, 0x2e, 0xb6, 0x59, 0xef, 0x28,
	0xb0, 0x08, 0xa7, 0x8a, 0x15, 0xee, 0x90, 0xef, 0x7b, 0x8b, 0x0c, 0xac,
	0xc4, 0x81, 0xc2, 0x31, 0x94, 0x2e, 0x2b, 0x02, 0xb0, 0xf7, 0xfe, 0x34,
	0x9d, 0x4c, 0xfe, 0x3c, 0xa1, 0x7d, 0xb5, 0x13, 0x51, 0xf2, 0x36, 0x44,
	0x7f, 0xa2, 0xdc, 0x0d, 0x44, 0xe9, 0xc5, 0x1d, 0xaa, 0x11, 0xac, 0xf2,
	0xd6, 0xa0, 0x67, 0xb7, 0xa3, 0x73, 0x30, 0x71, 0x30, 0x14, 0x06, 0x03,
	0x55, 0x1d, 0x11, 0x04, 0x0d, 0x30, 0x0b, 0x82, 0x09, 0x66, 0x75, 0x7a,
	0x7a, 0x2e, 0x74, 0x65, 0x73, 0x74, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x1d,
	0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02, 0x07, 0x80, 0x30, 0x09,
	0x06, 0x03, 0x55, 0x1d, 0x13, 0x04, 0x02, 0x30, 0x00, 0x30, 0x1d, 0x06,
	0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14, 0x68, 0x61, 0x3f, 0xa4,
	0xcf, 0x6d, 0x00, 0xff, 0x97, 0xa7, 0x00, 0xb0, 0x1a, 0x36, 0x24, 0x69,
	0x8b, 0x2c, 0x63, 0x84, 0x30, 0x1f, 0x06, 0x03, 0x55, 0x1d, 0x23, 0x04,
	0x18, 0x30, 0x16, 0x80, 0x14, 0x0e, 0x74, 0x9a, 0xe7, 0x70, 0x06, 0xd9,
	0x4f, 0x6d, 0x98, 0x4f, 0x36, 0xd9, 0x4f, 0x41, 0x0c, 0x03, 0x16, 0xd0,
	0xd3, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03,
	0x02, 0x03, 0x48, 0x00, 0x30, 0x45, 0x02, 0x21, 0x00, 0xfd, 0xe1, 0xf8,
	0x9d, 0xb2, 0xc5, 0xd4, 0x74, 0xf0, 0x85, 0xc4, 0x86, 0x2f, 0x90, 0xd5,
	0x9f, 0xea, 0xa2, 0x6f, 0xa6, 0x96, 0xc7, 0x30, 0xb1, 0x2b, 0xf1, 0x4a,
	0x2b, 0xc8, 0x97, 0x02, 0xc5, 0x02, 0x20, 0x47, 0xa4, 0x86, 0xd7, 0x5e,
	0x88, 0x00, 0x93, 0xb1, 0xc7, 0x72, 0xc0, 0x7e, 0xc7, 0xff, 0x2d, 0xec,
	0x76, 0x40, 0xe1, 0x2f, 0xf7, 0x9d, 0x37, 0xb4, 0xa9, 0xc2, 0x2e, 0x50,
	0x6c, 0xde, 0x1a,
};
static const uint8_t pki_leaf_key[121] = {
	0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20, 0x0f, 0xb1, 0x59, 0x3c, 0x80,
	0xc8, 0x1d, 0x54, 0xe0, 0xb5, 0x3b, 0x11, 0x53, 0x81, 0x21, 0xbc, 0x07,
	0x01, 0xf7, 0xac, 0xc6, 0xd2, 0x84, 0xd3, 0x7e, 0x40, 0x75, 0xdc, 0x0a,
	0x29, 0x85, 0xc3, 0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x03, 0x01, 0x07, 0xa1, 0x44, 0x03, 0x42, 0x00, 0x04, 0x82, 0x8a, 0x02,
	0x98, 0x91, 0x8f, 0x0f, 0x2e, 0xb6, 0x59, 0xef, 0x28, 0xb0, 0x08, 0xa7,
	0x8a, 0x15, 0xee, 0x90, 0xef, 0x7b, 0x8b, 0x0c, 0xac, 0xc4, 0x81, 0xc2,
	0x31, 0x94, 0x2e, 0x2b, 0x02, 0xb0, 0xf7, 0xfe, 0x34, 0x9d, 0x4c, 0xfe,
	0x3c, 0xa1, 0x7d, 0xb5, 0x13, 0x51, 0xf2, 0x36, 0x44, 0x7f, 0xa2, 0xdc,
	0x0d, 0x44, 0xe9, 0xc5, 0x1d, 0xaa, 0x11, 0xac, 0xf2, 0xd6, 0xa0, 0x67,
	0xb7,
};

#define PKI_DAYS 741443u          /* 2030-01-01: days since 0000-01-01 */

static br_x509_trust_anchor pki_ta;
static uint8_t pki_dn[256], pki_ca_q[65];
static size_t pki_dn_len;
static br_x509_certificate pki_chain[1];
static br_skey_decoder_context pki_key;

static void pki_dn_add(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	FZ_CHECK(pki_dn_len + len <= sizeof(pki_dn), "CA DN too long");
	memcpy(pki_dn + pki_dn_len, buf, len);
	pki_dn_len += len;
}

static void pki_load(void)
{
	br_x509_decoder_context dc;
	const br_x509_pkey *pk;

	br_x509_decoder_init(&dc, pki_dn_add, NULL);
	br_x509_decoder_push(&dc, pki_ca, sizeof(pki_ca));
	pk = br_x509_decoder_get_pkey(&dc);
	FZ_CHECK(br_x509_decoder_last_error(&dc) == 0 && pk != NULL
		 && pk->key_type == BR_KEYTYPE_EC && pk->key.ec.qlen == 65, "CA certificate");
	memcpy(pki_ca_q, pk->key.ec.q, 65);
	pki_ta.dn.data = pki_dn;
	pki_ta.dn.len = pki_dn_len;
	pki_ta.flags = BR_X509_TA_CA;
	pki_ta.pkey.key_type = BR_KEYTYPE_EC;
	pki_ta.pkey.key.ec.curve = BR_EC_secp256r1;
	pki_ta.pkey.key.ec.q = pki_ca_q;
	pki_ta.pkey.key.ec.qlen = 65;
	pki_chain[0].data = (unsigned char *)pki_leaf;
	pki_chain[0].data_len = sizeof(pki_leaf);
	br_skey_decoder_init(&pki_key);
	br_skey_decoder_push(&pki_key, pki_leaf_key, sizeof(pki_leaf_key));
	FZ_CHECK(br_skey_decoder_last_error(&pki_key) == 0
		 && br_skey_decoder_key_type(&pki_key) == BR_KEYTYPE_EC, "leaf key");
}

/* ---- the harness's state ---------------------------------------------- */

#define CHUNK 4096       /* a datagram, or a piece of stream output */
#define QN 256           /* queue entries per direction; more are lost */
#define PIPE (1 << 15)   /* stream mode: bytes received, not consumed */
#define MAX_OPS 400
#define SETTLE_MAX 2000  /* deliveries with the clock stopped */

struct chunk {
	uint16_t len;
	uint8_t b[CHUNK];
};

/* A ring of QN chunks. */
struct queue {
	struct chunk c[QN];
	size_t head, n;
};

struct side {
	struct zs_dtls *d;       /* a heap block of exactly sizeof */
	struct zs_dtls_config cfg;
	uint16_t suite;
	bool up;                 /* context initialised */
	uint8_t in[PIPE];        /* stream mode: received, not consumed */
	size_t in_len;
	size_t n_app;            /* application records received */
	uint8_t last_app[256];   /* the last one's first bytes */
	size_t last_app_len;
};

static struct {
	struct side c, s;
	struct queue q[2];       /* [0] towards the server, [1] the client */
	bool stream;
	bool tampered[2];        /* stream mode: a pipe's bytes were changed */
	uint32_t now;
	uint64_t rng;
	size_t drain_cap;
	uint64_t inj_seq;        /* record numbers of injected records */
	size_t deliveries;
	FILE *rec;               /* seed writing: the ops as they run */
	bool rec_now;            /* this delivery is written as DELIVER_AS */
} F;

static const uint8_t psk[16] = "0123456789abcdef";
static const uint8_t cookie_secret[32] = "zsock fuzz cookie secret 32 byte";
static const uint8_t peer_addr[6] = { 192, 0, 2, 1, 0x16, 0x34 };

static bool trace; /* ZSOCK_FUZZ_DTLS_TRACE set: what moved, how it ended */

/* ---- the no-allocation check -------------------------------------------- */

/* Thread-local: libFuzzer's own threads (the timeout and RSS watchers)
 * allocate while the core runs; only this thread's blocks count. */
static _Thread_local bool in_core;
static size_t core_allocs;

static void malloc_hook(const volatile void *p, size_t size)
{
	(void)p;
	(void)size;
	if (in_core)
		core_allocs++;
}

static void free_hook(const volatile void *p)
{
	(void)p;
}

/* ---- callbacks ------------------------------------------------------------ */

static void fz_rand(void *arg, void *buf, size_t len)
{
	uint64_t *s = arg;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		/* xorshift64*: reproducible per input; not for real keys */
		uint64_t x = *s;
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		*s = x;
		p[i] = (uint8_t)((x * 0x2545F4914F6CDD1DULL) >> 56);
	}
}

static int fz_lookup(void *arg, const uint8_t *id, size_t id_len, uint8_t *out, size_t max)
{
	(void)arg;
	if (id_len != 7 || memcmp(id, "client1", 7) != 0 || max < sizeof(psk))
		return -1;
	memcpy(out, psk, sizeof(psk));
	return (int)sizeof(psk);
}

/* ---- checked calls into the core ---------------------------------------- */

static uint8_t *heap_copy(const uint8_t *b, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	FZ_CHECK(p != NULL, "malloc");
	if (len)
		memcpy(p, b, len);
	return p;
}

/* Documented invariants of struct zs_dtls (dtls.h), read directly. */
static void check_ctx(const struct side *sd)
{
	const struct zs_dtls *d = sd->d;

	FZ_CHECK(zs_dtls_ctx_size() == sizeof(struct zs_dtls), "context size changed");
	FZ_CHECK(core_allocs == 0, "the core allocated %zu blocks", core_allocs);
	FZ_CHECK(d->state <= ZS_DTLS_FAILED, "state %u", d->state);
	FZ_CHECK(d->reasm_len <= ZS_DTLS_REASM_SIZE - 12, "reasm_len %u", (unsigned)d->reasm_len);
	FZ_CHECK(d->sbuf_len <= ZS_DTLS_REASM_SIZE - 8, "sbuf_len %u", (unsigned)d->sbuf_len);
	FZ_CHECK(d->flight_used <= ZS_DTLS_FLIGHT_SIZE && d->n_fmsg <= ZS_DTLS_FLIGHT_MSGS
		 && d->cur_msg <= d->n_fmsg, "flight %u bytes, %u messages, cursor %u",
		 d->flight_used, d->n_fmsg, d->cur_msg);
	for (size_t i = 0; i < d->n_fmsg; i++)
		FZ_CHECK((size_t)d->fmsg[i].off + d->fmsg[i].len <= ZS_DTLS_FLIGHT_SIZE,
			 "flight message %zu at %u+%u", i, d->fmsg[i].off, d->fmsg[i].len);
	FZ_CHECK(d->w_epoch <= 1 && d->r_epoch_max <= 1, "epochs %u %u", d->w_epoch,
		 d->r_epoch_max);
	FZ_CHECK(zs_dtls_alert_sent(d) >= -1 && zs_dtls_alert_sent(d) <= 255, "alert sent");
	FZ_CHECK(zs_dtls_state(d) != ZS_DTLS_FAILED || zs_dtls_error(d) < 0,
		 "FAILED without an error");
	uint32_t at;
	if (zs_dtls_deadline(d, &at))
		FZ_CHECK((int32_t)(at - F.now) <= (int32_t)d->tmo_max,
			 "deadline %u ms ahead, max %u", at - F.now, d->tmo_max);
}

static struct side *peer_of(struct side *sd)
{
	return sd == &F.c ? &F.s : &F.c;
}

static void got_app(struct side *sd, const uint8_t *app, size_t len)
{
	sd->n_app++;
	sd->last_app_len = len;
	memcpy(sd->last_app, app, len < sizeof(sd->last_app) ? len : sizeof(sd->last_app));
}

/* zs_dtls_input on a heap block of exactly len bytes; returns its value. */
static int core_input(struct side *sd, uint8_t *buf, size_t len)
{
	enum zs_dtls_state before = zs_dtls_state(sd->d);
	int sticky = zs_dtls_error(sd->d);
	uint8_t *app = (uint8_t *)1;
	size_t app_len = 12345;

	in_core = true;
	int n = zs_dtls_input(sd->d, buf, len, F.now, &app, &app_len);
	in_core = false;
	check_ctx(sd);
	if (n < 0) {
		if (before == ZS_DTLS_FAILED)
			FZ_CHECK(n == sticky, "input on a FAILED context: %d, sticky %d", n, sticky);
		else
			/* dtls.h: a fatal alert came, this side failed; and
			 * -EMSGSIZE, a handshake message over
			 * ZS_DTLS_REASM_SIZE (tests/dtls: reassembly_bound) */
			FZ_CHECK(n == -ECONNRESET || n == -ECONNABORTED || n == -EMSGSIZE,
				 "input returned %d", n);
		FZ_CHECK(zs_dtls_state(sd->d) == ZS_DTLS_FAILED && zs_dtls_error(sd->d) == n,
			 "input failed with %d, state %d error %d", n, zs_dtls_state(sd->d),
			 zs_dtls_error(sd->d));
		FZ_CHECK(app == NULL && app_len == 0, "application data with an error");
		return n;
	}
	FZ_CHECK((size_t)n <= len, "input consumed %d of %zu", n, len);
	FZ_CHECK(F.stream || len == 0 || n > 0, "datagram input consumed nothing of %zu", len);
	if (app != NULL) {
		FZ_CHECK(app >= buf && app_len <= (size_t)n && app + app_len <= buf + n,
			 "application data outside the record consumed");
		got_app(sd, app, app_len);
	} else {
		FZ_CHECK(app_len == 0, "app_len %zu without data", app_len);
	}
	return n;
}

/* zs_dtls_output into a heap block of exactly cap bytes, copied to out. */
static int core_output(struct side *sd, uint8_t *out, size_t cap)
{
	uint8_t *b = malloc(cap ? cap : 1);
	enum zs_dtls_state before = zs_dtls_state(sd->d);

	FZ_CHECK(b != NULL, "malloc");
	in_core = true;
	int n = zs_dtls_output(sd->d, b, cap, F.now);
	in_core = false;
	check_ctx(sd);
	if (n >= 0) {
		FZ_CHECK((size_t)n <= cap, "output %d bytes into %zu", n, cap);
		FZ_CHECK(F.stream || n <= sd->d->mtu, "output %d bytes, MTU %u", n, sd->d->mtu);
		memcpy(out, b, (size_t)n);
	} else if (n == -ETIMEDOUT) {
		FZ_CHECK(before == ZS_DTLS_HANDSHAKE && zs_dtls_error(sd->d) == -ETIMEDOUT,
			 "ETIMEDOUT in state %d", before);
	} else {
		FZ_CHECK(n == -ENOBUFS, "output returned %d", n);
	}
	free(b);
	return n;
}

static int core_seal(struct side *sd, const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
	uint8_t *b = malloc(cap ? cap : 1);
	uint8_t *src = heap_copy(data, len);

	FZ_CHECK(b != NULL, "malloc");
	in_core = true;
	int n = zs_dtls_seal(sd->d, src, len, b, cap);
	in_core = false;
	check_ctx(sd);
	if (n >= 0) {
		size_t over = (F.stream ? 5 : 13) + 8
			      + (zs_dtls_suite(sd->d) == ZS_DTLS_PSK_WITH_AES_128_CCM_8
						 || zs_dtls_suite(sd->d)
							    == ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
					 ? 8 : 16);
		FZ_CHECK((size_t)n <= cap && (size_t)n == len + over
			 && len + over <= len + ZS_DTLS_RECORD_OVERHEAD,
			 "sealed %zu bytes into %d, cap %zu", len, n, cap);
		memcpy(out, b, (size_t)n);
	} else {
		FZ_CHECK(n == -ENOTCONN || n == -EMSGSIZE || n == -ENOBUFS || n == -EAGAIN
			 || n == -EOVERFLOW, "seal returned %d", n);
		FZ_CHECK(n != -ENOTCONN || zs_dtls_state(sd->d) != ZS_DTLS_ESTABLISHED,
			 "ENOTCONN while established");
	}
	free(src);
	free(b);
	return n;
}

/* zs_dtls_cookie_answer on a heap copy, reply into a block of reply_cap. */
static int core_cookie(const uint8_t *dgram, size_t len, size_t reply_cap, uint8_t *out,
		       size_t *out_len)
{
	uint8_t *g = heap_copy(dgram, len);
	uint8_t *r = malloc(reply_cap ? reply_cap : 1);
	size_t rlen = 777;

	FZ_CHECK(r != NULL, "malloc");
	in_core = true;
	int rc = zs_dtls_cookie_answer(cookie_secret, sizeof(cookie_secret), peer_addr,
				       sizeof(peer_addr), g, len, r, reply_cap, &rlen);
	in_core = false;
	FZ_CHECK(core_allocs == 0, "cookie_answer allocated");
	FZ_CHECK(rc == 0 || rc == 1 || rc == -EINVAL || rc == -ENOBUFS,
		 "cookie_answer returned %d", rc);
	FZ_CHECK(rc == 0 ? rlen > 0 && rlen <= reply_cap : rlen == 0,
		 "cookie_answer %d with a reply of %zu, cap %zu", rc, rlen, reply_cap);
	FZ_CHECK(rc != -ENOBUFS || reply_cap < 60, "ENOBUFS with %zu bytes", reply_cap);
	if (rc == 0) {
		FZ_CHECK(rlen == 60 && r[0] == 22 && r[13] == 3, "not a HelloVerifyRequest");
		if (out != NULL)
			memcpy(out, r, rlen);
	}
	*out_len = rlen;
	free(r);
	free(g);
	return rc;
}

/* ---- queues --------------------------------------------------------------- */

static struct chunk *q_at(struct queue *q, size_t i)
{
	return &q->c[(q->head + i) % QN];
}

static void q_push(int dir, const uint8_t *b, size_t len)
{
	struct queue *q = &F.q[dir];

	if (q->n == QN || len > CHUNK) {
		F.tampered[dir] = true; /* lost */
		return;
	}
	struct chunk *c = q_at(q, q->n++);
	c->len = (uint16_t)len;
	memcpy(c->b, b, len);
}

/* In front of the head (the head's second half, a duplicate). */
static struct chunk *q_push_front(int dir)
{
	struct queue *q = &F.q[dir];

	if (q->n == QN)
		return NULL;
	q->head = (q->head + QN - 1) % QN;
	q->n++;
	return q_at(q, 0);
}

static bool q_pop(int dir, struct chunk *out)
{
	struct queue *q = &F.q[dir];

	if (q->n == 0)
		return false;
	*out = *q_at(q, 0);
	q->head = (q->head + 1) % QN;
	q->n--;
	return true;
}

/* ---- moving bytes ----------------------------------------------------------- */

static void drain(struct side *sd)
{
	static uint8_t b[CHUNK];
	int dir = sd == &F.c ? 0 : 1;

	if (!sd->up)
		return;
	/* a 2 KiB flight in 1-byte fragments takes about 2100 */
	for (int i = 0; i < 4096; i++) {
		int n = core_output(sd, b, F.drain_cap);
		if (n <= 0)
			return;
		q_push(dir, b, (size_t)n);
	}
	FZ_CHECK(0, "output gave 4096 datagrams in a row");
}

static void drain_both(void)
{
	drain(&F.c);
	drain(&F.s);
}

/* Datagram mode: the records of one datagram, one call each. */
static void feed_dgram(struct side *sd, const uint8_t *b, size_t len)
{
	uint8_t *g = heap_copy(b, len);
	size_t off = 0;

	while (off < len) {
		int n = core_input(sd, g + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	free(g);
}

/* Stream mode: append to the pipe, consume every whole record. */
static void feed_stream(struct side *sd, const uint8_t *b, size_t len)
{
	if (len > PIPE - sd->in_len) {
		sd->in_len = 0; /* a broken pipe: never with sane inputs */
		F.tampered[sd == &F.c ? 1 : 0] = true;
		return;
	}
	memcpy(sd->in + sd->in_len, b, len);
	sd->in_len += len;
	uint8_t *g = heap_copy(sd->in, sd->in_len);
	size_t off = 0;
	for (;;) {
		int n = core_input(sd, g + off, sd->in_len - off);
		if (n < 0) {
			off = sd->in_len; /* the connection is over */
			break;
		}
		if (n == 0)
			break;
		off += (size_t)n;
	}
	memmove(sd->in, sd->in + off, sd->in_len - off);
	sd->in_len -= off;
	free(g);
}

static void init_server(void)
{
	in_core = true;
	int rc = zs_dtls_init(F.s.d, &F.s.cfg, F.stream);
	in_core = false;
	FZ_CHECK(rc == 0, "server init: %d", rc);
	F.s.up = true;
	check_ctx(&F.s);
}

/* Give bytes to the receiver of queue dir. */
static void deliver(int dir, const uint8_t *b, size_t len)
{
	struct side *sd = dir == 0 ? &F.s : &F.c;

	F.deliveries++;
	if (trace && F.deliveries < 60) {
		fprintf(stderr, "  %s %4zu bytes:", dir ? "s->c" : "c->s", len);
		for (size_t i = 0; i < len && i < 26; i++)
			fprintf(stderr, " %02x", b[i]);
		fprintf(stderr, " | client %d/%d, server %d/%d\n", zs_dtls_state(F.c.d),
			F.c.d->hs_step, F.s.up ? (int)zs_dtls_state(F.s.d) : -1,
			F.s.up ? F.s.d->hs_step : -1);
	}
	if (F.rec_now) {
		/* seed writing: the bytes themselves, for the fuzzer to edit */
		fputc(1 | dir << 4, F.rec);
		fputc((int)(len >> 8), F.rec);
		fputc((int)(len & 255), F.rec);
		fwrite(b, 1, len, F.rec);
	}
	if (F.stream) {
		feed_stream(sd, b, len);
		return;
	}
	if (sd == &F.s && !F.s.up) {
		uint8_t reply[64];
		size_t rlen;
		int rc = core_cookie(b, len, sizeof(reply), reply, &rlen);
		if (rc == 0)
			q_push(1, reply, rlen);
		if (rc != 1)
			return;
		init_server();
	}
	feed_dgram(sd, b, len);
}

/* Deliver everything queued, both ways, until nothing moves; true if
 * something did. */
static bool settle(void)
{
	struct chunk *c = malloc(sizeof(*c));
	bool any = false;
	size_t count = 0;

	FZ_CHECK(c != NULL, "malloc");
	drain_both();
	for (;;) {
		bool moved = false;
		for (int dir = 0; dir < 2; dir++) {
			while (q_pop(dir, c)) {
				deliver(dir, c->b, c->len);
				drain_both();
				moved = true;
				FZ_CHECK(++count < SETTLE_MAX,
					 "still exchanging after %d deliveries with the clock stopped",
					 SETTLE_MAX);
			}
		}
		if (!moved)
			break;
		any = true;
	}
	free(c);
	return any;
}

/* The clock to the earliest deadline of the two; false if none runs. */
static bool tick_to_deadline(void)
{
	uint32_t a, best = 0;
	bool have = false;
	struct side *sides[2] = { &F.c, &F.s };

	for (int i = 0; i < 2; i++) {
		if (!sides[i]->up || !zs_dtls_deadline(sides[i]->d, &a))
			continue;
		if (!have || (int32_t)(a - best) < 0)
			best = a;
		have = true;
	}
	if (have && (int32_t)(best - F.now) > 0)
		F.now = best;
	return have;
}

/* ---- operations ------------------------------------------------------------ */

enum {
	OP_DELIVER, OP_DELIVER_AS, OP_DROP, OP_DUP, OP_SWAP, OP_FLIP, OP_TRUNC, OP_FRAG,
	OP_REFRAG, OP_TICK, OP_APP, OP_CLOSE, OP_COOKIE, OP_SETTLE, OP_CAP, OP_SPLIT,
};

static uint32_t fz_u24(struct fz_in *in)
{
	uint32_t hi = fz_u8(in);

	return hi << 16 | fz_u16(in);
}

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put24(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 16);
	put16(p + 1, v);
}

static uint32_t get24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* The head's first record, one whole epoch-0 handshake fragment, as two
 * fragments cut at cut, overlapping by ov bytes. */
static void refrag(int dir, size_t cut, size_t ov, bool reverse)
{
	struct queue *q = &F.q[dir];
	struct chunk *h;
	static struct chunk a, b;

	if (q->n == 0)
		return;
	h = q_at(q, 0);
	if (F.stream) { /* a read boundary */
		if (h->len < 2)
			return;
		cut = 1 + cut % (h->len - 1u);
		struct chunk *second = q_push_front(dir);
		if (second == NULL)
			return;
		/* the ring moved: the old head is now entry 1 */
		h = q_at(q, 1);
		second->len = (uint16_t)cut;
		memcpy(second->b, h->b, cut);
		memmove(h->b, h->b + cut, h->len - cut);
		h->len = (uint16_t)(h->len - cut);
		return;
	}
	if (h->len < 25 || h->b[0] != 22 || h->b[3] != 0 || h->b[4] != 0)
		return;
	size_t rlen = (size_t)h->b[11] << 8 | h->b[12];
	if (rlen < 12 || 13 + rlen > h->len)
		return;
	const uint8_t *f = h->b + 13;
	size_t body = get24(f + 9);
	if (get24(f + 6) != 0 || body != get24(f + 1) || 12 + body != rlen || body < 2)
		return;
	cut = 1 + cut % (body - 1);
	size_t a_end = cut + ov < body ? cut + ov : body;
	/* a: [0, a_end), b: [cut, body) + the rest of the datagram */
	memcpy(a.b, h->b, 13 + 12);
	put16(a.b + 11, (uint32_t)(12 + a_end));
	put24(a.b + 13 + 9, (uint32_t)a_end);
	memcpy(a.b + 25, f + 12, a_end);
	a.len = (uint16_t)(25 + a_end);
	memcpy(b.b, h->b, 13 + 12);
	put16(b.b + 11, (uint32_t)(12 + body - cut));
	put24(b.b + 13 + 6, (uint32_t)cut);
	put24(b.b + 13 + 9, (uint32_t)(body - cut));
	memcpy(b.b + 25, f + 12 + cut, body - cut);
	size_t rest = h->len - 13 - rlen;
	memcpy(b.b + 25 + body - cut, h->b + 13 + rlen, rest);
	b.len = (uint16_t)(25 + body - cut + rest);
	struct chunk *front = q_push_front(dir);
	if (front == NULL)
		return;
	*front = reverse ? b : a;
	*q_at(q, 1) = reverse ? a : b;
}

static void op_frag(int dir, unsigned arg, struct fz_in *in)
{
	static uint8_t b[CHUNK];

	(void)arg;
	if (F.stream) {
		/* one raw TLS record of the input's type and bytes */
		size_t len = fz_u16(in) % (CHUNK - 5);
		b[0] = fz_u8(in);
		put16(b + 1, 0x0303);
		if (len > in->n)
			len = in->n;
		put16(b + 3, (uint32_t)len);
		fz_bytes(in, b + 5, len);
		F.tampered[dir] = true;
		deliver(dir, b, 5 + len);
		return;
	}
	uint8_t *f = b + 13;
	f[0] = fz_u8(in);                 /* message type */
	put24(f + 1, fz_u24(in));         /* length */
	put16(f + 4, fz_u16(in));         /* message_seq */
	put24(f + 6, fz_u24(in));         /* fragment_offset */
	uint32_t flen = fz_u24(in);
	put24(f + 9, flen);               /* fragment_length, as given */
	size_t have = flen < in->n ? flen : in->n;
	if (have > CHUNK - 25)
		have = CHUNK - 25;
	fz_bytes(in, f + 12, have);
	b[0] = 22;
	put16(b + 1, 0xFEFD);
	put16(b + 3, 0);
	uint64_t seq = 0x1000 + F.inj_seq++;
	for (int i = 0; i < 6; i++)
		b[5 + i] = (uint8_t)(seq >> (40 - 8 * i));
	put16(b + 11, (uint32_t)(12 + have));
	deliver(dir, b, 25 + have);
}

static void op_app(struct side *sd, unsigned arg, struct fz_in *in)
{
	static uint8_t data[256], out[512];
	size_t len = fz_u8(in);

	fz_bytes(in, data, len);
	if (!sd->up)
		return;
	size_t need = len + (F.stream ? 5 : 13) + 8 + 16;
	int n = core_seal(sd, data, len, out, arg == 7 ? len : need);
	if (n > 0)
		q_push(sd == &F.c ? 0 : 1, out, (size_t)n);
}

static void op_cookie(unsigned arg, struct fz_in *in)
{
	static uint8_t g[CHUNK], r1[128];
	size_t len = fz_u16(in) % CHUNK, l1, l2;

	if (len > in->n)
		len = in->n;
	fz_bytes(in, g, len);
	int rc1 = core_cookie(g, len, 59 + 10 * arg, r1, &l1);
	uint8_t r2[128];
	int rc2 = core_cookie(g, len, 59 + 10 * arg, r2, &l2);
	FZ_CHECK(rc1 == rc2 && l1 == l2 && (rc1 != 0 || memcmp(r1, r2, l1) == 0),
		 "cookie_answer is not stateless: %d/%zu then %d/%zu", rc1, l1, rc2, l2);
}

static void run_op(struct fz_in *in)
{
	static struct chunk c;
	uint8_t op = fz_u8(in);
	unsigned kind = op & 15, arg = op >> 5;
	int dir = op >> 4 & 1;
	struct queue *q = &F.q[dir];
	struct side *sender = dir == 0 ? &F.c : &F.s;

	switch (kind) {
	case OP_DELIVER:
		if (q_pop(dir, &c)) {
			F.rec_now = F.rec != NULL; /* seed writing: see gen_op() */
			deliver(dir, c.b, c.len);
			F.rec_now = false;
		}
		break;
	case OP_DELIVER_AS: {
		static uint8_t b[CHUNK];
		size_t len = fz_u16(in) % (CHUNK + 1);
		if (len > in->n)
			len = in->n;
		fz_bytes(in, b, len);
		if (!q_pop(dir, &c) || c.len != len || memcmp(c.b, b, len) != 0)
			F.tampered[dir] = true;
		deliver(dir, b, len);
		break;
	}
	case OP_DROP:
		if (q_pop(dir, &c))
			F.tampered[dir] = true;
		break;
	case OP_DUP:
		if (q->n > 0) {
			struct chunk *h = q_push_front(dir);
			if (h != NULL) {
				*h = *q_at(q, 1);
				F.tampered[dir] = true;
			}
		}
		break;
	case OP_SWAP:
		if (q->n > 1 + arg) {
			c = *q_at(q, 0);
			*q_at(q, 0) = *q_at(q, 1 + arg);
			*q_at(q, 1 + arg) = c;
			F.tampered[dir] = true;
		}
		break;
	case OP_FLIP: {
		size_t pos = fz_u16(in);
		uint8_t x = fz_u8(in);
		if (q->n > 0 && q_at(q, 0)->len > 0 && x != 0) {
			q_at(q, 0)->b[pos % q_at(q, 0)->len] ^= x;
			F.tampered[dir] = true;
		}
		break;
	}
	case OP_TRUNC: {
		size_t len = fz_u16(in);
		if (q->n > 0 && len < q_at(q, 0)->len) {
			q_at(q, 0)->len = (uint16_t)len;
			F.tampered[dir] = true;
		}
		break;
	}
	case OP_FRAG:
		op_frag(dir, arg, in);
		break;
	case OP_REFRAG:
		refrag(dir, fz_u16(in), arg & 3, arg & 4);
		if (!F.stream)
			F.tampered[dir] = true;
		break;
	case OP_TICK: {
		uint16_t ms = fz_u16(in);
		if (arg & 1)
			tick_to_deadline();
		else
			F.now += ms;
		break;
	}
	case OP_APP:
		op_app(sender, arg, in);
		break;
	case OP_CLOSE:
		if (sender->up) {
			in_core = true;
			zs_dtls_close(sender->d);
			in_core = false;
			check_ctx(sender);
		}
		break;
	case OP_COOKIE:
		op_cookie(arg, in);
		break;
	case OP_SETTLE:
		settle();
		break;
	case OP_CAP:
		F.drain_cap = fz_u16(in) % 1501;
		if (F.drain_cap == 0)
			F.drain_cap = 1500;
		break;
	case OP_SPLIT: {
		size_t pos = fz_u16(in);
		if (q->n > 0 && q_at(q, 0)->len >= 2) {
			struct chunk *h = q_push_front(dir), *t;
			if (h == NULL)
				break;
			t = q_at(q, 1);
			pos = 1 + pos % (t->len - 1u);
			h->len = (uint16_t)pos;
			memcpy(h->b, t->b, pos);
			memmove(t->b, t->b + pos, t->len - pos);
			t->len = (uint16_t)(t->len - pos);
			if (!F.stream)
				F.tampered[dir] = true;
		}
		break;
	}
	}
	drain_both();
}

/* ---- one input ---------------------------------------------------------------- */

static const uint16_t all_suites[4] = {
	ZS_DTLS_PSK_WITH_AES_128_CCM_8, ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
	ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
};

static void reset_side(struct side *sd)
{
	sd->up = false;
	sd->in_len = 0;
	sd->n_app = 0;
	sd->last_app_len = 0;
}

static void setup(struct fz_in *in)
{
	uint8_t c0 = fz_u8(in), c1 = fz_u8(in), c2 = fz_u8(in), c3 = fz_u8(in);
	uint16_t mtu = c1 ? (uint16_t)(60 + 4 * c1) : 0;
	uint16_t c_mtu = mtu && mtu < 160 && !(c2 & 0x40) ? 160 : mtu;
	uint32_t tmin = 50u * (1 + (c2 & 7)), tmax = tmin << (c2 >> 3 & 7);

	reset_side(&F.c);
	reset_side(&F.s);
	F.q[0].n = F.q[1].n = 0;
	F.tampered[0] = F.tampered[1] = false;
	F.stream = c0 & 1;
	F.now = (c0 & 0x80) ? 0xFFFFFFFFu - 30000 : 1000;
	F.rng = 0x9E3779B97F4A7C15ULL ^ c3;
	F.drain_cap = 1500;
	F.inj_seq = 0;
	F.deliveries = 0;
	F.c.suite = F.s.suite = all_suites[c0 >> 1 & 3];
	static const char *const alpn_c[] = { "zz", "fuzz/1" };
	static const char *const alpn_s[] = { "fuzz/1" };
	bool alpn = (c2 & 0x80) != 0;

	F.c.cfg = (struct zs_dtls_config){
		.suites = (c0 & 8) ? NULL : &F.c.suite,
		.n_suites = (c0 & 8) ? 0 : 1,
		.psk = psk, .psk_len = sizeof(psk),
		.psk_id = (const uint8_t *)"client1", .psk_id_len = 7,
		.rand = fz_rand, .rand_arg = &F.rng,
		.tas = &pki_ta, .n_tas = 1,
		.x509_days = PKI_DAYS, .x509_seconds = 0,
		.server_name = "fuzz.test",
		.verify_none = (c0 & 0x40) != 0,
		.verify_optional = alpn,
		.alpn = alpn ? alpn_c : NULL, .n_alpn = alpn ? 2 : 0,
		.mtu = c_mtu, .timeout_min_ms = tmin, .timeout_max_ms = tmax,
	};
	F.s.cfg = (struct zs_dtls_config){
		.server = true,
		.suites = (c0 & 0x10) ? NULL : &F.s.suite,
		.n_suites = (c0 & 0x10) ? 0 : 1,
		.psk_hint = (c0 & 0x20) ? (const uint8_t *)"hint" : NULL,
		.psk_hint_len = (c0 & 0x20) ? 4 : 0,
		.psk_lookup = fz_lookup,
		.rand = fz_rand, .rand_arg = &F.rng,
		.chain = pki_chain, .chain_len = 1,
		.ec_key = br_skey_decoder_get_ec(&pki_key),
		.alpn = alpn ? alpn_s : NULL, .n_alpn = alpn ? 1 : 0,
		.mtu = mtu, .timeout_min_ms = tmin, .timeout_max_ms = tmax,
	};
	in_core = true;
	int rc = zs_dtls_init(F.c.d, &F.c.cfg, F.stream);
	in_core = false;
	FZ_CHECK(rc == 0, "client init: %d", rc);
	F.c.up = true;
	in_core = true;
	rc = zs_dtls_connect(F.c.d, F.now);
	in_core = false;
	FZ_CHECK(rc == 0, "connect: %d", rc);
	check_ctx(&F.c);
	if (F.stream) /* no cookie round: the server starts at once */
		init_server();
	drain_both();
}

static bool over(const struct side *sd)
{
	return sd->up && (zs_dtls_state(sd->d) == ZS_DTLS_FAILED
			  || zs_dtls_state(sd->d) == ZS_DTLS_CLOSED);
}

static bool established(const struct side *sd)
{
	return sd->up && zs_dtls_state(sd->d) == ZS_DTLS_ESTABLISHED;
}

/* Established both: a fresh message each way arrives exactly once. */
static void check_pair(void)
{
	if (!established(&F.c) || !established(&F.s))
		return;
	/* both Finished cover both hellos: the two agree on ALPN, and with
	 * the lists of setup() it can only be fuzz/1 */
	const char *ca = zs_dtls_alpn(F.c.d), *sa = zs_dtls_alpn(F.s.d);
	FZ_CHECK((ca == NULL) == (F.c.cfg.n_alpn == 0) && (sa == NULL) == (ca == NULL)
			 && (ca == NULL || (strcmp(ca, "fuzz/1") == 0 && strcmp(sa, ca) == 0)),
		 "ALPN: client %s, server %s", ca ? ca : "-", sa ? sa : "-");
	if (F.stream && (F.tampered[0] || F.tampered[1]))
		return; /* a changed byte stream fails at the MAC, rightly */
	for (int dir = 0; dir < 2; dir++) {
		struct side *tx = dir == 0 ? &F.c : &F.s, *rx = peer_of(tx);
		char msg[48];
		uint8_t rec[128];
		int len = snprintf(msg, sizeof(msg), "fresh %s %u", dir ? "s2c" : "c2s",
				   (unsigned)F.deliveries);
		/* Every run with the same configuration has the same keys, so
		 * an input may carry genuine records the sender of this run
		 * has not sealed (yet): DELIVER_AS bytes recorded in another
		 * run, further on. A real peer cannot have such records; the
		 * sender skips past any number one could hold (the window
		 * takes a jump forward) so that "fresh" means fresh. */
		if (!F.stream)
			tx->d->w_seq[1] += (uint64_t)1 << 24;
		int n = core_seal(tx, (const uint8_t *)msg, (size_t)len, rec, sizeof(rec));
		FZ_CHECK(n > 0, "an established %s cannot seal: %d", dir ? "server" : "client", n);
		size_t before = rx->n_app;
		if (F.stream)
			feed_stream(rx, rec, (size_t)n);
		else
			feed_dgram(rx, rec, (size_t)n);
		FZ_CHECK(rx->n_app == before + 1 && rx->last_app_len == (size_t)len
			 && memcmp(rx->last_app, msg, (size_t)len) == 0,
			 "%s: a fresh message arrived %zu times (state %d)", msg,
			 rx->n_app - before, zs_dtls_state(rx->d));
		if (!F.stream) {
			feed_dgram(rx, rec, (size_t)n);
			FZ_CHECK(rx->n_app == before + 1, "%s: delivered twice", msg);
		}
		FZ_CHECK(established(rx), "%s: the receiver left ESTABLISHED (%d, error %d)", msg,
			 zs_dtls_state(rx->d), zs_dtls_error(rx->d));
	}
}

/* Let the pair run on its own: queues delivered, timers run. */
static void finish(void)
{
	/* output buffers of full size again: a core whose flight does not
	 * fit the input's last CAP keeps it pending (and seal says EAGAIN) */
	F.drain_cap = 1500;
	for (int t = 0; t < 24; t++) {
		settle();
		if (over(&F.c) || over(&F.s) || (established(&F.c) && established(&F.s)))
			break;
		if (!tick_to_deadline())
			break;
	}
	check_pair();
	if (trace)
		fprintf(stderr, "fuzz_dtls: %s, client %d (error %d, alert sent %d, got %d, %zu app), "
			"server %d (error %d, alert sent %d, got %d, %zu app), %zu deliveries\n",
			F.stream ? "stream" : "datagrams", zs_dtls_state(F.c.d), zs_dtls_error(F.c.d),
			zs_dtls_alert_sent(F.c.d), zs_dtls_alert_received(F.c.d), F.c.n_app,
			F.s.up ? (int)zs_dtls_state(F.s.d) : -1, F.s.up ? zs_dtls_error(F.s.d) : 0,
			F.s.up ? zs_dtls_alert_sent(F.s.d) : -1,
			F.s.up ? zs_dtls_alert_received(F.s.d) : -1, F.s.n_app, F.deliveries);
}

static void write_seeds(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *seeds = getenv("ZSOCK_FUZZ_DTLS_SEEDS");

	trace = getenv("ZSOCK_FUZZ_DTLS_TRACE") != NULL;
	(void)argc;
	(void)argv;
	pki_load();
	F.c.d = malloc(zs_dtls_ctx_size());
	F.s.d = malloc(zs_dtls_ctx_size());
	FZ_CHECK(F.c.d != NULL && F.s.d != NULL, "malloc");
	FZ_CHECK(__sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook) != 0,
		 "malloc hooks");
	if (seeds != NULL) {
		write_seeds(seeds);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fz_in in = { data, len };

	setup(&in);
	for (int i = 0; i < MAX_OPS && in.n > 0; i++)
		run_op(&in);
	finish();
	return 0;
}

/* ---- seeds ---------------------------------------------------------------------- */

/* Run one op and write it to the seed; a DELIVER is written as DELIVER_AS
 * with the bytes it delivered (deliver()). */
static void gen_op(const uint8_t *op, size_t n)
{
	struct fz_in in = { op, n };

	if ((op[0] & 15) != OP_DELIVER)
		fwrite(op, 1, n, F.rec);
	run_op(&in);
}

static void gen_deliver(int dir)
{
	uint8_t op = (uint8_t)(OP_DELIVER | dir << 4);

	gen_op(&op, 1);
}

/* Deliver in order until quiet, the server's queue first. */
static void gen_run(void)
{
	for (int i = 0; i < 200; i++) {
		if (F.q[0].n)
			gen_deliver(0);
		else if (F.q[1].n)
			gen_deliver(1);
		else
			return;
	}
}

static void gen_app(int side, const char *text)
{
	uint8_t op[64];
	size_t n = strlen(text);

	op[0] = (uint8_t)(OP_APP | side << 4);
	op[1] = (uint8_t)n;
	memcpy(op + 2, text, n);
	gen_op(op, 2 + n);
}

static void gen_simple(uint8_t kind, int dir, unsigned arg, uint16_t operand, bool has)
{
	uint8_t op[3] = { (uint8_t)(kind | dir << 4 | arg << 5), (uint8_t)(operand >> 8),
			  (uint8_t)operand };

	gen_op(op, has ? 3 : 1);
}

static void gen_begin(const char *dir, const char *name, uint8_t c0, uint8_t c1, uint8_t c2)
{
	char path[512];
	uint8_t cfg[4] = { c0, c1, c2, 7 };
	struct fz_in in = { cfg, 4 };

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	F.rec = fopen(path, "wb");
	FZ_CHECK(F.rec != NULL, "open %s", path);
	fwrite(cfg, 1, 4, F.rec);
	setup(&in);
}

static void gen_end(bool want_established)
{
	long size = ftell(F.rec);

	FZ_CHECK(!want_established || (established(&F.c) && established(&F.s)),
		 "seed: the handshake did not complete (%d %d)", zs_dtls_state(F.c.d),
		 F.s.up ? (int)zs_dtls_state(F.s.d) : -1);
	fclose(F.rec);
	F.rec = NULL;
	FZ_CHECK(size < 4096, "seed of %ld bytes: over run_target.sh's max_len", size);
	finish();
}

/* A whole association: handshake, a message each way, close_notify. */
static void gen_full(const char *dir, const char *name, uint8_t c0, uint8_t c1)
{
	gen_begin(dir, name, c0, c1, 0x18);
	gen_run();
	bool up = established(&F.c) && established(&F.s);
	gen_app(0, "ping from the client");
	gen_app(1, "pong from the server");
	gen_run();
	gen_simple(OP_CLOSE, 0, 0, 0, false);
	gen_run();
	FZ_CHECK(up, "seed %s: no handshake", name);
	gen_end(false);
}

static void write_seeds(const char *dir)
{
	/* c0: stream 1, suite << 1, all suites offered 8 / accepted 16,
	 * hint 32, verify_none 64, clock near wrap 128; c1: MTU */
	gen_full(dir, "psk-ccm8", 0, 0);
	gen_full(dir, "psk-gcm-hint", 2 | 32, 0);
	gen_full(dir, "psk-all-suites", 8 | 16, 0);
	gen_full(dir, "psk-ccm8-mtu64", 0, 1);
	gen_full(dir, "ecdhe-ccm8-verified", 4, 0);
	gen_full(dir, "ecdhe-gcm-verify-none", 6 | 64, 0);
	gen_full(dir, "ecdhe-ccm8-mtu64", 4, 1);
	gen_full(dir, "ecdhe-gcm-all-suites", 6 | 8, 0);
	gen_full(dir, "stream-psk-ccm8", 1, 0);
	gen_full(dir, "stream-psk-gcm-hint", 1 | 2 | 32, 0);
	gen_full(dir, "stream-ecdhe-ccm8", 1 | 4, 0);
	gen_full(dir, "stream-ecdhe-gcm-verify-none", 1 | 6 | 64, 0);

	/* cfg[2] bit 7: ALPN both sides, verify_optional */
	const uint8_t alpn_c0[] = { 0, 1, 4, 1 | 6 };
	const char *alpn_names[] = { "psk-alpn", "stream-psk-alpn",
				     "ecdhe-alpn-optional", "stream-ecdhe-alpn-optional" };
	for (int i = 0; i < 4; i++) {
		gen_begin(dir, alpn_names[i], alpn_c0[i], 0, 0x18 | 0x80);
		gen_run();
		FZ_CHECK(zs_dtls_alpn(F.c.d) != NULL && zs_dtls_alpn(F.s.d) != NULL,
			 "seed %s: no ALPN", alpn_names[i]);
		gen_app(0, "alpn");
		gen_run();
		gen_end(true);
	}

	/* the stream cut into reads of one and of odd sizes */
	gen_begin(dir, "stream-psk-split", 1, 0, 0x18);
	for (int i = 0; i < 12 && (F.q[0].n || F.q[1].n); i++) {
		int d = F.q[0].n ? 0 : 1;
		gen_simple(OP_SPLIT, d, 0, (uint16_t)(i * 7 + 1), true);
		gen_deliver(d);
		gen_deliver(d);
	}
	gen_run();
	gen_app(0, "after cuts");
	gen_run();
	gen_end(true);

	/* loss: the server's first flight is lost, the client's timer resends
	 * its ClientHello; a data record lost after the handshake */
	gen_begin(dir, "psk-loss-retransmit", 0, 0, 0x18);
	gen_deliver(0);                       /* ClientHello */
	gen_deliver(1);                       /* HelloVerifyRequest */
	gen_deliver(0);                       /* ClientHello with cookie */
	gen_simple(OP_DROP, 1, 0, 0, false);  /* the server's flight */
	gen_simple(OP_TICK, 0, 1, 0, true);   /* to the client's deadline */
	gen_run();
	gen_app(0, "lost");
	gen_simple(OP_DROP, 0, 0, 0, false);
	gen_app(0, "kept");
	gen_run();
	gen_end(true);

	/* the same near the clock's wrap, and a timer that gives up */
	gen_begin(dir, "psk-clock-wrap", 128, 0, 0x18);
	gen_deliver(0);
	gen_deliver(1);
	gen_deliver(0);
	gen_simple(OP_DROP, 1, 0, 0, false);
	gen_simple(OP_TICK, 0, 1, 0, true);
	gen_run();
	gen_end(true);

	gen_begin(dir, "psk-timeout", 0, 0, 0x10);
	gen_deliver(0);
	gen_deliver(1);
	for (int i = 0; i < 6; i++) {
		gen_simple(OP_DROP, 0, 0, 0, false);
		gen_simple(OP_TICK, 0, 1, 0, true);
	}
	gen_end(false);

	/* reassembly: the ServerHello and the ClientKeyExchange each cut in
	 * two fragments overlapping by 3 bytes (the ClientHello cannot be:
	 * the cookie check takes only whole ones) */
	gen_begin(dir, "psk-refragmented", 0 | 32, 0, 0x18);
	gen_deliver(0);
	gen_deliver(1);
	gen_deliver(0);
	gen_simple(OP_REFRAG, 1, 3, 20, true);
	gen_deliver(1);
	gen_deliver(1);
	gen_simple(OP_REFRAG, 0, 3, 5, true);
	gen_run();
	gen_end(true);

	/* a byte of the ECDHE ServerKeyExchange signature flipped: the client
	 * must refuse (decrypt_error) */
	gen_begin(dir, "ecdhe-bad-signature", 4, 0, 0x18);
	gen_deliver(0);
	gen_deliver(1);
	gen_deliver(0);
	{
		uint16_t pos = (uint16_t)(q_at(&F.q[1], 0)->len - 40);
		uint8_t op[4] = { OP_FLIP | 1 << 4, (uint8_t)(pos >> 8), (uint8_t)pos, 0x01 };
		gen_op(op, sizeof(op));
	}
	gen_run();
	gen_end(false);

	/* zs_dtls_cookie_answer on the client's first ClientHello */
	gen_begin(dir, "cookie-answer", 0, 0, 0x18);
	{
		uint8_t op[3 + CHUNK];
		struct chunk *h = q_at(&F.q[0], 0);
		op[0] = OP_COOKIE | 1 << 5;
		op[1] = (uint8_t)(h->len >> 8);
		op[2] = (uint8_t)h->len;
		memcpy(op + 3, h->b, h->len);
		gen_op(op, 3 + h->len);
	}
	gen_run();
	gen_end(true);

	/* injected fragments: a ServerHello piece at offset 10, an oversized
	 * message, then the real exchange */
	gen_begin(dir, "frag-injected", 0, 0, 0x18);
	{
		static const uint8_t op[] = {
			OP_FRAG | 1 << 4, 2, 0, 0, 60, 0, 1, 0, 0, 10, 0, 0, 5, 'a', 'b', 'c', 'd', 'e',
		};
		gen_op(op, sizeof(op));
	}
	gen_run();
	gen_end(true);

	/* small output buffers: ENOBUFS and records packed differently */
	gen_begin(dir, "psk-small-cap", 0, 0, 0x18);
	gen_deliver(0);
	gen_deliver(1);
	gen_simple(OP_CAP, 0, 0, 70, true);
	gen_run();
	gen_simple(OP_CAP, 0, 0, 0, true);
	gen_run();
	gen_end(true);

	/* a forged alert during the handshake, duplicated datagrams */
	gen_begin(dir, "psk-dup-and-alert", 0, 0, 0x18);
	gen_deliver(0);
	gen_simple(OP_DUP, 1, 0, 0, false);
	gen_run();
	{
		static const uint8_t op[] = {
			OP_DELIVER_AS | 1 << 4, 0, 15, 21, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 1, 0,
		};
		gen_op(op, sizeof(op));
	}
	gen_run();
	gen_end(false);
	fprintf(stderr, "fuzz_dtls: seeds written to %s\n", dir);
}
