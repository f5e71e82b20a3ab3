/* The close-race tests' sender and taker threads: see zt_race.h. */
#include "zt_race.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <zsock/socket.h>

#include "zt.h"

/* byte i of what the taker reads is byte i of stream seed */
static bool stream_check(struct zt_race_taker *t, const uint8_t *buf, size_t n)
{
	size_t k = zt_pattern_check(t->seed, t->got, buf, n);

	if (k == n)
		return true;
	snprintf(t->why, sizeof(t->why), "%zu bytes at %zu: first bad at %zu", n, t->got, k);
	return false;
}

void *zt_race_taker_main(void *arg)
{
	struct zt_race_taker *t = arg;
	uint8_t buf[ZT_RACE_TAKE_MAX];
	size_t want = t->want > 0 && t->want <= sizeof(buf) ? t->want : sizeof(buf);

	while (!atomic_load(&t->stop)) {
		ssize_t n = zsock_recv(t->fd, buf, want, ZSOCK_MSG_DONTWAIT);

		if (n > 0) {
			if (!(t->check != NULL ? t->check : stream_check)(t, buf, (size_t)n))
				t->bad++;
			t->got += (size_t)n;
			usleep(50); /* let data queue: longer takes */
		} else if (n == 0) {
			t->eof = true;
			break;
		} else if (errno != EAGAIN) {
			t->err = errno;
			break;
		}
	}
	return NULL;
}

void *zt_race_sender_main(void *arg)
{
	struct zt_race_sender *d = arg;
	uint8_t buf[ZT_RACE_CHUNK];

	while (!atomic_load(&d->stop)) {
		ssize_t n;

		zt_pattern(d->seed, d->sent, buf, sizeof(buf));
		n = zsock_send(d->fd, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
		if (n > 0) {
			d->sent += (size_t)n; /* a short send: the rest goes next */
		} else if (errno != EAGAIN) {
			d->err = errno;
			break;
		} else {
			usleep(d->pause_us);
		}
	}
	return NULL;
}
