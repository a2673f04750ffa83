#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"

static const char *const mode_names[TOOL_BENCH_N_MODES] = { "sequential", "staggered", "burst" };

const char *tool_bench_mode_name(enum tool_bench_mode mode)
{
	return (unsigned)mode < TOOL_BENCH_N_MODES ? mode_names[mode] : "unknown";
}

int tool_bench_mode_parse(enum tool_bench_mode *out, const char *name)
{
	int i;

	for (i = 0; i < TOOL_BENCH_N_MODES; i++) {
		if (strcmp(name, mode_names[i]) == 0) {
			*out = (enum tool_bench_mode)i;
			return 0;
		}
	}
	return CSDK_EINVAL;
}

struct worker {
	struct tool_bench_target *target;
	struct tool_bench_iter *iter;
	struct tool_bench_progress *progress;
	pthread_barrier_t *barrier;   /* burst: every worker waits here, then all go */
	int64_t origin_ns;
	int64_t launch_ns;            /* staggered: when to start */
};

static void sleep_until(int64_t when_ns)
{
	int64_t now;
	struct timespec ts;

	while ((now = tool_bench_now_ns()) < when_ns) {
		ts.tv_sec = (when_ns - now) / 1000000000;
		ts.tv_nsec = (when_ns - now) % 1000000000;
		nanosleep(&ts, NULL);
	}
}

double tool_bench_run_one(struct tool_bench_iter *it, struct tool_bench_target *t, int64_t origin_ns,
			  struct tool_bench_progress *progress)
{
	int64_t t0 = tool_bench_now_ns();

	it->start_ms = (double)(t0 - origin_ns) / 1e6;
	t->iterate(t, it);
	tool_bench_progress_step(progress, it->ok);
	return (double)(tool_bench_now_ns() - t0) / 1e6;
}

static void iterate_one(struct worker *w)
{
	tool_bench_run_one(w->iter, w->target, w->origin_ns, w->progress);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	if (w->barrier)
		pthread_barrier_wait(w->barrier);
	else
		sleep_until(w->launch_ns);
	iterate_one(w);
	return NULL;
}

int tool_bench_run_mode(struct tool_bench_iter *iters, struct tool_bench_target *t,
			 enum tool_bench_mode mode, size_t n, int64_t stagger_ms,
			 struct tool_bench_progress *progress)
{
	struct worker *workers;
	pthread_t *threads;
	pthread_barrier_t barrier;
	pthread_attr_t attr;
	size_t i, started = 0;
	int64_t origin;
	int rc = 0;

	memset(iters, 0, n * sizeof(*iters));
	if (!(workers = calloc(n, sizeof(*workers))) || !(threads = calloc(n, sizeof(*threads)))) {
		free(workers);
		return CSDK_ENOMEM;
	}
	origin = tool_bench_now_ns();
	for (i = 0; i < n; i++) {
		workers[i].target = t;
		workers[i].iter = &iters[i];
		workers[i].progress = progress;
		workers[i].origin_ns = origin;
		workers[i].launch_ns = origin + (int64_t)i * stagger_ms * 1000000;
	}
	if (mode == TOOL_BENCH_SEQUENTIAL || !t->concurrent) {
		for (i = 0; i < n; i++)
			iterate_one(&workers[i]);
		goto out;
	}
	if (mode == TOOL_BENCH_BURST) {
		if (pthread_barrier_init(&barrier, NULL, (unsigned)n) != 0) {
			rc = CSDK_ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++)
			workers[i].barrier = &barrier;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 1024 * 1024);
	for (i = 0; i < n; i++) {
		if (pthread_create(&threads[i], &attr, worker_main, &workers[i]) != 0)
			break;
		started++;
	}
	pthread_attr_destroy(&attr);
	if (started < n) {
		/* A thread that could not start is a failed iteration; the barrier must still be met. */
		for (i = started; i < n; i++) {
			tool_bench_iter_fail(&iters[i], "cannot start a thread: %s", strerror(EAGAIN));
			iters[i].exit_code = -1;
			tool_bench_progress_step(progress, 0);
			if (mode == TOOL_BENCH_BURST)
				pthread_barrier_wait(&barrier);
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (mode == TOOL_BENCH_BURST)
		pthread_barrier_destroy(&barrier);
out:
	free(workers);
	free(threads);
	return rc;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

void tool_bench_rmtree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}
