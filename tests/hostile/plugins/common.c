#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

const struct csdk_host *hostile_host;

int hostile_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	(void)config;
	hostile_host = host;
	*ctx_out = NULL;
	return 0;
}

void hostile_teardown(void *ctx)
{
	(void)ctx;
}

void hostile_release(void *ctx, void *sandbox)
{
	(void)ctx;
	free(sandbox);
}

void *hostile_native(const char *id)
{
	return strdup(id);
}

const char *hostile_id(const void *sandbox)
{
	return sandbox;
}

int hostile_make(const char *id, struct csdk_text *id_out, void **sandbox_out)
{
	int rc = hostile_host->text_set(id_out, id);

	if (rc)
		return rc;
	if (!(*sandbox_out = hostile_native(id)))
		return hostile_host->error(hostile_host, CSDK_ENOMEM, "out of memory in create");
	return 0;
}

int hostile_get(void *ctx, const char *id, void **sandbox_out)
{
	(void)ctx;
	if (!strcmp(id, "missing"))
		return CSDK_ENOTFOUND;
	if (!(*sandbox_out = hostile_native(id)))
		return hostile_host->error(hostile_host, CSDK_ENOMEM, "out of memory in get");
	return 0;
}

int hostile_list(void *ctx, struct csdk_handles *out)
{
	(void)ctx;
	(void)out;
	return 0;
}

int hostile_destroy(void *ctx, const char *id)
{
	(void)ctx;
	(void)id;
	return 0;
}

int hostile_say(struct csdk_sink *out, const char *text)
{
	return hostile_host->sink_write(out, CSDK_STREAM_STDOUT, text, strlen(text));
}

int hostile_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out)
{
	(void)ctx;
	(void)sandbox;
	(void)code;
	(void)req;
	*exit_code_out = 0;
	return hostile_say(out, "code\n");
}

int hostile_get_info(void *ctx, void *sandbox, struct csdk_info *out)
{
	(void)ctx;
	return hostile_host->info_set_id(out, hostile_id(sandbox));
}

int hostile_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	char url[128];

	(void)ctx;
	(void)sandbox;
	snprintf(url, sizeof(url), "%s://127.0.0.1:%d", protocol ? protocol : "https", port);
	return hostile_host->text_set(out, url);
}
