/*
 * The pcap sink of a hosted port: one stdio stream, flushed per frame so
 * that an abrupt exit loses at most the frame being written. The format
 * lives in netif/pcap.c; this file is all of the capture's file I/O, and a
 * port without a file system replaces it (a UART, semihosting, a RAM ring).
 */
#include "engine/netif/pcap.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

static FILE *out;

int zs_pcap_sink_open(const char *path)
{
	out = fopen(path, "wbe");	/* e: close-on-exec */
	return out != NULL ? 0 : -errno;
}

int zs_pcap_sink_write(const void *buf, size_t len)
{
	if (fwrite(buf, 1, len, out) != len)
		return errno ? -errno : -EIO;
	return 0;
}

int zs_pcap_sink_flush(void)
{
	return fflush(out) == 0 ? 0 : (errno ? -errno : -EIO);
}

void zs_pcap_sink_close(void)
{
	if (out != NULL)
		fclose(out);
	out = NULL;
}

void zs_pcap_sink_time(uint32_t *sec, uint32_t *usec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (uint32_t)ts.tv_sec;
	*usec = (uint32_t)(ts.tv_nsec / 1000);
}
