#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

#define MAX_COUNTS 16

static int parse_counts(size_t *counts, size_t *n_out, struct tool_cli *cli, const char *list)
{
	const char *p = list;
	size_t n = 0;

	while (*p) {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(p, &end, 10);
		if (errno || end == p || v < 1 || v > 10000 || (*end && *end != ','))
			return tool_cli_usage(cli, "--plugins needs counts from 1 to 10000 separated by commas, not '%s'", list);
		if (n == MAX_COUNTS)
			return tool_cli_usage(cli, "--plugins takes at most %d counts", MAX_COUNTS);
		counts[n++] = (size_t)v;
		p = *end ? end + 1 : end;
	}
	if (n == 0)
		return tool_cli_usage(cli, "--plugins needs at least one count");
	*n_out = n;
	return 0;
}

static void print_results(json_t *root)
{
	json_t *d = json_object_get(root, "discovery"), *c = json_object_get(root, "calls");
	json_t *s = json_object_get(root, "stream"), *m = json_object_get(root, "memory"), *e;
	size_t i;

	if (d) {
		fprintf(TOOL_STDOUT, "Plugin discovery (registry scan + validation vs. bare dlopen+dlsym, median of fresh processes):\n");
		fprintf(TOOL_STDOUT, "  %8s  %12s  %12s  %14s  %6s\n", "PLUGINS", "REGISTRY ms", "DLOPEN ms", "us/PLUGIN", "RATIO");
		json_array_foreach(d, i, e)
			fprintf(TOOL_STDOUT, "  %8lld  %12.2f  %12.2f  %14.1f  %5.2fx\n",
			       (long long)json_integer_value(json_object_get(e, "plugins")),
			       json_real_value(json_object_get(e, "registry_ms")),
			       json_real_value(json_object_get(e, "dlopen_ms")),
			       json_real_value(json_object_get(e, "registry_us_per_plugin")),
			       json_real_value(json_object_get(e, "ratio")));
	}
	if (c)
		fprintf(TOOL_STDOUT, "Per-call overhead (%s into a no-op plugin): API %.1f ns, direct %.1f ns, overhead %.1f ns; run_command %.0f ns\n",
		       json_string_value(json_object_get(c, "call")),
		       json_real_value(json_object_get(c, "api_ns")), json_real_value(json_object_get(c, "direct_ns")),
		       json_real_value(json_object_get(c, "overhead_ns")), json_real_value(json_object_get(c, "run_command_ns")));
	if (s)
		fprintf(TOOL_STDOUT, "Streaming on local (%lld bytes): run_command %.0f MiB/s, bare pipe %.0f MiB/s, ratio %.2f; peak RSS grew %lld KiB\n",
		       (long long)json_integer_value(json_object_get(s, "bytes")),
		       json_real_value(json_object_get(s, "api_mib_s")), json_real_value(json_object_get(s, "pipe_mib_s")),
		       json_real_value(json_object_get(s, "ratio")),
		       (long long)json_integer_value(json_object_get(s, "peak_rss_growth_kib")));
	if (m)
		fprintf(TOOL_STDOUT, "Memory per open sandbox handle (local, %lld handles): heap %.0f bytes, RSS %.1f KiB\n",
		       (long long)json_integer_value(json_object_get(m, "handles")),
		       json_real_value(json_object_get(m, "heap_bytes_per_handle")),
		       json_real_value(json_object_get(m, "rss_kib_per_handle")));
}

int tool_bench_micro(struct tool_cli *cli, char **args, size_t n_args, void *options)
{
	struct tool_bench_options *o = options;
	struct tool_bench_progress *progress = NULL;
	size_t counts[MAX_COUNTS], n_counts = 0;
	const char *tmp = getenv("TMPDIR");
	char workdir[4096];
	json_t *root = NULL, *part;
	int status;

	if (n_args > 0)
		return tool_cli_usage(cli, "unexpected argument '%s'", args[0]);
	if ((status = parse_counts(counts, &n_counts, cli, o->plugins_list)))
		return status;
	if (o->json_path && tool_bench_check_writable("--json", o->json_path) < 0)
		return TOOL_EXIT_FAILURE;
	snprintf(workdir, sizeof(workdir), "%s/csdk-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(workdir)) {
		tool_error("bench: cannot create a work directory %s: %s; set TMPDIR to a writable directory", workdir, strerror(errno));
		return TOOL_EXIT_FAILURE;
	}
	status = TOOL_EXIT_FAILURE;
	root = json_pack("{s:s,s:I,s:o}", "benchmark", "csdk bench micro", "format_version", (json_int_t)1,
			 "environment", tool_bench_environment());
	progress = tool_bench_progress_new();
	if (!o->any_only || o->only[0]) {
		tool_bench_progress_note(progress, "micro: plugin discovery");
		part = tool_bench_micro_discovery(counts, n_counts, workdir);
		if (!part)
			goto out;
		json_object_set_new(root, "discovery", part);
	}
	if (!o->any_only || o->only[1]) {
		tool_bench_progress_note(progress, "micro: per-call overhead");
		if (!(part = tool_bench_micro_calls(o->calls, workdir)))
			goto out;
		json_object_set_new(root, "calls", part);
	}
	if (!o->any_only || o->only[2]) {
		tool_bench_progress_note(progress, "micro: streaming");
		if (!(part = tool_bench_micro_stream(cli, o->stream_bytes)))
			goto out;
		json_object_set_new(root, "stream", part);
	}
	if (!o->any_only || o->only[3]) {
		tool_bench_progress_note(progress, "micro: memory per handle");
		if (!(part = tool_bench_micro_memory(cli, o->handles)))
			goto out;
		json_object_set_new(root, "memory", part);
	}
	tool_bench_progress_end(progress);
	status = 0;
	if (cli->json) {
		if (tool_bench_write_json("-", root) < 0)
			status = TOOL_EXIT_FAILURE;
	} else {
		print_results(root);
	}
	if (o->json_path && tool_bench_write_json(o->json_path, root) < 0)
		status = TOOL_EXIT_FAILURE;
	status = tool_finish(status, TOOL_EXIT_FAILURE);
out:
	tool_bench_progress_end(progress);
	tool_bench_progress_free(progress);
	json_decref(root);
	tool_bench_rmtree(workdir);
	return status;
}
