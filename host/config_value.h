#ifndef CSDK_HOST_CONFIG_VALUE_H
#define CSDK_HOST_CONFIG_VALUE_H

#include <stdint.h>

#include <csdk/csdk.h>

/* Typed configuration values. The parsers return 0 or -1 and set nothing on failure. */

/** true/yes/on/1 or false/no/off/0. */
int csdkp_parse_bool(int *out, const char *text);
/** A decimal integer, optionally negative, without spaces; overflow fails. */
int csdkp_parse_int64(int64_t *out, const char *text);
/** Bytes with an optional K, M, G or T suffix (powers of 1024; KB, KiB likewise). */
int csdkp_parse_size(int64_t *out, const char *text);
/** Milliseconds, or a number with ms, s, m or h. */
int csdkp_parse_duration(int64_t *out, const char *text);

/**
 * The value of text for a typed key, within its bounds. CSDK_ECONFIG with
 * "key 'K': 'TEXT' is not a duration; give ..." (or "... is out of range;
 * give MIN to MAX"), CSDK_EINVAL for a string key.
 */
int csdkp_config_value(int64_t *out, const csdk_config_key_info *key, const char *text, const char *provider);

#endif
