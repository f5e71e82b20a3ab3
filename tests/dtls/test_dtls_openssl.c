/*
 * The DTLS core against OpenSSL over kernel UDP on 127.0.0.1 (and nothing
 * else): a small harness of plain Linux sockets, poll() and the core's
 * deadlines drives our side; `openssl s_server -dtls1_2` / `s_client
 * -dtls1_2` with -psk is the other. Lines go each way through the peer's
 * stdin/stdout and are compared. Without an openssl binary every test
 * prints "skipped: ..." and is skipped.
 */
#include <criterion/criterion.h>

#include "dtls_pki.h"
#include "tls_bearssl/dtls/dtls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PSK_HEX "00112233445566778899aabbccddeeff"
#define PSK_ID "zsock-test"
#define LINES 20

static const uint8_t psk[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66,
				 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
				 0xee, 0xff };

static uint32_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000);
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void rnd(void *arg, void *buf, size_t len)
{
	/* tests only: BearSSL's HMAC-DRBG seeded from the system */
	br_hmac_drbg_context *d = arg;
	br_hmac_drbg_generate(d, buf, len);
}

static br_hmac_drbg_context drbg;

static void seed_rng(void)
{
	uint8_t seed[32];
	FILE *f = fopen("/dev/urandom", "rb");
	cr_assert_not_null(f);
	cr_assert_eq(fread(seed, 1, sizeof seed, f), sizeof seed);
	fclose(f);
	br_hmac_drbg_init(&drbg, &br_sha256_vtable, seed, sizeof seed);
}

/* ---- the openssl child -------------------------------------------------- */

struct proc {
	pid_t pid;
	int in, out;        /* its stdin (we write), stdout+stderr (we read) */
	char buf[1 << 16];
	size_t len;
};

static void need_openssl(void)
{
	if (system("openssl version >/dev/null 2>&1") != 0) {
		printf("skipped: no openssl binary in PATH\n");
		fflush(stdout);
		cr_skip_test("skipped: no openssl binary in PATH");
	}
}

static void proc_start(struct proc *p, char *const argv[])
{
	int in[2], out[2];
	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(out), 0);
	p->len = 0;
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		close(in[1]);
		close(out[0]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	fcntl(p->out, F_SETFL, O_NONBLOCK);
}

static void proc_drain(struct proc *p)
{
	for (;;) {
		if (p->len + 1 >= sizeof p->buf)
			return;
		ssize_t n = read(p->out, p->buf + p->len,
				 sizeof p->buf - 1 - p->len);
		if (n <= 0)
			return;
		p->len += (size_t)n;
		p->buf[p->len] = 0;
	}
}

static void proc_stop(struct proc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGTERM);
	waitpid(p->pid, NULL, 0);
	if (p->in >= 0)
		close(p->in);
	close(p->out);
	p->pid = 0;
}

static bool proc_has(struct proc *p, const char *s)
{
	p->buf[p->len] = 0;
	return strstr(p->buf, s) != NULL;
}

/* Every test's start: skipped without openssl, the DRBG seeded. */
static void begin(void)
{
	need_openssl();
	seed_rng();
}

/* ---- our side ----------------------------------------------------------- */

struct side {
	struct zs_dtls d;
	bool up;
	int fd;
	struct sockaddr_in peer;
	bool have_peer;
	char log[1 << 16];
	size_t log_len;
	uint8_t secret[32];
	int err;
	uint64_t t_start, t_done;   /* us */
	/* impairment on our side of the socket, percent, seeded */
	unsigned loss, dup;
	uint64_t rng;
	unsigned dropped, duplicated;
	unsigned n_out, n_in;      /* datagrams seen each way while lossy */
};

/* Global knobs for run_client()/run_server(): loss and duplication during
 * the handshake (duplication stays on for the data). */
static unsigned g_loss, g_dup;

static bool chance(struct side *s, unsigned pct)
{
	/* xorshift64: reproducible, not for keys */
	s->rng ^= s->rng << 13;
	s->rng ^= s->rng >> 7;
	s->rng ^= s->rng << 17;
	return pct && s->rng % 100 < pct;
}

/* Whether to lose the next datagram of a direction: at random, and for
 * sure the 2nd and 4th (a handshake is only a dozen datagrams: random
 * loss alone may spare it). */
static bool lose(struct side *s, unsigned *count)
{
	if (!s->loss)
		return false;
	unsigned k = ++*count;
	return k == 2 || k == 4 || chance(s, s->loss);
}

/* Binds fd to 127.0.0.1 on a port the kernel picks; returns the port. */
static int bind_loopback(int fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t l = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

/* A port of 127.0.0.1 free for type (SOCK_DGRAM, SOCK_STREAM) just now,
 * and "127.0.0.1:port" in name for s_server's -accept. */
static int free_port(int type, char name[static 32])
{
	int fd = socket(AF_INET, type, 0);
	int port = bind_loopback(fd);
	close(fd);
	snprintf(name, 32, "127.0.0.1:%d", port);
	return port;
}

static void send_out(struct side *s)
{
	uint8_t b[1500];
	if (!s->up)
		return;
	for (;;) {
		int n = zs_dtls_output(&s->d, b, sizeof b, now_ms());
		if (n <= 0) {
			if (n < 0 && !s->err)
				s->err = n;
			return;
		}
		if (lose(s, &s->n_out)) {
			s->dropped++;
			continue;
		}
		sendto(s->fd, b, (size_t)n, 0, (struct sockaddr *)&s->peer,
		       sizeof s->peer);
	}
}

static void feed(struct side *s, uint8_t *b, size_t len)
{
	size_t off = 0;
	while (off < len) {
		uint8_t *app;
		size_t alen;
		int n = zs_dtls_input(&s->d, b + off, len - off, now_ms(), &app,
				      &alen);
		if (n < 0) {
			if (!s->err)
				s->err = n;
			return;
		}
		if (app && s->log_len + alen < sizeof s->log) {
			memcpy(s->log + s->log_len, app, alen);
			s->log_len += alen;
			s->log[s->log_len] = 0;
		}
		off += (size_t)n;
	}
}

static void on_datagram(struct side *s, const struct zs_dtls_config *scfg)
{
	uint8_t b[2048];
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	ssize_t n = recvfrom(s->fd, b, sizeof b, 0, (struct sockaddr *)&from,
			     &fl);
	if (n <= 0)
		return;
	if (lose(s, &s->n_in)) {
		s->dropped++;
		return;
	}
	if (s->up) {
		/* decryption is in place: the duplicate is copied first */
		uint8_t copy[2048];
		bool twice = chance(s, s->dup);
		if (twice)
			memcpy(copy, b, (size_t)n);
		feed(s, b, (size_t)n);
		if (twice) {
			s->duplicated++;
			feed(s, copy, (size_t)n);
		}
		return;
	}
	/* server: the stateless front door */
	uint8_t reply[128];
	size_t rlen;
	int rc = zs_dtls_cookie_answer(s->secret, sizeof s->secret,
				       (const uint8_t *)&from, sizeof from, b,
				       (size_t)n, reply, sizeof reply, &rlen);
	if (rc == 0)
		sendto(s->fd, reply, rlen, 0, (struct sockaddr *)&from, fl);
	else if (rc == 1 && zs_dtls_init(&s->d, scfg, false) == 0) {
		s->up = true;
		s->peer = from;
		s->t_start = now_us();
		feed(s, b, (size_t)n);
	}
}

/* Run the loop until cond(s, p) or ms pass. */
static bool pump(struct side *s, struct proc *p,
		 const struct zs_dtls_config *scfg,
		 bool (*cond)(struct side *, struct proc *), int ms)
{
	uint32_t end = now_ms() + (uint32_t)ms;
	while (!cond(s, p)) {
		send_out(s);
		int32_t wait = (int32_t)(end - now_ms());
		if (wait <= 0)
			return false;
		uint32_t at;
		if (s->up && zs_dtls_deadline(&s->d, &at)) {
			int32_t w = (int32_t)(at - now_ms());
			if (w < wait)
				wait = w < 0 ? 0 : w;
		}
		if (wait > 50)
			wait = 50;
		struct pollfd fds[2] = { { s->fd, POLLIN, 0 },
					 { p->out, POLLIN, 0 } };
		poll(fds, 2, wait);
		if (fds[0].revents & POLLIN)
			on_datagram(s, scfg);
		proc_drain(p);
		if (s->up && zs_dtls_state(&s->d) == ZS_DTLS_ESTABLISHED
		    && !s->t_done)
			s->t_done = now_us();
	}
	return true;
}

static bool established(struct side *s, struct proc *p)
{
	(void)p;
	return s->up && (zs_dtls_state(&s->d) == ZS_DTLS_ESTABLISHED
			 || zs_dtls_state(&s->d) == ZS_DTLS_FAILED);
}

static bool ready(struct side *s, struct proc *p)
{
	(void)s;
	return proc_has(p, "ACCEPT");
}

/* Whether text holds the last of who's ("zsock", "openssl") LINES lines. */
static bool has_last_line(const char *text, const char *who)
{
	char want[64];
	snprintf(want, sizeof want, "%s line %d end", who, LINES - 1);
	return strstr(text, want) != NULL;
}

static bool all_from_us(struct side *s, struct proc *p)
{
	(void)s;
	p->buf[p->len] = 0;
	return has_last_line(p->buf, "zsock");
}

static bool all_from_them(struct side *s, struct proc *p)
{
	(void)p;
	return has_last_line(s->log, "openssl");
}

/* Asserts each of the LINES lines arrived exactly once and intact each
 * way: ours in out (what openssl printed), openssl's in log (ours). */
static void check_lines(const char *out, const char *log)
{
	for (int i = 0; i < LINES; i++) {
		char m[80];
		snprintf(m, sizeof m, "zsock line %d end\n", i);
		const char *a = strstr(out, m);
		cr_assert_not_null(a, "line %d missing at openssl", i);
		cr_assert_null(strstr(a + 1, m), "line %d twice", i);
		snprintf(m, sizeof m, "openssl line %d end\n", i);
		a = strstr(log, m);
		cr_assert_not_null(a, "line %d missing here", i);
		cr_assert_null(strstr(a + 1, m), "line %d twice here", i);
	}
}

/* Our line i sealed by d into rec (200 bytes); the record's length or
 * zs_dtls_seal()'s error. */
static int seal_line(struct zs_dtls *d, int i, uint8_t rec[static 200])
{
	char m[80];
	int n = snprintf(m, sizeof m, "zsock line %d end\n", i);
	return zs_dtls_seal(d, m, (size_t)n, rec, 200);
}

/* openssl's line i onto p's stdin (it reads a line at a time: the
 * callers pace it). */
static void give_line(struct proc *p, int i)
{
	char m[80];
	int n = snprintf(m, sizeof m, "openssl line %d end\n", i);
	cr_assert_eq(write(p->in, m, (size_t)n), n);
}

/* LINES lines each way; each must arrive exactly once and intact. */
static void exchange(struct side *s, struct proc *p,
		     const struct zs_dtls_config *scfg)
{
	send_out(s); /* our last flight, if any, before the data */
	for (int i = 0; i < LINES; i++) {
		uint8_t rec[200];
		int r = seal_line(&s->d, i, rec);
		cr_assert_gt(r, 0);
		sendto(s->fd, rec, (size_t)r, 0, (struct sockaddr *)&s->peer,
		       sizeof s->peer);
		give_line(p, i);
		pump(s, p, scfg, all_from_them, 20);
	}
	cr_assert(pump(s, p, scfg, all_from_us, 5000),
		  "openssl did not print all our lines:\n%s", p->buf);
	cr_assert(pump(s, p, scfg, all_from_them, 5000),
		  "we did not get all of openssl's lines: %s", s->log);
	check_lines(p->buf, s->log);
}

static struct side S;
static struct proc O;

static struct dtls_pki K;

/* ---- set-up shared by the DTLS and the TLS runs ------------------------- */

/* Our server's PSK lookup: PSK_ID's key, no other identity. */
static int lookup(void *arg, const uint8_t *id, size_t id_len, uint8_t *out,
		  size_t max)
{
	(void)arg;
	if (id_len != strlen(PSK_ID) || memcmp(id, PSK_ID, id_len) != 0
	    || max < sizeof psk)
		return -1;
	memcpy(out, psk, sizeof psk);
	return (int)sizeof psk;
}

/* Whether suite is one of the ECDHE_ECDSA ones (the zt_certs PKI, no PSK). */
static bool is_ecdhe(uint16_t suite)
{
	return suite == ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8
	       || suite == ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
}

/* Our client's config: one suite (none: all), the PSK, and for ECDHE the
 * trust anchor and name of the zt_certs PKI (made and loaded here);
 * timeout_max_ms 0 in stream mode, where there is no retransmission. */
static void client_cfg(struct zs_dtls_config *cfg, const uint16_t *suite,
		       uint32_t timeout_max_ms)
{
	*cfg = (struct zs_dtls_config){
		.suites = suite, .n_suites = suite != NULL,
		.psk = psk, .psk_len = sizeof psk,
		.psk_id = (const uint8_t *)PSK_ID, .psk_id_len = strlen(PSK_ID),
		.rand = rnd, .rand_arg = &drbg,
		.timeout_min_ms = timeout_max_ms ? 200 : 0,
		.timeout_max_ms = timeout_max_ms,
	};
	if (suite && is_ecdhe(*suite)) {
		pki_load(&K);
		pki_client_cfg(cfg, &K);
	}
}

/* Our server's config: one suite (none: all), PSKs by lookup() with hint
 * if not NULL, or for ECDHE the zt_certs chain and key (made and loaded
 * here); cache may be NULL; timeout_max_ms 0 in stream mode. */
static void server_cfg(struct zs_dtls_config *cfg, const uint16_t *suite,
		       const char *hint, struct zs_dtls_cache *cache,
		       uint32_t timeout_max_ms)
{
	*cfg = (struct zs_dtls_config){
		.server = true, .suites = suite, .n_suites = suite != NULL,
		.psk_lookup = lookup, .rand = rnd, .rand_arg = &drbg,
		.cache = cache,
		.timeout_min_ms = timeout_max_ms ? 200 : 0,
		.timeout_max_ms = timeout_max_ms,
	};
	if (suite && is_ecdhe(*suite)) {
		pki_load(&K);
		pki_server_cfg(cfg, &K);
	} else if (hint) {
		cfg->psk_hint = (const uint8_t *)hint;
		cfg->psk_hint_len = strlen(hint);
	}
}

/* `openssl s_server <proto> -accept 127.0.0.1:port` for suite into argv
 * (20 slots): -psk (with -psk_hint if hint), or the zt_certs leaf, key and
 * intermediate (client_cfg() must have made them). */
static void s_server_argv(char *argv[20], const char *proto, char *accept,
			  uint16_t suite, const char *cipher, const char *hint)
{
	memset(argv, 0, 20 * sizeof *argv);
	if (is_ecdhe(suite)) {
		char *e[] = { "openssl", "s_server", (char *)proto, "-accept",
			      accept, "-cert",
			      (char *)zt_certs_path("ec_leaf.pem"), "-key",
			      (char *)zt_certs_path("ec_leaf.key"),
			      "-cert_chain",
			      (char *)zt_certs_path("ec_int.pem"), "-cipher",
			      (char *)cipher, NULL };
		memcpy(argv, e, sizeof e);
		return;
	}
	char *e[] = { "openssl", "s_server", (char *)proto, "-accept", accept,
		      "-psk", PSK_HEX, "-psk_identity", PSK_ID, "-nocert",
		      "-cipher", (char *)cipher, NULL };
	memcpy(argv, e, sizeof e);
	if (hint) {
		argv[12] = "-psk_hint";
		argv[13] = (char *)hint;
	}
}

/* `openssl s_client <proto> -connect conn -quiet` for suite into argv
 * (16 slots): -psk, or checking our chain and name against the zt_certs
 * CA and stopping if bad (server_cfg() must have made it). */
static void s_client_argv(char *argv[16], const char *proto, char *conn,
			  uint16_t suite, const char *cipher)
{
	memset(argv, 0, 16 * sizeof *argv);
	if (is_ecdhe(suite)) {
		char *e[] = { "openssl", "s_client", (char *)proto, "-connect",
			      conn, "-CAfile",
			      (char *)zt_certs_path("ec_ca.pem"),
			      "-verify_return_error", "-verify_hostname",
			      "server.test", "-cipher", (char *)cipher,
			      "-quiet", NULL };
		_Static_assert(sizeof e <= 16 * sizeof(char *), "argv holds e");
		memcpy(argv, e, sizeof e);
		return;
	}
	char *e[] = { "openssl", "s_client", (char *)proto, "-connect", conn,
		      "-psk", PSK_HEX, "-psk_identity", PSK_ID, "-cipher",
		      (char *)cipher, "-quiet", NULL };
	memcpy(argv, e, sizeof e);
}

/* The same for the resumption runs (24 slots): without -quiet, with
 * -sess_out sess_file in round 0 and -sess_in sess_file after. */
static void s_client_resume_argv(char *argv[24], const char *proto,
				 char *conn, uint16_t suite,
				 const char *cipher, int round,
				 char *sess_file)
{
	memset(argv, 0, 24 * sizeof *argv);
	char *a[] = { "openssl", "s_client", (char *)proto, "-connect", conn,
		      "-cipher", (char *)cipher,
		      round ? "-sess_in" : "-sess_out", sess_file };
	memcpy(argv, a, sizeof a);
	int n = sizeof a / sizeof a[0];
	if (is_ecdhe(suite)) {
		char *e[] = { "-CAfile", (char *)zt_certs_path("ec_ca.pem"),
			      "-verify_return_error", "-verify_hostname",
			      "server.test", NULL };
		memcpy(argv + n, e, sizeof e);
	} else {
		char *e[] = { "-psk", PSK_HEX, "-psk_identity", PSK_ID, NULL };
		memcpy(argv + n, e, sizeof e);
	}
}

/* Starts p on argv (an s_server) and waits for it to say ACCEPT. */
static void s_server_start(struct proc *p, char *const argv[])
{
	proc_start(p, argv);
	uint32_t end = now_ms() + 10000;
	while (!proc_has(p, "ACCEPT")) {
		cr_assert((int32_t)(end - now_ms()) > 0,
			  "s_server not ready:\n%s", p->buf);
		struct pollfd pf = { p->out, POLLIN, 0 };
		poll(&pf, 1, 50);
		proc_drain(p);
	}
}

/* A run against s_server <proto> ("-dtls1_2", "-tls1_2"): our client's
 * config for *suite into cfg (with g_loss, a longer timer), s_server for
 * it on a free port (with hint if not NULL), accepting; the port. */
static int s_server_up(const char *proto, struct zs_dtls_config *cfg,
		       const uint16_t *suite, const char *cipher,
		       const char *hint)
{
	bool tls = strcmp(proto, "-tls1_2") == 0;
	/* (for TLS a port free for TCP: a free UDP one is, once in a while,
	 * taken for TCP and s_server cannot bind) */
	char accept[32];
	int port = free_port(tls ? SOCK_STREAM : SOCK_DGRAM, accept);
	client_cfg(cfg, suite, tls ? 0 : g_loss ? 12800 : 3200);
	char *argv[20];
	s_server_argv(argv, proto, accept, *suite, cipher, hint);
	s_server_start(&O, argv);
	return port;
}

/* Fails the test unless d is established (ok: before the pump's time ran
 * out), with what (the step), the state, err, the alerts and out. */
static void assert_established(const struct zs_dtls *d, bool ok, int err,
			       const char *what, const char *out)
{
	cr_assert(ok && zs_dtls_state(d) == ZS_DTLS_ESTABLISHED,
		  "%s: state %d err %d alert rcvd %d sent %d\n%s", what,
		  zs_dtls_state(d), err, zs_dtls_alert_received(d),
		  zs_dtls_alert_sent(d), out);
}

/* ---- DTLS runs ---------------------------------------------------------- */

/* S as a client: fresh, a new UDP socket, the peer 127.0.0.1:port. */
static void side_client(int port)
{
	memset(&S, 0, sizeof S);
	S.fd = socket(AF_INET, SOCK_DGRAM, 0);
	S.peer.sin_family = AF_INET;
	S.peer.sin_port = htons((uint16_t)port);
	S.peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

/* S as a server: fresh, a UDP socket bound to 127.0.0.1, a new cookie
 * secret; returns the port. */
static int side_server(void)
{
	memset(&S, 0, sizeof S);
	S.fd = socket(AF_INET, SOCK_DGRAM, 0);
	int port = bind_loopback(S.fd);
	br_hmac_drbg_generate(&drbg, S.secret, sizeof S.secret);
	return port;
}

/* After a lossy handshake: what our side lost and doubled; loss off. */
static void report_loss(void)
{
	if (g_loss)
		printf("  lossy: %u datagrams dropped, %u duplicated, %u "
		       "retransmissions\n", S.dropped, S.duplicated,
		       zs_dtls_stats(&S.d)->retransmits);
	S.loss = 0;
}

/* Our DTLS client's handshake on S with cfg, offering offer if not NULL:
 * established within ms, or the test fails saying what. */
static void handshake(const struct zs_dtls_config *cfg,
		      const struct zs_dtls_session *offer, int ms,
		      const char *what)
{
	cr_assert_eq(zs_dtls_init(&S.d, cfg, false), 0);
	if (offer)
		cr_assert_eq(zs_dtls_session_set(&S.d, offer), 1);
	S.up = true;
	S.t_start = now_us();
	cr_assert_eq(zs_dtls_connect(&S.d, now_ms()), 0);
	bool ok = pump(&S, &O, NULL, established, ms);
	assert_established(&S.d, ok, S.err, what, O.buf);
}

static void run_client(uint16_t suite, const char *cipher, const char *hint)
{
	begin();
	struct zs_dtls_config cfg;
	int port = s_server_up("-dtls1_2", &cfg, &suite, cipher, hint);
	side_client(port);
	S.rng = 0x9E3779B97F4A7C15ULL;
	S.loss = g_loss;
	S.dup = g_dup;
	handshake(&cfg, NULL, 40000, "handshake");
	cr_assert_eq(zs_dtls_suite(&S.d), suite);
	report_loss();
	printf("client vs s_server %s: handshake %llu us, cookie %u bytes\n",
	       cipher, (unsigned long long)(S.t_done - S.t_start),
	       (unsigned)S.d.cookie_len);
	exchange(&S, &O, NULL);
	zs_dtls_close(&S.d);
	send_out(&S);
	proc_stop(&O);
	close(S.fd);
}

static void run_server(uint16_t suite, const char *cipher)
{
	begin();
	int port = side_server();
	S.rng = 0xD1B54A32D192ED03ULL;
	S.loss = g_loss;
	S.dup = g_dup;
	struct zs_dtls_config cfg;
	server_cfg(&cfg, &suite, "zsock hint", NULL, g_loss ? 12800 : 3200);
	char conn[32];
	snprintf(conn, sizeof conn, "127.0.0.1:%d", port);
	char *argv[16];
	s_client_argv(argv, "-dtls1_2", conn, suite, cipher);
	proc_start(&O, argv);
	bool ok = pump(&S, &O, &cfg, established, 40000);
	assert_established(&S.d, ok, S.err,
			   S.up ? "handshake" : "handshake (no association)",
			   O.buf);
	cr_assert_eq(zs_dtls_suite(&S.d), suite);
	report_loss();
	printf("server vs s_client %s: handshake %llu us (from the cookie "
	       "ClientHello)\n", cipher,
	       (unsigned long long)(S.t_done - S.t_start));
	exchange(&S, &O, &cfg);
	zs_dtls_close(&S.d);
	send_out(&S);
	proc_stop(&O);
	close(S.fd);
}

Test(dtls_openssl, client_ccm8, .timeout = 60)
{
	run_client(ZS_DTLS_PSK_WITH_AES_128_CCM_8, "PSK-AES128-CCM8", NULL);
}

Test(dtls_openssl, client_gcm, .timeout = 60)
{
	run_client(ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
		   "PSK-AES128-GCM-SHA256", NULL);
}

Test(dtls_openssl, client_ccm8_hint, .timeout = 60)
{
	run_client(ZS_DTLS_PSK_WITH_AES_128_CCM_8, "PSK-AES128-CCM8",
		   "some-hint");
}

/* 20 % of the datagrams lost each way on our side of the socket during
 * the handshake, 20 % of those we receive fed twice throughout: OpenSSL's
 * retransmissions meet ours; the data still arrives exactly once. */
Test(dtls_openssl, client_lossy_psk_ccm8, .timeout = 90)
{
	g_loss = 20;
	g_dup = 20;
	run_client(ZS_DTLS_PSK_WITH_AES_128_CCM_8, "PSK-AES128-CCM8", NULL);
}

Test(dtls_openssl, server_lossy_psk_gcm, .timeout = 90)
{
	g_loss = 20;
	g_dup = 20;
	run_server(ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
		   "PSK-AES128-GCM-SHA256");
}

Test(dtls_openssl, client_lossy_ecdhe_gcm, .timeout = 90)
{
	g_loss = 20;
	g_dup = 20;
	run_client(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		   "ECDHE-ECDSA-AES128-GCM-SHA256", NULL);
}

Test(dtls_openssl, server_lossy_ecdhe_ccm8, .timeout = 90)
{
	g_loss = 20;
	g_dup = 20;
	run_server(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
		   "ECDHE-ECDSA-AES128-CCM8");
}

Test(dtls_openssl, client_ecdhe_ccm8, .timeout = 60)
{
	run_client(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
		   "ECDHE-ECDSA-AES128-CCM8", NULL);
}

Test(dtls_openssl, client_ecdhe_gcm, .timeout = 60)
{
	run_client(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		   "ECDHE-ECDSA-AES128-GCM-SHA256", NULL);
}

Test(dtls_openssl, server_ecdhe_ccm8, .timeout = 60)
{
	run_server(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
		   "ECDHE-ECDSA-AES128-CCM8");
}

Test(dtls_openssl, server_ecdhe_gcm, .timeout = 60)
{
	run_server(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		   "ECDHE-ECDSA-AES128-GCM-SHA256");
}

Test(dtls_openssl, server_ccm8, .timeout = 60)
{
	run_server(ZS_DTLS_PSK_WITH_AES_128_CCM_8, "PSK-AES128-CCM8");
}

Test(dtls_openssl, server_gcm, .timeout = 60)
{
	run_server(ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
		   "PSK-AES128-GCM-SHA256");
}

/* ---- session resumption (RFC 5246 s7.3) --------------------------------- */

static bool reused_printed(struct side *s, struct proc *p)
{
	(void)s;
	return proc_has(p, "Reused");
}

/* The second round: S resumed, peer (s_server, s_client) said so, then
 * the lines both ways. */
static void resumed_exchange(const struct zs_dtls_config *scfg,
			     const char *peer)
{
	cr_assert(zs_dtls_resumed(&S.d), "%s did not resume:\n%s", peer,
		  O.buf);
	cr_assert(pump(&S, &O, scfg, reused_printed, 5000),
		  "%s did not say Reused:\n%s", peer, O.buf);
	exchange(&S, &O, scfg);
}

/* Our client, one s_server: a full handshake, the session exported, the
 * association closed; a second one (a new socket, a new port) offers the
 * session. OpenSSL 3 resumes it (no extended master secret on either
 * side: it asks for EMS only where the session had it) and prints
 * "Reused session-id"; lines go both ways in the resumed association. */
static void run_client_resume(uint16_t suite, const char *cipher)
{
	begin();
	struct zs_dtls_config cfg;
	int port = s_server_up("-dtls1_2", &cfg, &suite, cipher, NULL);
	if (is_ecdhe(suite))
		cfg.psk_len = 0;
	struct zs_dtls_session sess;
	for (int round = 0; round < 2; round++) {
		side_client(port);
		if (round == 1)
			O.len = 0; /* what s_server says from here on */
		handshake(&cfg, round ? &sess : NULL, 20000,
			  round ? "round 1" : "round 0");
		printf("client vs s_server %s, %s handshake: %llu us\n", cipher,
		       round ? "resumed" : "full",
		       (unsigned long long)(S.t_done - S.t_start));
		if (round == 0) {
			cr_assert_not(zs_dtls_resumed(&S.d));
			cr_assert_eq(zs_dtls_session_get(&S.d, &sess), 0,
				     "s_server gave no session ID");
			send_out(&S);
			zs_dtls_close(&S.d);
			send_out(&S);
			close(S.fd);
			/* s_server goes back to accepting */
			cr_assert(pump(&S, &O, NULL, ready, 5000),
				  "s_server:\n%s", O.buf);
			continue;
		}
		resumed_exchange(NULL, "s_server");
		struct zs_dtls_session again;
		cr_assert_eq(zs_dtls_session_get(&S.d, &again), 0);
		cr_assert_arr_eq(again.id, sess.id, 32);
		zs_dtls_close(&S.d);
		send_out(&S);
		close(S.fd);
	}
	proc_stop(&O);
}

Test(dtls_openssl, client_resume_psk_ccm8, .timeout = 60)
{
	run_client_resume(ZS_DTLS_PSK_WITH_AES_128_CCM_8, "PSK-AES128-CCM8");
}

Test(dtls_openssl, client_resume_ecdhe_gcm, .timeout = 60)
{
	run_client_resume(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
			  "ECDHE-ECDSA-AES128-GCM-SHA256");
}

/* Our server with a session cache, s_client twice: -sess_out after a full
 * handshake, -sess_in the next time; the second is the abbreviated
 * handshake on both sides (s_client prints "Reused"). */
static void run_server_resume(uint16_t suite, const char *cipher)
{
	begin();
	static struct zs_dtls_cache cache;
	zs_dtls_cache_init(&cache);
	int port = side_server();
	struct zs_dtls_config cfg;
	server_cfg(&cfg, &suite, NULL, &cache, 3200);
	char conn[32], sess_file[64];
	snprintf(conn, sizeof conn, "127.0.0.1:%d", port);
	snprintf(sess_file, sizeof sess_file, "/tmp/zsock-dtls-sess-%d.pem",
		 (int)getpid());
	for (int round = 0; round < 2; round++) {
		char *argv[24];
		s_client_resume_argv(argv, "-dtls1_2", conn, suite, cipher,
				     round, sess_file);
		S.up = false;
		S.t_done = 0;
		S.log_len = 0;
		S.log[0] = 0;
		proc_start(&O, argv);
		bool ok = pump(&S, &O, &cfg, established, 20000);
		assert_established(&S.d, ok, S.err,
				   round ? "round 1" : "round 0", O.buf);
		printf("server vs s_client %s, %s handshake: %llu us\n", cipher,
		       round ? "resumed" : "full",
		       (unsigned long long)(S.t_done - S.t_start));
		send_out(&S);
		if (round == 0) {
			cr_assert_not(zs_dtls_resumed(&S.d));
			/* s_client writes the session once the handshake is
			 * done: wait for the file before stopping it */
			for (int i = 0; i < 250 && access(sess_file, R_OK);
			     i++)
				pump(&S, &O, &cfg, ready, 20);
			cr_assert_eq(access(sess_file, R_OK), 0,
				     "no -sess_out file:\n%s", O.buf);
		} else {
			resumed_exchange(&cfg, "s_client");
		}
		zs_dtls_close(&S.d);
		send_out(&S);
		proc_stop(&O);
	}
	unlink(sess_file);
	close(S.fd);
}

Test(dtls_openssl, server_resume_psk_gcm, .timeout = 60)
{
	run_server_resume(ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
			  "PSK-AES128-GCM-SHA256");
}

Test(dtls_openssl, server_resume_ecdhe_ccm8, .timeout = 60)
{
	run_server_resume(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
			  "ECDHE-ECDSA-AES128-CCM8");
}

/* A wrong key, our side as server: the client's Finished fails to
 * authenticate, we end with bad_record_mac and s_client hears it. */
Test(dtls_openssl, server_wrong_psk, .timeout = 60)
{
	begin();
	int port = side_server();
	struct zs_dtls_config cfg;
	server_cfg(&cfg, NULL, NULL, NULL, 3200);
	char conn[32];
	snprintf(conn, sizeof conn, "127.0.0.1:%d", port);
	char *argv[] = { "openssl", "s_client", "-dtls1_2", "-connect", conn,
			 "-psk", "0102030405060708", "-psk_identity", PSK_ID,
			 "-cipher", "PSK-AES128-CCM8", NULL };
	proc_start(&O, argv);
	pump(&S, &O, &cfg, established, 10000);
	cr_assert_eq(zs_dtls_state(&S.d), ZS_DTLS_FAILED);
	send_out(&S);
	cr_assert_eq(zs_dtls_alert_sent(&S.d), ZS_ALERT_BAD_RECORD_MAC);
	for (int i = 0; i < 100 && !proc_has(&O, "alert"); i++) {
		usleep(20000);
		proc_drain(&O);
	}
	cr_assert(proc_has(&O, "bad record mac"), "s_client said:\n%s", O.buf);
	proc_stop(&O);
	close(S.fd);
}

/* A wrong key, our side as client: OpenSSL drops the Finished it cannot
 * authenticate (RFC 6347 s4.1.2.7) and says nothing, so we end on the
 * retransmission timer (200 ms doubling to 3200: about 6 s). */
Test(dtls_openssl, client_wrong_psk, .timeout = 60)
{
	begin();
	char accept[32];
	int port = free_port(SOCK_DGRAM, accept);
	char *argv[] = { "openssl", "s_server", "-dtls1_2", "-accept", accept,
			 "-psk", "0102030405060708", "-psk_identity", PSK_ID,
			 "-nocert", "-cipher", "PSK-AES128-CCM8", NULL };
	side_client(port);
	s_server_start(&O, argv);
	struct zs_dtls_config cfg;
	client_cfg(&cfg, NULL, 3200);
	cr_assert_eq(zs_dtls_init(&S.d, &cfg, false), 0);
	S.up = true;
	cr_assert_eq(zs_dtls_connect(&S.d, now_ms()), 0);
	pump(&S, &O, NULL, established, 15000);
	cr_assert_eq(zs_dtls_state(&S.d), ZS_DTLS_FAILED);
	int e = zs_dtls_error(&S.d);
	cr_assert(e == -ETIMEDOUT || e == -ECONNRESET, "error %d", e);
	printf("client with a wrong PSK vs s_server: error %d, alert %d\n", e,
	       zs_dtls_alert_received(&S.d));
	proc_stop(&O);
	close(S.fd);
}

/* ---- TLS 1.2 over TCP: the same core in stream mode --------------------- */

struct tside {
	struct zs_dtls d;
	int fd;
	uint8_t in[1 << 16];
	size_t in_len;
	char log[1 << 16];
	size_t log_len;
	int err;
	uint64_t t_start, t_done;
};

static struct tside T;

static void t_out(struct tside *t)
{
	uint8_t b[4096];
	for (;;) {
		int n = zs_dtls_output(&t->d, b, sizeof b, now_ms());
		if (n <= 0) {
			if (n < 0 && !t->err)
				t->err = n;
			return;
		}
		cr_assert_eq(send(t->fd, b, (size_t)n, MSG_NOSIGNAL), n);
	}
}

static void t_in(struct tside *t)
{
	ssize_t r = recv(t->fd, t->in + t->in_len, sizeof t->in - t->in_len,
			 MSG_DONTWAIT);
	if (r <= 0)
		return;
	t->in_len += (size_t)r;
	size_t off = 0;
	for (;;) {
		uint8_t *app;
		size_t alen;
		int n = zs_dtls_input(&t->d, t->in + off, t->in_len - off,
				      now_ms(), &app, &alen);
		if (n < 0 && !t->err)
			t->err = n;
		if (n <= 0)
			break;
		if (app && t->log_len + alen < sizeof t->log) {
			memcpy(t->log + t->log_len, app, alen);
			t->log_len += alen;
			t->log[t->log_len] = 0;
		}
		off += (size_t)n;
	}
	memmove(t->in, t->in + off, t->in_len - off);
	t->in_len -= off;
}

static bool t_pump(struct tside *t, struct proc *p,
		   bool (*cond)(struct tside *, struct proc *), int ms)
{
	uint32_t end = now_ms() + (uint32_t)ms;
	while (!cond(t, p)) {
		if (t->fd >= 0)
			t_out(t);
		if ((int32_t)(end - now_ms()) <= 0)
			return false;
		struct pollfd fds[2] = { { t->fd, POLLIN, 0 },
					 { p->out, POLLIN, 0 } };
		poll(fds, 2, 20);
		if (t->fd >= 0 && (fds[0].revents & POLLIN))
			t_in(t);
		proc_drain(p);
		if (zs_dtls_state(&t->d) == ZS_DTLS_ESTABLISHED && !t->t_done)
			t->t_done = now_us();
	}
	return true;
}

static bool t_ready(struct tside *t, struct proc *p)
{
	(void)t;
	return proc_has(p, "ACCEPT");
}

static bool t_established(struct tside *t, struct proc *p)
{
	(void)p;
	return zs_dtls_state(&t->d) == ZS_DTLS_ESTABLISHED
	       || zs_dtls_state(&t->d) == ZS_DTLS_FAILED || t->err;
}

static bool t_all_from_us(struct tside *t, struct proc *p)
{
	(void)t;
	p->buf[p->len] = 0;
	return has_last_line(p->buf, "zsock");
}

static bool t_all_from_them(struct tside *t, struct proc *p)
{
	(void)p;
	return has_last_line(t->log, "openssl");
}

static void t_exchange(struct tside *t, struct proc *p)
{
	t_out(t); /* our last flight, if any, before the data */
	for (int i = 0; i < LINES; i++) {
		uint8_t rec[200];
		int r = seal_line(&t->d, i, rec);
		cr_assert_gt(r, 0, "seal %d: state %d err %d alerts %d/%d\n%s",
			     r, zs_dtls_state(&t->d), t->err,
			     zs_dtls_alert_sent(&t->d),
			     zs_dtls_alert_received(&t->d), p->buf);
		cr_assert_eq(send(t->fd, rec, (size_t)r, MSG_NOSIGNAL), r);
		give_line(p, i);
		t_pump(t, p, t_all_from_them, 20);
	}
	cr_assert(t_pump(t, p, t_all_from_us, 5000),
		  "openssl did not print all our lines:\n%s", p->buf);
	cr_assert(t_pump(t, p, t_all_from_them, 5000),
		  "we did not get all of openssl's lines: %s", t->log);
	check_lines(p->buf, t->log);
}

/* T.fd: a new TCP socket connected to 127.0.0.1:port. */
static void t_connect(int port)
{
	T.fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(connect(T.fd, (struct sockaddr *)&a, sizeof a), 0);
}

/* A TCP socket listening on 127.0.0.1 (backlog); its port into *port. */
static int t_listen(int backlog, int *port)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	*port = bind_loopback(lfd);
	cr_assert_eq(listen(lfd, backlog), 0);
	return lfd;
}

/* T.fd: the connection s_client makes to lfd, within 10 s. */
static void t_accept(int lfd)
{
	struct pollfd pf = { lfd, POLLIN, 0 };
	cr_assert_eq(poll(&pf, 1, 10000), 1, "s_client did not connect");
	T.fd = accept(lfd, NULL, NULL);
	cr_assert_geq(T.fd, 0);
}

/* T's handshake on T.fd with cfg (our client's offering offer if not
 * NULL): established within 10 s, or the test fails saying what. */
static void t_handshake(const struct zs_dtls_config *cfg,
			const struct zs_dtls_session *offer, const char *what)
{
	cr_assert_eq(zs_dtls_init(&T.d, cfg, true), 0);
	if (offer)
		cr_assert_eq(zs_dtls_session_set(&T.d, offer), 1);
	T.t_start = now_us();
	if (!cfg->server)
		cr_assert_eq(zs_dtls_connect(&T.d, now_ms()), 0);
	bool ok = t_pump(&T, &O, t_established, 10000);
	assert_established(&T.d, ok, T.err, what, O.buf);
}

static void run_tcp_client(uint16_t suite, const char *cipher)
{
	begin();
	struct zs_dtls_config cfg;
	int port = s_server_up("-tls1_2", &cfg, &suite, cipher, NULL);
	memset(&T, 0, sizeof T);
	t_connect(port);
	t_handshake(&cfg, NULL, "handshake");
	printf("TLS client vs s_server %s: handshake %llu us\n", cipher,
	       (unsigned long long)(T.t_done - T.t_start));
	t_exchange(&T, &O);
	zs_dtls_close(&T.d);
	t_out(&T);
	proc_stop(&O);
	close(T.fd);
}

static void run_tcp_server(uint16_t suite, const char *cipher)
{
	begin();
	int port;
	int lfd = t_listen(1, &port);
	char conn[32];
	snprintf(conn, sizeof conn, "127.0.0.1:%d", port);
	struct zs_dtls_config cfg;
	server_cfg(&cfg, &suite, "zsock hint", NULL, 0);
	char *argv[16];
	s_client_argv(argv, "-tls1_2", conn, suite, cipher);
	memset(&T, 0, sizeof T);
	proc_start(&O, argv);
	t_accept(lfd);
	close(lfd);
	t_handshake(&cfg, NULL, "handshake");
	cr_assert_eq(zs_dtls_suite(&T.d), suite);
	printf("TLS server vs s_client %s: handshake %llu us (from accept)\n",
	       cipher, (unsigned long long)(T.t_done - T.t_start));
	t_exchange(&T, &O);
	zs_dtls_close(&T.d);
	t_out(&T);
	proc_stop(&O);
	close(T.fd);
}

static bool t_reused(struct tside *t, struct proc *p)
{
	(void)t;
	return proc_has(p, "Reused");
}

/* resumed_exchange() in stream mode, for T. */
static void t_resumed_exchange(const char *peer)
{
	cr_assert(zs_dtls_resumed(&T.d), "%s did not resume:\n%s", peer,
		  O.buf);
	cr_assert(t_pump(&T, &O, t_reused, 5000),
		  "%s did not say Reused:\n%s", peer, O.buf);
	t_exchange(&T, &O);
}

/* Stream mode: our TLS client, s_server -tls1_2, two TCP connections,
 * the second offering the first's session (by ID: we send no
 * session_ticket extension, so OpenSSL keeps it in its cache). */
static void run_tcp_client_resume(uint16_t suite, const char *cipher)
{
	begin();
	struct zs_dtls_config cfg;
	int port = s_server_up("-tls1_2", &cfg, &suite, cipher, NULL);
	struct zs_dtls_session sess;
	for (int round = 0; round < 2; round++) {
		memset(&T, 0, sizeof T);
		t_connect(port);
		if (round == 1)
			O.len = 0;
		t_handshake(&cfg, round ? &sess : NULL,
			    round ? "round 1" : "round 0");
		printf("TLS client vs s_server %s, %s handshake: %llu us\n",
		       cipher, round ? "resumed" : "full",
		       (unsigned long long)(T.t_done - T.t_start));
		if (round == 0) {
			cr_assert_not(zs_dtls_resumed(&T.d));
			cr_assert_eq(zs_dtls_session_get(&T.d, &sess), 0);
			cr_assert(sess.flags & ZS_DTLS_SESSION_STREAM);
		} else {
			t_resumed_exchange("s_server");
		}
		zs_dtls_close(&T.d);
		t_out(&T);
		close(T.fd);
		T.fd = -1;
		if (round == 0)
			cr_assert(t_pump(&T, &O, t_ready, 5000), "s_server:\n%s",
				  O.buf);
	}
	proc_stop(&O);
}

/* Stream mode, our TLS server with a cache: s_client -tls1_2 -sess_out,
 * then -sess_in on a new TCP connection. */
static void run_tcp_server_resume(uint16_t suite, const char *cipher)
{
	begin();
	static struct zs_dtls_cache cache;
	zs_dtls_cache_init(&cache);
	int port;
	int lfd = t_listen(2, &port);
	char conn[32], sess_file[64];
	snprintf(conn, sizeof conn, "127.0.0.1:%d", port);
	snprintf(sess_file, sizeof sess_file, "/tmp/zsock-tls-sess-%d.pem",
		 (int)getpid());
	struct zs_dtls_config cfg;
	server_cfg(&cfg, &suite, NULL, &cache, 0);
	for (int round = 0; round < 2; round++) {
		char *argv[24];
		s_client_resume_argv(argv, "-tls1_2", conn, suite, cipher,
				     round, sess_file);
		memset(&T, 0, sizeof T);
		proc_start(&O, argv);
		t_accept(lfd);
		t_handshake(&cfg, NULL, round ? "round 1" : "round 0");
		printf("TLS server vs s_client %s, %s handshake: %llu us\n",
		       cipher, round ? "resumed" : "full",
		       (unsigned long long)(T.t_done - T.t_start));
		t_out(&T);
		if (round == 0) {
			cr_assert_not(zs_dtls_resumed(&T.d));
			for (int i = 0; i < 250 && access(sess_file, R_OK); i++)
				t_pump(&T, &O, t_ready, 20);
			cr_assert_eq(access(sess_file, R_OK), 0,
				     "no -sess_out file:\n%s", O.buf);
		} else {
			t_resumed_exchange("s_client");
		}
		zs_dtls_close(&T.d);
		t_out(&T);
		proc_stop(&O);
		close(T.fd);
	}
	unlink(sess_file);
	close(lfd);
}

Test(dtls_openssl, tls_server_resume_psk_ccm8, .timeout = 60)
{
	run_tcp_server_resume(ZS_DTLS_PSK_WITH_AES_128_CCM_8,
			      "PSK-AES128-CCM8");
}

Test(dtls_openssl, tls_client_resume_psk_gcm, .timeout = 60)
{
	run_tcp_client_resume(ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
			      "PSK-AES128-GCM-SHA256");
}

Test(dtls_openssl, tls_client_psk_ccm8, .timeout = 60)
{
	run_tcp_client(ZS_DTLS_PSK_WITH_AES_128_CCM_8, "PSK-AES128-CCM8");
}

Test(dtls_openssl, tls_client_psk_gcm, .timeout = 60)
{
	run_tcp_client(ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
		       "PSK-AES128-GCM-SHA256");
}

Test(dtls_openssl, tls_server_psk_ccm8, .timeout = 60)
{
	run_tcp_server(ZS_DTLS_PSK_WITH_AES_128_CCM_8, "PSK-AES128-CCM8");
}

Test(dtls_openssl, tls_server_psk_gcm, .timeout = 60)
{
	run_tcp_server(ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256,
		       "PSK-AES128-GCM-SHA256");
}

Test(dtls_openssl, tls_client_ecdhe_gcm, .timeout = 60)
{
	run_tcp_client(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		       "ECDHE-ECDSA-AES128-GCM-SHA256");
}

Test(dtls_openssl, tls_server_ecdhe_ccm8, .timeout = 60)
{
	run_tcp_server(ZS_DTLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
		       "ECDHE-ECDSA-AES128-CCM8");
}

/* ---- ALPN (RFC 7301) ---------------------------------------------------- */

/* Waits up to ms for s in p's output. */
static bool proc_wait_for(struct proc *p, const char *s, int ms)
{
	uint32_t end = now_ms() + (uint32_t)ms;
	while (!proc_has(p, s) && (int32_t)(end - now_ms()) > 0) {
		struct pollfd pf = { p->out, POLLIN, 0 };
		poll(&pf, 1, 50);
		proc_drain(p);
	}
	return proc_has(p, s);
}

/* Our client offers bar, foo to `s_server -dtls1_2 -alpn foo`. */
Test(dtls_openssl, alpn_client, .timeout = 60)
{
	static const char *const offer[] = { "bar", "foo" };
	uint16_t suite = ZS_DTLS_PSK_WITH_AES_128_CCM_8;
	begin();
	char accept[32];
	int port = free_port(SOCK_DGRAM, accept);
	struct zs_dtls_config cfg;
	client_cfg(&cfg, &suite, 3200);
	cfg.alpn = offer;
	cfg.n_alpn = 2;
	char *argv[20];
	s_server_argv(argv, "-dtls1_2", accept, suite, "PSK-AES128-CCM8",
		      NULL);
	argv[12] = "-alpn";
	argv[13] = "foo";
	s_server_start(&O, argv);
	side_client(port);
	handshake(&cfg, NULL, 20000, "handshake");
	cr_assert_eq(zs_dtls_alpn(&S.d), offer[1], "ALPN %s",
		     zs_dtls_alpn(&S.d) ? zs_dtls_alpn(&S.d) : "(none)");
	cr_assert(proc_wait_for(&O, "bar, foo", 5000),
		  "s_server did not see our list:\n%s", O.buf);
	exchange(&S, &O, NULL);
	zs_dtls_close(&S.d);
	send_out(&S);
	proc_stop(&O);
	close(S.fd);
}

/* Our server (foo) against `s_client -dtls1_2 -alpn bar,foo`: "ALPN
 * protocol: foo" in its output; then a list in common with nothing:
 * no_application_protocol, which s_client reports. */
Test(dtls_openssl, alpn_server, .timeout = 60)
{
	static const char *const ours[] = { "foo" }, *const none[] = { "baz" };
	uint16_t suite = ZS_DTLS_PSK_WITH_AES_128_GCM_SHA256;
	begin();
	for (int round = 0; round < 2; round++) {
		int port = side_server();
		struct zs_dtls_config cfg;
		server_cfg(&cfg, &suite, NULL, NULL, 3200);
		cfg.alpn = round ? none : ours;
		cfg.n_alpn = 1;
		char conn[32];
		snprintf(conn, sizeof conn, "127.0.0.1:%d", port);
		char *argv[] = { "openssl", "s_client", "-dtls1_2", "-connect",
				 conn, "-psk", PSK_HEX, "-psk_identity", PSK_ID,
				 "-cipher", "PSK-AES128-GCM-SHA256", "-alpn",
				 "bar,foo", NULL };
		proc_start(&O, argv);
		bool ok = pump(&S, &O, &cfg, established, 20000);
		if (round == 0) {
			assert_established(&S.d, ok, S.err, "handshake", O.buf);
			cr_assert_eq(zs_dtls_alpn(&S.d), ours[0]);
			send_out(&S);   /* our Finished */
			/* its stdout is a pipe, flushed when it ends: on
			 * the EOF of its stdin */
			close(O.in);
			O.in = -1;
			cr_assert(proc_wait_for(&O, "ALPN protocol: foo", 5000),
				  "s_client:\n%s", O.buf);
		} else {
			cr_assert(ok);
			cr_assert_eq(zs_dtls_state(&S.d), ZS_DTLS_FAILED);
			cr_assert_eq(zs_dtls_error(&S.d), -ECONNABORTED);
			send_out(&S);   /* the alert */
			cr_assert_eq(zs_dtls_alert_sent(&S.d),
				     ZS_ALERT_NO_APPLICATION_PROTOCOL);
			close(O.in);
			O.in = -1;
			cr_assert(proc_wait_for(&O, "no application protocol",
						5000),
				  "s_client:\n%s", O.buf);
		}
		proc_stop(&O);
		close(S.fd);
	}
}
