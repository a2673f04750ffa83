#include "config.h"

#include "conformance.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * No case sleeps for a fixed time or asserts how long something took: a
 * command that must still be running waits in the sandbox for a file that
 * the case creates when it is done checking (a bounded poll, WAIT_LOOP), and
 * the case waits for a condition by polling it until a generous deadline
 * (WAIT_MS), so a loaded machine is slower but never fails.
 */
#define WAIT_MS 60000
#define POLL_MS 20
/* sh: poll for the file %s.go every 20 ms, 90 s at most (a safety net), then go on */
#define WAIT_LOOP "i=0; while [ ! -e %s.go ] && [ $i -lt 4500 ]; do sleep 0.02; i=$((i+1)); done"

/* A path under /tmp unique to this case run: these files never collide with
 * another run on the same machine, even where sandboxes share /tmp. */
static void marker(char *buf, size_t size, const char *what)
{
	static unsigned seq;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, size, "/tmp/csdk-conf-%s-%ld-%ld%09ld-%u", what, (long)getpid(), (long)ts.tv_sec,
		 (long)ts.tv_nsec, seq++);
}

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Run cmd in sandbox until it exits 0, polling until WAIT_MS have passed.
 * 0 once it did; -1 with the failure recorded (what) when it never did. */
static int wait_until(tool_conf_ctx *t, csdk_sandbox *sandbox, const char *cmd, const char *what)
{
	double deadline = tool_conf_now_ms() + WAIT_MS;

	for (;;) {
		csdk_result *res;
		int code;

		TOOL_CONF_CHECK(tool_conf_run(t, &res, sandbox, cmd, NULL));
		code = res->exit_code;
		csdk_result_free(res);
		if (code == 0)
			return 0;
		if (tool_conf_now_ms() > deadline)
			return tool_conf_fail(t, "%s: '%s' still exits %d after %d s", what, cmd, code, WAIT_MS / 1000);
		pause_ms(POLL_MS);
	}
}

/* Run cmd in sandbox and expect exit code `code`; the result goes to *res_out
 * (free it; NULL when the run failed), or is freed when res_out is NULL. */
static int run_exit(tool_conf_ctx *t, csdk_result **res_out, csdk_sandbox *sandbox, const char *cmd,
		    const csdk_command_options *opts, const char *what, int code)
{
	csdk_result *res;
	int rc;

	if (res_out)
		*res_out = NULL;
	TOOL_CONF_CHECK(tool_conf_run(t, &res, sandbox, cmd, opts));
	rc = tool_conf_expect_exit(t, what, res, code);
	if (res_out)
		*res_out = res;
	else
		csdk_result_free(res);
	return rc;
}

/* Run cmd in sandbox and expect exit 0. */
static int run_ok(tool_conf_ctx *t, csdk_sandbox *sandbox, const char *cmd)
{
	return run_exit(t, NULL, sandbox, cmd, NULL, cmd, 0);
}

int tool_conf_case_echo(tool_conf_ctx *t)
{
	csdk_result *res;
	int rc;

	TOOL_CONF_CHECK(tool_conf_run(t, &res, t->sandbox, "echo \"Hello from command\"", NULL));
	rc = tool_conf_expect_contains(t, "stdout", "Hello from command", res->stdout_buf, res->stdout_len);
	if (rc == 0)
		rc = tool_conf_expect_exit(t, "echo", res, 0);
	csdk_result_free(res);
	return rc;
}

int tool_conf_case_background(tool_conf_ctx *t)
{
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	char m[80], cmd[1024];

	/* The command cannot finish before the case creates M.go: if the call
	 * returns, it returned while the command was still running. */
	marker(m, sizeof(m), "bg");
	snprintf(cmd, sizeof(cmd), "sh -c '" WAIT_LOOP "; echo done > %s.done'", m, m);
	opts.background = 1;
	TOOL_CONF_CHECK(run_exit(t, NULL, t->sandbox, cmd, &opts, "a waiting command in background", 0));
	snprintf(cmd, sizeof(cmd), "test ! -e %s.done", m);
	TOOL_CONF_CHECK(run_ok(t, t->sandbox, cmd));
	/* released, the background command completes on its own */
	snprintf(cmd, sizeof(cmd), "touch %s.go", m);
	TOOL_CONF_CHECK(run_ok(t, t->sandbox, cmd));
	snprintf(cmd, sizeof(cmd), "test -e %s.done", m);
	TOOL_CONF_CHECK(wait_until(t, t->sandbox, cmd, "the background command, released, never completed"));
	snprintf(cmd, sizeof(cmd), "rm -f %s.go %s.done", m, m);
	return run_ok(t, t->sandbox, cmd);
}

int tool_conf_case_not_found(tool_conf_ctx *t)
{
	return run_exit(t, NULL, t->sandbox, "nonexistent-command-12345", NULL, "nonexistent-command-12345", 127);
}

int tool_conf_case_streams(tool_conf_ctx *t)
{
	csdk_result *res;
	int rc;

	TOOL_CONF_CHECK(tool_conf_run(t, &res, t->sandbox, "sh -c 'echo out; echo err 1>&2; exit 3'", NULL));
	rc = tool_conf_expect_str(t, "stdout", "out\n", res->stdout_buf, res->stdout_len);
	if (rc == 0)
		rc = tool_conf_expect_str(t, "stderr", "err\n", res->stderr_buf, res->stderr_len);
	if (rc == 0)
		rc = tool_conf_expect_exit(t, "exit 3", res, 3);
	csdk_result_free(res);
	return rc;
}

struct chunks {
	size_t n;
	size_t len, cap;
	char *data;
	int failed;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static int collect(const char *data, size_t len, void *userdata)
{
	struct chunks *c = userdata;

	pthread_mutex_lock(&c->lock);
	c->n++;
	if (c->len + len > c->cap) {
		size_t cap = (c->len + len) * 2 + 64;
		char *grown = realloc(c->data, cap);

		if (!grown) {
			c->failed = 1;
			pthread_cond_broadcast(&c->cond);
			pthread_mutex_unlock(&c->lock);
			return 0;
		}
		c->data = grown;
		c->cap = cap;
	}
	memcpy(c->data + c->len, data, len);
	c->len += len;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

struct streamer {
	tool_conf_ctx *t;
	const char *cmd;
	csdk_command_options opts;
	csdk_result *res;
	int rc;
	int done;
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
};

static void *stream(void *arg)
{
	struct streamer *s = arg;

	s->rc = csdk_sandbox_run_command(&s->res, s->t->sandbox, s->cmd, &s->opts);
	pthread_mutex_lock(s->lock);
	s->done = 1;
	pthread_cond_broadcast(s->cond);
	pthread_mutex_unlock(s->lock);
	return NULL;
}

/*
 * The command prints "tick 1" and then waits for M.go, which the case
 * creates only once that line has come through on_stdout: the chunk came
 * live, while the command ran. With thread-safe providers the case creates
 * M.go through the provider while the command runs; the others are called
 * one at a time by the host, so for them the command goes on by itself (the
 * chunks are then only checked to join to the result).
 */
/* Wait for "tick 1" in c, or for the call in s to end: whether the tick came; *done: whether the call ended. */
static int wait_first_tick(struct chunks *c, const struct streamer *s, int *done)
{
	double deadline = tool_conf_now_ms() + WAIT_MS;
	int first_seen;

	pthread_mutex_lock(&c->lock);
	while (!(first_seen = c->len >= 7 && !memcmp(c->data, "tick 1\n", 7)) && !s->done && !c->failed &&
	       tool_conf_now_ms() < deadline) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	*done = s->done;
	pthread_mutex_unlock(&c->lock);
	return first_seen;
}

/* Run s in a thread; release its command (marker m) once its first line came through. */
static int stream_live(tool_conf_ctx *t, struct streamer *s, struct chunks *c, const char *m)
{
	char go[160];
	pthread_t th;
	int rc = 0, done, first_seen;

	if (pthread_create(&th, NULL, stream, s) != 0)
		return tool_conf_fail(t, "pthread_create failed");
	if ((first_seen = wait_first_tick(c, s, &done))) {
		snprintf(go, sizeof(go), "touch %s.go", m);
		rc = run_ok(t, t->sandbox, go);
	} else if (!done && !c->failed) {
		rc = tool_conf_fail(t, "on_stdout: no \"tick 1\" within %d s of the call, and the call did not end",
				     WAIT_MS / 1000);
	}
	/* ends by itself at the latest when its wait loop gives up */
	pthread_join(th, NULL);
	if (rc == 0 && !first_seen && done && s->rc >= 0)
		rc = tool_conf_fail(t, "the command ended before its first line came through on_stdout: "
				     "the output did not come live");
	return rc;
}

/* The streamed run's result and its chunks agree with the expected ticks. */
static int check_streamed(tool_conf_ctx *t, const struct streamer *s, const struct chunks *c)
{
	if (s->rc < 0)
		return tool_conf_call_failed(t, "run_command with on_stdout", s->rc);
	if (!s->res)
		return tool_conf_fail(t, "run_command with on_stdout: returned 0 without a result");
	if (c->failed)
		return tool_conf_fail(t, "out of memory");
	if (c->n == 0)
		return tool_conf_fail(t, "on_stdout: expected live chunks, got no call");
	TOOL_CONF_CHECK(tool_conf_expect_bytes(t, "chunks joined vs the result's stdout", s->res->stdout_buf,
					       s->res->stdout_len, c->data, c->len));
	TOOL_CONF_CHECK(tool_conf_expect_str(t, "stdout", "tick 1\ntick 2\ntick 3\n", s->res->stdout_buf, s->res->stdout_len));
	return tool_conf_expect_exit(t, "ticks", s->res, 0);
}

int tool_conf_case_streaming(tool_conf_ctx *t)
{
	struct chunks c = { 0, 0, 0, NULL, 0, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER };
	struct streamer s;
	int live = (t->caps & CSDK_CAP_THREAD_SAFE) != 0;
	char m[80], cmd[1024];
	int rc = 0;

	marker(m, sizeof(m), "stream");
	if (live)
		snprintf(cmd, sizeof(cmd),
			 "sh -c 'echo tick 1; " WAIT_LOOP "; if [ -e %s.go ]; then echo tick 2; else echo never released; fi; "
			 "echo tick 3; rm -f %s.go'", m, m, m);
	else
		snprintf(cmd, sizeof(cmd), "sh -c 'for i in 1 2 3; do echo tick $i; done'");
	memset(&s, 0, sizeof(s));
	s.t = t;
	s.cmd = cmd;
	s.opts = (csdk_command_options)CSDK_COMMAND_OPTIONS_INIT;
	s.opts.on_stdout = collect;
	s.opts.userdata = &c;
	s.lock = &c.lock;
	s.cond = &c.cond;
	if (live)
		rc = stream_live(t, &s, &c, m);
	else
		stream(&s);
	if (rc == 0)
		rc = check_streamed(t, &s, &c);
	csdk_result_free(s.res);
	free(c.data);
	return rc;
}

/* The command would wait for a file nobody creates (90 s at most): only the
 * timeout ends it, so exit 124 with "starting" and without "finished" says
 * the timeout ended it and kept the output, however long that took. */
int tool_conf_case_timeout(tool_conf_ctx *t)
{
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	csdk_result *res;
	char m[80], cmd[1024];
	int rc;

	marker(m, sizeof(m), "never");
	snprintf(cmd, sizeof(cmd), "sh -c 'echo starting; " WAIT_LOOP "; echo finished'", m);
	opts.timeout_ms = 5000;
	rc = run_exit(t, &res, t->sandbox, cmd, &opts, "a waiting command with a 5000 ms timeout", 124);
	if (rc < 0 && !res)
		return rc;
	if (rc == 0)
		rc = tool_conf_expect_contains(t, "stdout kept after the timeout", "starting", res->stdout_buf,
						res->stdout_len);
	if (rc == 0 && res->stdout_len >= 8 && memmem(res->stdout_buf, res->stdout_len, "finished", 8))
		rc = tool_conf_fail(t, "a waiting command with a 5000 ms timeout: it ran to its end instead of being stopped");
	csdk_result_free(res);
	return rc;
}

/* Run cmd with opts, expecting exit 0 (what_exit) and stdout `expected` (what_out). */
static int expect_output_opts(tool_conf_ctx *t, const char *cmd, const csdk_command_options *opts, const char *what_exit,
			      const char *what_out, const char *expected)
{
	csdk_result *res;
	int rc = run_exit(t, &res, t->sandbox, cmd, opts, what_exit, 0);

	if (rc == 0)
		rc = tool_conf_expect_str(t, what_out, expected, res->stdout_buf, res->stdout_len);
	csdk_result_free(res);
	return rc;
}

static int expect_output(tool_conf_ctx *t, const char *cmd, const char *expected)
{
	return expect_output_opts(t, cmd, NULL, cmd, cmd, expected);
}

int tool_conf_case_quoting(tool_conf_ctx *t)
{
	csdk_result *res;
	int rc;

	TOOL_CONF_CHECK(expect_output(t, "sh -c 'echo \"hello world\"'", "hello world\n"));
	TOOL_CONF_CHECK(tool_conf_run(t, &res, t->sandbox, "sh -c 'echo \"$HOME\"'", NULL));
	rc = tool_conf_expect_exit(t, "echo \"$HOME\"", res, 0);
	if (rc == 0 && (res->stdout_len < 2 || res->stdout_buf[0] == '\n'))
		rc = tool_conf_fail(t, "echo \"$HOME\": expected a non-empty line, got %zu bytes", res->stdout_len);
	csdk_result_free(res);
	TOOL_CONF_CHECK(rc);
	return expect_output(t, "echo test content | cat > /tmp/test-quoting.txt && cat /tmp/test-quoting.txt",
			     "test content\n");
}

int tool_conf_case_env(tool_conf_ctx *t)
{
	static const char value[] = "a b 'c' \"d\" $HOME `e` \\f";
	const struct csdk_kv envs[] = { { "CSDK_CONFORMANCE_VAR", value }, { "CSDK_CONFORMANCE_OTHER", "2" } };
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;

	opts.envs = envs;
	opts.n_envs = 2;
	return expect_output_opts(t, "printf '%s|%s' \"$CSDK_CONFORMANCE_VAR\" \"$CSDK_CONFORMANCE_OTHER\"", &opts,
				  "printf of the variables", "the env option as the command saw it",
				  "a b 'c' \"d\" $HOME `e` \\f|2");
}

int tool_conf_case_cwd(tool_conf_ctx *t)
{
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;

	TOOL_CONF_CHECK(expect_output(t, "mkdir -p '/tmp/conformance cwd' && echo made", "made\n"));
	opts.cwd = "/tmp/conformance cwd";
	return expect_output_opts(t, "pwd", &opts, "pwd", "pwd with cwd \"/tmp/conformance cwd\"", "/tmp/conformance cwd\n");
}

int tool_conf_case_exit_codes(tool_conf_ctx *t)
{
	static const int codes[] = { 0, 1, 2, 42, 126, 128, 200, 255 };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char cmd[32];

		snprintf(cmd, sizeof(cmd), "exit %d", codes[i]);
		TOOL_CONF_CHECK(run_exit(t, NULL, t->sandbox, cmd, NULL, cmd, codes[i]));
	}
	return 0;
}

#define LARGE_BYTES ((size_t)8 << 20)

int tool_conf_case_large_output(tool_conf_ctx *t)
{
	static const char line[] = "0123456789abcdef\n";
	csdk_result *res;
	size_t i, n = sizeof(line) - 1;
	int rc;

	TOOL_CONF_CHECK(tool_conf_run(t, &res, t->sandbox, "yes 0123456789abcdef | head -c 8388608", NULL));
	rc = tool_conf_expect_exit(t, "8 MiB to stdout", res, 0);
	if (rc == 0 && res->stdout_len != LARGE_BYTES)
		rc = tool_conf_fail(t, "8 MiB to stdout: expected %zu bytes, got %zu", LARGE_BYTES, res->stdout_len);
	for (i = 0; rc == 0 && i < res->stdout_len; i++)
		if (res->stdout_buf[i] != line[i % n])
			rc = tool_conf_fail(t, "8 MiB to stdout: byte %zu expected 0x%02x, got 0x%02x", i,
					     (unsigned char)line[i % n], (unsigned char)res->stdout_buf[i]);
	csdk_result_free(res);
	return rc;
}

struct worker {
	pthread_t thread;
	csdk_sandbox *sandbox;
	char command[1024];
	csdk_result *res;
	int rc;
	char message[512];
};

static void *work(void *arg)
{
	struct worker *w = arg;

	w->rc = csdk_sandbox_run_command(&w->res, w->sandbox, w->command, NULL);
	if (w->rc < 0)
		snprintf(w->message, sizeof(w->message), "%s", csdk_error_last()->message);
	return NULL;
}

/*
 * Two threads, two sandboxes. With thread-safe providers, thread 0's command
 * waits for M.go while thread 1's command runs to its end; only then does
 * the case create M.go: the two calls were in flight at once (a provider
 * that ran them one after the other would never let thread 1 finish). The
 * host calls other providers one at a time, so there both commands just
 * print their line.
 */
/* Start the two workers, thread 0's command running (and waiting) before thread 1 starts. */
static int start_workers(tool_conf_ctx *t, struct worker w[2], int live, const char *m, int *started)
{
	char cmd[1024];

	for (int i = 0; i < 2; i++) {
		if (pthread_create(&w[i].thread, NULL, work, &w[i]) != 0)
			return tool_conf_fail(t, "pthread_create failed");
		++*started;
		if (live && i == 0) {
			snprintf(cmd, sizeof(cmd), "test -e %s.started", m);
			TOOL_CONF_CHECK(wait_until(t, t->sandbox, cmd, "thread 0's command never started"));
		}
	}
	return 0;
}

/* Each worker ran and printed its sandbox-N line. */
static int check_workers(tool_conf_ctx *t, const struct worker w[2])
{
	for (int i = 0; i < 2; i++) {
		char expected[32], what[96];

		snprintf(what, sizeof(what), "thread %d: %.60s", i, w[i].command);
		if (w[i].rc < 0 || !w[i].res)
			return tool_conf_fail(t, "%s: failed: %s (%d): %s", what, csdk_strerror(w[i].rc), w[i].rc, w[i].message);
		snprintf(expected, sizeof(expected), "sandbox-%d\n", i);
		TOOL_CONF_CHECK(tool_conf_expect_exit(t, what, w[i].res, 0));
		TOOL_CONF_CHECK(tool_conf_expect_str(t, what, expected, w[i].res->stdout_buf, w[i].res->stdout_len));
	}
	return 0;
}

int tool_conf_case_concurrent(tool_conf_ctx *t)
{
	struct worker w[2];
	csdk_sandbox *other = NULL;
	int live = (t->caps & CSDK_CAP_THREAD_SAFE) != 0;
	char m[80], cmd[1024];
	int i, started = 0, rc = 0;

	TOOL_CONF_CHECK(tool_conf_create(t, &other, NULL));
	memset(w, 0, sizeof(w));
	w[0].sandbox = t->sandbox;
	w[1].sandbox = other;
	marker(m, sizeof(m), "conc");
	if (live)
		snprintf(w[0].command, sizeof(w[0].command),
			 "sh -c 'touch %s.started; " WAIT_LOOP "; if [ -e %s.go ]; then echo sandbox-0; else echo never released; fi'",
			 m, m, m);
	else
		snprintf(w[0].command, sizeof(w[0].command), "echo sandbox-0");
	snprintf(w[1].command, sizeof(w[1].command), "echo sandbox-1");
	rc = start_workers(t, w, live, m, &started);
	if (started == 2) {
		pthread_join(w[1].thread, NULL);
		started = 1;
	}
	if (live) {
		/* release thread 0 (also after a failure, so that it ends) */
		snprintf(cmd, sizeof(cmd), "touch %s.go", m);
		if (rc == 0) {
			rc = run_ok(t, t->sandbox, cmd);
		} else {
			csdk_result *res = NULL;

			csdk_sandbox_run_command(&res, t->sandbox, cmd, NULL);
			csdk_result_free(res);
		}
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	if (rc == 0)
		rc = check_workers(t, w);
	if (live) {
		snprintf(cmd, sizeof(cmd), "rm -f %s.started %s.go", m, m);
		if (rc == 0)
			rc = run_ok(t, t->sandbox, cmd);
	}
	for (i = 0; i < 2; i++)
		csdk_result_free(w[i].res);
	csdk_sandbox_free(other);
	return rc;
}
