/* Bulk TCP transfers checked end to end; see stream.h. */
#define _GNU_SOURCE
#include "stream.h"
#include "zt.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zsock/socket.h>

#define CHUNK 65536

/* The two socket APIs behind one small table, so one loop serves both. */
struct ops {
	ssize_t (*send)(int fd, const void *buf, size_t len);
	ssize_t (*recv)(int fd, void *buf, size_t len);
	int (*shut_wr)(int fd);
	/* wait for readable/writable; returns <0 with errno on failure */
	int (*wait)(int fd, bool want_in, bool want_out, int ms, bool *in, bool *out);
};

static ssize_t l_send(int fd, const void *b, size_t n) { return send(fd, b, n, MSG_NOSIGNAL); }
static ssize_t l_recv(int fd, void *b, size_t n) { return recv(fd, b, n, 0); }
static int l_shut(int fd) { return shutdown(fd, SHUT_WR); }
static ssize_t z_send(int fd, const void *b, size_t n) { return zsock_send(fd, b, n, 0); }
static ssize_t z_recv(int fd, void *b, size_t n) { return zsock_recv(fd, b, n, 0); }
static int z_shut(int fd) { return zsock_shutdown(fd, ZSOCK_SHUT_WR); }

static int l_wait(int fd, bool wi, bool wo, int ms, bool *in, bool *out)
{
	struct pollfd p = { .fd = fd, .events = (short)((wi ? POLLIN : 0) | (wo ? POLLOUT : 0)) };
	int rc = poll(&p, 1, ms);

	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	*in = (p.revents & (POLLIN | POLLERR | POLLHUP)) != 0;
	*out = (p.revents & (POLLOUT | POLLERR | POLLHUP)) != 0;
	return 0;
}

static int z_wait(int fd, bool wi, bool wo, int ms, bool *in, bool *out)
{
	struct zsock_pollfd p = {
		.fd = fd,
		.events = (short)((wi ? ZSOCK_POLLIN : 0) | (wo ? ZSOCK_POLLOUT : 0)),
	};
	int rc = zsock_poll(&p, 1, ms);

	if (rc < 0)
		return -1;
	*in = (p.revents & (ZSOCK_POLLIN | ZSOCK_POLLERR | ZSOCK_POLLHUP)) != 0;
	*out = (p.revents & (ZSOCK_POLLOUT | ZSOCK_POLLERR | ZSOCK_POLLHUP)) != 0;
	if (p.revents & ZSOCK_POLLNVAL) {
		errno = EBADF;
		return -1;
	}
	return 0;
}

static const struct ops linux_ops = { l_send, l_recv, l_shut, l_wait };
static const struct ops zsock_ops = { z_send, z_recv, z_shut, z_wait };

void zi_xfer_init(struct zi_xfer *x, uint64_t send_len, uint64_t tx_seed,
		  uint64_t rx_seed, int deadline_ms)
{
	memset(x, 0, sizeof(*x));
	x->send_len = send_len;
	x->tx_seed = tx_seed;
	x->rx_seed = rx_seed;
	x->deadline_ms = deadline_ms;
	x->first_bad = ZI_NO_BAD;
}

static void fail(struct zi_xfer *x, const char *where, int err)
{
	if (x->err == 0) {
		x->err = err != 0 ? err : EIO;
		x->where = where;
	}
}

/* Send one chunk of the stream; returns false when the transfer must
 * stop. would_block tells the caller to wait. */
static bool tx_step(const struct ops *o, int fd, struct zi_xfer *x, uint8_t *buf,
		    bool *would_block)
{
	size_t n = CHUNK;
	ssize_t w;

	*would_block = false;
	if (x->send_len - x->sent < n)
		n = (size_t)(x->send_len - x->sent);
	zt_pattern(x->tx_seed, x->sent, buf, n);
	w = o->send(fd, buf, n);
	if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*would_block = true;
		return true;
	}
	if (w <= 0) {
		fail(x, w == 0 ? "send returned 0" : "send", w == 0 ? EIO : errno);
		return false;
	}
	if ((size_t)w > n) {
		fail(x, "send returned more than asked", EIO);
		return false;
	}
	x->tx_crc = zt_crc32(x->tx_crc, buf, (size_t)w);
	x->sent += (uint64_t)w;
	if (x->sent == x->send_len && o->shut_wr(fd) != 0) {
		fail(x, "shutdown(SHUT_WR)", errno);
		return false;
	}
	return true;
}

/* Receive one chunk; *eof set at end of stream. */
static bool rx_step(const struct ops *o, int fd, struct zi_xfer *x, uint8_t *buf,
		    bool *would_block, bool *eof)
{
	ssize_t r = o->recv(fd, buf, CHUNK);
	size_t ok;

	*would_block = false;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
		*would_block = true;
		return true;
	}
	if (r < 0) {
		fail(x, "recv", errno);
		return false;
	}
	if (r == 0) {
		*eof = true;
		return true;
	}
	if (r > CHUNK) {
		fail(x, "recv returned more than asked", EIO);
		return false;
	}
	ok = zt_pattern_check(x->rx_seed, x->received, buf, (size_t)r);
	if (ok != (size_t)r && x->first_bad == ZI_NO_BAD)
		x->first_bad = x->received + ok;
	x->rx_crc = zt_crc32(x->rx_crc, buf, (size_t)r);
	x->received += (uint64_t)r;
	return true;
}

/* Non-blocking loop over one socket, both directions at once. */
static void run_polled(const struct ops *o, int fd, struct zi_xfer *x)
{
	uint8_t *txb = malloc(CHUNK), *rxb = malloc(CHUNK);
	int64_t end = zt_now_ms() + x->deadline_ms;
	bool eof = false, wb;

	if (txb == NULL || rxb == NULL) {
		fail(x, "malloc", ENOMEM);
		goto out;
	}
	if (x->send_len == 0 && o->shut_wr(fd) != 0) {
		fail(x, "shutdown(SHUT_WR)", errno);
		goto out;
	}
	while (!eof || x->sent < x->send_len) {
		bool want_out = x->sent < x->send_len, in = false, outr = false;
		int64_t left = end - zt_now_ms();

		if (left <= 0) {
			fail(x, "deadline", ETIMEDOUT);
			break;
		}
		if (o->wait(fd, !eof, want_out, left > 1000 ? 1000 : (int)left, &in, &outr) < 0) {
			fail(x, "poll", errno);
			break;
		}
		if (outr && want_out) {
			do {
				if (!tx_step(o, fd, x, txb, &wb))
					goto out;
			} while (!wb && x->sent < x->send_len);
		}
		if (in && !eof) {
			int budget = 64;

			do {
				if (!rx_step(o, fd, x, rxb, &wb, &eof))
					goto out;
			} while (!wb && !eof && --budget > 0);
		}
	}
out:
	free(txb);
	free(rxb);
}

/* Blocking zsock sender, for the thread that runs beside the receiver. */
struct tx_thread {
	int fd;
	struct zi_xfer *x;
	struct zi_xfer part;   /* the sender's own copy of the outputs */
};

static void *tx_blocking(void *arg)
{
	struct tx_thread *t = arg;
	uint8_t *buf = malloc(CHUNK);
	bool wb;

	if (buf == NULL) {
		fail(&t->part, "malloc", ENOMEM);
		return NULL;
	}
	while (t->part.sent < t->part.send_len) {
		if (!tx_step(&zsock_ops, t->fd, &t->part, buf, &wb))
			break;
		if (wb) {
			fail(&t->part, "blocking send gave EAGAIN", EAGAIN);
			break;
		}
	}
	free(buf);
	return NULL;
}

static void run_blocking(int fd, struct zi_xfer *x)
{
	struct tx_thread t = { .fd = fd, .x = x };
	uint8_t *rxb = malloc(CHUNK);
	struct timeval tv = { .tv_sec = x->deadline_ms / 1000 + 1 };
	pthread_t th;
	bool eof = false, wb, threaded = false;

	if (rxb == NULL) {
		fail(x, "malloc", ENOMEM);
		return;
	}
	/* a hang turns into EAGAIN rather than a stuck test */
	zsock_setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	zsock_setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	t.part = *x;
	if (x->send_len == 0) {
		if (zsock_shutdown(fd, ZSOCK_SHUT_WR) != 0)
			fail(x, "shutdown(SHUT_WR)", errno);
	} else if (pthread_create(&th, NULL, tx_blocking, &t) == 0) {
		threaded = true;
	} else {
		fail(x, "pthread_create", EAGAIN);
	}
	while (x->err == 0 && !eof) {
		if (!rx_step(&zsock_ops, fd, x, rxb, &wb, &eof))
			break;
		if (wb)
			fail(x, "blocking recv gave EAGAIN (SO_RCVTIMEO)", EAGAIN);
	}
	if (threaded) {
		pthread_join(th, NULL);
		x->sent = t.part.sent;
		x->tx_crc = t.part.tx_crc;
		if (t.part.err != 0)
			fail(x, t.part.where, t.part.err);
	}
	free(rxb);
}

void zi_xfer_zsock(int fd, struct zi_xfer *x)
{
	int64_t t0 = zt_now_ms();
	int fl;

	if (x->blocking) {
		run_blocking(fd, x);
	} else {
		fl = zsock_fcntl(fd, F_GETFL, 0);
		if (fl < 0 || zsock_fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
			fail(x, "fcntl(O_NONBLOCK)", errno);
		else
			run_polled(&zsock_ops, fd, x);
	}
	x->ms = zt_now_ms() - t0;
}

void zi_xfer_linux(int fd, struct zi_xfer *x)
{
	int64_t t0 = zt_now_ms();
	int fl = fcntl(fd, F_GETFL, 0);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		fail(x, "fcntl(O_NONBLOCK)", errno);
	else
		run_polled(&linux_ops, fd, x);
	x->ms = zt_now_ms() - t0;
}

uint64_t zi_bulk_bytes(unsigned int mib)
{
	const char *s = getenv("ZSOCK_TEST_SCALE");
	double f = 1.0;
	uint64_t n;

	if (s != NULL && *s != '\0') {
		char *end;
		double v = strtod(s, &end);

		if (*end == '\0' && v > 0)
			f = v;
	}
	n = (uint64_t)((double)mib * 1048576.0 * f);
	return n < 65536 ? 65536 : n;
}
