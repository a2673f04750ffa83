/*
 * hardening-threads.c - concurrency workout for the ThreadSanitizer pass of
 * tests/hardening.sh (built there against a TSan-built libcsdk).
 *
 * Several threads at once: open the local and example providers (each its
 * own, and one shared), create sandboxes, run commands with output
 * callbacks, write and read files, destroy and close; others scan a shared
 * registry and create and free registries of their own. Every call must
 * succeed; TSan must report nothing.
 *
 * Environment: CSDK_HARDENING_PATH, the plugin search path holding
 * csdk-local.so and csdk-example.so; CSDK_HARDENING_STATE, an empty
 * directory for the local provider's state.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>

#define WORKERS 4
#define SCANNERS 2
#define ROUNDS 3

static const char *search_path, *state_dir;
static csdk_registry *shared_registry;
static csdk_provider *shared_local;

__attribute__((format(printf, 1, 2), noreturn))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("hardening-threads: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

#define CHECK(call)                                                                              \
	do {                                                                                     \
		int rc_ = (call);                                                                \
		if (rc_ != 0)                                                                    \
			fail("%s:%d: %s failed (%d): %s", __FILE__, __LINE__, #call, rc_,       \
			     csdk_error_last()->message);                                        \
	} while (0)

struct counts {
	size_t out, err;
};

static int on_stdout(const char *data, size_t len, void *userdata)
{
	((struct counts *)userdata)->out += len;
	return 0;
}

static int on_stderr(const char *data, size_t len, void *userdata)
{
	((struct counts *)userdata)->err += len;
	return 0;
}

static csdk_provider *open_provider(const char *name, csdk_registry *reg)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	struct csdk_kv kv[] = { { "state_dir", state_dir } };
	csdk_provider *p = NULL;

	if (!strcmp(name, "local")) {
		opts.config = kv;
		opts.n_config = 1;
	}
	opts.registry = reg;
	CHECK(csdk_provider_open(&p, name, &opts));
	return p;
}

/* with_fs: the local provider, whose commands really run (the example one echoes them). */
static void use_sandbox(csdk_provider *p, int with_fs, long id)
{
	csdk_sandbox *sb = NULL;
	csdk_result *res = NULL;
	csdk_command_options copts = CSDK_COMMAND_OPTIONS_INIT;
	struct counts counts = { 0, 0 };
	char text[64], *back = NULL;
	size_t len = 0;

	CHECK(csdk_sandbox_create(&sb, p, NULL));
	copts.on_stdout = on_stdout;
	copts.on_stderr = on_stderr;
	copts.userdata = &counts;
	CHECK(csdk_sandbox_run_command(&res, sb, "echo out; echo err >&2", &copts));
	if (res->exit_code != 0 || (with_fs && (strcmp(res->stdout_buf, "out\n") || strcmp(res->stderr_buf, "err\n"))))
		fail("%s: unexpected result: exit %d, stdout '%s', stderr '%s'", csdk_provider_name(p),
		     res->exit_code, res->stdout_buf, res->stderr_buf);
	if (counts.out != res->stdout_len || counts.err != res->stderr_len)
		fail("%s: callbacks saw %zu and %zu bytes, the result holds %zu and %zu", csdk_provider_name(p),
		     counts.out, counts.err, res->stdout_len, res->stderr_len);
	csdk_result_free(res);
	if (with_fs) {
		snprintf(text, sizeof(text), "thread %ld was here", id);
		CHECK(csdk_fs_write(sb, "/tmp/hardening.txt", text, strlen(text)));
		CHECK(csdk_fs_read(&back, &len, sb, "/tmp/hardening.txt"));
		if (len != strlen(text) || memcmp(back, text, len))
			fail("%s: read back '%s', wrote '%s'", csdk_provider_name(p), back, text);
		csdk_free(back);
	}
	CHECK(csdk_sandbox_destroy(sb));
	csdk_sandbox_free(sb);
}

static void *worker(void *arg)
{
	long id = (long)arg;

	for (int round = 0; round < ROUNDS; round++) {
		csdk_provider *local = open_provider("local", shared_registry);
		csdk_provider *example = open_provider("example", shared_registry);

		use_sandbox(local, 1, id);
		use_sandbox(shared_local, 1, id);
		use_sandbox(example, 0, id);
		csdk_provider_close(example);
		csdk_provider_close(local);
	}
	return NULL;
}

static void *scanner(void *arg)
{
	csdk_registry_options opts = CSDK_REGISTRY_OPTIONS_INIT;

	opts.search_path = search_path;
	for (int round = 0; round < ROUNDS * 4; round++) {
		csdk_registry *own = NULL;
		const csdk_plugin_info *local;

		CHECK(csdk_registry_scan(shared_registry));
		for (size_t i = 0; i < csdk_registry_count(shared_registry); i++)
			if (!csdk_registry_at(shared_registry, i)->name)
				fail("a plugin without a name in the shared registry");
		local = csdk_registry_find(shared_registry, "local");
		if (!local || !csdk_registry_find(shared_registry, "example"))
			fail("local or example missing from the shared registry");
		(void)csdk_registry_rejected_count(shared_registry);
		CHECK(csdk_registry_new(&own, &opts));
		if (!csdk_registry_find(own, "local"))
			fail("local missing from a new registry");
		csdk_registry_free(own);
	}
	return NULL;
}

int main(void)
{
	csdk_registry_options opts = CSDK_REGISTRY_OPTIONS_INIT;
	pthread_t threads[WORKERS + SCANNERS];

	search_path = getenv("CSDK_HARDENING_PATH");
	state_dir = getenv("CSDK_HARDENING_STATE");
	if (!search_path || !state_dir)
		fail("set CSDK_HARDENING_PATH and CSDK_HARDENING_STATE");
	opts.search_path = search_path;
	CHECK(csdk_registry_new(&shared_registry, &opts));
	shared_local = open_provider("local", shared_registry);

	for (long i = 0; i < WORKERS; i++)
		if (pthread_create(&threads[i], NULL, worker, (void *)i) != 0)
			fail("cannot start a thread");
	for (long i = 0; i < SCANNERS; i++)
		if (pthread_create(&threads[WORKERS + i], NULL, scanner, NULL) != 0)
			fail("cannot start a thread");
	for (int i = 0; i < WORKERS + SCANNERS; i++)
		pthread_join(threads[i], NULL);

	csdk_provider_close(shared_local);
	csdk_registry_free(shared_registry);
	printf("hardening-threads: %d workers x %d rounds, %d scanners: all calls succeeded\n", WORKERS, ROUNDS, SCANNERS);
	return 0;
}
