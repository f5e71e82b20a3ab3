#include "engine/engine_init.h"
int zs_engine_netifs_init(void) { return 0; }
