#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "trace.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static csdk_log_fn log_fn;
static void *log_userdata;

void csdk_set_log_handler(csdk_log_fn fn, void *userdata)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_userdata = userdata;
	pthread_mutex_unlock(&log_lock);
}

static const char *level_name(enum csdk_log_level level)
{
	switch (level) {
	case CSDK_LOG_DEBUG: return "debug";
	case CSDK_LOG_INFO: return "info";
	case CSDK_LOG_WARN: return "warning";
	default: return "error";
	}
}

void csdkp_log_emit(enum csdk_log_level level, const char *provider, const char *message)
{
	csdk_log_fn fn;
	void *ud;

	pthread_mutex_lock(&log_lock);
	fn = log_fn;
	ud = log_userdata;
	pthread_mutex_unlock(&log_lock);
	if (fn) {
		fn(level, provider, message, ud);
		return;
	}
	if (level < CSDK_LOG_WARN && !csdkp_trace_enabled(provider ? provider : "csdk"))
		return;
	if (provider)
		fprintf(stderr, "csdk: %s: %s: %s\n", provider, level_name(level), message);
	else
		fprintf(stderr, "csdk: %s: %s\n", level_name(level), message);
}
