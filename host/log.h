#ifndef CSDK_HOST_LOG_H
#define CSDK_HOST_LOG_H

#include <csdk/csdk.h>

/* Deliver one message (already scrubbed of secrets) to the log handler. */
void csdkp_log_emit(enum csdk_log_level level, const char *provider, const char *message);

#endif
