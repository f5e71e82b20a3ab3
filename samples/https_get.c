/*
 * https_get: one HTTPS GET over a zsock TLS socket (TLS 1.2, BearSSL).
 *
 *   https_get [-k] [--ca FILE] [--alpn LIST] host[:port] [path]
 *
 *   host     a name (resolved by zsock_getaddrinfo(): the engine's DNS
 *            client, servers from ZSOCK_DNS), an IPv4 address or an IPv6
 *            address in brackets ("[2001:db8::1]:8443"); port 443 and path
 *            "/" by default
 *   --ca     the CA certificate(s) to verify the server against, PEM or DER
 *            (several PEM blocks allowed); zsock has no system trust store,
 *            so without -k this option is required
 *   -k       do not verify the server (TLS_PEER_VERIFY_NONE)
 *   --alpn   protocols to offer, comma separated ("h2,http/1.1")
 *
 * The response (status line, headers, body) goes to stdout as it arrives;
 * the negotiated cipher suite and ALPN protocol to stderr. Exit status 0
 * after a complete response, 1 on any failure (with strerror, and BearSSL's
 * error code for a failed handshake), 2 on a usage error.
 *
 * Where it can reach: the engine is a TCP/IP stack of its own, not the
 * host's. Without ZSOCK_NETIF it has only its loopback (127.0.0.1 and ::1,
 * inside this process), so on its own https_get can reach nothing. To
 * reach a real network, attach the engine to a TAP device (README.md,
 * "Using zsock"; <zsock/engine.h>); zsock never configures the Linux side
 * of it (addresses, routes, forwarding, NAT are the user's job):
 *
 *   ip tuntap add dev zt0 mode tap && ip addr add 192.0.2.1/24 dev zt0 \
 *     && ip link set zt0 up
 *   ZSOCK_NETIF=tap:zt0,ip=192.0.2.2/24,gw=192.0.2.1 ZSOCK_DNS=192.0.2.1 \
 *     ./https_get --ca ca.pem server.test:4433 /
 *
 * Verification: TLS_PEER_VERIFY_REQUIRED (the client default) with
 * TLS_HOSTNAME set to host, which sends it as SNI and makes BearSSL match
 * it against the certificate's DNS names (subjectAltName dNSName, or the
 * CN when there is no SAN). BearSSL does not match IP addresses: for an
 * address given as host, a certificate verifies only if it carries that
 * text as a DNS name, so name the server, or use -k.
 */
#include <zsock/socket.h>
#include <zsock/tls_credentials.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CA_TAG 1
#define MAX_ALPN 4      /* CONFIG_NET_SOCKETS_TLS_MAX_APP_PROTOCOLS by default */

static const char *prog = "https_get";

static void usage(void)
{
	fprintf(stderr, "usage: %s [-k] [--ca FILE] [--alpn LIST] host[:port] [path]\n", prog);
	exit(2);
}

/* ---- what the handshake tells ------------------------------------------------ */

/* IANA names of the suites one meets (BearSSL implements a few more). */
static const char *suite_name(int s)
{
	static const struct {
		int id;
		const char *name;
	} names[] = {
		{ 0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" },
		{ 0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" },
		{ 0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" },
		{ 0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" },
		{ 0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" },
		{ 0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" },
		{ 0xC0AC, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM" },
		{ 0xC0AD, "TLS_ECDHE_ECDSA_WITH_AES_256_CCM" },
		{ 0xC023, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256" },
		{ 0xC024, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384" },
		{ 0xC027, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" },
		{ 0xC028, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384" },
		{ 0xC009, "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA" },
		{ 0xC00A, "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA" },
		{ 0xC013, "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA" },
		{ 0xC014, "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA" },
		{ 0x009C, "TLS_RSA_WITH_AES_128_GCM_SHA256" },
		{ 0x009D, "TLS_RSA_WITH_AES_256_GCM_SHA384" },
		{ 0x003C, "TLS_RSA_WITH_AES_128_CBC_SHA256" },
		{ 0x003D, "TLS_RSA_WITH_AES_256_CBC_SHA256" },
		{ 0x002F, "TLS_RSA_WITH_AES_128_CBC_SHA" },
		{ 0x0035, "TLS_RSA_WITH_AES_256_CBC_SHA" },
		{ 0x000A, "TLS_RSA_WITH_3DES_EDE_CBC_SHA" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].id == s)
			return names[i].name;
	return "(no name known here)";
}

/* BearSSL's X.509 codes (ZSOCK_TLS_VERIFY_RESULT) one meets most. */
static const char *x509_text(int code)
{
	switch (code) {
	case 48: return "bad time field";
	case 52: return "bad signature";
	case 53: return "the engine does not know the time";
	case 54: return "certificate expired or not yet valid";
	case 56: return "the certificate does not name this host";
	case 58: return "an issuer is not a CA";
	case 59: return "key usage forbids this use";
	case 60: return "public key too weak";
	case 62: return "not signed by a trusted CA (check --ca)";
	default: return "see BR_ERR_X509_* in bearssl_x509.h";
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

/* Why a TLS connect failed, in as much detail as the socket keeps. */
static void explain_failure(int fd, int err, const char *where, bool host_is_address)
{
	int last = tls_int(fd, ZSOCK_TLS_LAST_ERROR);
	int x509 = tls_int(fd, ZSOCK_TLS_VERIFY_RESULT);

	fprintf(stderr, "%s: connect to %s: %s\n", prog, where, strerror(err));
	if (last > 0) {
		if (last >= 512)
			fprintf(stderr, "%s: BearSSL error %d: sent fatal alert %d\n", prog, last, last - 512);
		else if (last >= 256)
			fprintf(stderr, "%s: BearSSL error %d: the server sent fatal alert %d\n", prog, last,
				last - 256);
		else if (last != x509) /* an X.509 code is explained below */
			fprintf(stderr, "%s: BearSSL error %d (BR_ERR_* in bearssl_ssl.h)\n", prog, last);
	}
	if (x509 > 0) {
		fprintf(stderr, "%s: certificate check failed: %d, %s\n", prog, x509, x509_text(x509));
		if (x509 == 56 && host_is_address)
			fprintf(stderr, "%s: BearSSL matches DNS names only, not IP addresses: "
				"give the server's name, or -k\n", prog);
	}
}

/* ---- input ------------------------------------------------------------------- */

/* The whole of path in a heap buffer that lives until exit (the credential
 * store keeps the pointer). Exits on failure. */
static void *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);

	if (f == NULL || buf == NULL) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
		exit(1);
	}
	for (;;) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		buf = realloc(buf, cap);
		if (buf == NULL) {
			fprintf(stderr, "%s: %s: out of memory\n", prog, path);
			exit(1);
		}
	}
	if (ferror(f) || n == 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, n == 0 ? "empty file" : strerror(errno));
		exit(1);
	}
	fclose(f);
	*len = n;
	return buf;
}

/*
 * Split "host", "host:port", "[v6]" or "[v6]:port" (a bare IPv6 address,
 * with more than one ':', is all host). The strings point into arg.
 */
static void split_host(char *arg, char **host, char **port)
{
	char *colon;

	*port = "443";
	if (arg[0] == '[') {
		char *end = strchr(arg, ']');

		if (end == NULL || (end[1] != 0 && end[1] != ':'))
			usage();
		*end = 0;
		*host = arg + 1;
		if (end[1] == ':')
			*port = end + 2;
		return;
	}
	*host = arg;
	colon = strchr(arg, ':');
	if (colon != NULL && strchr(colon + 1, ':') == NULL) {
		*colon = 0;
		*port = colon + 1;
	}
	if (**host == 0 || **port == 0)
		usage();
}

/* ---- the response ------------------------------------------------------------ */

/*
 * Just enough HTTP/1.1 to tell a complete response from a cut one when the
 * server closes without a TLS close_notify (many do): the body length from
 * Content-Length, or the last chunk of a chunked body.
 */
struct response {
	char head[8192];   /* the headers, until the blank line */
	size_t head_len;
	bool head_done;
	long long content_length;   /* -1: not given */
	bool chunked;
	unsigned long long body;    /* body bytes seen */
	char tail[5];      /* the last bytes of the body */
};

static bool header_is(const char *line, const char *name, const char **value)
{
	size_t n = strlen(name);

	if (strncasecmp(line, name, n) != 0 || line[n] != ':')
		return false;
	*value = line + n + 1;
	while (**value == ' ' || **value == '\t')
		(*value)++;
	return true;
}

static void parse_head(struct response *r)
{
	char *line = r->head, *next;

	r->content_length = -1;
	for (; line != NULL && *line != 0; line = next) {
		const char *v;

		next = strstr(line, "\r\n");
		if (next != NULL) {
			*next = 0;
			next += 2;
		}
		if (header_is(line, "Content-Length", &v))
			r->content_length = strtoll(v, NULL, 10);
		else if (header_is(line, "Transfer-Encoding", &v) && strstr(v, "chunked") != NULL)
			r->chunked = true;
	}
}

static void response_feed(struct response *r, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !r->head_done; i++) {
		if (r->head_len < sizeof(r->head) - 1)
			r->head[r->head_len++] = p[i];
		if (r->head_len >= 4 && memcmp(r->head + r->head_len - 4, "\r\n\r\n", 4) == 0) {
			r->head[r->head_len] = 0;
			r->head_done = true;
			parse_head(r);
		}
	}
	for (; i < n; i++) {
		memmove(r->tail, r->tail + 1, sizeof(r->tail) - 1);
		r->tail[sizeof(r->tail) - 1] = p[i];
		r->body++;
	}
}

static bool response_complete(const struct response *r)
{
	if (!r->head_done)
		return false;
	if (r->chunked)
		return r->body >= 5 && memcmp(r->tail, "0\r\n\r\n", 5) == 0;
	return r->content_length >= 0 && r->body >= (unsigned long long)r->content_length;
}

/* ---- main ---------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	const char *ca_file = NULL, *path = NULL;
	const char *alpn[MAX_ALPN];
	size_t nalpn = 0;
	char *alpn_list = NULL, *target = NULL, *host, *port;
	bool insecure = false, host_is_address;
	struct zsock_addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	unsigned char addr_buf[16];
	static char request[4096], buf[16384];
	static struct response resp;
	int i, rc, fd = -1, err = 0, verify;
	char where[128];
	ssize_t n;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-k") == 0)
			insecure = true;
		else if (strcmp(argv[i], "--ca") == 0 && i + 1 < argc)
			ca_file = argv[++i];
		else if (strcmp(argv[i], "--alpn") == 0 && i + 1 < argc)
			alpn_list = argv[++i];
		else if (argv[i][0] == '-')
			usage();
		else if (target == NULL)
			target = argv[i];
		else if (path == NULL)
			path = argv[i];
		else
			usage();
	}
	if (target == NULL)
		usage();
	if (path == NULL)
		path = "/";
	if (path[0] != '/') {
		fprintf(stderr, "%s: the path must start with '/'\n", prog);
		return 2;
	}
	if (!insecure && ca_file == NULL) {
		fprintf(stderr, "%s: nothing to verify the server against: give --ca FILE (or -k)\n", prog);
		return 2;
	}
	split_host(target, &host, &port);
	host_is_address = zsock_inet_pton(AF_INET, host, addr_buf) == 1 ||
			  zsock_inet_pton(AF_INET6, host, addr_buf) == 1;

	if (ca_file != NULL) {
		size_t len;
		void *ca = read_file(ca_file, &len);

		rc = tls_credential_add(CA_TAG, TLS_CREDENTIAL_CA_CERTIFICATE, ca, len);
		if (rc < 0) {
			fprintf(stderr, "%s: %s: not a usable CA certificate (PEM or DER): %s\n", prog,
				ca_file, strerror(-rc));
			return 1;
		}
	}
	if (alpn_list != NULL) {
		char *save = NULL, *p;

		/* the socket keeps these pointers: they point into argv */
		for (p = strtok_r(alpn_list, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
			if (nalpn == MAX_ALPN) {
				fprintf(stderr, "%s: --alpn: at most %d protocols\n", prog, MAX_ALPN);
				return 2;
			}
			alpn[nalpn++] = p;
		}
	}

	rc = zsock_getaddrinfo(host, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "%s: %s: %s%s\n", prog, host, zsock_gai_strerror(rc),
			rc == EAI_NONAME && !host_is_address && getenv("ZSOCK_DNS") == NULL ?
			" (no DNS server: set ZSOCK_DNS)" : "");
		return 1;
	}
	/* every address in turn, until one connects and completes the handshake */
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		sec_tag_t tag = CA_TAG;
		int level = insecure ? TLS_PEER_VERIFY_NONE : TLS_PEER_VERIFY_REQUIRED;
		char text[64];

		zsock_getnameinfo(ai->ai_addr, ai->ai_addrlen, text, sizeof(text), NULL, 0,
				  NI_NUMERICHOST);
		snprintf(where, sizeof(where), ai->ai_family == AF_INET6 ? "[%s]:%s" : "%s:%s", text,
			 port);
		fd = zsock_socket(ai->ai_family, SOCK_STREAM, IPPROTO_TLS_1_2);
		if (fd < 0) {
			err = errno;
			fprintf(stderr, "%s: socket: %s\n", prog, strerror(err));
			continue;
		}
		if ((ca_file != NULL &&
		     zsock_setsockopt(fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof(tag)) < 0) ||
		    zsock_setsockopt(fd, SOL_TLS, TLS_HOSTNAME, host, strlen(host) + 1) < 0 ||
		    (nalpn > 0 &&
		     zsock_setsockopt(fd, SOL_TLS, TLS_ALPN_LIST, alpn, nalpn * sizeof(alpn[0])) < 0) ||
		    zsock_setsockopt(fd, SOL_TLS, TLS_PEER_VERIFY, &level, sizeof(level)) < 0) {
			err = errno;
			fprintf(stderr, "%s: TLS options: %s\n", prog, strerror(err));
			zsock_close(fd);
			fd = -1;
			break; /* the same for every address */
		}
		if (zsock_connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		explain_failure(fd, err, where, host_is_address);
		zsock_close(fd);
		fd = -1;
	}
	zsock_freeaddrinfo(res);
	if (fd < 0)
		return 1;

	{
		int suite = tls_int(fd, TLS_CIPHERSUITE_USED);
		char proto[256];
		socklen_t len = sizeof(proto);

		if (zsock_getsockopt(fd, SOL_TLS, ZSOCK_TLS_ALPN_USED, proto, &len) < 0)
			strcpy(proto, "");
		verify = tls_int(fd, ZSOCK_TLS_VERIFY_RESULT);
		fprintf(stderr, "%s: connected to %s, TLS 1.2\n", prog, where);
		fprintf(stderr, "%s: cipher suite 0x%04X %s\n", prog, (unsigned)suite, suite_name(suite));
		fprintf(stderr, "%s: ALPN %s\n", prog, proto[0] != 0 ? proto : "(none)");
		fprintf(stderr, "%s: server certificate %s\n", prog,
			verify == 0 ? "verified" : "NOT verified (-k)");
	}

	/* Host: the name as given, the port only when it is not 443 */
	{
		bool v6 = strchr(host, ':') != NULL;
		int len = snprintf(request, sizeof(request),
				   "GET %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nUser-Agent: zsock-https_get\r\n"
				   "Accept: */*\r\nConnection: close\r\n\r\n",
				   path, v6 ? "[" : "", host, v6 ? "]" : "",
				   strcmp(port, "443") != 0 ? ":" : "", strcmp(port, "443") != 0 ? port : "");

		if (len < 0 || (size_t)len >= sizeof(request)) {
			fprintf(stderr, "%s: the request does not fit in %zu bytes\n", prog, sizeof(request));
			zsock_close(fd);
			return 1;
		}
		/* a blocking send queues it all or fails */
		if (zsock_send(fd, request, (size_t)len, 0) != len) {
			fprintf(stderr, "%s: send: %s\n", prog, strerror(errno));
			zsock_close(fd);
			return 1;
		}
	}

	while ((n = zsock_recv(fd, buf, sizeof(buf), 0)) > 0) {
		response_feed(&resp, buf, (size_t)n);
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
			fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
			zsock_close(fd);
			return 1;
		}
	}
	err = errno;
	fflush(stdout);
	zsock_close(fd);
	if (n < 0 && err == ECONNRESET && response_complete(&resp)) {
		/* the TCP connection ended without close_notify, but after the
		 * whole body: what many servers do, and nothing is missing */
		fprintf(stderr, "%s: the server closed without close_notify, after the whole response\n",
			prog);
	} else if (n < 0) {
		fprintf(stderr, "%s: recv: %s%s\n", prog, strerror(err),
			err == ECONNRESET ? " (the connection ended without close_notify: "
					    "the response may be cut short)" : "");
		return 1;
	}
	if (!resp.head_done) {
		fprintf(stderr, "%s: no HTTP response\n", prog);
		return 1;
	}
	return 0;
}
