/*
 * The pcap format (see pcap.h for where frames come from).
 *
 * Classic libpcap layout, in the host's byte order (readers tell it from
 * the magic number):
 *
 *   file header, 24 bytes   magic a1b2c3d4 (microseconds), version 2.4,
 *                           thiszone 0, sigfigs 0, snaplen, linktype 1
 *   per frame, 16 bytes     ts_sec, ts_usec, incl_len, orig_len
 *                           then incl_len bytes of the frame
 *
 * incl_len = min(orig_len, snaplen): a loopback packet may be a 65535-byte
 * datagram plus the 14 made-up bytes, which the snaplen cuts. The frame is
 * written straight from the pbuf chain, segment by segment: no gathering
 * copy. Cost: one sink write per segment plus a flush per frame, in the
 * reactor, which is why this is a debugging switch and not always on.
 */
#include "engine/netif/pcap.h"
#include "engine/port/port.h"

#include <errno.h>
#include <string.h>

#include "lwip/pbuf.h"

#define LINKTYPE_ETHERNET 1
#define ETH_HDR_LEN       14

bool zs_pcap_open_now;
static bool link_rx;

struct pcap_file_hdr {
	uint32_t magic;
	uint16_t version_major;
	uint16_t version_minor;
	int32_t thiszone;
	uint32_t sigfigs;
	uint32_t snaplen;
	uint32_t linktype;
};

struct pcap_rec_hdr {
	uint32_t ts_sec;
	uint32_t ts_usec;
	uint32_t incl_len;
	uint32_t orig_len;
};

_Static_assert(sizeof(struct pcap_file_hdr) == 24, "pcap file header");
_Static_assert(sizeof(struct pcap_rec_hdr) == 16, "pcap record header");

static void fail(void)
{
	zs_pcap_open_now = false;
	zs_pcap_sink_close();
}

/* see pcap.h */
int zs_pcap_open(const char *path)
{
	struct pcap_file_hdr h = {
		.magic = 0xa1b2c3d4u,
		.version_major = 2,
		.version_minor = 4,
		.snaplen = ZS_PCAP_SNAPLEN,
		.linktype = LINKTYPE_ETHERNET,
	};
	int rc;

	ZS_ASSERT_REACTOR();
	if (zs_pcap_open_now)
		return -EALREADY;
	rc = zs_pcap_sink_open(path);
	if (rc < 0)
		return rc;
	rc = zs_pcap_sink_write(&h, sizeof(h));
	if (rc == 0)
		rc = zs_pcap_sink_flush();
	if (rc < 0) {
		zs_pcap_sink_close();
		return rc;
	}
	zs_pcap_open_now = true;
	return 0;
}

/* One record: the optional made-up link header, then the chain. */
static void record(const uint8_t *pre, uint32_t pre_len, const struct pbuf *p)
{
	struct pcap_rec_hdr r;
	uint32_t left;
	int rc;

	r.orig_len = pre_len + p->tot_len;
	r.incl_len = r.orig_len < ZS_PCAP_SNAPLEN ? r.orig_len
						  : ZS_PCAP_SNAPLEN;
	zs_pcap_sink_time(&r.ts_sec, &r.ts_usec);
	left = r.incl_len - pre_len;	/* snaplen > 14: pre is never cut */

	rc = zs_pcap_sink_write(&r, sizeof(r));
	if (rc == 0 && pre_len > 0)
		rc = zs_pcap_sink_write(pre, pre_len);
	for (; rc == 0 && p != NULL && left > 0; p = p->next) {
		uint32_t n = p->len < left ? p->len : left;

		rc = zs_pcap_sink_write(p->payload, n);
		left -= n;
	}
	if (rc == 0)
		rc = zs_pcap_sink_flush();
	if (rc < 0)
		fail();
}

/* see pcap.h */
void zs_pcap_frame(const struct pbuf *p)
{
	if (zs_pcap_on())
		record(NULL, 0, p);
}

/* see pcap.h */
void zs_pcap_ip(const struct pbuf *p)
{
	uint8_t eth[ETH_HDR_LEN] = { 0 };
	uint8_t version;

	if (!zs_pcap_on() || p->len == 0)
		return;
	version = ((const uint8_t *)p->payload)[0] >> 4;
	/* dst, src all zero; ethertype IPv4 0x0800 or IPv6 0x86dd */
	eth[12] = version == 6 ? 0x86 : 0x08;
	eth[13] = version == 6 ? 0xdd : 0x00;
	record(eth, sizeof(eth), p);
}

/* see pcap.h */
void zs_pcap_link_rx(bool active)
{
	link_rx = active;
}

/* see pcap.h */
int zs_pcap_ip_input_hook(struct pbuf *p, struct netif *inp)
{
	(void)inp;
	if (!link_rx)
		zs_pcap_ip(p);
	return 0;
}
