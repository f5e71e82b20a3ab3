/* DTLS 1.2 sockets: being written (issue 8). */
#include "tls_bearssl/tls.h"

#include <errno.h>

int zs_dtls_sock_create(int family, int type)
{
	(void)family;
	(void)type;
	return -EPROTONOSUPPORT;
}
