/*
 * A plugin that tries to leak its secrets (the configuration keys api_key
 * and token) through every channel it has: host->log at every level, in
 * init and in every method; host->error messages; and, when the key leak is
 * "data", through data as well: a sandbox id, metadata and command output.
 * With leak=init, init fails with the secrets in its message.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

#define H hostile_host

static const struct csdk_config_key leaker_keys[] = {
	{ .key = "api_key", .env = "HOSTILE_LEAKER_API_KEY", .flags = CSDK_CONFIG_REQUIRED | CSDK_CONFIG_SECRET, .help = "the planted secret" },
	{ .key = "token", .env = "HOSTILE_LEAKER_TOKEN", .flags = CSDK_CONFIG_SECRET, .help = "a second secret" },
	{ .key = "leak", .env = "HOSTILE_LEAKER_LEAK", .flags = 0, .help = "data: leak into data too; init: fail init" },
};

static const char *api_key = "";
static const char *token = "";
static int leak_data;

static void leak_log(const char *where)
{
	H->log(H, CSDK_LOG_DEBUG, "%s: debug api_key=%s token=%s", where, api_key, token);
	H->log(H, CSDK_LOG_INFO, "%s: info api_key=%s token=%s", where, api_key, token);
	H->log(H, CSDK_LOG_WARN, "%s: warn api_key=%s token=%s twice=%s%s", where, api_key, token, api_key, api_key);
	H->log(H, CSDK_LOG_ERROR, "%s: error embedded=x%sx", where, api_key);
}

static int leaker_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	const char *v, *leak;

	hostile_init(host, config, ctx_out);
	if ((v = host->config_get(config, "api_key")))
		api_key = v;
	if ((v = host->config_get(config, "token")))
		token = v;
	leak = host->config_get(config, "leak");
	leak_data = leak && !strcmp(leak, "data");
	leak_log("init");
	if (leak && !strcmp(leak, "init"))
		return host->error(host, CSDK_ECONFIG, "init rejected api_key %s and token %s", api_key, token);
	return 0;
}

static int leaker_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	char id[256];

	(void)ctx;
	(void)opts;
	leak_log("create");
	if (leak_data)
		snprintf(id, sizeof(id), "sb-%s", api_key);
	else
		snprintf(id, sizeof(id), "sb-leak");
	return hostile_make(id, id_out, sandbox_out);
}

static int leaker_get(void *ctx, const char *id, void **sandbox_out)
{
	leak_log("get");
	return hostile_get(ctx, id, sandbox_out);
}

static int leaker_list(void *ctx, struct csdk_handles *out)
{
	void *sb = hostile_native("sb-leak");

	(void)ctx;
	leak_log("list");
	if (!sb)
		return H->error(H, CSDK_ENOMEM, "out of memory in list");
	return H->handles_add(out, "sb-leak", sb);
}

static int leaker_destroy(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
	leak_log("destroy");
	return 0;
}

static int leaker_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out)
{
	char line[256];

	(void)ctx;
	(void)sandbox;
	(void)opts;
	leak_log("run_command");
	if (!strcmp(command, "fail"))
		return H->error(H, CSDK_EBACKEND, "backend rejected api_key %s (token %s) in run_command", api_key, token);
	if (leak_data) {
		snprintf(line, sizeof(line), "out %s\n", api_key);
		H->sink_write(out, CSDK_STREAM_STDOUT, line, strlen(line));
		snprintf(line, sizeof(line), "err %s\n", token);
		H->sink_write(out, CSDK_STREAM_STDERR, line, strlen(line));
	}
	*exit_code_out = 0;
	return hostile_say(out, "ran\n");
}

static int leaker_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out)
{
	leak_log("run_code");
	if (!strcmp(code, "syntax"))
		return H->error(H, CSDK_ESYNTAX, "SyntaxError: unexpected %s near %s", api_key, token);
	return hostile_run_code(ctx, sandbox, code, req, out, exit_code_out);
}

static int leaker_get_info(void *ctx, void *sandbox, struct csdk_info *out)
{
	int rc;

	leak_log("get_info");
	if ((rc = hostile_get_info(ctx, sandbox, out)))
		return rc;
	return leak_data ? H->info_add_metadata(out, "key", api_key) : 0;
}

static int leaker_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	(void)ctx;
	(void)sandbox;
	(void)protocol;
	(void)out;
	leak_log("get_url");
	return H->error(H, CSDK_EBACKEND, "no URL for port %d with api_key %s", port, api_key);
}

static const struct csdk_methods leaker_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = leaker_init,
	.teardown = hostile_teardown,
	.release = hostile_release,
	.create = leaker_create,
	.get = leaker_get,
	.list = leaker_list,
	.destroy = leaker_destroy,
	.run_code = leaker_run_code,
	.run_command = leaker_run_command,
	.get_info = leaker_get_info,
	.get_url = leaker_get_url,
};

HOSTILE_DESCRIPTOR(CSDK_CAP_EXEC, leaker_keys, sizeof(leaker_keys) / sizeof(leaker_keys[0]), &leaker_methods)
