/*
 * tls_echo_server: an echo server (RFC 862) over TLS 1.2 on the zsock
 * engine, one thread, every socket non-blocking and driven by zsock_poll().
 *
 *   tls_echo_server --cert FILE --key FILE [--ca FILE [--verify]] [--port N]
 *
 *   --cert   the server's certificate, or its chain (leaf first), PEM or DER
 *   --key    its private key (RSA or EC; PKCS#1, SEC1 or PKCS#8; PEM or DER)
 *   --ca     CA certificate(s) for client certificates: clients are asked
 *            for one and the result is logged (TLS_PEER_VERIFY_OPTIONAL)
 *   --verify with --ca: a client without a valid certificate is refused
 *            (TLS_PEER_VERIFY_REQUIRED)
 *   --port   default 4433
 *
 * It listens on 0.0.0.0 and :: (the engine's IPv6 sockets are IPv6-only,
 * so each family has its listener). Without ZSOCK_NETIF the engine has only
 * its loopback, inside this process; to serve other machines attach it to
 * a TAP device (README.md, "Using zsock"):
 *
 *   ZSOCK_NETIF=tap:zt0,ip=192.0.2.2/24,gw=192.0.2.1,ip6=2001:db8::2/64 \
 *     ./tls_echo_server --cert server.pem --key server.key
 *   openssl s_client -connect 192.0.2.2:4433 -CAfile ca.pem     (Linux side)
 *
 * How it works: the listeners are non-blocking, so zsock_accept() returns
 * at once and the handshake goes on while the loop polls (a TLS socket
 * shows POLLOUT once its handshake is done, POLLIN when decrypted data or
 * the end is there, POLLERR when the handshake failed). Each client has
 * one buffer: what was read is written back before reading more, and
 * while it is not all written the loop waits for POLLOUT instead of
 * POLLIN, so a client that does not read stops being read (backpressure,
 * no unbounded buffering). A client ends with recv() 0 (its close_notify)
 * or an error; zsock_close() sends ours. A client whose handshake has not
 * finished after HANDSHAKE_TIMEOUT_S is dropped: a connection holds one of
 * the build's CONFIG_ZSOCK_TLS_SESSIONS fixed sessions (the listeners hold
 * none), and a silent client must not keep it.
 * SIGINT or SIGTERM closes everything cleanly and exits 0.
 *
 * One line on stdout per event; the first is "tls_echo_server: listening".
 */
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAG 1                       /* this server's credentials */
#define MAX_CLIENTS 32
#define BUF_SIZE 16384              /* one TLS record's worth of plaintext */
#define HANDSHAKE_TIMEOUT_S 10

struct client {
	int fd;                     /* -1: free */
	unsigned id;
	bool ready;                 /* handshake done */
	time_t since;               /* accepted at */
	size_t len, off;            /* buf[off..len) waits to be sent back */
	unsigned long long echoed;
	char peer[64];
	unsigned char buf[BUF_SIZE];
};

static struct client clients[MAX_CLIENTS];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: tls_echo_server --cert FILE --key FILE [--ca FILE [--verify]] "
		"[--port N]\n");
	exit(2);
}

/* The file in a heap buffer kept until exit (the credential store keeps
 * the pointer). Exits on failure. */
static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (f == NULL || buf == NULL) {
		fprintf(stderr, "tls_echo_server: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	for (;;) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
		if (buf == NULL) {
			fprintf(stderr, "tls_echo_server: %s: out of memory\n", path);
			exit(1);
		}
	}
	if (ferror(f) || n == 0) {
		fprintf(stderr, "tls_echo_server: %s: %s\n", path, n == 0 ? "empty file" : strerror(errno));
		exit(1);
	}
	fclose(f);
	*len = n;
	return buf;
}

static void add_credential(enum tls_credential_type type, const char *path, const char *what)
{
	size_t len;
	void *data = read_file(path, &len);
	int rc = tls_credential_add(TAG, type, data, len);

	if (rc < 0) {
		fprintf(stderr, "tls_echo_server: %s: not a usable %s: %s\n", path, what, strerror(-rc));
		exit(1);
	}
}

static int tls_int(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (zsock_getsockopt(fd, SOL_TLS, opt, &v, &len) < 0)
		return -1;
	return v;
}

/* A non-blocking TLS listener on the any-address of family; -1 if not. */
static int open_listener(int family, uint16_t port, int verify)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	sec_tag_t tag = TAG;
	int one = 1;
	int fd = zsock_socket(family, SOCK_STREAM, IPPROTO_TLS_1_2);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(port);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	}
	/* accepted sockets take the TLS options (and TCP_NODELAY) from here */
	if (zsock_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof(tag)) < 0 ||
	    zsock_setsockopt(fd, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof(verify)) < 0 ||
	    zsock_bind(fd, (struct sockaddr *)&ss, len) < 0 || zsock_listen(fd, 8) < 0 ||
	    zsock_fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int err = errno;

		zsock_close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t size)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		zsock_inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		snprintf(out, size, "%s:%u", host, ntohs(in->sin_port));
	} else {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		zsock_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		snprintf(out, size, "[%s]:%u", host, ntohs(in6->sin6_port));
	}
}

static void client_close(struct client *c, const char *why)
{
	printf("client %u %s: closed (%s), %llu bytes echoed\n", c->id, c->peer, why, c->echoed);
	fflush(stdout);
	zsock_close(c->fd);
	c->fd = -1;
}

/* Close c after a failed call; for a handshake, say what BearSSL saw. */
static void client_fail(struct client *c, const char *call, int err)
{
	char why[160];

	if (!c->ready) {
		int last = tls_int(c->fd, ZSOCK_TLS_LAST_ERROR);
		int x509 = tls_int(c->fd, ZSOCK_TLS_VERIFY_RESULT);

		snprintf(why, sizeof(why), "handshake failed: %s, BearSSL error %d%s", strerror(err), last,
			 x509 > 0 ? ", client certificate refused" : "");
		if (x509 > 0)
			snprintf(why + strlen(why), sizeof(why) - strlen(why), " (X.509 error %d)", x509);
	} else {
		snprintf(why, sizeof(why), "%s: %s", call, strerror(err));
	}
	client_close(c, why);
}

static void accept_one(int lfd)
{
	static unsigned next_id = 1;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct client *c = NULL;
	int fd = zsock_accept(lfd, (struct sockaddr *)&ss, &len);
	size_t i;

	if (fd < 0) {
		if (errno == ENOMEM)
			printf("refused a connection: no TLS socket or session free (%d and %d "
			       "in this build)\n", CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS,
			       CONFIG_ZSOCK_TLS_SESSIONS);
		else if (errno != EAGAIN)
			printf("accept: %s\n", strerror(errno));
		fflush(stdout);
		return;
	}
	for (i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd < 0) {
			c = &clients[i];
			break;
		}
	}
	if (c == NULL) {
		printf("refused a connection: %d clients already\n", MAX_CLIENTS);
		fflush(stdout);
		zsock_close(fd);
		return;
	}
	zsock_fcntl(fd, F_SETFL, O_NONBLOCK);
	c->fd = fd;
	c->id = next_id++;
	c->ready = false;
	c->since = time(NULL);
	c->len = c->off = 0;
	c->echoed = 0;
	peer_text(&ss, c->peer, sizeof(c->peer));
	printf("client %u %s: connected, handshake under way\n", c->id, c->peer);
	fflush(stdout);
}

/* The handshake is done (TLS_CIPHERSUITE_USED answers): say how it went. */
static bool check_ready(struct client *c)
{
	int suite = tls_int(c->fd, TLS_CIPHERSUITE_USED);
	int x509;

	if (suite < 0)
		return false;
	x509 = tls_int(c->fd, ZSOCK_TLS_VERIFY_RESULT);
	c->ready = true;
	printf("client %u %s: handshake done, suite 0x%04X, client certificate %s\n", c->id, c->peer,
	       (unsigned)suite, x509 == 0 ? "verified" : x509 < 0 ? "none" : "not verified");
	fflush(stdout);
	return true;
}

/* Send what is pending; false if the client was closed. */
static bool client_flush(struct client *c)
{
	while (c->off < c->len) {
		ssize_t w = zsock_send(c->fd, c->buf + c->off, c->len - c->off, 0);

		if (w < 0) {
			if (errno == EAGAIN)
				return true; /* wait for POLLOUT */
			client_fail(c, "send", errno);
			return false;
		}
		c->off += (size_t)w;
		c->echoed += (unsigned long long)w;
	}
	c->off = c->len = 0;
	return true;
}

static void client_event(struct client *c, short revents)
{
	ssize_t n;

	if (!c->ready)
		check_ready(c);
	if (c->len > 0) {
		client_flush(c);
		return;
	}
	if (!(revents & (ZSOCK_POLLIN | ZSOCK_POLLERR | ZSOCK_POLLHUP)))
		return;
	/* also how a failed handshake tells its error */
	n = zsock_recv(c->fd, c->buf, sizeof(c->buf), 0);
	if (n > 0) {
		if (!c->ready)
			check_ready(c);
		c->len = (size_t)n;
		c->off = 0;
		client_flush(c);
	} else if (n == 0) {
		client_close(c, c->ready ? "by the client" : "the client left during the handshake");
	} else if (errno != EAGAIN) {
		client_fail(c, "recv", errno);
	}
}

/* Clients served at once: each needs a TLS socket (the listeners hold nl
 * of them) and a session (listeners hold none). */
static int capacity(int nl)
{
	int sockets = CONFIG_NET_SOCKETS_TLS_MAX_CONTEXTS - nl;

	return sockets < CONFIG_ZSOCK_TLS_SESSIONS ? sockets : CONFIG_ZSOCK_TLS_SESSIONS;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL, *ca = NULL;
	bool verify_required = false;
	long port = 4433;
	int listeners[2], nl = 0, verify, i;
	static struct zsock_pollfd pfd[2 + MAX_CLIENTS];
	struct client *polled[2 + MAX_CLIENTS];
	struct sigaction sa = { .sa_handler = on_signal };

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--cert") == 0 && i + 1 < argc)
			cert = argv[++i];
		else if (strcmp(argv[i], "--key") == 0 && i + 1 < argc)
			key = argv[++i];
		else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca = argv[++i];
		else if (strcmp(argv[i], "--verify") == 0)
			verify_required = true;
		else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
			port = strtol(argv[++i], NULL, 10);
		else
			usage();
	}
	if (cert == NULL || key == NULL || port <= 0 || port > 65535 || (verify_required && ca == NULL))
		usage();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	add_credential(TLS_CREDENTIAL_PUBLIC_CERTIFICATE, cert, "certificate");
	add_credential(TLS_CREDENTIAL_PRIVATE_KEY, key, "private key");
	if (ca != NULL)
		add_credential(TLS_CREDENTIAL_CA_CERTIFICATE, ca, "CA certificate");
	verify = ca == NULL ? TLS_PEER_VERIFY_NONE :
		 verify_required ? TLS_PEER_VERIFY_REQUIRED : TLS_PEER_VERIFY_OPTIONAL;

	for (i = 0; i < 2; i++) {
		int family = i == 0 ? AF_INET : AF_INET6;
		int fd = open_listener(family, (uint16_t)port, verify);

		if (fd < 0)
			fprintf(stderr, "tls_echo_server: cannot listen on %s port %ld: %s\n",
				family == AF_INET ? "0.0.0.0" : "::", port, strerror(errno));
		else
			listeners[nl++] = fd;
	}
	if (nl == 0)
		return 1;
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	printf("tls_echo_server: listening on port %ld (%d listener%s), client certificates %s, "
	       "room for %d TLS clients in this build\n", port, nl, nl > 1 ? "s" : "",
	       verify == TLS_PEER_VERIFY_REQUIRED ? "required" :
	       verify == TLS_PEER_VERIFY_OPTIONAL ? "asked for" : "not asked for",
	       capacity(nl));
	fflush(stdout);

	while (!stop) {
		int n = 0, nfds = 0, ready;
		time_t now = time(NULL);

		for (i = 0; i < nl; i++) {
			pfd[nfds].fd = listeners[i];
			pfd[nfds].events = ZSOCK_POLLIN;
			polled[nfds++] = NULL;
		}
		for (i = 0; i < MAX_CLIENTS; i++) {
			struct client *c = &clients[i];

			if (c->fd < 0)
				continue;
			if (!c->ready && now - c->since > HANDSHAKE_TIMEOUT_S) {
				client_close(c, "handshake timed out");
				continue;
			}
			pfd[nfds].fd = c->fd;
			/* POLLOUT: the handshake's end, or room for what is pending */
			pfd[nfds].events = !c->ready ? ZSOCK_POLLIN | ZSOCK_POLLOUT :
					   c->len > 0 ? ZSOCK_POLLOUT : ZSOCK_POLLIN;
			polled[nfds++] = c;
		}
		ready = zsock_poll(pfd, nfds, 250);
		if (ready < 0) {
			if (errno == EINTR)
				continue;
			perror("tls_echo_server: zsock_poll");
			break;
		}
		for (i = 0; i < nfds && n < ready; i++) {
			if (pfd[i].revents == 0)
				continue;
			n++;
			if (polled[i] == NULL)
				accept_one(pfd[i].fd);
			else if (polled[i]->fd >= 0)
				client_event(polled[i], pfd[i].revents);
		}
	}

	printf("tls_echo_server: stopping\n");
	for (i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i], "server stopping");
	for (i = 0; i < nl; i++)
		zsock_close(listeners[i]);
	return 0;
}
