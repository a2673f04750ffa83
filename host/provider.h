#ifndef CSDK_HOST_PROVIDER_H
#define CSDK_HOST_PROVIDER_H

#include <pthread.h>

#include <csdk/csdk.h>
#include <csdk/plugin.h>

struct csdk_config {
	const csdk_plugin_info *plugin;
	size_t n;
	struct csdk_kv *kv; /* owned strings; effective values after environment fallback */
};

struct csdk_provider {
	struct csdk_host host; /* first: host callbacks find the provider from it */
	pthread_mutex_t call_lock;
	pthread_mutex_t ref_lock;
	int refs;
	int thread_safe;
	uint32_t mode;             /* effective: CSDK_MODE_DIRECT or CSDK_MODE_GATEWAY */
	char *name;
	const csdk_plugin_info *plugin;
	const struct csdk_methods *m;
	void *ctx;
	struct csdk_config config;
};

struct csdk_sandbox {
	csdk_provider *provider;
	char *id;
	void *native;
};

/*
 * Serialise calls into plugins that are not thread-safe, start each call
 * with a clean error, and record the call (method: a static string) for
 * csdk_plugin_call_current until csdkp_provider_leave.
 */
void csdkp_provider_enter(csdk_provider *p, const char *method);
/* Record a plugin call without the lock (provider and method must outlive the call). */
void csdkp_call_push(const char *provider, const char *method);
void csdkp_call_pop(void);

/* The process-wide default registry, created on first use (environment honoured, not isolated). */
int csdkp_default_registry_get(csdk_registry **out);
/* Release a native handle under the call lock, leaving the caller's last error alone. */
void csdkp_provider_release(csdk_provider *p, void *native);
void csdkp_provider_leave(csdk_provider *p);

/*
 * Normalise what a plugin method returned: positive or unknown codes become
 * CSDK_EBACKEND, and a failure without a message gets one naming the method.
 */
int csdkp_provider_result(csdk_provider *p, const char *method, int rc);

void csdkp_provider_ref(csdk_provider *p);
void csdkp_provider_unref(csdk_provider *p);

/* A new handle owning id (copied) and native (taken). */
int csdkp_sandbox_wrap(csdk_sandbox **out, csdk_provider *p, const char *id, void *native);

/* Replace secret configuration values in msg by "***"; returns a new string or NULL. */
char *csdkp_provider_scrub(const csdk_provider *p, const char *msg);

/* config_keys.c: the plugin's declaration of a configuration key, or NULL. */
const csdk_config_key_info *csdkp_config_key_find(const csdk_plugin_info *plugin, const char *key);
/* "a, b, c" (or "(none)"): the keys a plugin declares, for messages. */
void csdkp_config_keys_text(char *buf, size_t size, const csdk_plugin_info *plugin);

/* The messages for a missing optional group. */
int csdkp_unsupported_fs(const csdk_provider *p);
int csdkp_unsupported_named(const csdk_provider *p, const char *feature, const char *needs);
int csdkp_unsupported_group(const csdk_provider *p, const char *group);

#endif
