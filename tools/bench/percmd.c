/*
 * `csdk bench cmd`: the latency of one command on a sandbox that exists
 * already, per provider and access mode (direct or gateway), next to the
 * spawn baseline measured in the same run.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

#define NS_PER_MS 1e6

const char *const tool_bench_access_names[2] = { "direct", "gateway" };

size_t tool_bench_open_providers(struct tool_bench_target **targets, struct tool_cli *cli,
				  const struct tool_bench_options *o, const char *command)
{
	size_t n = 0, n_names = o->n_providers ? o->n_providers : 1;

	for (size_t i = 0; i < n_names; i++) {
		const char *name = o->n_providers ? o->providers[i] : cli->provider_name;

		for (int a = 0; a < 2; a++) {
			if (o->any_access && !o->access[a])
				continue;
			for (int pooled = 0; pooled < (o->pool ? 2 : 1); pooled++) {
				if (tool_bench_target_provider(&targets[n], cli, name, command,
								o->any_access ? tool_bench_access_names[a] : NULL,
								pooled ? o->pool : 0) < 0) {
					while (n > 0)
						tool_bench_target_free(targets[--n]);
					return (size_t)-1;
				}
				n++;
			}
			if (!o->any_access)
				break;
		}
	}
	return n;
}

struct cmd_row {
	struct tool_bench_target *target;
	double *ms;
	int *ok;
	char *error;            /* the first failure */
	struct tool_bench_stats stats;
};

static void row_fail(struct cmd_row *row, const char *what, int rc)
{
	const csdk_error *err = csdk_error_last();

	if (!row->error && asprintf(&row->error, "%s: %s", what, err->code && err->message[0] ? err->message : csdk_strerror(rc)) < 0)
		row->error = NULL;
}

/* One sandbox, one untimed command (an agent's first connection), then n timed ones. */
static void measure_provider(struct cmd_row *row, size_t n)
{
	csdk_sandbox *sb = NULL;
	csdk_result *res = NULL;
	int rc;

	if ((rc = csdk_sandbox_create(&sb, row->target->state, NULL)) < 0) {
		row_fail(row, "create", rc);
		return;
	}
	if ((rc = csdk_sandbox_run_command(&res, sb, row->target->command, NULL)) < 0)
		row_fail(row, "run_command", rc);
	csdk_result_free(res);
	for (size_t i = 0; rc >= 0 && i < n; i++) {
		int64_t t0 = tool_bench_now_ns();

		res = NULL;
		rc = csdk_sandbox_run_command(&res, sb, row->target->command, NULL);
		row->ms[i] = (double)(tool_bench_now_ns() - t0) / NS_PER_MS;
		row->ok[i] = rc >= 0 && res->exit_code == 0;
		if (rc < 0)
			row_fail(row, "run_command", rc);
		else if (res->exit_code && !row->error && asprintf(&row->error, "command exited with status %d", res->exit_code) < 0)
			row->error = NULL;
		csdk_result_free(res);
	}
	if ((rc = csdk_sandbox_destroy(sb)) < 0)
		row_fail(row, "destroy", rc);
	csdk_sandbox_free(sb);
}

static void measure_baseline(struct cmd_row *row, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct tool_bench_iter it;

		memset(&it, 0, sizeof(it));
		row->target->iterate(row->target, &it);
		row->ms[i] = it.tti_ms;
		row->ok[i] = it.ok;
		if (!it.ok && !row->error && it.error)
			row->error = strdup(it.error);
		tool_bench_iter_clear(&it);
	}
}

static int print_rows(const struct cmd_row *rows, size_t n_rows, const char *command)
{
	static const char *const headers[] = { "NAME", "KIND", "OK", "MIN", "MEDIAN", "P95", "P99", "MAX" };
	tool_table *table = NULL;
	char cells[8][64];
	const char *ptrs[8];

	if (tool_table_new(&table, 8, headers) < 0)
		return -1;
	for (size_t r = 0; r < n_rows; r++) {
		const struct tool_bench_stats *s = &rows[r].stats;

		snprintf(cells[0], sizeof(cells[0]), "%s", rows[r].target->name);
		snprintf(cells[1], sizeof(cells[1]), "%s", rows[r].target->kind);
		snprintf(cells[2], sizeof(cells[2]), "%zu/%zu", s->ok, s->n);
		snprintf(cells[3], sizeof(cells[3]), "%.3f", s->min_ms);
		snprintf(cells[4], sizeof(cells[4]), "%.3f", s->median_ms);
		snprintf(cells[5], sizeof(cells[5]), "%.3f", s->p95_ms);
		snprintf(cells[6], sizeof(cells[6]), "%.3f", s->p99_ms);
		snprintf(cells[7], sizeof(cells[7]), "%.3f", s->max_ms);
		for (int i = 0; i < 8; i++)
			ptrs[i] = cells[i];
		tool_table_add(table, ptrs);
	}
	fprintf(TOOL_STDOUT, "Latency of '%s' on an existing sandbox in ms (5%% of successes trimmed at each end):\n", command);
	tool_table_print(table, TOOL_STDOUT, "  ");
	tool_table_free(table);
	fprintf(TOOL_STDOUT, "\nRatios of medians:\n");
	for (size_t r = 0; r < n_rows; r++)
		for (size_t b = 0; b < n_rows; b++)
			if (r != b && rows[r].stats.kept && rows[b].stats.kept && rows[b].stats.median_ms > 0 &&
			    ((!strcmp(rows[b].target->kind, "baseline") && strcmp(rows[r].target->kind, "baseline")) ||
			     (strstr(rows[r].target->name, " (gateway)") && strstr(rows[b].target->name, " (direct)") &&
			      !strncmp(rows[r].target->name, rows[b].target->name, strcspn(rows[b].target->name, " ")))))
				fprintf(TOOL_STDOUT, "  %s / %s: %.2fx\n", rows[r].target->name, rows[b].target->name,
				       rows[r].stats.median_ms / rows[b].stats.median_ms);
	fflush(TOOL_STDOUT);
	for (size_t r = 0; r < n_rows; r++)
		if (rows[r].error)
			fprintf(stderr, "%s: bench: %s: %zu of %zu iterations failed; first: %s\n", tool_name(),
				rows[r].target->name, rows[r].stats.n - rows[r].stats.ok, rows[r].stats.n, rows[r].error);
	return 0;
}

static json_t *rows_json(const struct cmd_row *rows, size_t n_rows, const char *command, size_t n)
{
	json_t *arr = json_array(), *root;

	for (size_t r = 0; r < n_rows; r++) {
		const struct tool_bench_stats *s = &rows[r].stats;

		json_array_append_new(arr, json_pack("{s:s,s:s,s:o,s:I,s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:o}",
			"name", rows[r].target->name, "kind", rows[r].target->kind,
			"version", rows[r].target->version ? json_string(rows[r].target->version) : json_null(),
			"iterations", (json_int_t)s->n, "ok", (json_int_t)s->ok, "min_ms", s->min_ms,
			"median_ms", s->median_ms, "p95_ms", s->p95_ms, "p99_ms", s->p99_ms, "max_ms", s->max_ms,
			"mean_ms", s->mean_ms, "error", rows[r].error ? json_string(rows[r].error) : json_null()));
	}
	root = json_pack("{s:s,s:I,s:o,s:{s:I,s:s,s:f},s:o}", "benchmark", "csdk bench cmd", "format_version", (json_int_t)1,
			 "environment", tool_bench_environment(), "configuration", "iterations", (json_int_t)n,
			 "command", command, "trim_fraction", 0.05, "rows", arr);
	return root;
}

int tool_bench_cmd(struct tool_cli *cli, char **args, size_t n_args, void *options)
{
	struct tool_bench_options *o = options;
	const char *command = o->command ? o->command : "echo hi";
	size_t n = o->n_given ? (size_t)o->n : 200, n_rows = 0;
	struct tool_bench_target **targets = NULL;
	struct cmd_row *rows = NULL;
	int status = TOOL_EXIT_FAILURE;

	if (n_args > 0)
		return tool_cli_usage(cli, "unexpected argument '%s'", args[0]);
	for (size_t i = 0; i < o->n_baselines; i++)
		if (strcmp(o->baselines[i], "spawn"))
			return tool_cli_usage(cli, "bench cmd has the spawn baseline only, not '%s'", o->baselines[i]);
	if (o->json_path && tool_bench_check_writable("--json", o->json_path) < 0)
		return TOOL_EXIT_FAILURE;
	if (!(targets = calloc(4 * (o->n_providers + 1) + 1, sizeof(*targets))))
		goto oom;
	if ((n_rows = tool_bench_open_providers(targets, cli, o, command)) == (size_t)-1) {
		n_rows = 0;
		goto out;
	}
	/* the physical limit is always measured: the ratios are to it */
	if (tool_bench_target_baseline(&targets[n_rows], "spawn", command, NULL) < 0)
		goto out;
	n_rows++;
	if (!(rows = calloc(n_rows, sizeof(*rows))))
		goto oom;
	for (size_t r = 0; r < n_rows; r++) {
		rows[r].target = targets[r];
		if (!(rows[r].ms = calloc(n, sizeof(double))) || !(rows[r].ok = calloc(n, sizeof(int))))
			goto oom;
		if (strcmp(targets[r]->kind, "baseline"))
			measure_provider(&rows[r], n);
		else
			measure_baseline(&rows[r], n);
		if (tool_bench_stats_compute(&rows[r].stats, rows[r].ms, rows[r].ok, n) < 0)
			goto oom;
	}
	status = 0;
	if (cli->json) {
		if (tool_bench_emit_json("-", rows_json(rows, n_rows, command, n)) < 0)
			status = TOOL_EXIT_FAILURE;
	} else if (print_rows(rows, n_rows, command) < 0) {
		goto oom;
	}
	if (o->json_path && tool_bench_emit_json(o->json_path, rows_json(rows, n_rows, command, n)) < 0)
		status = TOOL_EXIT_FAILURE;
	for (size_t r = 0; r < n_rows; r++)
		if (rows[r].error)
			status = TOOL_EXIT_FAILURE;
	status = tool_finish(status, TOOL_EXIT_FAILURE);
	goto out;
oom:
	tool_error("bench: out of memory");
	status = TOOL_EXIT_FAILURE;
out:
	for (size_t r = 0; rows && r < n_rows; r++) {
		free(rows[r].ms);
		free(rows[r].ok);
		free(rows[r].error);
	}
	free(rows);
	for (size_t r = 0; targets && r < n_rows; r++)
		tool_bench_target_free(targets[r]);
	free(targets);
	return status;
}
