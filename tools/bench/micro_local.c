#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench.h"

#define STREAM_PROVIDER "local"

extern char **environ;

/*
 * The local provider kills a command past output_limit (64M by default),
 * live callback or not; streaming more than that needs a higher limit,
 * unless the user chose one.
 */
static int open_local(csdk_provider **out, struct tool_cli *cli, long long output_limit)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	struct csdk_kv *kv;
	char limit[32];
	size_t i, n = 0;
	int rc, have_limit = getenv("CSDK_LOCAL_OUTPUT_LIMIT") != NULL;

	if (!(kv = calloc(cli->n_config + 1, sizeof(*kv)))) {
		tool_error("bench: out of memory");
		return -1;
	}
	if (strcmp(cli->provider_name, STREAM_PROVIDER) == 0) {
		for (i = 0; i < cli->n_config; i++) {
			kv[n++] = cli->config[i];
			if (strcmp(cli->config[i].key, "output_limit") == 0)
				have_limit = 1;
		}
	}
	if (output_limit > 0 && !have_limit) {
		snprintf(limit, sizeof(limit), "%lld", output_limit);
		kv[n].key = "output_limit";
		kv[n++].value = limit;
	}
	opts.config = kv;
	opts.n_config = n;
	rc = csdk_provider_open(out, STREAM_PROVIDER, &opts);
	free(kv);
	if (rc < 0) {
		tool_report(rc, "opening the local provider");
		return -1;
	}
	return 0;
}

static long max_rss_kib(void)
{
	struct rusage ru;

	return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : 0;
}

static long rss_kib(void)
{
	long pages = 0, resident = 0;
	FILE *fp = fopen("/proc/self/statm", "r");

	if (fp) {
		if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(fp);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static int count_bytes(const char *data, size_t len, void *userdata)
{
	(void)data;
	*(unsigned long long *)userdata += len;
	return 0;
}

/* The same bytes through a bare pipe: spawn, read, count. */
static int bare_pipe(double *ms_out, unsigned long long *bytes_out, const char *command)
{
	char *argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)command, NULL };
	posix_spawn_file_actions_t fa;
	static char buf[65536];
	int fds[2], status;
	int64_t t0 = tool_bench_now_ns();
	ssize_t n;
	pid_t pid;

	*bytes_out = 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while ((n = read(fds[0], buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		*bytes_out += (unsigned long long)n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*ms_out = (double)(tool_bench_now_ns() - t0) / 1e6;
	return 0;
}

json_t *tool_bench_micro_stream(struct tool_cli *cli, long long bytes)
{
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	csdk_provider *p = NULL;
	csdk_sandbox *sb = NULL;
	csdk_result *res = NULL;
	unsigned long long got = 0, pipe_bytes = 0;
	char command[128];
	double api_ms, pipe_ms = 0;
	long rss_before, rss_after;
	json_t *out = NULL;
	int64_t t0;
	int rc;

	snprintf(command, sizeof(command), "head -c %lld /dev/zero", bytes);
	if (open_local(&p, cli, bytes) < 0)
		return NULL;
	if ((rc = csdk_sandbox_create(&sb, p, NULL)) < 0) {
		tool_report(rc, "creating a local sandbox");
		goto out;
	}
	opts.on_stdout = count_bytes;
	opts.flags = CSDK_COMMAND_STREAM_ONLY;
	opts.userdata = &got;
	rss_before = max_rss_kib();
	t0 = tool_bench_now_ns();
	rc = csdk_sandbox_run_command(&res, sb, command, &opts);
	api_ms = (double)(tool_bench_now_ns() - t0) / 1e6;
	rss_after = max_rss_kib();
	if (rc < 0) {
		tool_report(rc, "streaming through run_command");
		goto out;
	}
	if (res->exit_code != 0 || got != (unsigned long long)bytes) {
		tool_error("bench: stream: '%s' exited with %d after %llu of %lld bytes", command, res->exit_code, got, bytes);
		goto out;
	}
	csdk_result_free(res);
	res = NULL;
	if (bare_pipe(&pipe_ms, &pipe_bytes, command) < 0 || pipe_bytes != (unsigned long long)bytes) {
		tool_error("bench: stream: the bare pipe of '%s' failed: %s", command, strerror(errno));
		goto out;
	}
	out = json_pack("{s:s,s:I,s:f,s:f,s:f,s:f,s:f,s:I}",
			"command", command,
			"bytes", (json_int_t)bytes,
			"api_ms", api_ms,
			"pipe_ms", pipe_ms,
			"api_mib_s", (double)bytes / 1048576.0 / (api_ms / 1000.0),
			"pipe_mib_s", (double)bytes / 1048576.0 / (pipe_ms / 1000.0),
			"ratio", pipe_ms > 0 ? pipe_ms / api_ms : 0.0,
			"peak_rss_growth_kib", (json_int_t)(rss_after - rss_before));
out:
	csdk_result_free(res);
	if (sb) {
		csdk_sandbox_destroy(sb);
		csdk_sandbox_free(sb);
	}
	csdk_provider_close(p);
	return out;
}

json_t *tool_bench_micro_memory(struct tool_cli *cli, long long handles)
{
	csdk_provider *p = NULL;
	csdk_sandbox **sbs = NULL, *first = NULL;
	struct mallinfo2 before, after;
	long rss_before, rss_after;
	json_t *out = NULL;
	long long i, made = 0;
	int rc;

	if (open_local(&p, cli, 0) < 0)
		return NULL;
	if (!(sbs = calloc((size_t)handles, sizeof(*sbs)))) {
		tool_error("bench: out of memory");
		goto out;
	}
	/* One create first, so the provider's one-time state is not counted per handle. */
	if ((rc = csdk_sandbox_create(&first, p, NULL)) < 0) {
		tool_report(rc, "creating a local sandbox");
		goto out;
	}
	malloc_trim(0);
	before = mallinfo2();
	rss_before = rss_kib();
	for (made = 0; made < handles; made++) {
		if ((rc = csdk_sandbox_create(&sbs[made], p, NULL)) < 0) {
			tool_report(rc, "creating a local sandbox");
			goto out;
		}
	}
	after = mallinfo2();
	rss_after = rss_kib();
	out = json_pack("{s:s,s:I,s:I,s:f,s:f}",
			"provider", STREAM_PROVIDER,
			"handles", (json_int_t)handles,
			"heap_bytes", (json_int_t)(after.uordblks - before.uordblks),
			"heap_bytes_per_handle", (double)((long long)after.uordblks - (long long)before.uordblks) / (double)handles,
			"rss_kib_per_handle", (double)(rss_after - rss_before) / (double)handles);
out:
	for (i = 0; sbs && i < made; i++) {
		csdk_sandbox_destroy(sbs[i]);
		csdk_sandbox_free(sbs[i]);
	}
	free(sbs);
	if (first) {
		csdk_sandbox_destroy(first);
		csdk_sandbox_free(first);
	}
	csdk_provider_close(p);
	return out;
}
