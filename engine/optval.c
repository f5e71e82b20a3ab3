/* Option values: see optval.h. */
#include "engine/optval.h"

#include <errno.h>
#include <string.h>

int zs_optval_put_int(void *val, socklen_t *len, int v)
{
	if ((int)*len < (int)sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(int));
	*len = sizeof(int);
	return 0;
}

int zs_optval_get_int(const void *val, socklen_t len, int *v)
{
	if ((int)len < (int)sizeof(int))
		return -EINVAL;
	memcpy(v, val, sizeof(int));
	return 0;
}

int zs_optval_put_timeo(void *val, socklen_t *len, int32_t ms)
{
	struct timeval tv = { 0, 0 };

	if ((int)*len < (int)sizeof(tv))
		return -EINVAL;
	if (ms > 0) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
	}
	memcpy(val, &tv, sizeof(tv));
	*len = sizeof(tv);
	return 0;
}

int zs_optval_get_timeo(const void *val, socklen_t len, _Atomic int32_t *out)
{
	struct timeval tv;
	int64_t ms;

	if ((int)len < (int)sizeof(tv))
		return -EINVAL;
	memcpy(&tv, val, sizeof(tv));
	if (tv.tv_sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000)
		return -EDOM;
	/* clamp before multiplying: a tv_sec near its maximum would overflow */
	if (tv.tv_sec >= INT32_MAX / 1000)
		ms = INT32_MAX;
	else
		ms = (int64_t)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
	if (ms > INT32_MAX)
		ms = INT32_MAX;
	atomic_store(out, ms == 0 ? -1 : (int32_t)ms);
	return 0;
}
