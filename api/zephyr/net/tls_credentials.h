/*
 * Shim: <zephyr/net/tls_credentials.h> for Zephyr application code on a
 * host.
 *
 * The credential API (sec_tag_t, enum tls_credential_type,
 * tls_credential_add / tls_credential_get / tls_credential_delete) belongs
 * in <zsock/tls_credentials.h>, which arrives with the secure sockets
 * (TLS) work. Until that header exists this shim provides only
 * <zsock/socket.h>, so code that merely includes it compiles; code that
 * calls the credential functions does not yet. Once
 * <zsock/tls_credentials.h> is installed next to <zsock/socket.h> this
 * shim picks it up with no change.
 */
#ifndef ZSOCK_ZEPHYR_NET_TLS_CREDENTIALS_H
#define ZSOCK_ZEPHYR_NET_TLS_CREDENTIALS_H

#include <zsock/socket.h>

#if defined(__has_include)
#if __has_include(<zsock/tls_credentials.h>)
#include <zsock/tls_credentials.h>
#endif
#endif

#endif /* ZSOCK_ZEPHYR_NET_TLS_CREDENTIALS_H */
