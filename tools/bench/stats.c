#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench.h"

/* The public benchmark's scale: a value of 10 s or more scores 0. */
#define SCORE_CEILING_MS 10000.0
#define TRIM_FRACTION 0.05

int64_t tool_bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double tool_bench_percentile(const double *sorted, size_t n, double p)
{
	double rank, frac;
	size_t lo;

	if (n == 0)
		return 0.0;
	if (n == 1 || p <= 0.0)
		return sorted[0];
	if (p >= 100.0)
		return sorted[n - 1];
	rank = p / 100.0 * (double)(n - 1);
	lo = (size_t)rank;
	frac = rank - (double)lo;
	if (lo + 1 >= n)
		return sorted[n - 1];
	return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

static double component(double value_ms)
{
	double s = 100.0 * (1.0 - value_ms / SCORE_CEILING_MS);

	return s < 0.0 ? 0.0 : s;
}

double tool_bench_score(double median_ms, double p95_ms, double p99_ms, double success_rate)
{
	return (0.60 * component(median_ms) + 0.25 * component(p95_ms) + 0.15 * component(p99_ms)) *
	       success_rate;
}

int tool_bench_stats_compute(struct tool_bench_stats *out, const double *values, const int *ok, size_t n)
{
	double *v, *kept, sum = 0.0;
	size_t i, m = 0, trim;

	memset(out, 0, sizeof(*out));
	out->n = n;
	if (n == 0)
		return 0;
	if (!(v = malloc(n * sizeof(*v))))
		return CSDK_ENOMEM;
	for (i = 0; i < n; i++)
		if (ok[i])
			v[m++] = values[i];
	out->ok = m;
	out->success_rate = (double)m / (double)n;
	if (m == 0) {
		free(v);
		return 0;
	}
	qsort(v, m, sizeof(*v), cmp_double);
	/* Trim the fastest and slowest 5% of the successes, as the public benchmark does. */
	trim = (size_t)((double)m * TRIM_FRACTION);
	kept = v + trim;
	out->kept = m - 2 * trim;
	for (i = 0; i < out->kept; i++)
		sum += kept[i];
	out->min_ms = kept[0];
	out->max_ms = kept[out->kept - 1];
	out->mean_ms = sum / (double)out->kept;
	out->median_ms = tool_bench_percentile(kept, out->kept, 50.0);
	out->p95_ms = tool_bench_percentile(kept, out->kept, 95.0);
	out->p99_ms = tool_bench_percentile(kept, out->kept, 99.0);
	out->score = tool_bench_score(out->median_ms, out->p95_ms, out->p99_ms, out->success_rate);
	free(v);
	return 0;
}
