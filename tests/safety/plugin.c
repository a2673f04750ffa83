/*
 * Misbehaving plugins for the loader safety tests: the example provider
 * under another name, with one fault chosen at build time. Each appends a
 * line to $SAFETY_MARKER_DIR/NAME.loaded whenever its code is loaded, so a
 * test can tell that a plugin was never loaded (or probed) without timing.
 *   SAFETY_HANG          the constructor never returns
 *   SAFETY_CRASH         the constructor dies of SIGSEGV
 *   SAFETY_PRINT         the constructor and every method print to stdout
 *   SAFETY_CRASH_CREATE  create dies of SIGSEGV
 *   SAFETY_REJECT        the entry point refuses (a rejected, probed file)
 * Every init also appends a line to $SAFETY_MARKER_DIR/NAME.init.
 */
#include <csdk/plugin.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The example's entry point becomes a static function we wrap. */
#define csdk_plugin_entry example_entry
#undef CSDK_PLUGIN_EXPORT
#define CSDK_PLUGIN_EXPORT static
#include "example.c"
#undef csdk_plugin_entry
#undef CSDK_PLUGIN_EXPORT
#define CSDK_PLUGIN_EXPORT __attribute__((visibility("default")))

static struct csdk_plugin safety_plugin;
static struct csdk_methods safety_methods;

static void marker(const char *what)
{
	const char *dir = getenv("SAFETY_MARKER_DIR");
	char path[4096];
	int fd;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/%s.%s", dir, SAFETY_NAME, what);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, "loaded\n", 7);
		close(fd);
	}
}

__attribute__((constructor)) static void safety_load(void)
{
	marker("loaded");
#if defined(SAFETY_HANG)
	for (;;)
		pause();
#elif defined(SAFETY_CRASH)
	raise(SIGSEGV);
#elif defined(SAFETY_PRINT)
	printf("PLUGIN-STDOUT load\n");
	fflush(stdout);
#endif
}

static int counted_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	marker("init");
	return example_init(host, config, ctx_out);
}

#ifdef SAFETY_PRINT
static int print_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	printf("PLUGIN-STDOUT create\n");
	fflush(stdout);
	return example_create(ctx, opts, id_out, sandbox_out);
}

static int print_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts,
			     struct csdk_sink *out, int *exit_code_out)
{
	(void)!write(STDOUT_FILENO, "PLUGIN-STDOUT run_command\n", 26);
	return example_run_command(ctx, sandbox, command, opts, out, exit_code_out);
}
#endif

#ifdef SAFETY_CRASH_CREATE
static int crash_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	(void)ctx;
	(void)opts;
	(void)id_out;
	(void)sandbox_out;
	raise(SIGSEGV);
	return CSDK_ERROR;
}
#endif

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	const struct csdk_plugin *inner;
	int rc = example_entry(host_abi, &inner);

#ifdef SAFETY_REJECT
	return CSDK_EABI;
#endif
	if (rc != 0)
		return rc;
	safety_methods = *inner->methods;
	safety_methods.init = counted_init;
#ifdef SAFETY_PRINT
	safety_methods.create = print_create;
	safety_methods.run_command = print_run_command;
#endif
#ifdef SAFETY_CRASH_CREATE
	safety_methods.create = crash_create;
#endif
	safety_plugin = *inner;
	safety_plugin.name = SAFETY_NAME;
	safety_plugin.methods = &safety_methods;
	*out = &safety_plugin;
	return 0;
}
