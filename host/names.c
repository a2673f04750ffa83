#include "config.h"

#include <csdk/csdk.h>

const char *csdk_mode_name(uint32_t mode)
{
	switch (mode) {
	case CSDK_MODE_DIRECT: return "direct";
	case CSDK_MODE_GATEWAY: return "gateway";
	default: return "unknown";
	}
}

const char *csdk_capability_name(uint64_t cap)
{
	if (cap == CSDK_CAP_FILESYSTEM)
		return "filesystem";
	if (cap == CSDK_CAP_NAMED)
		return "named";
	if (cap == CSDK_CAP_TEMPLATES)
		return "templates";
	if (cap == CSDK_CAP_SNAPSHOTS)
		return "snapshots";
	if (cap == CSDK_CAP_STREAMING)
		return "streaming";
	if (cap == CSDK_CAP_THREAD_SAFE)
		return "thread-safe";
	if (cap == CSDK_CAP_EXEC)
		return "exec";
	if (cap == CSDK_CAP_FS_OVER_COMMANDS)
		return "fs-over-commands";
	return NULL;
}
