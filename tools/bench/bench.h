/*
 * Internal interface of `csdk bench`: time-to-interactive runs of providers
 * and baselines (tti), and micro-benchmarks of the host (micro).
 */
#ifndef CSDK_TOOLS_BENCH_H
#define CSDK_TOOLS_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include <csdk/csdk.h>

#include "csdk/cli.h"

/* ------------------------------------------------------------------ time */

/** Monotonic nanoseconds. */
int64_t tool_bench_now_ns(void);

/* ----------------------------------------------------------------- stats */

/** Summary of one row in one mode, after the 5% trim of successes. */
struct tool_bench_stats {
	size_t n;               /* iterations */
	size_t ok;              /* successful iterations */
	size_t kept;            /* successes left after trimming */
	double success_rate;    /* ok / n, 0..1 */
	double min_ms, max_ms, median_ms, p95_ms, p99_ms, mean_ms;
	double score;           /* 0..100 */
};

/** The p-th percentile (0..100) of sorted values, interpolated linearly. */
double tool_bench_percentile(const double *sorted, size_t n, double p);

/** Stats of n samples of which ok[i] tells the successes (values are ms). */
int tool_bench_stats_compute(struct tool_bench_stats *out, const double *values, const int *ok, size_t n);

/** The composite score of median, P95, P99 (ms) and a success rate 0..1. */
double tool_bench_score(double median_ms, double p95_ms, double p99_ms, double success_rate);

/* ------------------------------------------------------------- targets */

/** One measured iteration. */
struct tool_bench_iter {
	int ok;
	int exit_code;          /* of the command, -1 when it never ran */
	double start_ms;        /* launch time relative to the start of the mode (of the rounds, interleaved) */
	double tti_ms;          /* create call to first command result */
	double create_ms;
	double command_ms;
	double destroy_ms;
	char *error;            /* first failure, or NULL */
};

/** Something measured: a provider or a baseline. */
struct tool_bench_target {
	char *name;             /* "local", "spawn", ... */
	const char *kind;       /* "provider" or "baseline" */
	char *version;          /* of the provider's plugin or the baseline's tool, or NULL */
	const char *command;
	int concurrent;         /* iterations may run at the same time */
	long long pool;         /* --pool N: the provider's key pool; filled before a row, drained after */
	void *state;
	/* Run one iteration: fills out (error malloc'ed). Never aborts. */
	void (*iterate)(struct tool_bench_target *t, struct tool_bench_iter *out);
	void (*release)(struct tool_bench_target *t);
};

/** access: "direct" or "gateway" (the provider's key mode), or NULL for its own choice; pool: the key pool, 0 to leave it. */
int tool_bench_target_provider(struct tool_bench_target **out, struct tool_cli *cli,
				const char *provider, const char *command, const char *access, long long pool);
/** A pool target: fill its pool (before a row) or drain it (after); 0 or -1 after printing the error. */
int tool_bench_pool(struct tool_bench_target *t, const char *op);
/** name is "spawn", "bwrap" or "docker-cli"; image is for docker-cli. */
int tool_bench_target_baseline(struct tool_bench_target **out, const char *name,
				const char *command, const char *image);
/** The baselines tool_bench_target_baseline knows, for messages. */
#define TOOL_BENCH_BASELINES "spawn, bwrap, bwrap-isolated, bwrap-bare or docker-cli"
/** 1 when name is one of TOOL_BENCH_BASELINES. */
int tool_bench_baseline_known(const char *name);
void tool_bench_target_free(struct tool_bench_target *t);

/* -------------------------------------------------- bwrap-isolated network */

/** How the bwrap-isolated baseline starts slirp4netns. */
struct tool_bench_netiso_how {
	const char *slirp;      /* its path */
	const char *log;        /* its output, a file made (truncated) for each start */
	int drop;               /* as root: run it as uid/gid, as the provider does */
	uid_t uid;
	gid_t gid;
};

/** One iteration's network=isolated set-up: bwrap gets block[0] on --block-fd and sync[1] on --sync-fd. */
struct tool_bench_netiso {
	int block[2], sync[2];  /* above 9: the children move descriptors to fixed numbers below */
	pid_t slirp;            /* this process's child, 0 when none */
};

void tool_bench_netiso_init(struct tool_bench_netiso *n);
/** The pipes; 0 or -1 (errno). */
int tool_bench_netiso_open(struct tool_bench_netiso *n);
/** After bwrap reported nspid on --info-fd: the routes, slirp4netns until it
 * is ready, then the byte that lets bwrap run the command. 0, or -1 with a
 * line in err. */
int tool_bench_netiso_start(struct tool_bench_netiso *n, const struct tool_bench_netiso_how *how, pid_t nspid,
			    char *err, size_t len);
/** After bwrap was reaped: kills and reaps slirp4netns, closes the pipes. */
void tool_bench_netiso_end(struct tool_bench_netiso *n);
void tool_bench_iter_clear(struct tool_bench_iter *it);
/** Set it->error to a formatted message unless one is set already. */
void tool_bench_iter_fail(struct tool_bench_iter *it, const char *fmt, ...) TOOL_PRINTF(2, 3);

/** Run a command line (argv) with stdout and stderr read to the end; returns its wait status, or -1 (errno). */
int tool_bench_run_argv(int *status_out, char *const *argv, char **output_out);

/* --------------------------------------------------------------- modes */

enum tool_bench_mode {
	TOOL_BENCH_SEQUENTIAL,
	TOOL_BENCH_STAGGERED,
	TOOL_BENCH_BURST,
	TOOL_BENCH_N_MODES
};

const char *tool_bench_mode_name(enum tool_bench_mode mode);
int tool_bench_mode_parse(enum tool_bench_mode *out, const char *name);

struct tool_bench_progress;

/** Run n iterations of t in mode; iters has n slots. */
int tool_bench_run_mode(struct tool_bench_iter *iters, struct tool_bench_target *t,
			 enum tool_bench_mode mode, size_t n, int64_t stagger_ms,
			 struct tool_bench_progress *progress);

/** One iteration of t, its start_ms counted from origin_ns; returns its wall time in ms. */
double tool_bench_run_one(struct tool_bench_iter *it, struct tool_bench_target *t, int64_t origin_ns,
			  struct tool_bench_progress *progress);

/* ------------------------------------------------------------- progress */

/** A progress line on stderr, only when stderr is a terminal (else every call is a no-op). */
struct tool_bench_progress *tool_bench_progress_new(void);
void tool_bench_progress_begin(struct tool_bench_progress *p, const char *row, const char *mode, size_t total);
/** One iteration finished (thread-safe). */
void tool_bench_progress_step(struct tool_bench_progress *p, int ok);
void tool_bench_progress_note(struct tool_bench_progress *p, const char *what);
void tool_bench_progress_end(struct tool_bench_progress *p);
void tool_bench_progress_free(struct tool_bench_progress *p);

/* ------------------------------------------------------------ results */

/** One row of the results: a target in a mode. */
struct tool_bench_row {
	struct tool_bench_target *target;
	enum tool_bench_mode mode;
	size_t n;
	struct tool_bench_iter *iters;
	struct tool_bench_stats stats;
	double wall_ms;         /* the row's run; interleaved, the sum of its iterations */
};

struct tool_bench_config {
	size_t n;
	const char *command;
	int64_t stagger_ms;
	const char *image;
	int modes[TOOL_BENCH_N_MODES];
	int interleave;         /* sequential rows take turns: iteration j of each row, then j + 1 */
};

/** Whether row r is compared with row b: providers with every baseline, baselines with spawn. */
int tool_bench_ratio_wanted(const struct tool_bench_row *rows, size_t r, size_t b);

/** The machine: {"machine","cpu_model","cores","kernel","os","csdk_version",...}. */
json_t *tool_bench_environment(void);

json_t *tool_bench_tti_json(const struct tool_bench_row *rows, size_t n_rows,
			     const struct tool_bench_config *config);

/** Write root to path (or stdout for "-"); returns 0 or -1 after printing the error. */
int tool_bench_write_json(const char *path, json_t *root);
/** tool_bench_write_json, then root is released. */
int tool_bench_emit_json(const char *path, json_t *root);

/** Check early that path can be written (created and kept empty); 0 or -1 after printing the error. */
int tool_bench_check_writable(const char *option, const char *path);

/** The SVG chart of rows: per mode, per row, median with P95/P99 whiskers. */
int tool_bench_svg_write(FILE *fp, const struct tool_bench_row *rows, size_t n_rows,
			  const struct tool_bench_config *config);

/* ------------------------------------------------------------ commands */

int tool_bench_tti(struct tool_cli *cli, char **args, size_t n_args, void *options);
int tool_bench_micro(struct tool_cli *cli, char **args, size_t n_args, void *options);
int tool_bench_cmd(struct tool_cli *cli, char **args, size_t n_args, void *options);

/** The access modes --mode direct|gateway names, in this order. */
extern const char *const tool_bench_access_names[2];

struct tool_bench_options;

/** Open every --provider (or the global one) in every --mode direct|gateway, and with --pool
 * also with a pool, into targets (room for 4 per provider); returns how many, or (size_t)-1 after printing the error. */
size_t tool_bench_open_providers(struct tool_bench_target **targets, struct tool_cli *cli,
				  const struct tool_bench_options *o, const char *command);

/** Options of `csdk bench`, shared by its subcommands. */
struct tool_bench_options {
	const char **providers;
	size_t n_providers;
	const char **baselines;
	size_t n_baselines;
	int modes[TOOL_BENCH_N_MODES];
	int any_mode;
	int access[2];          /* --mode direct, --mode gateway */
	int any_access;
	long long n;
	int n_given;
	long long pool;         /* --pool N: also each provider with pool = N */
	int interleave;         /* --interleave */
	const char *command;
	const char *json_path;
	const char *svg_path;
	const char *image;
	int64_t stagger_ms;
	/* micro */
	const char *plugins_list;
	long long calls;
	long long stream_bytes;
	long long handles;
	int only[4];
	int any_only;
	int tti_only_given;     /* an option of tti only was given */
	int micro_only_given;   /* an option of micro only was given */
};

/* ---------------------------------------------------------------- micro */

struct tool_bench_micro_result {
	const char *name;       /* "discovery", "calls", ... */
	json_t *json;           /* details */
};

/** Generate count copies of the no-op plugin in dir (csdk-noop-NNNN.so); returns 0 or -1 after printing the error. */
int tool_bench_noop_plugins(const char *dir, size_t count);

json_t *tool_bench_micro_discovery(const size_t *counts, size_t n_counts, const char *workdir);
json_t *tool_bench_micro_calls(long long calls, const char *workdir);
json_t *tool_bench_micro_stream(struct tool_cli *cli, long long bytes);
json_t *tool_bench_micro_memory(struct tool_cli *cli, long long handles);

/** Remove a directory tree (best effort). */
void tool_bench_rmtree(const char *path);

#endif /* CSDK_TOOLS_BENCH_H */
