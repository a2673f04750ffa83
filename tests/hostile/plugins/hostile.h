/*
 * Shared pieces of the hostile fixture plugins: a descriptor builder and the
 * methods every one of them gets right, so that each file shows only the way
 * it misbehaves. The plugins keep no sandbox state: a sandbox's native handle
 * is a copy of its id, and what a method does is steered by its arguments
 * (the id, the command, the path, the port), so that separate processes (the
 * csdk command, the conformance kit's case processes) see the same plugin.
 */
#ifndef CSDK_TESTS_HOSTILE_H
#define CSDK_TESTS_HOSTILE_H

#include <csdk/plugin.h>

#ifndef HOSTILE_NAME
#error "define HOSTILE_NAME"
#endif

/* The host table init received (one context per process is enough here). */
extern const struct csdk_host *hostile_host;

int hostile_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out);
void hostile_teardown(void *ctx);
void hostile_release(void *ctx, void *sandbox);
/* A handle holding a copy of id; NULL when out of memory. */
void *hostile_native(const char *id);
const char *hostile_id(const void *sandbox);
int hostile_get(void *ctx, const char *id, void **sandbox_out);
int hostile_list(void *ctx, struct csdk_handles *out);
int hostile_destroy(void *ctx, const char *id);
int hostile_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out);
int hostile_get_info(void *ctx, void *sandbox, struct csdk_info *out);
int hostile_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out);
/* Create a sandbox called id (no checks). */
int hostile_make(const char *id, struct csdk_text *id_out, void **sandbox_out);
/* Write a NUL-terminated string to stdout of a sink; returns the host's code. */
int hostile_say(struct csdk_sink *out, const char *text);

#define HOSTILE_DESCRIPTOR(caps, keys, n_keys, methods_ptr) \
	static const struct csdk_plugin hostile_descriptor = { \
		.magic = CSDK_PLUGIN_MAGIC, \
		.struct_size = sizeof(struct csdk_plugin), \
		.abi_version = CSDK_ABI_VERSION, \
		.modes = CSDK_MODE_DIRECT, \
		.default_mode = CSDK_MODE_DIRECT, \
		.capabilities = (caps), \
		.name = HOSTILE_NAME, \
		.version = "6.6.6", \
		.description = "Hostile fixture " HOSTILE_NAME, \
		.license = "MIT", \
		.config_keys = (keys), \
		.n_config_keys = (n_keys), \
		.config_key_size = sizeof(struct csdk_config_key), \
		.methods = (methods_ptr), \
	}; \
	CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out) \
	{ \
		if (CSDK_ABI_MAJOR_OF(host_abi) != CSDK_ABI_MAJOR) \
			return CSDK_EABI; \
		*out = &hostile_descriptor; \
		return 0; \
	}

#endif
