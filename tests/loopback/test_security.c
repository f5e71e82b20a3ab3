/*
 * Security defaults over loopback (docs/security.md, issue 9 item 6):
 *
 *   clienthello_flood_blocking     K clients that connect to a TLS listener
 *                  and send nothing, and one that sends half a ClientHello
 *                  and waits, queued before a good client: a blocking
 *                  accept() loop never sees their failures, drops each at
 *                  the handshake deadline, and returns the good client's
 *                  fd within (K + 1) x deadline (+ margin); every session,
 *                  socket and lwIP buffer is back afterwards
 *   clienthello_flood_nonblocking  the same clients accepted by a
 *                  non-blocking listener: each holds a session until the
 *                  deadline, then poll() reports POLLERR and SO_ERROR
 *                  ETIMEDOUT; closing gives the sessions back and a good
 *                  client is served with the same listener
 *   explicit_sndtimeo              a listener with its own SO_SNDTIMEO keeps
 *                  the documented meaning: accept() fails with ETIMEDOUT
 *   client_verifies_by_default     a client with a CA that did not sign the
 *                  server's certificate and no TLS_PEER_VERIFY set: the
 *                  handshake fails with ECONNABORTED (X.509 "not trusted")
 *   no_credentials_leave           with ZSOCK_PCAP mirroring the loopback
 *                  interface and the process's stdout/stderr sent to a
 *                  file, a handshake and data with a known private key and
 *                  a PSK credential registered: neither the key (its DER,
 *                  its scalar) nor the PSK appears in the capture or the
 *                  output, while the certificate (public) does appear in
 *                  the capture (the search works)
 *
 * The deadline is shortened for these tests with
 * zs_tls_handshake_timeout_set() (tls_bearssl/tls.h); the build default is
 * CONFIG_ZSOCK_TLS_HANDSHAKE_TIMEOUT_MS.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zsock/engine.h>
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>
#include <zsock/zsock_config.h>

#include "zt.h"
#include "zt_certs.h"
#include "zt_tls.h"

#if CONFIG_ZSOCK_TLS
#include "tls_bearssl/tls.h"

#define TAG_CA 1
#define TAG_SRV 10
#define TAG_OTHER_CA 2
#define TAG_PSK 20
#define SERVER_NAME "server.test"

/* the deadline the flood tests use, ms: short, but long enough for a good
 * client's whole handshake in a TSan build on a loaded machine */
#define DEADLINE_MS 1000
/* stalled clients queued before the good one (4 silent, 1 half ClientHello) */
#define SILENT 4
#define STALLED (SILENT + 1)

static void creds(void)
{
	if (!zt_certs_have_openssl())
		cr_skip_test("the openssl CLI is missing");
	zt_certs_make();
	zt_certs_add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "ec_ca.der");
	zt_certs_add(TAG_OTHER_CA, TLS_CREDENTIAL_CA_CERTIFICATE, "rsa_ca.der");
	zt_certs_add(TAG_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, "ec_leaf_chain.der");
	zt_certs_add(TAG_SRV, TLS_CREDENTIAL_PRIVATE_KEY, "ec_leaf.key.der");
}

static void creds_drop(void)
{
	cr_assert_eq(tls_credential_delete(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_OTHER_CA, TLS_CREDENTIAL_CA_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_SRV, TLS_CREDENTIAL_PUBLIC_CERTIFICATE), 0);
	cr_assert_eq(tls_credential_delete(TAG_SRV, TLS_CREDENTIAL_PRIVATE_KEY), 0);
}

static void set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)), 0,
		     "setsockopt(%d): errno %d", opt, errno);
}

static void set_tag(int fd, sec_tag_t tag)
{
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof(tag)), 0,
		     "TLS_SEC_TAG_LIST: errno %d", errno);
}

/* A TLS listener on 127.0.0.1 with no SO_SNDTIMEO (the default deadline). */
static int listener(bool nonblock, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

	cr_assert_geq(fd, 0, "TLS socket: errno %d (%s)", errno, strerror(errno));
	set_tag(fd, TAG_SRV);
	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0);
	cr_assert_eq(zsock_listen(fd, STALLED + 3), 0);
	if (nonblock)
		cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	*port = zt_local_port(fd);
	return fd;
}

/* A TLS client that trusts ca; its own handshake is bounded (15 s). */
static int client(sec_tag_t ca)
{
	int fd = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);

	cr_assert_geq(fd, 0, "TLS socket: errno %d (%s)", errno, strerror(errno));
	set_tag(fd, ca);
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_HOSTNAME, SERVER_NAME, sizeof(SERVER_NAME)),
		     0);
	set_timeo(fd, SO_SNDTIMEO, 15000);
	set_timeo(fd, SO_RCVTIMEO, 15000);
	return fd;
}

/*
 * The stalled clients: plain TCP sockets that connect to the TLS listener;
 * SILENT of them send nothing, the last sends the first 15 bytes of a
 * ClientHello whose record announces 200 and then waits.
 */
static void stall_clients(uint16_t port, int fds[STALLED])
{
	static const uint8_t half_hello[] = {
		0x16, 0x03, 0x01, 0x00, 0xc8,   /* handshake record, 200 bytes */
		0x01, 0x00, 0x00, 0xc4,         /* ClientHello, 196 bytes */
		0x03, 0x03,                     /* TLS 1.2 */
		0x5a, 0x5a, 0x5a, 0x5a,         /* the start of the random */
	};

	for (int i = 0; i < STALLED; i++)
		fds[i] = zt_connect(AF_INET, port);
	cr_assert_eq(zsock_send(fds[SILENT], half_hello, sizeof(half_hello), 0),
		     (ssize_t)sizeof(half_hello));
}

/* Each stalled client sees the server close its connection (FIN or reset). */
static void stalled_were_dropped(const int fds[STALLED])
{
	for (int i = 0; i < STALLED; i++) {
		char b;
		ssize_t n;

		set_timeo(fds[i], SO_RCVTIMEO, 10000);
		n = zsock_recv(fds[i], &b, 1, 0);
		cr_assert(n == 0 || (n < 0 && (errno == ECONNRESET || errno == ECONNABORTED)),
			  "stalled client %d: recv %zd errno %d (%s), want the server's close", i, n,
			  errno, strerror(errno));
	}
}

struct lwip_base {
	uint32_t mem, pbufs;
};

static void lwip_take(struct lwip_base *b)
{
	struct zsock_engine_stats st;

	zt_stats(&st);
	b->mem = st.lwip_mem_used;
	b->pbufs = st.lwip_pbuf_in_use;
}

static void lwip_back(const struct lwip_base *b)
{
	struct zsock_engine_stats st;
	int64_t end = zt_now_ms() + 5000;

	for (;;) {
		zt_stats(&st);
		if (st.lwip_mem_used == b->mem && st.lwip_pbuf_in_use == b->pbufs)
			return;
		cr_assert_lt(zt_now_ms(), end, "lwIP not back: heap %u bytes (before %u), pbufs %u (before %u)",
			     st.lwip_mem_used, b->mem, st.lwip_pbuf_in_use, b->pbufs);
		zt_sleep_ms(20);
	}
}

static void ping(int a, int b)
{
	char buf[4];

	cr_assert_eq(zsock_send(a, "ping", 4, 0), 4, "send: errno %d", errno);
	cr_assert_eq(zsock_recv(b, buf, 4, ZSOCK_MSG_WAITALL), 4, "recv: errno %d", errno);
	cr_assert_arr_eq(buf, "ping", 4);
	cr_assert_eq(zsock_send(b, "pong", 4, 0), 4, "send: errno %d", errno);
	cr_assert_eq(zsock_recv(a, buf, 4, ZSOCK_MSG_WAITALL), 4, "recv: errno %d", errno);
	cr_assert_arr_eq(buf, "pong", 4);
}

/* ---- a blocking accept loop ------------------------------------------------------ */

/*
 * A server's accept loop, as an application writes it: accept, and on an
 * error note it and go on. Ends with the first fd accept() returns (or
 * after 100 errors). No asserts (thread).
 */
struct acc_loop {
	int lfd;
	int fd;             /* the fd accept() returned, -1 */
	uint16_t peer_port; /* its peer's port */
	int errors;         /* failed accept() calls */
	int first_err;
	int64_t t_done;     /* zt_now_ms() when it returned */
};

static void *acc_loop_main(void *arg)
{
	struct acc_loop *a = arg;

	a->fd = -1;
	while (a->errors < 100) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = zsock_accept(a->lfd, (struct sockaddr *)&ss, &len);

		if (fd >= 0) {
			a->fd = fd;
			a->peer_port = zt_port_of(&ss);
			break;
		}
		if (a->errors++ == 0)
			a->first_err = errno;
	}
	a->t_done = zt_now_ms();
	return NULL;
}

/* A TLS client's blocking connect in a thread. No asserts (thread). */
struct cli {
	int fd, rc, err;
	uint16_t port;
};

static void *cli_main(void *arg)
{
	struct cli *k = arg;
	struct sockaddr_storage ss;
	socklen_t l = zt_loopback(AF_INET, k->port, &ss);

	k->rc = zsock_connect(k->fd, (struct sockaddr *)&ss, l);
	k->err = k->rc < 0 ? errno : 0;
	return NULL;
}

/*
 * Poll a TLS fd accepted from a non-blocking listener, in 100 ms slices (a
 * stalled handshake is found past its deadline when the fd is polled
 * again), until its handshake ends. Returns the revents that ended it.
 */
static short hs_end(int fd, int wait_ms)
{
	int64_t end = zt_now_ms() + wait_ms;
	short ev;

	do {
		ev = zt_poll1(fd, ZSOCK_POLLOUT, 100);
		if (ev & (ZSOCK_POLLOUT | ZSOCK_POLLERR))
			return ev;
	} while (zt_now_ms() < end);
	return ev;
}
#endif

ZT_TEST(security, clienthello_flood_blocking, .timeout = 40)
{
#if CONFIG_ZSOCK_TLS && CONFIG_ZSOCK_TLS_SESSIONS >= 2
	struct acc_loop a = { 0 };
	struct zsock_engine_stats st;
	struct lwip_base base;
	struct sockaddr_storage ss;
	socklen_t len;
	int stalled[STALLED], lfd, cfd, rc, err;
	int64_t t0, took;
	uint16_t port;
	pthread_t t;

	creds();
	zs_tls_handshake_timeout_set(DEADLINE_MS);
	lwip_take(&base);
	lfd = listener(false, &port);
	a.lfd = lfd;
	t = zt_spawn(acc_loop_main, &a);
	stall_clients(port, stalled);

	/* the good client, queued behind the stalled ones */
	cfd = client(TAG_CA);
	len = zt_loopback(AF_INET, port, &ss);
	t0 = zt_now_ms();
	rc = zsock_connect(cfd, (struct sockaddr *)&ss, len);
	err = rc < 0 ? errno : 0;
	cr_assert(zt_join(t, 15000), "the accept loop never returned (connect %d, errno %d)", rc,
		  err);
	took = a.t_done - t0;
	cr_log_info("%d stalled clients ahead, deadline %d ms: the good client was accepted after "
		    "%lld ms", STALLED, DEADLINE_MS, (long long)took);
	cr_assert_eq(rc, 0, "the good client's handshake: errno %d (%s)", err, strerror(err));
	cr_assert_geq(a.fd, 0, "the accept loop got no fd");
	cr_assert_eq(a.errors, 0, "accept() returned %d failures to the application (first errno %d, %s)",
		     a.errors, a.first_err, strerror(a.first_err));
	cr_assert_eq(a.peer_port, zt_local_port(cfd), "accept() returned another client (port %u)",
		     a.peer_port);
	/* a bound, not a benchmark: each stalled client costs one deadline */
	cr_assert_lt(took, (int64_t)STALLED * DEADLINE_MS + 5000, "accepted after %lld ms",
		     (long long)took);
	cr_assert_geq(took, (int64_t)(STALLED - 1) * DEADLINE_MS,
		      "accepted after %lld ms: the stalled clients were not served first",
		      (long long)took);
	/* one stalled handshake at a time: never more than its session and the
	 * good client's two */
	zt_stats(&st);
	cr_log_info("TLS sessions at most %u at once", st.tls_sessions_high_water);
	cr_assert_leq(st.tls_sessions_high_water, 3, "sessions high water %u",
		      st.tls_sessions_high_water);
	ping(cfd, a.fd);
	stalled_were_dropped(stalled);

	for (int i = 0; i < STALLED; i++)
		zt_close(stalled[i]);
	zt_close(cfd);
	zt_close(a.fd);
	zt_close(lfd);
	zt_tls_idle(5000);
	creds_drop();
	lwip_back(&base);
#else
	cr_skip_test("no TLS");
#endif
}

ZT_TEST(security, clienthello_flood_nonblocking, .timeout = 40)
{
#if CONFIG_ZSOCK_TLS && CONFIG_ZSOCK_TLS_SESSIONS >= 2
	enum { N = CONFIG_ZSOCK_TLS_SESSIONS < STALLED ? CONFIG_ZSOCK_TLS_SESSIONS : STALLED };
	struct zsock_pollfd p[N];
	struct zsock_engine_stats st;
	struct lwip_base base;
	int stalled[STALLED], acc[N], lfd, failed = 0;
	int64_t t0, end;
	uint16_t port;

	creds();
	zs_tls_handshake_timeout_set(DEADLINE_MS);
	lwip_take(&base);
	lfd = listener(true, &port);
	stall_clients(port, stalled);
	/* accept N of them (the half ClientHello among them): every session */
	t0 = zt_now_ms();
	for (int i = 0; i < N; i++) {
		cr_assert(zt_poll1(lfd, ZSOCK_POLLIN, 5000) & ZSOCK_POLLIN, "no connection to accept");
		acc[i] = zsock_accept(lfd, NULL, NULL);
		cr_assert_geq(acc[i], 0, "non-blocking accept: errno %d (%s)", errno, strerror(errno));
		p[i] = (struct zsock_pollfd){ .fd = acc[i], .events = ZSOCK_POLLIN | ZSOCK_POLLOUT };
	}
	zt_stats(&st);
	cr_assert_eq(st.tls_sessions_in_use, N, "%u sessions held by %d stalled handshakes",
		     st.tls_sessions_in_use, N);
	/* before the deadline: nothing to report */
	cr_assert_eq(zsock_poll(p, N, 0), 0, "a stalled handshake reported 0x%x at once", p[0].revents);

	/* the application polls (here every 100 ms): each fails at the deadline */
	end = t0 + DEADLINE_MS + 5000;
	while (failed < N) {
		int n = zsock_poll(p, N, 100);

		cr_assert_geq(n, 0, "poll: errno %d", errno);
		for (int i = 0; i < N; i++) {
			int soerr = 0;
			socklen_t olen = sizeof(soerr);

			if (p[i].fd < 0 || !(p[i].revents & ZSOCK_POLLERR))
				continue;
			cr_assert_geq(zt_now_ms() - t0, DEADLINE_MS - 50,
				      "handshake %d failed after %lld ms, before the deadline", i,
				      (long long)(zt_now_ms() - t0));
			cr_assert_eq(zsock_getsockopt(p[i].fd, SOL_SOCKET, SO_ERROR, &soerr, &olen), 0);
			cr_assert_eq(soerr, ETIMEDOUT, "SO_ERROR %d (%s), want ETIMEDOUT", soerr,
				     strerror(soerr));
			zt_close(p[i].fd);
			p[i].fd = -1;
			failed++;
		}
		cr_assert_lt(zt_now_ms(), end, "%d of %d stalled handshakes still held after %lld ms",
			     N - failed, N, (long long)(zt_now_ms() - t0));
	}
	cr_log_info("%d stalled handshakes on a non-blocking listener failed with ETIMEDOUT within "
		    "%lld ms (deadline %d ms)", N, (long long)(zt_now_ms() - t0), DEADLINE_MS);
	/* closed: their sessions are back, the listener is the one TLS socket */
	zt_stats(&st);
	cr_assert_eq(st.tls_sessions_in_use, 0, "%u sessions still held", st.tls_sessions_in_use);
	cr_assert_eq(st.tls_in_use, 1, "%u TLS sockets", st.tls_in_use);

	/* the same listener serves a good client: the TLS client in blocking
	 * mode in this thread would wait for the server, so drive the server
	 * side non-blocking from here and the client from a thread. The
	 * stalled clients leave first (the one still queued fails at once),
	 * and the good one gets a generous deadline (a slow build) */
	for (int i = 0; i < STALLED; i++)
		zt_close(stalled[i]);
	zs_tls_handshake_timeout_set(10000);
	{
		struct cli c = { .fd = client(TAG_CA), .port = port };
		int sfd = -1;
		short ev;
		pthread_t t;

		t = zt_spawn(cli_main, &c);
		/* the stalled clients not accepted yet come first; skip them */
		end = zt_now_ms() + 20000;
		while (sfd < 0) {
			int fd;

			cr_assert_lt(zt_now_ms(), end, "the good client never came");
			if (!(zt_poll1(lfd, ZSOCK_POLLIN, 200) & ZSOCK_POLLIN))
				continue;
			fd = zsock_accept(lfd, NULL, NULL);
			cr_assert_geq(fd, 0, "accept: errno %d", errno);
			ev = hs_end(fd, 12000);
			if (ev & ZSOCK_POLLERR) {
				zt_close(fd); /* a stalled one that left */
				continue;
			}
			cr_assert(ev & ZSOCK_POLLOUT, "revents 0x%x", ev);
			sfd = fd;
		}
		cr_assert(zt_join(t, 20000), "the good client's connect hangs");
		cr_assert_eq(c.rc, 0, "the good client: errno %d (%s)", c.err, strerror(c.err));
		cr_assert_eq(zsock_fcntl(sfd, F_SETFL, 0), 0);
		ping(c.fd, sfd);
		zt_close(c.fd);
		zt_close(sfd);
	}
	zt_close(lfd);
	zt_tls_idle(5000);
	creds_drop();
	lwip_back(&base);
#else
	cr_skip_test("no TLS");
#endif
}

ZT_TEST(security, explicit_sndtimeo, .timeout = 30)
{
#if CONFIG_ZSOCK_TLS
	int stalled[STALLED], lfd, fd;
	int64_t t0, took;
	uint16_t port;

	creds();
	zs_tls_handshake_timeout_set(DEADLINE_MS);
	lfd = listener(false, &port);
	set_timeo(lfd, SO_SNDTIMEO, 300); /* the application's own bound */
	stall_clients(port, stalled);
	t0 = zt_now_ms();
	fd = zsock_accept(lfd, NULL, NULL);
	took = zt_now_ms() - t0;
	cr_assert_lt(fd, 0, "accept gave a stalled client a session");
	cr_assert_eq(errno, ETIMEDOUT, "accept errno %d (%s), want ETIMEDOUT (SO_SNDTIMEO)", errno,
		     strerror(errno));
	cr_assert_geq(took, 250, "ETIMEDOUT after %lld ms, SO_SNDTIMEO is 300", (long long)took);
	cr_assert_lt(took, DEADLINE_MS, "ETIMEDOUT after %lld ms: not SO_SNDTIMEO's",
		     (long long)took);
	for (int i = 0; i < STALLED; i++)
		zt_close(stalled[i]);
	zt_close(lfd);
	zt_tls_idle(5000);
	creds_drop();
#else
	cr_skip_test("no TLS");
#endif
}

/* ---- verification by default ----------------------------------------------------- */

#if CONFIG_ZSOCK_TLS
struct acc1 {
	int lfd, fd, err;
};

static void *acc1_main(void *arg)
{
	struct acc1 *a = arg;
	struct zsock_pollfd p = { .fd = a->lfd, .events = ZSOCK_POLLIN };

	a->fd = -1;
	if (zsock_poll(&p, 1, 10000) != 1) {
		a->err = ETIMEDOUT;
		return NULL;
	}
	a->fd = zsock_accept(a->lfd, NULL, NULL);
	a->err = a->fd < 0 ? errno : 0;
	return NULL;
}

static int get_int(int fd, int name)
{
	int v = -1000;
	socklen_t len = sizeof(v);

	cr_assert_eq(zsock_getsockopt(fd, SOL_TLS, name, &v, &len), 0, "getsockopt(%d): errno %d",
		     name, errno);
	return v;
}
#endif

ZT_TEST(security, client_verifies_by_default, .timeout = 30)
{
#if CONFIG_ZSOCK_TLS
	struct acc1 a = { 0 };
	struct sockaddr_storage ss;
	socklen_t len;
	int lfd, cfd, rc, err;
	uint16_t port;
	pthread_t t;

	creds();
	lfd = listener(false, &port);
	set_timeo(lfd, SO_SNDTIMEO, 10000);
	cfd = client(TAG_OTHER_CA); /* trusts the RSA CA; the server's chain is EC */
	cr_assert_eq(get_int(cfd, TLS_PEER_VERIFY), TLS_PEER_VERIFY_REQUIRED, "client default");
	a.lfd = lfd;
	t = zt_spawn(acc1_main, &a);
	len = zt_loopback(AF_INET, port, &ss);
	rc = zsock_connect(cfd, (struct sockaddr *)&ss, len);
	err = rc < 0 ? errno : 0;
	cr_assert(zt_join(t, 20000), "accept hangs");
	cr_assert_eq(rc, -1, "a client that sets no TLS_PEER_VERIFY accepted an untrusted server");
	cr_assert_eq(err, ECONNABORTED, "connect errno %d (%s), want ECONNABORTED", err,
		     strerror(err));
	cr_assert_eq(get_int(cfd, ZSOCK_TLS_VERIFY_RESULT), 62 /* BR_ERR_X509_NOT_TRUSTED */,
		     "ZSOCK_TLS_VERIFY_RESULT");
	cr_assert_lt(a.fd, 0, "the server completed a handshake the client refused");
	zt_close(cfd);
	zt_close(lfd);
	zt_tls_idle(5000);
	creds_drop();
#else
	cr_skip_test("no TLS");
#endif
}

/* ---- no credential bytes leave the engine ---------------------------------------------- */

#if CONFIG_ZSOCK_TLS
static char pcap_path[64], out_path[64];
static int saved_out = -1, saved_err = -1;

/* Before the engine starts (it reads ZSOCK_PCAP once): the capture, and
 * stdout/stderr into a file. */
static void leak_setup(void)
{
	int fd;

	snprintf(pcap_path, sizeof(pcap_path), "/tmp/zsock-sec-%d.pcap", (int)getpid());
	snprintf(out_path, sizeof(out_path), "/tmp/zsock-sec-%d.out", (int)getpid());
	setenv("ZSOCK_PCAP", pcap_path, 1);
	fflush(stdout);
	fflush(stderr);
	fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		saved_out = dup(1);
		saved_err = dup(2);
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	zt_setup();
}

static void output_restore(void)
{
	fflush(stdout);
	fflush(stderr);
	if (saved_out >= 0) {
		dup2(saved_out, 1);
		dup2(saved_err, 2);
		close(saved_out);
		close(saved_err);
		saved_out = saved_err = -1;
	}
}

/* Does any WIN-byte window of secret appear in hay? */
#define WIN 8
static bool leaks(const uint8_t *hay, size_t n, const uint8_t *secret, size_t len)
{
	for (size_t i = 0; i + WIN <= len; i++)
		if (memmem(hay, n, secret + i, WIN) != NULL)
			return true;
	return false;
}
#endif

Test(security, no_credentials_leave, .timeout = 60
#if CONFIG_ZSOCK_TLS
     , .init = leak_setup
#else
     , .init = zt_setup
#endif
)
{
#if CONFIG_ZSOCK_TLS
	/* a PSK and its identity in the server's tags beside its certificate: the
	 * certificate-only client keeps the server on BearSSL (docs/tls.md), and
	 * the PSK must not leak either */
	static const uint8_t psk[32] = {
		0xc3, 0x5e, 0x91, 0x07, 0xaa, 0x3d, 0x6b, 0xf2, 0x18, 0x84, 0xe9, 0x4c, 0x20, 0x7d,
		0xb1, 0x66, 0x0f, 0x93, 0x5a, 0xde, 0x41, 0xc8, 0x2b, 0x77, 0x9e, 0x03, 0xf4, 0x6a,
		0x52, 0xbd, 0x18, 0xe5,
	};
	static const char psk_id[] = "zsock-security-test-psk-id";
	static uint8_t data[16384];
	struct acc1 a = { 0 };
	struct sockaddr_storage ss;
	const uint8_t *key, *sec1, *cert;
	uint8_t *cap, *out, *buf;
	size_t key_len, sec1_len, cert_len, cap_len, out_len;
	socklen_t len;
	int lfd, cfd, rc, err;
	uint16_t port;
	pthread_t t;

	creds();
	cr_assert_eq(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK, psk, sizeof(psk)), 0);
	cr_assert_eq(tls_credential_add(TAG_PSK, TLS_CREDENTIAL_PSK_ID, psk_id, strlen(psk_id)), 0);
	key = zt_certs_load("ec_leaf.key.der", &key_len);   /* PKCS#8, what the server uses */
	sec1 = zt_certs_load("ec_leaf.sec1.der", &sec1_len); /* the same key in SEC1 */
	cert = zt_certs_load("ec_leaf.der", &cert_len);
	/* SEC1: 30 len 02 01 01 04 20 <the 32-byte scalar> */
	cr_assert(sec1_len > 39 && sec1[2] == 0x02 && sec1[5] == 0x04 && sec1[6] == 32,
		  "unexpected SEC1 layout");

	/* a handshake (the server signs with the key) and data both ways */
	lfd = listener(false, &port);
	set_timeo(lfd, SO_SNDTIMEO, 10000);
	{
		sec_tag_t tags[] = { TAG_SRV, TAG_PSK };

		cr_assert_eq(zsock_setsockopt(lfd, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof(tags)), 0);
	}
	cfd = client(TAG_CA);
	a.lfd = lfd;
	t = zt_spawn(acc1_main, &a);
	len = zt_loopback(AF_INET, port, &ss);
	rc = zsock_connect(cfd, (struct sockaddr *)&ss, len);
	err = rc < 0 ? errno : 0;
	cr_assert(zt_join(t, 20000), "accept hangs");
	cr_assert_eq(rc, 0, "connect: errno %d (%s)", err, strerror(err));
	cr_assert_geq(a.fd, 0, "accept: errno %d", a.err);
	zt_pattern(7, 0, data, sizeof(data));
	buf = malloc(sizeof(data));
	cr_assert_not_null(buf);
	zt_send_all(cfd, data, sizeof(data));
	zt_recv_all(a.fd, buf, sizeof(data));
	zt_send_all(a.fd, data, sizeof(data));
	zt_recv_all(cfd, buf, sizeof(data));
	free(buf);
	zt_close(cfd);
	zt_close(a.fd);
	zt_close(lfd);
	zt_tls_idle(5000);
	cr_assert_eq(tls_credential_delete(TAG_PSK, TLS_CREDENTIAL_PSK), 0);
	cr_assert_eq(tls_credential_delete(TAG_PSK, TLS_CREDENTIAL_PSK_ID), 0);
	creds_drop();
	zt_leak_check();
	output_restore();

	cap = (uint8_t *)zt_read_file(pcap_path, &cap_len);
	out = (uint8_t *)zt_read_file(out_path, &out_len);
	cr_log_info("capture %zu bytes, output %zu bytes", cap_len, out_len);
	/* the capture holds the handshake: the certificate is in the clear */
	cr_assert_gt(cap_len, 2 * sizeof(data), "capture of %zu bytes", cap_len);
	cr_assert_not_null(memmem(cap, cap_len, cert, cert_len),
			   "the server certificate is not in the capture: the search cannot work");
	/* the whole DER (its public half and OIDs are in the certificate too,
	 * so no windows of it), then any 8 bytes of the secret scalar */
	cr_assert_null(memmem(cap, cap_len, key, key_len), "the private key's DER in the capture");
	cr_assert_null(memmem(cap, cap_len, sec1, sec1_len), "the private key's SEC1 DER in the capture");
	cr_assert(!leaks(cap, cap_len, sec1 + 7, 32), "private key scalar bytes in the capture");
	cr_assert(!leaks(cap, cap_len, psk, sizeof(psk)), "PSK bytes in the capture");
	cr_assert_null(memmem(out, out_len, key, key_len), "the private key's DER in the output");
	cr_assert(!leaks(out, out_len, sec1 + 7, 32), "private key scalar bytes in the output");
	cr_assert(!leaks(out, out_len, psk, sizeof(psk)), "PSK bytes in the output");
	free(cap);
	free(out);
	unlink(pcap_path);
	unlink(out_path);
#else
	cr_skip_test("no TLS");
#endif
}
