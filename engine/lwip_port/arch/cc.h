/* lwIP architecture glue for zsock: C99 types, zsock's panic for asserts. */
#ifndef ZSOCK_LWIP_ARCH_CC_H
#define ZSOCK_LWIP_ARCH_CC_H

#include <stdint.h>
#include <stdlib.h>

#define LWIP_NO_INTTYPES_H 0
#define LWIP_RAND()        ((u32_t)zs_lwip_rand())
unsigned int zs_lwip_rand(void);

_Noreturn void zs_lwip_panic(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_ASSERT(x) zs_lwip_panic((x), __FILE__, __LINE__)
#define LWIP_PLATFORM_DIAG(x)   do { } while (0)

#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif

#endif
