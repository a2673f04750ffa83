/* The host sources the fuzz targets link directly (libcsdk exports csdk_* only), and the lib/util ones they call. */
#include "config.h"

#include "elf.c"
#include "error.c"
#include "config_keys.c"
#include "config_value.c"
#include "names.c"
#include "userconfig.c"
#include "util.c"
#include "buf.c"
