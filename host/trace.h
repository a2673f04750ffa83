#ifndef CSDK_HOST_TRACE_H
#define CSDK_HOST_TRACE_H

/*
 * CSDK_DEBUG is a comma-separated list of topics ("plugins", ...) or "all".
 * It is read at every call, so a program may change it at run time.
 */
int csdkp_trace_enabled(const char *topic);
/** Print one line "csdk: TOPIC: MESSAGE" on stderr when the topic is enabled. */
void csdkp_trace(const char *topic, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
