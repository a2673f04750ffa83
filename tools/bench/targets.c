#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

#define NS_PER_MS 1e6

void tool_bench_iter_fail(struct tool_bench_iter *it, const char *fmt, ...)
{
	va_list ap;

	if (it->error)
		return;
	va_start(ap, fmt);
	if (vasprintf(&it->error, fmt, ap) < 0)
		it->error = NULL;
	va_end(ap);
	it->ok = 0;
}

void tool_bench_iter_clear(struct tool_bench_iter *it)
{
	free(it->error);
	memset(it, 0, sizeof(*it));
}

static const char *last_error(int rc)
{
	const csdk_error *err = csdk_error_last();

	return err->code && err->message[0] ? err->message : csdk_strerror(rc);
}

/* The first line of a command's output, to say why it failed. */
static void fail_with_output(struct tool_bench_iter *it, int exit_code, const char *out, size_t len)
{
	size_t n = 0;

	while (n < len && n < 200 && out[n] != '\n' && out[n] != '\0')
		n++;
	tool_bench_iter_fail(it, "command exited with status %d%s%.*s", exit_code, n ? ": " : "",
			      (int)n, out);
}

static void provider_iterate(struct tool_bench_target *t, struct tool_bench_iter *it)
{
	csdk_provider *provider = t->state;
	csdk_sandbox *sandbox = NULL;
	csdk_result *result = NULL;
	int64_t t0, t1, t2, t3;
	int rc;

	it->exit_code = -1;
	t0 = tool_bench_now_ns();
	rc = csdk_sandbox_create(&sandbox, provider, NULL);
	t1 = tool_bench_now_ns();
	it->create_ms = (double)(t1 - t0) / NS_PER_MS;
	if (rc < 0) {
		tool_bench_iter_fail(it, "create: %s", last_error(rc));
		it->tti_ms = it->create_ms;
		return;
	}
	rc = csdk_sandbox_run_command(&result, sandbox, t->command, NULL);
	t2 = tool_bench_now_ns();
	it->command_ms = (double)(t2 - t1) / NS_PER_MS;
	it->tti_ms = (double)(t2 - t0) / NS_PER_MS;
	it->ok = 1;
	if (rc < 0) {
		tool_bench_iter_fail(it, "run_command: %s", last_error(rc));
	} else {
		it->exit_code = result->exit_code;
		if (result->exit_code != 0)
			fail_with_output(it, result->exit_code,
					 result->stderr_len ? result->stderr_buf : result->stdout_buf,
					 result->stderr_len ? result->stderr_len : result->stdout_len);
	}
	csdk_result_free(result);
	rc = csdk_sandbox_destroy(sandbox);
	t3 = tool_bench_now_ns();
	it->destroy_ms = (double)(t3 - t2) / NS_PER_MS;
	if (rc < 0)
		tool_bench_iter_fail(it, "destroy: %s", last_error(rc));
	csdk_sandbox_free(sandbox);
}

static void provider_release(struct tool_bench_target *t)
{
	csdk_provider_close(t->state);
}

int tool_bench_pool(struct tool_bench_target *t, const char *op)
{
	char name[32], *text = NULL, what[80];
	int rc;

	snprintf(name, sizeof(name), "pool.%s", op);
	if ((rc = csdk_provider_extension(&text, t->state, name, NULL)) < 0) {
		snprintf(what, sizeof(what), "%s the pool of %s", strcmp(op, "fill") ? "draining" : "filling", t->name);
		tool_report(rc, what);
		return -1;
	}
	csdk_free(text);
	return 0;
}

int tool_bench_target_provider(struct tool_bench_target **out, struct tool_cli *cli,
				const char *provider, const char *command, const char *access, long long pool)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	struct tool_bench_target *t;
	struct csdk_kv *kv;
	csdk_provider *p = NULL;
	const char *ver;
	char pool_text[24];
	size_t n = 0;
	int rc;

	*out = NULL;
	if (!(kv = calloc(cli->n_config + 2, sizeof(*kv)))) {
		tool_error("out of memory");
		return -1;
	}
	/* --config applies to the provider named by the global --provider, as for other commands. */
	for (size_t i = 0; strcmp(provider, cli->provider_name) == 0 && i < cli->n_config; i++)
		if ((!access || strcmp(cli->config[i].key, "mode")) && (!pool || strcmp(cli->config[i].key, "pool")))
			kv[n++] = cli->config[i];
	/* --mode direct|gateway: the provider's configuration key mode */
	if (access)
		kv[n++] = (struct csdk_kv){ "mode", access };
	snprintf(pool_text, sizeof(pool_text), "%lld", pool);
	if (pool)
		kv[n++] = (struct csdk_kv){ "pool", pool_text };
	opts.config = kv;
	opts.n_config = n;
	opts.registry = tool_cli_registry(cli);
	rc = csdk_provider_open(&p, provider, &opts);
	free(kv);
	if (rc < 0) {
		tool_report(rc, "opening the provider");
		return -1;
	}
	if ((t = calloc(1, sizeof(*t))) && !access && !pool)
		t->name = strdup(provider);
	else if (t && asprintf(&t->name, "%s (%s%s%s%s)", provider, access ? access : "", access && pool ? ", " : "",
			       pool ? "pool " : "", pool ? pool_text : "") < 0)
		t->name = NULL;
	if (!t || !t->name) {
		free(t);
		csdk_provider_close(p);
		tool_error("out of memory");
		return -1;
	}
	ver = csdk_provider_plugin(p)->version;
	t->version = ver ? strdup(ver) : NULL;
	t->kind = "provider";
	t->command = command;
	t->pool = pool;
	t->state = p;
	t->concurrent = 1;
	t->iterate = provider_iterate;
	t->release = provider_release;
	*out = t;
	return 0;
}

void tool_bench_target_free(struct tool_bench_target *t)
{
	if (!t)
		return;
	if (t->release)
		t->release(t);
	free(t->name);
	free(t->version);
	free(t);
}
