/*
 * A plugin whose methods block. run_command "sleep:MS" sleeps MS
 * milliseconds and any other command blocks for ever; create of the image
 * "block" (of every sandbox, with HOSTILE_CREATE_BLOCKS) blocks for ever;
 * the other methods return at once. HOSTILE_CAPS adds capabilities
 * (CSDK_CAP_THREAD_SAFE for the concurrent variant).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostile.h"

#ifndef HOSTILE_CAPS
#define HOSTILE_CAPS 0
#endif

static void block_forever(void)
{
	for (;;)
		pause();
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0)
		;
}

static int blocker_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	(void)ctx;
#ifdef HOSTILE_CREATE_BLOCKS
	block_forever();
#endif
	if (opts->image && !strcmp(opts->image, "block"))
		block_forever();
	return hostile_make(opts->image ? opts->image : "sb-blocker", id_out, sandbox_out);
}

static int blocker_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out)
{
	(void)ctx;
	(void)sandbox;
	(void)opts;
	if (strncmp(command, "sleep:", 6) != 0)
		block_forever();
	sleep_ms(atol(command + 6));
	*exit_code_out = 0;
	return hostile_say(out, "slept\n");
}

static const struct csdk_methods blocker_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = hostile_init,
	.teardown = hostile_teardown,
	.release = hostile_release,
	.create = blocker_create,
	.get = hostile_get,
	.list = hostile_list,
	.destroy = hostile_destroy,
	.run_code = hostile_run_code,
	.run_command = blocker_run_command,
	.get_info = hostile_get_info,
	.get_url = hostile_get_url,
};

HOSTILE_DESCRIPTOR(CSDK_CAP_EXEC | HOSTILE_CAPS, NULL, 0, &blocker_methods)
