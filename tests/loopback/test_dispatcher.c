/*
 * The offload dispatcher (zsock_dispatcher_socket, <zsock/socket_offload.h>):
 * CONFORMANCE.md's rules, over the engine's loopback. A fake offload
 * interface "fake0" whose factory counts its calls (and makes an engine
 * socket, so data still flows) shows which implementation a socket got.
 */
#include <criterion/criterion.h>

#include <zsock/engine.h>
#include <zsock/socket.h>
#include <zsock/socket_offload.h>

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "zt.h"

static _Atomic int fake_calls;
static _Atomic int fake_last_type;

static int fake_create(int family, int type, int proto)
{
	atomic_fetch_add(&fake_calls, 1);
	atomic_store(&fake_last_type, type);
	return zsock_socket(family, type, proto);
}

static struct net_if *fake_iface(void)
{
	struct net_if *nif = zsock_net_if_get_by_name("fake0");

	if (nif == NULL)
		nif = zsock_net_if_add_offloaded("fake0");
	cr_assert_not_null(nif, "add fake0: errno %d", errno);
	net_if_socket_offload_set(nif, fake_create);
	return nif;
}

static uint32_t sockets_now(void)
{
	struct zsock_engine_stats st;

	zt_stats(&st);
	return st.sockets_in_use;
}

static int disp(int family, int type, int proto)
{
	int fd = zsock_dispatcher_socket(family, type, proto);

	cr_assert_geq(fd, 0, "zsock_dispatcher_socket: errno %d", errno);
	return fd;
}

ZT_TEST(dispatcher, close_before_use_reaches_nothing, .timeout = 30)
{
	uint32_t before = sockets_now();
	int fd = disp(AF_INET, SOCK_STREAM, 0);

	cr_assert_eq(sockets_now(), before, "a dispatcher socket made an engine socket at once");
	cr_assert_eq(zsock_close(fd), 0);
	cr_assert_eq(sockets_now(), before);
	errno = 0;
	cr_assert_eq(zsock_close(fd), -1);
	cr_assert_eq(errno, EBADF);
}

ZT_TEST(dispatcher, first_call_dispatches_to_the_default, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);
	uint32_t before = sockets_now();
	int lst = disp(AF_INET, SOCK_STREAM, 0), cli, srv, type;
	socklen_t tl = sizeof(type);
	char buf[8];

	atomic_store(&fake_calls, 0); /* not fresh on bare metal: one boot runs every test */
	cr_assert_eq(zsock_bind(lst, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	cr_assert_eq(sockets_now(), before + 1, "bind did not make the engine socket");
	cr_assert_eq(zsock_getsockopt(lst, SOL_SOCKET, SO_TYPE, &type, &tl), 0);
	cr_assert_eq(type, SOCK_STREAM);
	cr_assert_eq(zsock_listen(lst, 2), 0);
	len = sizeof(ss);
	cr_assert_eq(zsock_getsockname(lst, (struct sockaddr *)&ss, &len), 0);
	cli = disp(AF_INET, SOCK_STREAM, 0);
	cr_assert_eq(zsock_connect(cli, (struct sockaddr *)&ss, len), 0, "connect: errno %d", errno);
	srv = zsock_accept(lst, NULL, NULL);
	cr_assert_geq(srv, 0, "accept: errno %d", errno);
	cr_assert_eq(zsock_send(cli, "hello", 5, 0), 5);
	zt_recv_all(srv, buf, 5);
	cr_assert_eq(memcmp(buf, "hello", 5), 0);
	cr_assert_eq(atomic_load(&fake_calls), 0, "the default went through an interface");
	zt_close(cli);
	zt_close(srv);
	zt_close(lst);
}

ZT_TEST(dispatcher, nonblock_is_kept_until_the_dispatch, .timeout = 30)
{
	int fd = disp(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	uint32_t before = sockets_now();
	char c;

	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, 0), 0);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, 0);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(sockets_now(), before, "fcntl dispatched");
	/* the real socket gets the mode: a recv on it does not block */
	errno = 0;
	cr_assert_eq(zsock_recv(fd, &c, 1, 0), -1);
	cr_assert(errno == EAGAIN || errno == ENOTCONN, "recv: errno %d", errno);
	cr_assert_eq(zsock_fcntl(fd, F_GETFL, 0) & O_NONBLOCK, O_NONBLOCK);
	zt_close(fd);
}

ZT_TEST(dispatcher, bindtodevice_picks_the_interface, .timeout = 30)
{
	int fd, type;
	socklen_t tl = sizeof(type);

	fake_iface();
	atomic_store(&fake_calls, 0);
	fd = disp(AF_INET, SOCK_DGRAM, 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "fake0", 6), 0,
		     "SO_BINDTODEVICE fake0: errno %d", errno);
	cr_assert_eq(atomic_load(&fake_calls), 1, "fake0's factory made %d sockets",
		     atomic_load(&fake_calls));
	cr_assert_eq(atomic_load(&fake_last_type), SOCK_DGRAM);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl), 0);
	cr_assert_eq(type, SOCK_DGRAM);
	/* later calls go to that socket, not to a second dispatch */
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0);
	cr_assert_eq(atomic_load(&fake_calls), 1);
	zt_close(fd);
}

ZT_TEST(dispatcher, bindtodevice_engine_interface_binds_the_engine_socket, .timeout = 30)
{
	uint32_t before = sockets_now();
	int fd = disp(AF_INET, SOCK_STREAM, 0);
	char dev[16] = "";
	socklen_t len = sizeof(dev);

	atomic_store(&fake_calls, 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3), 0,
		     "SO_BINDTODEVICE lo: errno %d", errno);
	cr_assert_eq(sockets_now(), before + 1);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, dev, &len), 0);
	cr_assert_str_eq(dev, "lo", "the engine socket is bound to %s", dev);
	cr_assert_eq(atomic_load(&fake_calls), 0);
	zt_close(fd);
}

ZT_TEST(dispatcher, bindtodevice_unknown_name_is_enodev, .timeout = 30)
{
	uint32_t before = sockets_now();
	int fd = disp(AF_INET, SOCK_STREAM, 0);

	errno = 0;
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "nosuch9", 8), -1);
	cr_assert_eq(errno, ENODEV);
	cr_assert_eq(sockets_now(), before, "a failed choice made a socket");
	zt_close(fd);
}

#if CONFIG_ZSOCK_TLS /* a build without TLS (the board's) makes no TLS socket */
ZT_TEST(dispatcher, tls_native_wraps_the_chosen_transport, .timeout = 30)
{
	int fd = disp(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2), one = 1, proto, cache = 1;
	socklen_t pl = sizeof(proto);

	fake_iface();
	atomic_store(&fake_calls, 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_NATIVE, &one, sizeof(one)), 0,
		     "TLS_NATIVE: errno %d", errno);
	errno = 0;
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_NATIVE, &(int){ 2 }, sizeof(int)), -1);
	cr_assert_eq(errno, EINVAL);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "fake0", 6), 0,
		     "SO_BINDTODEVICE: errno %d", errno);
	cr_assert_eq(atomic_load(&fake_calls), 1, "the transport did not come from fake0");
	cr_assert_eq(atomic_load(&fake_last_type), SOCK_STREAM);
	cr_assert_eq(zsock_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &pl), 0);
	cr_assert_eq(proto, IPPROTO_TLS_1_2, "not a TLS socket: protocol %d", proto);
	/* and it answers as one */
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_SESSION_CACHE, &cache, sizeof(cache)), 0);
	zt_close(fd);
}
#endif

ZT_TEST(dispatcher, poll_dispatches_and_sees_the_socket, .timeout = 30)
{
	struct zsock_pollfd p;
	int fd = disp(AF_INET, SOCK_DGRAM, 0);
	uint32_t before = sockets_now();

	p.fd = fd;
	p.events = ZSOCK_POLLOUT;
	cr_assert_eq(zsock_poll(&p, 1, 1000), 1, "poll: errno %d", errno);
	cr_assert(p.revents & ZSOCK_POLLOUT);
	cr_assert_eq(sockets_now(), before + 1, "poll did not dispatch");
	zt_close(fd);
}

ZT_TEST(dispatcher, creation_error_is_the_calls_error, .timeout = 30)
{
	int fd = disp(AF_INET, SOCK_STREAM, IPPROTO_UDP);
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);

	errno = 0;
	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), -1);
	cr_assert_eq(errno, EPROTONOSUPPORT, "errno %d", errno);
	cr_assert_eq(zsock_close(fd), 0, "closing a socket that could not be made");
}

/* ---- with a recording driver: what reached an implementation ---------------------------- */

/*
 * A driver that takes AF_INET sockets with proto 250 (nobody else does) and
 * records, per object, every call it receives; it serves no data.
 */
#define REC_PROTO 250

struct rec {
	int calls;                     /* every vtable call but close */
	int binds, setsockopts, closes;
	const struct sockaddr *bind_addr;
	socklen_t bind_len;
	int last_level, last_name;
};

static struct rec recs[4];
static _Atomic int rec_made;
static _Atomic int rec_if_made;

/* zero in a fresh process; on bare metal one boot runs every test */
static void rec_reset(void)
{
	atomic_store(&rec_made, 0);
	atomic_store(&rec_if_made, 0);
}

static int rec_bind(void *obj, const struct sockaddr *addr, socklen_t len)
{
	struct rec *r = obj;

	r->calls++;
	r->binds++;
	r->bind_addr = addr;
	r->bind_len = len;
	return 0;
}

static int rec_setsockopt(void *obj, int level, int name, const void *val, socklen_t len)
{
	struct rec *r = obj;

	(void)val;
	(void)len;
	r->calls++;
	r->setsockopts++;
	r->last_level = level;
	r->last_name = name;
	return 0;
}

static int rec_ioctl(void *obj, unsigned int req, va_list ap)
{
	struct rec *r = obj;

	(void)ap;
	if (req == ZFD_IOCTL_RELEASE)
		return 0;
	r->calls++;
	errno = EOPNOTSUPP;
	return -1;
}

static int rec_close(void *obj)
{
	((struct rec *)obj)->closes++;
	return 0;
}

static const struct socket_op_vtable rec_vtable = {
	.fd_vtable = { .close = rec_close, .ioctl = rec_ioctl },
	.bind = rec_bind,
	.setsockopt = rec_setsockopt,
};

static bool rec_supported(int family, int type, int proto)
{
	(void)family;
	(void)type;
	return proto == REC_PROTO;
}

static int rec_create(int family, int type, int proto)
{
	int n = atomic_fetch_add(&rec_made, 1), fd;

	(void)family;
	(void)type;
	(void)proto;
	if (n >= 4) {
		errno = ENOMEM;
		return -1;
	}
	fd = z_reserve_fd();
	if (fd < 0)
		return -1;
	memset(&recs[n], 0, sizeof(recs[n]));
	z_finalize_fd(fd, &recs[n], &rec_vtable.fd_vtable);
	return fd;
}

NET_SOCKET_OFFLOAD_REGISTER(dispatcher_rec, 1, AF_INET, rec_supported, rec_create);

ZT_TEST(dispatcher, rec_close_before_use_reaches_no_driver, .timeout = 30)
{
	int fd;

	rec_reset();
	fd = disp(AF_INET, SOCK_DGRAM, REC_PROTO);
	cr_assert_eq(zsock_close(fd), 0);
	cr_assert_eq(atomic_load(&rec_made), 0, "the driver was asked to make a socket");
}

ZT_TEST(dispatcher, rec_first_call_reaches_the_default_driver, .timeout = 30)
{
	struct sockaddr_storage ss;
	socklen_t len = zt_loopback(AF_INET, 0, &ss);
	int fd;

	rec_reset();
	fd = disp(AF_INET, SOCK_DGRAM, REC_PROTO);
	cr_assert_eq(atomic_load(&rec_made), 0);
	cr_assert_eq(zsock_bind(fd, (struct sockaddr *)&ss, len), 0, "bind: errno %d", errno);
	cr_assert_eq(atomic_load(&rec_made), 1, "the registry's choice was not asked");
	cr_assert_eq(recs[0].binds, 1, "the first call was not forwarded");
	cr_assert_eq(recs[0].bind_addr, (const struct sockaddr *)&ss, "forwarded another address");
	cr_assert_eq(recs[0].bind_len, len);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &(int){ 1 }, sizeof(int)), 0);
	cr_assert_eq(recs[0].setsockopts, 1);
	cr_assert_eq(recs[0].last_level, SOL_SOCKET);
	cr_assert_eq(recs[0].last_name, SO_KEEPALIVE);
	cr_assert_eq(recs[0].calls, 2, "the driver got %d calls, want 2", recs[0].calls);
	cr_assert_eq(zsock_close(fd), 0);
	cr_assert_eq(recs[0].closes, 1);
}

ZT_TEST(dispatcher, rec_tls_native_and_fcntl_reach_no_driver, .timeout = 30)
{
	int fd, one = 1;

	rec_reset();
	fd = disp(AF_INET, SOCK_DGRAM, REC_PROTO);
	cr_assert_eq(zsock_fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	cr_assert_eq(zsock_setsockopt(fd, SOL_TLS, TLS_NATIVE, &one, sizeof(one)), 0);
	cr_assert_eq(atomic_load(&rec_made), 0, "a choice-keeping call made a socket");
	cr_assert_eq(zsock_close(fd), 0);
	cr_assert_eq(atomic_load(&rec_made), 0);
}

/* rec0's factory: the recording driver, counted apart from the registry's use of it */
static int rec_create_if(int family, int type, int proto)
{
	atomic_fetch_add(&rec_if_made, 1);
	return rec_create(family, type, proto);
}

ZT_TEST(dispatcher, rec_bindtodevice_uses_the_interface_not_the_default, .timeout = 30)
{
	struct net_if *nif = zsock_net_if_get_by_name("rec0");
	int fd;

	rec_reset();
	fd = disp(AF_INET, SOCK_DGRAM, REC_PROTO);
	if (nif == NULL)
		nif = zsock_net_if_add_offloaded("rec0");
	cr_assert_not_null(nif);
	net_if_socket_offload_set(nif, rec_create_if);
	cr_assert_eq(zsock_setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "rec0", 5), 0,
		     "SO_BINDTODEVICE rec0: errno %d", errno);
	cr_assert_eq(atomic_load(&rec_if_made), 1, "rec0's factory was not asked");
	cr_assert_eq(atomic_load(&rec_made), 1, "more than one socket made");
	cr_assert_eq(recs[0].calls, 0, "SO_BINDTODEVICE to an offload interface is not forwarded");
	zt_close(fd);
	cr_assert_eq(recs[0].closes, 1);
}
