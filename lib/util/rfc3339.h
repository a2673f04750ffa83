#ifndef CSDK_UTIL_RFC3339_H
#define CSDK_UTIL_RFC3339_H

#include <stdint.h>

/**
 * Milliseconds since the epoch of an RFC 3339 time ("2026-12-04T17:29:01Z",
 * "...01.123456789Z", "...01+02:00"), as Docker, Kubernetes and envd write
 * them; digits past milliseconds are dropped. 0 for NULL or a string that
 * does not start with a date and time. Thread-safe.
 */
int64_t csdku_rfc3339_ms(const char *s);

#endif
