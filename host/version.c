#include "config.h"

#include <csdk/csdk.h>

const char *csdk_version(void)
{
	return PACKAGE_VERSION;
}

uint32_t csdk_abi_version(void)
{
	return CSDK_ABI_VERSION;
}
