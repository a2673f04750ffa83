#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench.h"

static char *cpu_model(void)
{
	FILE *fp = fopen("/proc/cpuinfo", "r");
	char line[512], *model = NULL;

	if (!fp)
		return NULL;
	while (!model && fgets(line, sizeof(line), fp)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + strspn(colon + 1, " \t");
			colon[strcspn(colon, "\n")] = '\0';
			model = strdup(colon);
		}
	}
	fclose(fp);
	return model;
}

static char *os_name(void)
{
	FILE *fp = fopen("/etc/os-release", "r");
	char line[512], *name = NULL;

	if (!fp)
		return NULL;
	while (!name && fgets(line, sizeof(line), fp)) {
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			char *v = line + 12;
			v[strcspn(v, "\n")] = '\0';
			if (*v == '"') {
				v++;
				v[strcspn(v, "\"")] = '\0';
			}
			name = strdup(v);
		}
	}
	fclose(fp);
	return name;
}

json_t *tool_bench_environment(void)
{
	struct utsname u;
	char *model = cpu_model(), *os = os_name(), kernel[400], stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	json_t *env;

	if (uname(&u) == 0)
		snprintf(kernel, sizeof(kernel), "%s %s", u.sysname, u.release);
	else
		snprintf(kernel, sizeof(kernel), "unknown");
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	env = json_pack("{s:s,s:o,s:I,s:I,s:s,s:o,s:s,s:s}",
			"machine", uname(&u) == 0 ? u.machine : "unknown",
			"cpu_model", tool_json_string_or_null(model),
			"cores", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN),
			"memory_bytes", (json_int_t)sysconf(_SC_PHYS_PAGES) * (json_int_t)sysconf(_SC_PAGESIZE),
			"kernel", kernel,
			"os", tool_json_string_or_null(os),
			"csdk_version", csdk_version(),
			"date", stamp);
	free(model);
	free(os);
	return env;
}

static json_t *stats_json(const struct tool_bench_stats *s)
{
	json_t *o = json_pack("{s:I,s:I,s:I,s:f,s:f}",
			      "iterations", (json_int_t)s->n,
			      "successes", (json_int_t)s->ok,
			      "kept_after_trim", (json_int_t)s->kept,
			      "success_rate", s->success_rate,
			      "score", s->score);

	if (o && s->kept) {
		json_object_set_new(o, "min_ms", json_real(s->min_ms));
		json_object_set_new(o, "max_ms", json_real(s->max_ms));
		json_object_set_new(o, "mean_ms", json_real(s->mean_ms));
		json_object_set_new(o, "median_ms", json_real(s->median_ms));
		json_object_set_new(o, "p95_ms", json_real(s->p95_ms));
		json_object_set_new(o, "p99_ms", json_real(s->p99_ms));
	}
	return o;
}

static json_t *iter_json(const struct tool_bench_iter *it, size_t index)
{
	return json_pack("{s:I,s:b,s:I,s:f,s:f,s:f,s:f,s:f,s:o}",
			 "index", (json_int_t)index,
			 "ok", it->ok,
			 "exit_code", (json_int_t)it->exit_code,
			 "start_ms", it->start_ms,
			 "tti_ms", it->tti_ms,
			 "create_ms", it->create_ms,
			 "command_ms", it->command_ms,
			 "destroy_ms", it->destroy_ms,
			 "error", tool_json_string_or_null(it->error));
}

int tool_bench_ratio_wanted(const struct tool_bench_row *rows, size_t r, size_t b)
{
	if (r == b || rows[r].mode != rows[b].mode || strcmp(rows[b].target->kind, "baseline") != 0)
		return 0;
	return strcmp(rows[r].target->kind, "provider") == 0 || strcmp(rows[b].target->name, "spawn") == 0;
}

/* The ratios of row r to each baseline row of the same mode. */
static json_t *ratios_json(const struct tool_bench_row *rows, size_t n_rows, size_t r)
{
	json_t *ratios = json_object();
	size_t b;

	for (b = 0; ratios && b < n_rows; b++) {
		const struct tool_bench_stats *x = &rows[r].stats, *y = &rows[b].stats;

		if (b == r || rows[b].mode != rows[r].mode || !tool_bench_ratio_wanted(rows, r, b) ||
		    !x->kept || !y->kept || y->median_ms <= 0 || y->p99_ms <= 0)
			continue;
		json_object_set_new(ratios, rows[b].target->name,
				    json_pack("{s:f,s:f,s:f}", "median", x->median_ms / y->median_ms,
					      "p95", x->p95_ms / y->p95_ms, "p99", x->p99_ms / y->p99_ms));
	}
	return ratios;
}

json_t *tool_bench_tti_json(const struct tool_bench_row *rows, size_t n_rows,
			     const struct tool_bench_config *config)
{
	json_t *root, *arr, *modes, *versions;
	size_t r, i;
	int m;

	modes = json_array();
	for (m = 0; m < TOOL_BENCH_N_MODES; m++)
		if (config->modes[m])
			json_array_append_new(modes, json_string(tool_bench_mode_name((enum tool_bench_mode)m)));
	versions = json_object();
	for (r = 0; r < n_rows; r++)
		json_object_set_new(versions, rows[r].target->name,
				    tool_json_string_or_null(rows[r].target->version));
	json_object_set_new(versions, "csdk", json_string(csdk_version()));
	root = json_pack("{s:s,s:I,s:o,s:{s:I,s:s,s:o,s:I,s:o,s:f,s:{s:f,s:f,s:f}},s:o}",
			 "benchmark", "csdk bench tti",
			 "format_version", (json_int_t)1,
			 "environment", tool_bench_environment(),
			 "configuration",
			 "iterations", (json_int_t)config->n,
			 "command", config->command,
			 "modes", modes,
			 "stagger_ms", (json_int_t)config->stagger_ms,
			 "image", tool_json_string_or_null(config->image),
			 "trim_fraction", 0.05,
			 "score_weights", "median", 0.60, "p95", 0.25, "p99", 0.15,
			 "versions", versions);
	if (!root)
		return NULL;
	json_object_set_new(json_object_get(root, "configuration"), "score_ceiling_ms", json_real(10000.0));
	json_object_set_new(json_object_get(root, "configuration"), "interleave", json_boolean(config->interleave));
	arr = json_array();
	for (r = 0; arr && r < n_rows; r++) {
		const struct tool_bench_row *row = &rows[r];
		json_t *iters = json_array(), *o;

		for (i = 0; iters && i < row->n; i++)
			json_array_append_new(iters, iter_json(&row->iters[i], i));
		o = json_pack("{s:s,s:s,s:s,s:o,s:f,s:o,s:o,s:o}",
			      "name", row->target->name,
			      "kind", row->target->kind,
			      "mode", tool_bench_mode_name(row->mode),
			      "version", tool_json_string_or_null(row->target->version),
			      "wall_ms", row->wall_ms,
			      "stats", stats_json(&row->stats),
			      "ratios", ratios_json(rows, n_rows, r),
			      "iterations", iters);
		json_array_append_new(arr, o);
	}
	json_object_set_new(root, "rows", arr);
	return root;
}

int tool_bench_check_writable(const char *option, const char *path)
{
	int fd;

	if (strcmp(path, "-") == 0)
		return 0;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		tool_error("bench: cannot write the %s file '%s': %s; choose a writable path", option, path,
			    strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int tool_bench_write_json(const char *path, json_t *root)
{
	FILE *fp;
	int rc;

	if (!root) {
		tool_error("bench: out of memory while building the JSON results");
		return -1;
	}
	if (strcmp(path, "-") == 0)
		return tool_json_print(TOOL_STDOUT, root) < 0 ? -1 : 0;
	if (!(fp = fopen(path, "w"))) {
		tool_error("bench: cannot write the --json file '%s': %s; choose a writable path", path,
			    strerror(errno));
		return -1;
	}
	rc = json_dumpf(root, fp, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	if (rc == 0 && fputc('\n', fp) == EOF)
		rc = -1;
	if (fclose(fp) != 0)
		rc = -1;
	if (rc != 0) {
		tool_error("bench: writing the --json file '%s' failed: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int tool_bench_emit_json(const char *path, json_t *root)
{
	int rc = tool_bench_write_json(path, root);

	json_decref(root);
	return rc;
}
