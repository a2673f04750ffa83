/*
 * noop-plugin.c - a provider whose every method does nothing and succeeds.
 *
 * `csdk bench micro` compiles it at run time (with the system cc) and
 * copies it under many names, to time plugin discovery and the cost of a
 * call through the host against a direct call of the same function. The
 * name is TOOL_NOOP_NAME, a fixed-width placeholder that the benchmark
 * overwrites in each copy so that every file csdk-NAME.so declares NAME.
 */
#include <stddef.h>
#include <string.h>

#include <csdk/plugin.h>

#ifndef TOOL_NOOP_NAME
#define TOOL_NOOP_NAME "noop-zzzz"
#endif

static const struct csdk_host *noop_host;
static int noop_ctx;
static int noop_sandbox;

static int noop_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	(void)config;
	noop_host = host;
	*ctx_out = &noop_ctx;
	return 0;
}

static void noop_teardown(void *ctx)
{
	(void)ctx;
}

static void noop_release(void *ctx, void *sandbox)
{
	(void)ctx;
	(void)sandbox;
}

static int noop_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	(void)ctx;
	(void)opts;
	*sandbox_out = &noop_sandbox;
	return noop_host->text_set(id_out, "noop");
}

static int noop_get(void *ctx, const char *id, void **sandbox_out)
{
	(void)ctx;
	if (strcmp(id, "noop") != 0)
		return CSDK_ENOTFOUND;
	*sandbox_out = &noop_sandbox;
	return 0;
}

static int noop_list(void *ctx, struct csdk_handles *out)
{
	(void)ctx;
	(void)out;
	return 0;
}

static int noop_destroy(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
	return 0;
}

static int noop_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out)
{
	(void)ctx;
	(void)sandbox;
	(void)code;
	(void)req;
	(void)out;
	*exit_code_out = 0;
	return 0;
}

static int noop_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out)
{
	(void)ctx;
	(void)sandbox;
	(void)command;
	(void)opts;
	(void)out;
	*exit_code_out = 0;
	return 0;
}

static int noop_get_info(void *ctx, void *sandbox, struct csdk_info *out)
{
	(void)ctx;
	(void)sandbox;
	noop_host->info_set_id(out, "noop");
	return noop_host->info_set_status(out, CSDK_STATUS_RUNNING);
}

static int noop_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	(void)ctx;
	(void)sandbox;
	(void)port;
	(void)protocol;
	return noop_host->text_set(out, "http://127.0.0.1/");
}

static int noop_extend_timeout(void *ctx, void *sandbox, int64_t duration_ms)
{
	(void)ctx;
	(void)sandbox;
	(void)duration_ms;
	return 0;
}

static int noop_find(void *ctx, const char *namespace_, const char *name, struct csdk_text *id_out, void **sandbox_out)
{
	(void)namespace_;
	(void)name;
	return noop_create(ctx, NULL, id_out, sandbox_out);
}

static int noop_find_or_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	return noop_find(ctx, opts->namespace_, opts->name, id_out, sandbox_out);
}

static const struct csdk_methods noop_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = noop_init,
	.teardown = noop_teardown,
	.release = noop_release,
	.create = noop_create,
	.get = noop_get,
	.list = noop_list,
	.destroy = noop_destroy,
	.run_code = noop_run_code,
	.run_command = noop_run_command,
	.get_info = noop_get_info,
	.get_url = noop_get_url,
	.find_or_create = noop_find_or_create,
	.find = noop_find,
	.extend_timeout = noop_extend_timeout,
};

static const struct csdk_plugin noop_plugin = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = CSDK_ABI_VERSION,
	.modes = CSDK_MODE_DIRECT,
	.default_mode = CSDK_MODE_DIRECT,
	.capabilities = CSDK_CAP_NAMED | CSDK_CAP_THREAD_SAFE,
	.name = TOOL_NOOP_NAME,
	.version = "1.0.0",
	.description = "Benchmark provider whose methods do nothing",
	.license = "MIT",
	.config_keys = NULL,
	.n_config_keys = 0,
	.config_key_size = sizeof(struct csdk_config_key),
	.methods = &noop_methods,
};

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	if (CSDK_ABI_MAJOR_OF(host_abi) != CSDK_ABI_MAJOR)
		return CSDK_EABI;
	*out = &noop_plugin;
	return 0;
}
