/*
 * Fuzz target tls: TLS records and handshake messages from a hostile peer,
 * against zsock's TLS sockets (tls_bearssl/tls_sock.c over BearSSL), both
 * roles, over loopback.
 *
 * Input: one mode byte, then the bytes the peer sends.
 *   mode & 1 == 0  client role: a zsock TLS client (TLS_PEER_VERIFY_NONE, so
 *                  it goes on past the certificate into key exchange) connects
 *                  to a plain TCP socket that answers with the bytes
 *   mode & 1 == 1  server role: a plain TCP client sends the bytes to a
 *                  zsock TLS listener with an EC certificate
 * The peer then half-closes. The TLS side is driven non-blocking with poll
 * and recv until it gives up. What must hold, whatever the bytes:
 *   - no crash, no sanitizer report, no hang (bounded rounds);
 *   - the handshake ends in ECONNABORTED or ECONNRESET (never EINVAL,
 *     EBADF, ... nor success: the bytes cannot know the session keys);
 *   - after the close, no TLS slot, socket or fd is left (checked each
 *     input through zsock_engine_stats).
 *
 * The server's certificate and key are made once per process with the
 * openssl CLI. ZSOCK_FUZZ_TLS_CAPTURE=DIR writes two real exchanges as
 * seeds instead (DIR/client-hello: a zsock ClientHello for the server
 * role; DIR/server-flight: a zsock server's answer to it, for the client
 * role) and exits: that is how corpus/tls/ was made.
 */
#include <zsock/engine.h>
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

#define TAG_SERVER 77
#define ROUNDS 400     /* poll rounds of 20 ms at most: 8 s, far above a real end */

static struct sockaddr_in tcp_addr, tls_addr;
static int tcp_listener, tls_listener;
static unsigned char cert[4096], key[1024];

static void load(const char *path, unsigned char *buf, size_t size, size_t *len)
{
	FILE *f = fopen(path, "rb");

	FZ_CHECK(f != NULL, "open %s", path);
	*len = fread(buf, 1, size, f);
	fclose(f);
	FZ_CHECK(*len > 0 && *len < size, "read %s", path);
}

static void make_credentials(void)
{
	char dir[] = "/tmp/zsock-fuzz-tls-XXXXXX", cmd[1024], path[256];
	size_t clen, klen;

	FZ_CHECK(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
	snprintf(cmd, sizeof(cmd),
		 "openssl ecparam -name prime256v1 -genkey -noout -outform DER -out %s/key.der "
		 "&& openssl req -x509 -new -key %s/key.der -keyform DER -subj /CN=fuzz.test "
		 "-days 30 -outform DER -out %s/cert.der", dir, dir, dir);
	FZ_CHECK(system(cmd) == 0, "openssl failed (it must be installed): %s", cmd);
	snprintf(path, sizeof(path), "%s/cert.der", dir);
	load(path, cert, sizeof(cert), &clen);
	snprintf(path, sizeof(path), "%s/key.der", dir);
	load(path, key, sizeof(key), &klen);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_tls: could not remove %s\n", dir);
	FZ_CHECK(tls_credential_add(TAG_SERVER, TLS_CREDENTIAL_PUBLIC_CERTIFICATE, cert, clen) == 0,
		 "add certificate");
	FZ_CHECK(tls_credential_add(TAG_SERVER, TLS_CREDENTIAL_PRIVATE_KEY, key, klen) == 0,
		 "add key");
}

static int listener(int proto, struct sockaddr_in *addr)
{
	socklen_t len = sizeof(*addr);
	int fd = zsock_socket(AF_INET, SOCK_STREAM, proto);

	FZ_CHECK(fd >= 0, "socket: %s", strerror(errno));
	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	FZ_CHECK(zsock_bind(fd, (struct sockaddr *)addr, sizeof(*addr)) == 0, "bind");
	FZ_CHECK(zsock_listen(fd, 4) == 0, "listen");
	FZ_CHECK(zsock_getsockname(fd, (struct sockaddr *)addr, &len) == 0, "getsockname");
	return fd;
}

static void set_nonblock(int fd)
{
	FZ_CHECK(zsock_fcntl(fd, F_SETFL, O_NONBLOCK) == 0, "fcntl");
}

/* Read and drop whatever the plain side has been sent. */
static void drain_plain(int fd)
{
	char buf[2048];

	while (zsock_recv(fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT) > 0)
		;
}

/* Write all of data on the plain (blocking) side. */
static void send_all(int fd, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = zsock_send(fd, data, len, 0);

		if (n < 0) /* the TLS side gave up and reset: fine */
			return;
		data += n;
		len -= (size_t)n;
	}
}

/*
 * Drive the TLS socket until it fails; the plain peer is drained meanwhile.
 * Returns the errno it failed with.
 */
static int drive(int tls, int plain)
{
	struct zsock_pollfd p = { .fd = tls, .events = ZSOCK_POLLIN };
	char buf[256];
	int round;

	for (round = 0; round < ROUNDS; round++) {
		ssize_t n;

		zsock_poll(&p, 1, 20);
		n = zsock_recv(tls, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
		FZ_CHECK(n < 0, "recv on a session nobody could key returned %zd", n);
		if (errno != EAGAIN)
			return errno;
		drain_plain(plain);
	}
	FZ_CHECK(0, "the TLS side neither failed nor finished after %d rounds", ROUNDS);
}

static void check_idle(void)
{
	struct zsock_engine_stats st;

	FZ_CHECK(zsock_engine_stats(&st) == 0, "stats");
	FZ_CHECK(st.tls_in_use == 1 && st.fds_in_use == 2,
		 "left behind: %u TLS slots (1 is the TLS listener), %u fds (2 are the listeners)",
		 st.tls_in_use, st.fds_in_use);
}

/* The client role: the peer's bytes are the "server's" flight. */
static int as_client(const uint8_t *data, size_t len)
{
	int c = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2), s, rc, err;
	int none = TLS_PEER_VERIFY_NONE;

	FZ_CHECK(c >= 0, "socket: %s", strerror(errno));
	FZ_CHECK(zsock_setsockopt(c, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof(none)) == 0, "verify");
	set_nonblock(c);
	rc = zsock_connect(c, (struct sockaddr *)&tcp_addr, sizeof(tcp_addr));
	FZ_CHECK(rc < 0 && errno == EINPROGRESS, "connect: rc %d errno %d", rc, errno);
	s = zsock_accept(tcp_listener, NULL, NULL);
	FZ_CHECK(s >= 0, "accept: %s", strerror(errno));
	send_all(s, data, len);
	zsock_shutdown(s, ZSOCK_SHUT_WR);
	err = drive(c, s);
	zsock_close(c);
	zsock_close(s);
	return err;
}

/* The server role: the peer's bytes are the "client's" flight. */
static int as_server(const uint8_t *data, size_t len)
{
	struct zsock_pollfd p = { .fd = tls_listener, .events = ZSOCK_POLLIN };
	int c = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP), a, err;

	FZ_CHECK(c >= 0, "socket: %s", strerror(errno));
	FZ_CHECK(zsock_connect(c, (struct sockaddr *)&tls_addr, sizeof(tls_addr)) == 0,
		 "connect: %s", strerror(errno));
	send_all(c, data, len);
	zsock_shutdown(c, ZSOCK_SHUT_WR);
	FZ_CHECK(zsock_poll(&p, 1, 5000) == 1, "the listener never saw the connection");
	a = zsock_accept(tls_listener, NULL, NULL);
	if (a < 0) { /* the handshake already failed inside accept */
		err = errno;
	} else {
		err = drive(a, c);
		zsock_close(a);
	}
	zsock_close(c);
	return err;
}

static void capture(const char *dir);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	sec_tag_t tag = TAG_SERVER;
	const char *cap = getenv("ZSOCK_FUZZ_TLS_CAPTURE");

	(void)argc;
	(void)argv;
	make_credentials();
	tcp_listener = listener(IPPROTO_TCP, &tcp_addr);
	tls_listener = listener(IPPROTO_TLS_1_2, &tls_addr);
	FZ_CHECK(zsock_setsockopt(tls_listener, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof(tag)) == 0,
		 "tags");
	set_nonblock(tls_listener); /* accept returns with the handshake pending */
	if (cap != NULL) {
		capture(cap);
		exit(0);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	int err;

	if (len == 0)
		return 0;
	err = (data[0] & 1) ? as_server(data + 1, len - 1) : as_client(data + 1, len - 1);
	FZ_CHECK(err == ECONNABORTED || err == ECONNRESET,
		 "the handshake ended with errno %d (%s)", err, strerror(err));
	check_idle();
	return 0;
}

/* ---- seed capture ------------------------------------------------------------------ */

static void save(const char *dir, const char *name, uint8_t mode, const uint8_t *data,
		 size_t len)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	FZ_CHECK(f != NULL, "open %s", path);
	fputc(mode, f);
	fwrite(data, 1, len, f);
	fclose(f);
}

/* Read what arrives on fd for about a second. */
static size_t collect(int fd, uint8_t *buf, size_t size)
{
	struct zsock_pollfd p = { .fd = fd, .events = ZSOCK_POLLIN };
	size_t got = 0;

	while (got < size && zsock_poll(&p, 1, 1000) == 1) {
		ssize_t n = zsock_recv(fd, buf + got, size - got, ZSOCK_MSG_DONTWAIT);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void capture(const char *dir)
{
	static uint8_t hello[4096], flight[8192];
	struct zsock_pollfd p = { .fd = tls_listener, .events = ZSOCK_POLLIN };
	int none = TLS_PEER_VERIFY_NONE, c, s, a;
	size_t hlen, flen;

	/* a ClientHello: a zsock client against the plain listener */
	c = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);
	zsock_setsockopt(c, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof(none));
	set_nonblock(c);
	zsock_connect(c, (struct sockaddr *)&tcp_addr, sizeof(tcp_addr));
	s = zsock_accept(tcp_listener, NULL, NULL);
	zsock_poll(&(struct zsock_pollfd){ .fd = c, .events = ZSOCK_POLLOUT }, 1, 200);
	hlen = collect(s, hello, sizeof(hello));
	zsock_close(c);
	zsock_close(s);
	FZ_CHECK(hlen > 0, "no ClientHello captured");
	save(dir, "client-hello", 1, hello, hlen);

	/* the server's answer to it */
	c = zsock_socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	FZ_CHECK(zsock_connect(c, (struct sockaddr *)&tls_addr, sizeof(tls_addr)) == 0, "connect");
	send_all(c, hello, hlen);
	zsock_poll(&p, 1, 1000);
	a = zsock_accept(tls_listener, NULL, NULL);
	FZ_CHECK(a >= 0, "accept");
	zsock_poll(&(struct zsock_pollfd){ .fd = a, .events = ZSOCK_POLLIN }, 1, 200);
	flen = collect(c, flight, sizeof(flight));
	zsock_close(a);
	zsock_close(c);
	FZ_CHECK(flen > 0, "no server flight captured");
	save(dir, "server-flight", 0, flight, flen);
	fprintf(stderr, "fuzz_tls: wrote %s/client-hello (%zu bytes), %s/server-flight (%zu bytes)\n",
		dir, hlen, dir, flen);
}
