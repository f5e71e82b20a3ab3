/*
 * lwIP configuration for zsock: NO_SYS=1, raw API only, everything run by
 * the reactor. Each value says what it costs. Sizes that users tune come
 * from <zsock/zsock_config.h> (Meson options).
 */
#ifndef ZSOCK_LWIPOPTS_H
#define ZSOCK_LWIPOPTS_H

#include <zsock/zsock_config.h>

/* ---- system: one context, no OS ---------------------------------------- */
#define NO_SYS                      1
#define SYS_LIGHTWEIGHT_PROT        0   /* the reactor is the only context */
#define LWIP_SOCKET                 0   /* zsock is the socket layer */
#define LWIP_NETCONN                0
#define LWIP_NETIF_API              0
#define LWIP_TIMERS                 1
#define LWIP_CALLBACK_API           1

/* The C library's htons() & co. stay; lwIP uses its own lwip_htons(). */
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1

/* Every raw-API entry asserts it runs in the reactor. */
void zs_lwip_assert_core(void);
#define LWIP_ASSERT_CORE_LOCKED()   zs_lwip_assert_core()

/* ---- memory: static pools only ----------------------------------------- */
/*
 * Margins over the configured counts, and the queues that follow the size
 * of the machine: a host takes a 45-frame datagram and a deep ARP queue;
 * a 64 KiB microcontroller takes 8 of each.
 */
#if CONFIG_ZSOCK_HOSTED
#define ZS_LWIP_MARGIN              64
#else
#define ZS_LWIP_MARGIN              8
#endif
#define MEM_LIBC_MALLOC             0
#define MEMP_MEM_MALLOC             0
#define MEM_ALIGNMENT               8
/* heap for headers, loopback copies and reassembly */
#define MEM_SIZE                    CONFIG_LWIP_MEM_SIZE
/* PBUF_REF/ROM descriptors: one per tcp_write of a net_buf, one per
 * datagram fragment sent from net_bufs */
#define MEMP_NUM_PBUF               (CONFIG_NET_BUF_TX_COUNT + ZS_LWIP_MARGIN)
#define MEMP_NUM_TCP_PCB            CONFIG_NET_MAX_CONN
#define MEMP_NUM_TCP_PCB_LISTEN     (CONFIG_NET_MAX_CONTEXTS < 16 ? CONFIG_NET_MAX_CONTEXTS : 16)
#define MEMP_NUM_UDP_PCB            CONFIG_NET_MAX_CONTEXTS
/* at least one connection's whole send queue (lwIP checks) */
#define MEMP_NUM_TCP_SEG            (CONFIG_NET_BUF_TX_COUNT + ZS_LWIP_MARGIN > TCP_SND_QUEUELEN \
				     ? CONFIG_NET_BUF_TX_COUNT + ZS_LWIP_MARGIN : TCP_SND_QUEUELEN)
#define MEMP_NUM_REASSDATA          (ZS_LWIP_MARGIN / 8)
#define MEMP_NUM_FRAG_PBUF          ZS_LWIP_MARGIN
#define MEMP_NUM_SYS_TIMEOUT        (LWIP_NUM_SYS_TIMEOUT_INTERNAL + 4)
#define PBUF_POOL_SIZE              CONFIG_LWIP_PBUF_POOL_SIZE /* netif receive buffers */
#define PBUF_POOL_BUFSIZE           1536
#define LWIP_SUPPORT_CUSTOM_PBUF    1

/* ---- protocols ---------------------------------------------------------- */
#define LWIP_IPV4                   1
#define LWIP_IPV6                   1
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define LWIP_ICMP                   1
#define LWIP_RAW                    0
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define LWIP_DNS                    0
#define LWIP_DHCP                   0
#define LWIP_IGMP                   1
#define LWIP_IPV6_MLD               1
#define LWIP_IPV6_AUTOCONFIG        0
#define LWIP_IPV6_DHCP6             0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS 0 /* static addresses are valid at once */
#define LWIP_ND6_QUEUEING           1
/* Keep every packet that waits for ARP, not just the newest: the first
 * fragmented datagram to a new neighbour is 45 frames. Costs a queue entry
 * (16 bytes) per waiting packet. */
#define ARP_QUEUEING                1
#define ARP_QUEUE_LEN               ZS_LWIP_MARGIN
#define MEMP_NUM_ARP_QUEUE          ZS_LWIP_MARGIN
#define IP_FORWARD                  0
#define IP_REASSEMBLY               1
#define IP_FRAG                     1
#define IP_REASS_MAX_PBUFS          ZS_LWIP_MARGIN  /* a 65507-byte datagram is 45 frames */
#define LWIP_IPV6_FRAG              1
#define LWIP_IPV6_REASS             1
/* 64-bit hosts: lwIP's reassembly helper does not fit in the 8-byte
 * fragment header it would overlay, so it keeps a copy instead */
#define IPV6_FRAG_COPYHEADER        1
#define SO_REUSE                    1
#define LWIP_TCP_KEEPALIVE          1
#define LWIP_SO_RCVBUF              0

/* ---- TCP --------------------------------------------------------------- */
/* <netinet/tcp.h> names a socket option TCP_MSS; lwIP's meaning wins in
 * files that include both (the engine never uses the option). */
#undef TCP_MSS
#define TCP_MSS                     1460
/* receive window: how much a peer may send before the application reads */
#define TCP_WND                     CONFIG_NET_TCP_WINDOW
/* send buffer: unacknowledged bytes lwIP may hold per connection; the data
 * itself stays in the socket's net_bufs (no copy) */
#define TCP_SND_BUF                 CONFIG_NET_TCP_WINDOW
#define TCP_SND_QUEUELEN            ((4 * TCP_SND_BUF + (TCP_MSS - 1)) / TCP_MSS + ZS_LWIP_MARGIN)
#define TCP_SNDLOWAT                (TCP_SND_BUF / 2)
#define TCP_LISTEN_BACKLOG          1
#define TCP_DEFAULT_LISTEN_BACKLOG  16
#define TCP_QUEUE_OOSEQ             1
#define TCP_OOSEQ_MAX_PBUFS         ZS_LWIP_MARGIN
#define TCP_SYNMAXRTX               6
#define TCP_MAXRTX                  12
/* Selective ACKs (RFC 2018) sent by lwIP. Without them a Linux sender that
 * times out retransmits its whole window; every ACK then covers
 * retransmitted data, Karn's rule leaves it without an RTT sample and its
 * RTO back-off never resets: at 20 % loss a Linux-to-zsock stream stalled
 * for minutes and failed with ETIMEDOUT (docs/faults.md). With SACKs the
 * peer resends only what was lost and new data gets it RTT samples again.
 * Cost: 8 * LWIP_TCP_MAX_SACK_NUM bytes per PCB, options in ACKs only
 * while data is out of order. lwIP does not use the SACKs it receives (its
 * own retransmission is go-back-N). Timestamps (RFC 7323) stay off: they
 * would take 12 bytes from every segment, and the receive pools are sized
 * in full-MSS segments per window (NET_BUF_RX_COUNT). */
#define LWIP_TCP_TIMESTAMPS         0
#define LWIP_TCP_SACK_OUT           1
#define LWIP_TCP_MAX_SACK_NUM       4
#define TCP_OVERSIZE                0   /* only used with copying writes */
#define LWIP_WND_SCALE              0
/* The TCP fast timer (delayed ACKs) every 100 ms and the slow timer
 * (retransmission, RTO granularity) every 200 ms, instead of lwIP's 250 /
 * 500 ms. lwIP 2.1.3 has no NewReno, so a second loss in one window waits
 * for the RTO: at 500 ms ticks a 5 % loss link runs at a trickle. Costs
 * timer wake-ups only while TCP connections exist (idle: none). */
#define TCP_TMR_INTERVAL            100

/* ---- netifs ------------------------------------------------------------ */
#define LWIP_HAVE_LOOPIF            1
/* the loopback netif joins IPv4 groups (IP_ADD_MEMBERSHIP on "lo") */
#define LWIP_LOOPIF_MULTICAST       1
#define LWIP_NETIF_LOOPBACK         1
#define LWIP_LOOPBACK_MAX_PBUFS     0
#define LWIP_NETIF_STATUS_CALLBACK  0
#define LWIP_NETIF_LINK_CALLBACK    0
#define LWIP_NETIF_HOSTNAME         0
#define LWIP_SINGLE_NETIF           0
#define LWIP_NUM_NETIF_CLIENT_DATA  1
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0

/* ---- pcap mirroring ---------------------------------------------------------
 * Packets that lwIP delivers to itself (127.0.0.1, ::1, an interface's own
 * address) never pass a link-layer output, so the capture sees them where
 * they enter IP. The hook returns 0: it never consumes a packet. */
struct pbuf;
struct netif;
int zs_pcap_ip_input_hook(struct pbuf *p, struct netif *inp);
/* the same, and the checksum cache's start of a packet (csum.c) */
int zs_ip_input_hook(struct pbuf *p, struct netif *inp);
#define LWIP_HOOK_IP4_INPUT(p, inp) zs_ip_input_hook((p), (inp))
#define LWIP_HOOK_IP6_INPUT(p, inp) zs_ip_input_hook((p), (inp))

/* ---- forwarded payload keeps its checksum (csum.c, csum.h) ----------------
 * Every sum lwIP takes goes through zs_lwip_chksum() (lwIP's own algorithm
 * 2 underneath); tcp_input() tells zs_csum_tcp_in() of each checked
 * segment, so that a received payload forwarded unchanged is not summed a
 * second time on its way out. */
#include <stdint.h>
struct tcp_hdr;
uint16_t zs_lwip_chksum(const void *ptr, int len);
void zs_csum_tcp_in(const struct tcp_hdr *hdr, uint16_t optlen, const void *opt2,
		    struct pbuf *p);
#define LWIP_CHKSUM zs_lwip_chksum
#define LWIP_CHKSUM_ALGORITHM 2
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
	((void)(pcb), (void)(opt1len), zs_csum_tcp_in((hdr), (optlen), (opt2), (p)), ERR_OK)

/* ---- diagnostics ------------------------------------------------------- */
#define LWIP_STATS                  1
#define MEMP_STATS                  1
#define MEM_STATS                   1
#define LWIP_STATS_DISPLAY          0
#define LINK_STATS                  0
#define ETHARP_STATS                0
#define IP_STATS                    0
#define IPFRAG_STATS                0
#define ICMP_STATS                  0
#define UDP_STATS                   0
#define TCP_STATS                   0
#define IP6_STATS                   0
#define ICMP6_STATS                 0
#define IP6_FRAG_STATS              0
#define MLD6_STATS                  0
#define ND6_STATS                   0
#define IGMP_STATS                  0
#define SYS_STATS                   0

#endif
