#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench/bench.h"

struct tool_bench_progress {
	pthread_mutex_t lock;
	char label[160];
	size_t total, done, failed;
	int64_t started_ns;
};

struct tool_bench_progress *tool_bench_progress_new(void)
{
	struct tool_bench_progress *p;

	if (!isatty(STDERR_FILENO))
		return NULL;
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

/* \r and "erase to end of line" redraw one line in place. */
static void draw(struct tool_bench_progress *p)
{
	double secs = (double)(tool_bench_now_ns() - p->started_ns) / 1e9;

	if (p->total)
		fprintf(stderr, "\r\033[K%s  %zu/%zu  failed %zu  %.1fs", p->label, p->done, p->total,
			p->failed, secs);
	else
		fprintf(stderr, "\r\033[K%s  %.1fs", p->label, secs);
	fflush(stderr);
}

void tool_bench_progress_begin(struct tool_bench_progress *p, const char *row, const char *mode, size_t total)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	snprintf(p->label, sizeof(p->label), "bench: %s %s", row, mode);
	p->total = total;
	p->done = p->failed = 0;
	p->started_ns = tool_bench_now_ns();
	draw(p);
	pthread_mutex_unlock(&p->lock);
}

void tool_bench_progress_step(struct tool_bench_progress *p, int ok)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->done++;
	if (!ok)
		p->failed++;
	draw(p);
	pthread_mutex_unlock(&p->lock);
}

void tool_bench_progress_note(struct tool_bench_progress *p, const char *what)
{
	tool_bench_progress_begin(p, what, "", 0);
}

void tool_bench_progress_end(struct tool_bench_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	fputs("\r\033[K", stderr);
	fflush(stderr);
	pthread_mutex_unlock(&p->lock);
}

void tool_bench_progress_free(struct tool_bench_progress *p)
{
	if (!p)
		return;
	pthread_mutex_destroy(&p->lock);
	free(p);
}
