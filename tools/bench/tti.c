#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench.h"

static void fmt_cell(char *buf, size_t size, double ms, int have)
{
	if (!have)
		snprintf(buf, size, "-");
	else if (ms >= 100)
		snprintf(buf, size, "%.0f", ms);
	else
		snprintf(buf, size, "%.2f", ms);
}

static int print_summary(const struct tool_bench_row *rows, size_t n_rows, int interleave)
{
	static const char *const headers[] = { "NAME", "KIND", "MODE", "OK", "MIN", "MEDIAN", "P95", "P99", "MAX", "SCORE" };
	tool_table *table = NULL;
	char cells[10][48];
	const char *ptrs[10];
	size_t r, b, i;
	int any_ratio = 0;

	if (tool_table_new(&table, 10, headers) < 0)
		return -1;
	for (r = 0; r < n_rows; r++) {
		const struct tool_bench_stats *s = &rows[r].stats;

		snprintf(cells[0], sizeof(cells[0]), "%s", rows[r].target->name);
		snprintf(cells[1], sizeof(cells[1]), "%s", rows[r].target->kind);
		snprintf(cells[2], sizeof(cells[2]), "%s", tool_bench_mode_name(rows[r].mode));
		snprintf(cells[3], sizeof(cells[3]), "%zu/%zu", s->ok, s->n);
		fmt_cell(cells[4], sizeof(cells[4]), s->min_ms, s->kept > 0);
		fmt_cell(cells[5], sizeof(cells[5]), s->median_ms, s->kept > 0);
		fmt_cell(cells[6], sizeof(cells[6]), s->p95_ms, s->kept > 0);
		fmt_cell(cells[7], sizeof(cells[7]), s->p99_ms, s->kept > 0);
		fmt_cell(cells[8], sizeof(cells[8]), s->max_ms, s->kept > 0);
		snprintf(cells[9], sizeof(cells[9]), "%.1f", s->score);
		for (i = 0; i < 10; i++)
			ptrs[i] = cells[i];
		tool_table_add(table, ptrs);
	}
	fprintf(TOOL_STDOUT, "Time to interactive in ms (5%% of successes trimmed at each end%s):\n",
		interleave ? "; sequential rows interleaved" : "");
	tool_table_print(table, TOOL_STDOUT, "  ");
	tool_table_free(table);

	for (r = 0; r < n_rows; r++) {
		for (b = 0; b < n_rows; b++) {
			const struct tool_bench_stats *x = &rows[r].stats, *y = &rows[b].stats;

			if (r == b || rows[r].mode != rows[b].mode || !tool_bench_ratio_wanted(rows, r, b) ||
			    !x->kept || !y->kept || y->median_ms <= 0 || y->p99_ms <= 0)
				continue;
			if (!any_ratio++)
				fprintf(TOOL_STDOUT, "\nRatios (row / baseline, same mode):\n");
			fprintf(TOOL_STDOUT, "  %s / %s, %s: median %.2fx, P95 %.2fx, P99 %.2fx\n", rows[r].target->name,
			       rows[b].target->name, tool_bench_mode_name(rows[r].mode),
			       x->median_ms / y->median_ms, x->p95_ms / y->p95_ms, x->p99_ms / y->p99_ms);
		}
	}
	/* Say why iterations failed: the first error of each row, after the table. */
	fflush(TOOL_STDOUT);
	for (r = 0; r < n_rows; r++) {
		for (i = 0; i < rows[r].n; i++) {
			if (!rows[r].iters[i].ok) {
				fprintf(stderr, "%s: bench: %s %s: %zu of %zu iterations failed; first: %s\n",
					tool_name(), rows[r].target->name, tool_bench_mode_name(rows[r].mode),
					rows[r].stats.n - rows[r].stats.ok, rows[r].stats.n,
					rows[r].iters[i].error ? rows[r].iters[i].error : "unknown error");
				break;
			}
		}
	}
	return 0;
}

static int write_svg(const char *path, const struct tool_bench_row *rows, size_t n_rows,
		     const struct tool_bench_config *config)
{
	FILE *fp = fopen(path, "w");
	int rc;

	if (!fp) {
		tool_error("bench: cannot write the --svg file '%s': %s; choose a writable path", path, strerror(errno));
		return -1;
	}
	rc = tool_bench_svg_write(fp, rows, n_rows, config);
	if (fclose(fp) != 0 || rc < 0) {
		tool_error("bench: writing the --svg file '%s' failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void config_from_options(struct tool_bench_config *config, const struct tool_bench_options *o)
{
	int m;

	memset(config, 0, sizeof(*config));
	config->n = (size_t)o->n;
	config->command = o->command;
	config->stagger_ms = o->stagger_ms;
	config->image = o->image;
	config->interleave = o->interleave;
	for (m = 0; m < TOOL_BENCH_N_MODES; m++)
		config->modes[m] = o->any_mode ? o->modes[m] : m == TOOL_BENCH_SEQUENTIAL;
}

static int check_options(struct tool_cli *cli, char **args, size_t n_args, const struct tool_bench_options *o)
{
	size_t i;
	int docker = 0;

	if (n_args > 0)
		return tool_cli_usage(cli, "unexpected argument '%s'", args[0]);
	for (i = 0; i < o->n_baselines; i++)
		if (strcmp(o->baselines[i], "docker-cli") == 0)
			docker = 1;
	if (docker && !o->image)
		return tool_cli_usage(cli, "--baseline docker-cli needs --image IMAGE (an image that has the command)");
	if (o->interleave && (o->modes[TOOL_BENCH_STAGGERED] || o->modes[TOOL_BENCH_BURST]))
		return tool_cli_usage(cli, "--interleave applies to sequential mode only, not to staggered, burst or all");
	if (o->json_path && tool_bench_check_writable("--json", o->json_path) < 0)
		return TOOL_EXIT_FAILURE;
	if (o->svg_path && tool_bench_check_writable("--svg", o->svg_path) < 0)
		return TOOL_EXIT_FAILURE;
	return 0;
}

/* The providers, then the baselines; -1 when one cannot be had (already said). */
static int open_targets(struct tool_bench_target **targets, size_t *n_targets, struct tool_cli *cli,
			const struct tool_bench_options *o)
{
	size_t i;

	if ((*n_targets = tool_bench_open_providers(targets, cli, o, o->command)) == (size_t)-1) {
		*n_targets = 0;
		return -1;
	}
	for (i = 0; i < o->n_baselines; i++)
		if (tool_bench_target_baseline(&targets[(*n_targets)++], o->baselines[i], o->command, o->image) < 0)
			return -1;
	return 0;
}

static int row_stats(struct tool_bench_row *row)
{
	double *values = calloc(row->n, sizeof(*values));
	int *ok = calloc(row->n, sizeof(*ok)), rc = -1;
	size_t j;

	if (values && ok) {
		for (j = 0; j < row->n; j++) {
			values[j] = row->iters[j].tti_ms;
			ok[j] = row->iters[j].ok;
		}
		rc = tool_bench_stats_compute(&row->stats, values, ok, row->n);
	}
	free(values);
	free(ok);
	return rc;
}

/* Times row->n iterations of row's target in row's mode; -1 when out of memory, -2 after printing the error. */
static int measure(struct tool_bench_row *row, const struct tool_bench_config *config,
		   struct tool_bench_progress *progress)
{
	int64_t t0;
	int rc;

	if (row->target->pool && tool_bench_pool(row->target, "fill") < 0)
		return -2;
	tool_bench_progress_begin(progress, row->target->name, tool_bench_mode_name(row->mode), row->n);
	t0 = tool_bench_now_ns();
	rc = tool_bench_run_mode(row->iters, row->target, row->mode, row->n, config->stagger_ms, progress);
	row->wall_ms = (double)(tool_bench_now_ns() - t0) / 1e6;
	if (row->target->pool && tool_bench_pool(row->target, "drain") < 0)
		return -2;
	tool_bench_progress_end(progress);
	return rc < 0 ? -1 : row_stats(row);
}

/* Drain the pool of every pooled row; -2 after printing the error. */
static int drain_all(struct tool_bench_row *rows, size_t n_rows)
{
	size_t r;

	for (r = 0; r < n_rows; r++)
		if (rows[r].target->pool && tool_bench_pool(rows[r].target, "drain") < 0)
			return -2;
	return 0;
}

/* Fill the pool of every pooled row; when one fails, the ones filled are drained; -2 after printing the error. */
static int fill_all(struct tool_bench_row *rows, size_t n_rows)
{
	size_t r;

	for (r = 0; r < n_rows; r++) {
		if (rows[r].target->pool && tool_bench_pool(rows[r].target, "fill") < 0) {
			drain_all(rows, r);
			return -2;
		}
	}
	return 0;
}

/*
 * Sequential rows taking turns: iteration j of every row in row order, then
 * j + 1, so a drift of the machine's load falls on every row alike. Pools
 * are filled before the first round and drained after the last; start_ms
 * counts from the first round, wall_ms sums a row's own iterations.
 */
static int measure_interleaved(struct tool_bench_row *rows, size_t n_rows, const struct tool_bench_config *config,
			       struct tool_bench_progress *progress)
{
	char label[48];
	int64_t origin;
	size_t r, j;

	if (fill_all(rows, n_rows) < 0)
		return -2;
	snprintf(label, sizeof(label), "%zu rows interleaved", n_rows);
	tool_bench_progress_begin(progress, label, tool_bench_mode_name(TOOL_BENCH_SEQUENTIAL), n_rows * config->n);
	origin = tool_bench_now_ns();
	for (j = 0; j < config->n; j++)
		for (r = 0; r < n_rows; r++)
			rows[r].wall_ms += tool_bench_run_one(&rows[r].iters[j], rows[r].target, origin, progress);
	tool_bench_progress_end(progress);
	if (drain_all(rows, n_rows) < 0)
		return -2;
	for (r = 0; r < n_rows; r++)
		if (row_stats(&rows[r]) < 0)
			return -1;
	return 0;
}

/* A row per chosen mode and target, in that order; -1 when out of memory, -2 after printing the error. */
static int measure_all(struct tool_bench_row *rows, size_t *n_rows, struct tool_bench_target **targets,
		       size_t n_targets, const struct tool_bench_config *config)
{
	struct tool_bench_progress *progress = tool_bench_progress_new();
	size_t i, first;
	int m, rc = 0, interleave;

	for (m = 0; rc == 0 && m < TOOL_BENCH_N_MODES; m++) {
		interleave = config->interleave && m == TOOL_BENCH_SEQUENTIAL;
		first = *n_rows;
		for (i = 0; rc == 0 && config->modes[m] && i < n_targets; i++) {
			struct tool_bench_row *row = &rows[*n_rows];

			row->target = targets[i];
			row->mode = (enum tool_bench_mode)m;
			row->n = config->n;
			if (!(row->iters = calloc(config->n, sizeof(*row->iters)))) {
				rc = -1;
				break;
			}
			(*n_rows)++;
			if (!interleave)
				rc = measure(row, config, progress);
		}
		if (rc == 0 && interleave && *n_rows > first)
			rc = measure_interleaved(rows + first, *n_rows - first, config, progress);
	}
	tool_bench_progress_free(progress);
	return rc;
}

/* The exit status, or -1 when out of memory. */
static int report(const struct tool_cli *cli, const struct tool_bench_options *o,
		  const struct tool_bench_row *rows, size_t n_rows, const struct tool_bench_config *config)
{
	int status = 0;

	if (cli->json) {
		if (tool_bench_emit_json("-", tool_bench_tti_json(rows, n_rows, config)) < 0)
			status = TOOL_EXIT_FAILURE;
	} else if (print_summary(rows, n_rows, config->interleave) < 0) {
		return -1;
	}
	if (o->json_path && tool_bench_emit_json(o->json_path, tool_bench_tti_json(rows, n_rows, config)) < 0)
		status = TOOL_EXIT_FAILURE;
	if (o->svg_path && write_svg(o->svg_path, rows, n_rows, config) < 0)
		status = TOOL_EXIT_FAILURE;
	return tool_finish(status, TOOL_EXIT_FAILURE);
}

static void free_rows(struct tool_bench_row *rows, size_t n_rows)
{
	size_t i, j;

	for (i = 0; rows && i < n_rows; i++) {
		for (j = 0; j < rows[i].n; j++)
			tool_bench_iter_clear(&rows[i].iters[j]);
		free(rows[i].iters);
	}
	free(rows);
}

int tool_bench_tti(struct tool_cli *cli, char **args, size_t n_args, void *options)
{
	struct tool_bench_options *o = options;
	struct tool_bench_config config;
	struct tool_bench_target **targets;
	struct tool_bench_row *rows = NULL;
	size_t n_targets = 0, n_rows = 0, i;
	int status, rc = -1;

	if ((status = check_options(cli, args, n_args, o)) != 0)
		return status;
	config_from_options(&config, o);
	status = TOOL_EXIT_FAILURE;
	targets = calloc(4 * (o->n_providers + 1) + o->n_baselines, sizeof(*targets));
	if (targets && open_targets(targets, &n_targets, cli, o) < 0)
		goto out;
	if (targets && (rows = calloc(n_targets * TOOL_BENCH_N_MODES, sizeof(*rows))) &&
	    (rc = measure_all(rows, &n_rows, targets, n_targets, &config)) == 0)
		rc = status = report(cli, o, rows, n_rows, &config);
	if (rc == -1)
		tool_error("bench: out of memory");
	if (rc < 0)
		status = TOOL_EXIT_FAILURE;
out:
	free_rows(rows, n_rows);
	for (i = 0; i < n_targets; i++)
		tool_bench_target_free(targets[i]);
	free(targets);
	return status;
}
