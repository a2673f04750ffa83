#ifndef CSDK_HOST_RULES_H
#define CSDK_HOST_RULES_H

#include <stdint.h>

#include "provider.h"

/*
 * The rules every provider shares, checked by the host before a plugin is
 * called, each failing with CSDK_EINVAL and one message format:
 * "WHAT 'VALUE' is not valid: FACT; FIX".
 */

/** The longest sandbox name or namespace. */
#define CSDKP_NAME_MAX 63
/** The longest lifetime or timeout: 30 days. */
#define CSDKP_TIMEOUT_MAX_MS (INT64_C(30) * 24 * 3600 * 1000)

/** A sandbox name or namespace: [A-Za-z0-9][A-Za-z0-9._-]*, at most 63 bytes. */
int csdkp_check_name(const csdk_provider *p, const char *what, const char *value);
/** A name (required) and a namespace (NULL allowed). */
int csdkp_check_named(const csdk_provider *p, const char *ns, const char *name);
/** 0 (none or default) or 1 ms to 30 days. */
int csdkp_check_timeout(const csdk_provider *p, const char *what, int64_t ms);
/** NULL, "python" or "node". */
int csdkp_check_runtime(const csdk_provider *p, const char *runtime);
/** 1 to 65535. */
int csdkp_check_port(const csdk_provider *p, int port);
/** NULL or a URL scheme: [a-z][a-z0-9+.-]*, at most 32 bytes. */
int csdkp_check_protocol(const csdk_provider *p, const char *protocol);

#endif
