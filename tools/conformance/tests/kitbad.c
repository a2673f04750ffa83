/*
 * A provider that breaks the contract on purpose, so the kit's own test can
 * see it fail cases: wrong output, a crash, a hang, a bad URL.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <csdk/plugin.h>

static const struct csdk_host *host;
static int counter;

static int kb_init(const struct csdk_host *h, const struct csdk_config *config, void **ctx_out)
{
	host = h;
	*ctx_out = &counter;
	return 0;
}

static void kb_teardown(void *ctx)
{
}

static void kb_release(void *ctx, void *sandbox)
{
}

static int kb_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	char id[64];

	snprintf(id, sizeof(id), "kitbad-%ld-%d", (long)getpid(), ++counter);
	*sandbox_out = &counter;
	return host->text_set(id_out, id);
}

static int kb_get(void *ctx, const char *id, void **sandbox_out)
{
	*sandbox_out = &counter;
	return 0;
}

static int kb_list(void *ctx, struct csdk_handles *out)
{
	return 0;
}

static int kb_destroy(void *ctx, const char *id)
{
	return 0;
}

static int kb_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out)
{
	*exit_code_out = 0;
	return 0;
}

static int kb_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts,
			  struct csdk_sink *out, int *exit_code_out)
{
	*exit_code_out = 0;
	if (strstr(command, "Hello from command"))
		return host->sink_write(out, CSDK_STREAM_STDOUT, "wrong\n", 6);
	if (strstr(command, "nonexistent-command"))
		raise(SIGSEGV);
	if (strstr(command, "csdk-conf-bg"))	/* command-background: never returns */
		for (;;)
			pause();
	return 0;
}

static int kb_get_info(void *ctx, void *sandbox, struct csdk_info *out)
{
	host->info_set_id(out, "not-the-id");
	return host->info_set_status(out, CSDK_STATUS_RUNNING);
}

static int kb_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	return host->text_set(out, "ftp://example.invalid");
}

static const struct csdk_methods methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = kb_init,
	.teardown = kb_teardown,
	.release = kb_release,
	.create = kb_create,
	.get = kb_get,
	.list = kb_list,
	.destroy = kb_destroy,
	.run_code = kb_run_code,
	.run_command = kb_run_command,
	.get_info = kb_get_info,
	.get_url = kb_get_url,
};

static const struct csdk_plugin plugin = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = CSDK_ABI_VERSION,
	.modes = CSDK_MODE_DIRECT,
	.default_mode = CSDK_MODE_DIRECT,
	.capabilities = CSDK_CAP_EXEC,
	.name = "kitbad",
	.version = "0.0.0",
	.description = "breaks the contract on purpose for the conformance kit's test",
	.license = "MIT",
	.methods = &methods,
};

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	if (CSDK_ABI_MAJOR_OF(host_abi) != CSDK_ABI_MAJOR)
		return CSDK_EABI;
	*out = &plugin;
	return 0;
}
