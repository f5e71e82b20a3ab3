#!/bin/sh
# Usage: check_symbols.sh zsock|host OBJECT_OR_ARCHIVE
# zsock: the code built with <zsock/posix_names.h> must call only zsock: no
#        undefined reference to the plain socket functions (or to glibc's
#        _FORTIFY_SOURCE variants of them), and references to zsock_*.
# host:  the same code built without the header (the control) must call
#        the plain names, which shows the check can fail.
set -eu
mode=$1
obj=$2
NM=${NM:-nm}

undef=$("$NM" -u "$obj" | awk '{print $NF}' | sed 's/@.*//' | sort -u)

plain="socket socketpair bind connect listen accept shutdown close send recv
sendto recvfrom sendmsg recvmsg setsockopt getsockopt getsockname getpeername
poll select fcntl fcntl64 ioctl getaddrinfo freeaddrinfo gai_strerror
getnameinfo gethostname inet_pton inet_ntop __recv_chk __recvfrom_chk
__poll_chk __fdelt_chk __gethostname_chk"

has() { printf '%s\n' "$undef" | grep -qx "$1"; }

status=0
case $mode in
zsock)
	for s in $plain; do
		if has "$s"; then
			echo "FAIL: $obj still references host '$s'"
			status=1
		fi
	done
	for s in zsock_socket zsock_bind zsock_connect zsock_listen \
		 zsock_accept zsock_send zsock_recv zsock_sendto \
		 zsock_recvfrom zsock_close zsock_poll zsock_select \
		 zsock_fcntl zsock_getaddrinfo zsock_freeaddrinfo \
		 zsock_getnameinfo zsock_inet_pton zsock_inet_ntop \
		 zsock_gethostname zsock_shutdown zsock_getsockname; do
		if ! has "$s"; then
			echo "FAIL: $obj does not reference '$s'"
			status=1
		fi
	done
	;;
host)
	for s in socket connect close; do
		if ! has "$s"; then
			echo "FAIL: control $obj does not reference host '$s'"
			status=1
		fi
	done
	if printf '%s\n' "$undef" | grep -q '^zsock_'; then
		echo "FAIL: control $obj references zsock"
		status=1
	fi
	;;
*)
	echo "usage: $0 zsock|host OBJECT" >&2
	exit 2
	;;
esac
[ $status -eq 0 ] && echo "ok: $mode symbols in $obj"
exit $status
