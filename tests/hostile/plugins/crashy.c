/*
 * A plugin whose code crashes: run_command and run_code die of SIGSEGV,
 * get_info aborts. Built with HOSTILE_INIT_CRASH its init dies of SIGSEGV
 * instead, with HOSTILE_INIT_BLOCK its init never returns.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "hostile.h"

static int crashy_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
#if defined(HOSTILE_INIT_CRASH)
	raise(SIGSEGV);
#elif defined(HOSTILE_INIT_BLOCK)
	for (;;)
		pause();
#endif
	return hostile_init(host, config, ctx_out);
}

static int crashy_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	(void)ctx;
	return hostile_make(opts->image ? opts->image : "sb-crashy", id_out, sandbox_out);
}

static int crashy_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out)
{
	(void)ctx;
	(void)sandbox;
	(void)command;
	(void)opts;
	(void)out;
	(void)exit_code_out;
	raise(SIGSEGV);
	return CSDK_ERROR;
}

static int crashy_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out)
{
	return crashy_run_command(ctx, sandbox, code, req, out, exit_code_out);
}

static int crashy_get_info(void *ctx, void *sandbox, struct csdk_info *out)
{
	(void)ctx;
	(void)sandbox;
	(void)out;
	abort();
}

static const struct csdk_methods crashy_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = crashy_init,
	.teardown = hostile_teardown,
	.release = hostile_release,
	.create = crashy_create,
	.get = hostile_get,
	.list = hostile_list,
	.destroy = hostile_destroy,
	.run_code = crashy_run_code,
	.run_command = crashy_run_command,
	.get_info = crashy_get_info,
	.get_url = hostile_get_url,
};

HOSTILE_DESCRIPTOR(CSDK_CAP_EXEC, NULL, 0, &crashy_methods)
