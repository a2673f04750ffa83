#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "bench/bench.h"

/* What one child process measured. */
struct sample {
	double ms;
	long found;
	long rejected;
};

static void measure_registry(struct sample *s, const char *dir)
{
	csdk_registry_options opts = CSDK_REGISTRY_OPTIONS_INIT;
	csdk_registry *reg = NULL;
	int64_t t0;

	opts.flags = CSDK_REGISTRY_NO_ENV;
	opts.search_path = dir;
	t0 = tool_bench_now_ns();
	if (csdk_registry_new(&reg, &opts) < 0) {
		s->found = -1;
		return;
	}
	s->found = (long)csdk_registry_count(reg);
	s->ms = (double)(tool_bench_now_ns() - t0) / 1e6;
	s->rejected = (long)csdk_registry_rejected_count(reg);
}

/* The baseline: what any loader must do at least, with nothing checked. */
static void measure_dlopen(struct sample *s, const char *dir)
{
	char path[4096];
	struct dirent *de;
	DIR *d;
	int64_t t0 = tool_bench_now_ns();

	if (!(d = opendir(dir))) {
		s->found = -1;
		return;
	}
	while ((de = readdir(d))) {
		void *dl;

		if (fnmatch("csdk-*.so", de->d_name, 0) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (!(dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) || !dlsym(dl, CSDK_PLUGIN_ENTRY_SYMBOL))
			s->rejected++;
		else
			s->found++;
	}
	closedir(d);
	s->ms = (double)(tool_bench_now_ns() - t0) / 1e6;
}

/*
 * Plugins are never unloaded and the dynamic loader keeps what it mapped,
 * so every sample runs in a fresh child process.
 */
static int sample_in_child(struct sample *out, const char *dir, int registry)
{
	int fds[2], status;
	pid_t pid;
	ssize_t n;

	memset(out, 0, sizeof(*out));
	if (pipe(fds) < 0)
		return -1;
	fflush(NULL);
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		struct sample s = { 0, 0, 0 };

		close(fds[0]);
		if (registry)
			measure_registry(&s, dir);
		else
			measure_dlopen(&s, dir);
		_exit(write(fds[1], &s, sizeof(s)) == (ssize_t)sizeof(s) ? 0 : 1);
	}
	close(fds[1]);
	n = read(fds[0], out, sizeof(*out));
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return n == (ssize_t)sizeof(*out) && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

json_t *tool_bench_micro_discovery(const size_t *counts, size_t n_counts, const char *workdir)
{
	json_t *arr = json_array();
	size_t c, k;

	for (c = 0; arr && c < n_counts; c++) {
		char dir[4096];
		double reg_ms[7], dl_ms[7];
		size_t reps = counts[c] >= 1000 ? 5 : 7;
		struct sample s = { 0, 0, 0 }, b = { 0, 0, 0 };

		snprintf(dir, sizeof(dir), "%s/plugins-%zu", workdir, counts[c]);
		if (tool_bench_noop_plugins(dir, counts[c]) < 0) {
			json_decref(arr);
			return NULL;
		}
		for (k = 0; k < reps; k++) {
			if (sample_in_child(&s, dir, 1) < 0 || s.found < 0 || sample_in_child(&b, dir, 0) < 0 || b.found < 0) {
				tool_error("bench: discovery of %zu plugins in %s failed in the measuring child", counts[c], dir);
				json_decref(arr);
				return NULL;
			}
			reg_ms[k] = s.ms;
			dl_ms[k] = b.ms;
		}
		qsort(reg_ms, reps, sizeof(double), cmp_double);
		qsort(dl_ms, reps, sizeof(double), cmp_double);
		json_array_append_new(arr, json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:f,s:f}",
			"plugins", (json_int_t)counts[c],
			"samples", (json_int_t)reps,
			"valid", (json_int_t)s.found,
			"rejected", (json_int_t)s.rejected,
			"registry_ms", reg_ms[reps / 2],
			"dlopen_ms", dl_ms[reps / 2],
			"registry_us_per_plugin", reg_ms[reps / 2] * 1000.0 / (double)counts[c],
			"dlopen_us_per_plugin", dl_ms[reps / 2] * 1000.0 / (double)counts[c],
			"ratio", dl_ms[reps / 2] > 0 ? reg_ms[reps / 2] / dl_ms[reps / 2] : 0.0));
		tool_bench_rmtree(dir);
	}
	return arr;
}

/* ----------------------------------------------------------------- calls */

typedef int (*extend_fn)(void *ctx, void *sandbox, int64_t duration_ms);

/* The plugin's extend_timeout, found through its own entry point (the library hands out no method tables). */
static extend_fn direct_extend(const char *path)
{
	union {
		void *object;
		csdk_plugin_entry_fn fn;
	} entry;
	const struct csdk_plugin *d = NULL;
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);

	if (!dl || !(entry.object = dlsym(dl, CSDK_PLUGIN_ENTRY_SYMBOL)) ||
	    entry.fn(CSDK_ABI_VERSION, &d) != 0 || !d || !d->methods)
		return NULL;
	return d->methods->extend_timeout;
}

/* Nanoseconds a call of csdk_sandbox_extend_timeout takes, after calls/10 to warm up; -1 when one fails. */
static double time_api(csdk_sandbox *sb, long long calls)
{
	int64_t t0;
	long long i;

	for (i = 0; i < calls / 10; i++)
		csdk_sandbox_extend_timeout(sb, 1000);
	t0 = tool_bench_now_ns();
	for (i = 0; i < calls; i++)
		if (csdk_sandbox_extend_timeout(sb, 1000) != 0)
			return -1;
	return (double)(tool_bench_now_ns() - t0) / (double)calls;
}

/* The same for the plugin's method called directly. */
static double time_direct(extend_fn volatile direct, long long calls)
{
	void *native = NULL;
	int64_t t0;
	long long i;

	for (i = 0; i < calls / 10; i++)
		direct(NULL, native, 1000);
	t0 = tool_bench_now_ns();
	for (i = 0; i < calls; i++)
		direct(NULL, native, 1000);
	return (double)(tool_bench_now_ns() - t0) / (double)calls;
}

/* Nanoseconds a run_command of "true" takes, over calls calls. */
static double time_run(csdk_sandbox *sb, long long calls)
{
	int64_t t0 = tool_bench_now_ns();

	for (long long i = 0; i < calls; i++) {
		csdk_result *res = NULL;
		if (csdk_sandbox_run_command(&res, sb, "true", NULL) != 0)
			break;
		csdk_result_free(res);
	}
	return (double)(tool_bench_now_ns() - t0) / (double)calls;
}

json_t *tool_bench_micro_calls(long long calls, const char *workdir)
{
	csdk_registry_options ropts = CSDK_REGISTRY_OPTIONS_INIT;
	csdk_provider_options popts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_registry *reg = NULL;
	csdk_provider *p = NULL;
	csdk_sandbox *sb = NULL;
	json_t *out = NULL;
	char dir[4096];
	extend_fn volatile direct;
	long long run_calls = calls / 100 > 0 ? calls / 100 : 1;
	double api_ns, direct_ns, run_ns;
	int rc;

	snprintf(dir, sizeof(dir), "%s/calls", workdir);
	if (tool_bench_noop_plugins(dir, 1) < 0)
		return NULL;
	ropts.flags = CSDK_REGISTRY_NO_ENV;
	ropts.search_path = dir;
	popts.registry = NULL;
	if ((rc = csdk_registry_new(&reg, &ropts)) < 0 ||
	    (popts.registry = reg, rc = csdk_provider_open(&p, "noop-0000", &popts)) < 0 ||
	    (rc = csdk_sandbox_create(&sb, p, NULL)) < 0) {
		tool_report(rc, "opening the no-op provider");
		goto out;
	}
	/* The baseline calls the plugin's method as a program would without csdk: from its own dlopen. */
	if (!(direct = direct_extend(csdk_provider_plugin(p)->path))) {
		tool_report(CSDK_EPLUGIN, "loading the no-op plugin directly");
		goto out;
	}
	if ((api_ns = time_api(sb, calls)) < 0) {
		tool_report(CSDK_ERROR, "calling the no-op provider");
		goto out;
	}
	direct_ns = time_direct(direct, calls);
	run_ns = time_run(sb, run_calls);

	out = json_pack("{s:s,s:I,s:f,s:f,s:f,s:I,s:f}",
			"call", "csdk_sandbox_extend_timeout",
			"calls", (json_int_t)calls,
			"api_ns", api_ns,
			"direct_ns", direct_ns,
			"overhead_ns", api_ns - direct_ns,
			"run_command_calls", (json_int_t)run_calls,
			"run_command_ns", run_ns);
out:
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	csdk_registry_free(reg);
	tool_bench_rmtree(dir);
	return out;
}
