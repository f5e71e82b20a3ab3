/* Start-up hooks the reactor calls, each owned by its layer. */
#ifndef ZSOCK_ENGINE_INIT_H
#define ZSOCK_ENGINE_INIT_H

/** Any thread, before the reactor starts: socket pool, fd table. */
void zs_engine_objects_init(void);

/**
 * Reactor, after lwip_init(): the loopback interface (127.0.0.1, ::1) and
 * the interfaces configured through <zsock/engine.h> or ZSOCK_NETIF.
 * Returns 0 or -errno (a configured interface could not be brought up).
 */
int zs_engine_netifs_init(void);

#endif
