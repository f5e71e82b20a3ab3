/*
 * Shim: <zephyr/net/tls_credentials.h> for Zephyr application code on a
 * host: the credential API (sec_tag_t, enum tls_credential_type,
 * tls_credential_add / get / delete) is <zsock/tls_credentials.h>.
 */
#ifndef ZSOCK_ZEPHYR_NET_TLS_CREDENTIALS_H
#define ZSOCK_ZEPHYR_NET_TLS_CREDENTIALS_H

#include <zsock/socket.h>
#include <zsock/tls_credentials.h>

#endif /* ZSOCK_ZEPHYR_NET_TLS_CREDENTIALS_H */
