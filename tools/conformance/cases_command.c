#include "config.h"

#include "conformance.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int csdkp_conf_case_echo(csdkp_conf_ctx *t)
{
	csdk_result *res;
	int rc;

	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, "echo \"Hello from command\"", NULL));
	rc = csdkp_conf_expect_contains(t, "stdout", "Hello from command", res->stdout_buf, res->stdout_len);
	if (rc == 0)
		rc = csdkp_conf_expect_exit(t, "echo", res, 0);
	csdk_result_free(res);
	return rc;
}

int csdkp_conf_case_background(csdkp_conf_ctx *t)
{
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	csdk_result *res;
	double start, elapsed;
	int rc;

	opts.background = 1;
	start = csdkp_conf_now_ms();
	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, "sleep 1", &opts));
	elapsed = csdkp_conf_now_ms() - start;
	rc = csdkp_conf_expect_exit(t, "sleep 1 in background", res, 0);
	csdk_result_free(res);
	if (rc == 0 && elapsed >= 500)
		rc = csdkp_conf_fail(t, "sleep 1 in background: expected to return in under 500 ms, took %.0f ms", elapsed);
	return rc;
}

int csdkp_conf_case_not_found(csdkp_conf_ctx *t)
{
	csdk_result *res;
	int rc;

	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, "nonexistent-command-12345", NULL));
	rc = csdkp_conf_expect_exit(t, "nonexistent-command-12345", res, 127);
	csdk_result_free(res);
	return rc;
}

int csdkp_conf_case_streams(csdkp_conf_ctx *t)
{
	csdk_result *res;
	int rc;

	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, "sh -c 'echo out; echo err 1>&2; exit 3'", NULL));
	rc = csdkp_conf_expect_str(t, "stdout", "out\n", res->stdout_buf, res->stdout_len);
	if (rc == 0)
		rc = csdkp_conf_expect_str(t, "stderr", "err\n", res->stderr_buf, res->stderr_len);
	if (rc == 0)
		rc = csdkp_conf_expect_exit(t, "exit 3", res, 3);
	csdk_result_free(res);
	return rc;
}

struct chunks {
	double start;
	double first_ms;        /* since start; negative until the first chunk */
	size_t n;
	size_t len, cap;
	char *data;
	int failed;
};

static int collect(const char *data, size_t len, void *userdata)
{
	struct chunks *c = userdata;

	if (c->first_ms < 0)
		c->first_ms = csdkp_conf_now_ms() - c->start;
	c->n++;
	if (c->len + len > c->cap) {
		size_t cap = (c->len + len) * 2 + 64;
		char *grown = realloc(c->data, cap);

		if (!grown) {
			c->failed = 1;
			return 0;
		}
		c->data = grown;
		c->cap = cap;
	}
	memcpy(c->data + c->len, data, len);
	c->len += len;
	return 0;
}

int csdkp_conf_case_streaming(csdkp_conf_ctx *t)
{
	static const char cmd[] = "sh -c 'for i in 1 2 3 4 5; do echo tick $i; sleep 1; done'";
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	struct chunks c = { 0, -1, 0, 0, 0, NULL, 0 };
	csdk_result *res = NULL;
	int rc;

	opts.on_stdout = collect;
	opts.userdata = &c;
	c.start = csdkp_conf_now_ms();
	rc = csdkp_conf_run(t, &res, t->sandbox, cmd, &opts);
	if (rc == 0 && c.failed)
		rc = csdkp_conf_fail(t, "out of memory");
	if (rc == 0 && c.n == 0)
		rc = csdkp_conf_fail(t, "on_stdout: expected live chunks, got no call");
	if (rc == 0 && c.first_ms >= 2500)
		rc = csdkp_conf_fail(t, "first chunk: expected within 2500 ms (half the command's 5 s), came after %.0f ms",
				     c.first_ms);
	if (rc == 0)
		rc = csdkp_conf_expect_bytes(t, "chunks joined vs the result's stdout", res->stdout_buf,
					     res->stdout_len, c.data, c.len);
	if (rc == 0)
		rc = csdkp_conf_expect_str(t, "stdout", "tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n",
					   res->stdout_buf, res->stdout_len);
	if (rc == 0)
		rc = csdkp_conf_expect_exit(t, "ticks", res, 0);
	csdk_result_free(res);
	free(c.data);
	return rc;
}

int csdkp_conf_case_timeout(csdkp_conf_ctx *t)
{
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	csdk_result *res;
	double start, elapsed;
	int rc;

	opts.timeout_ms = 5000;
	start = csdkp_conf_now_ms();
	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, "sh -c 'echo starting; sleep 60'", &opts));
	elapsed = csdkp_conf_now_ms() - start;
	rc = csdkp_conf_expect_exit(t, "sleep 60 with a 5000 ms timeout", res, 124);
	if (rc == 0 && elapsed >= 15000)
		rc = csdkp_conf_fail(t, "sleep 60 with a 5000 ms timeout: expected to end within 15000 ms, took %.0f ms",
				     elapsed);
	if (rc == 0)
		rc = csdkp_conf_expect_contains(t, "stdout kept after the timeout", "starting", res->stdout_buf,
						res->stdout_len);
	csdk_result_free(res);
	return rc;
}

static int expect_output(csdkp_conf_ctx *t, const char *cmd, const char *expected)
{
	csdk_result *res;
	int rc;

	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, cmd, NULL));
	rc = csdkp_conf_expect_exit(t, cmd, res, 0);
	if (rc == 0)
		rc = csdkp_conf_expect_str(t, cmd, expected, res->stdout_buf, res->stdout_len);
	csdk_result_free(res);
	return rc;
}

int csdkp_conf_case_quoting(csdkp_conf_ctx *t)
{
	csdk_result *res;
	int rc;

	CSDKP_CONF_CHECK(expect_output(t, "sh -c 'echo \"hello world\"'", "hello world\n"));
	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, "sh -c 'echo \"$HOME\"'", NULL));
	rc = csdkp_conf_expect_exit(t, "echo \"$HOME\"", res, 0);
	if (rc == 0 && (res->stdout_len < 2 || res->stdout_buf[0] == '\n'))
		rc = csdkp_conf_fail(t, "echo \"$HOME\": expected a non-empty line, got %zu bytes", res->stdout_len);
	csdk_result_free(res);
	CSDKP_CONF_CHECK(rc);
	return expect_output(t, "echo test content | cat > /tmp/test-quoting.txt && cat /tmp/test-quoting.txt",
			     "test content\n");
}

int csdkp_conf_case_env(csdkp_conf_ctx *t)
{
	static const char value[] = "a b 'c' \"d\" $HOME `e` \\f";
	const struct csdk_kv envs[] = { { "CSDK_CONFORMANCE_VAR", value }, { "CSDK_CONFORMANCE_OTHER", "2" } };
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	csdk_result *res;
	int rc;

	opts.envs = envs;
	opts.n_envs = 2;
	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox,
					"printf '%s|%s' \"$CSDK_CONFORMANCE_VAR\" \"$CSDK_CONFORMANCE_OTHER\"", &opts));
	rc = csdkp_conf_expect_exit(t, "printf of the variables", res, 0);
	if (rc == 0)
		rc = csdkp_conf_expect_str(t, "the env option as the command saw it", "a b 'c' \"d\" $HOME `e` \\f|2",
					   res->stdout_buf, res->stdout_len);
	csdk_result_free(res);
	return rc;
}

int csdkp_conf_case_cwd(csdkp_conf_ctx *t)
{
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	csdk_result *res;
	int rc;

	CSDKP_CONF_CHECK(expect_output(t, "mkdir -p '/tmp/conformance cwd' && echo made", "made\n"));
	opts.cwd = "/tmp/conformance cwd";
	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, "pwd", &opts));
	rc = csdkp_conf_expect_exit(t, "pwd", res, 0);
	if (rc == 0)
		rc = csdkp_conf_expect_str(t, "pwd with cwd \"/tmp/conformance cwd\"", "/tmp/conformance cwd\n",
					   res->stdout_buf, res->stdout_len);
	csdk_result_free(res);
	return rc;
}

int csdkp_conf_case_exit_codes(csdkp_conf_ctx *t)
{
	static const int codes[] = { 0, 1, 2, 42, 126, 128, 200, 255 };
	size_t i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		char cmd[32];
		csdk_result *res;
		int rc;

		snprintf(cmd, sizeof(cmd), "exit %d", codes[i]);
		CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, cmd, NULL));
		rc = csdkp_conf_expect_exit(t, cmd, res, codes[i]);
		csdk_result_free(res);
		CSDKP_CONF_CHECK(rc);
	}
	return 0;
}

#define LARGE_BYTES ((size_t)8 << 20)

int csdkp_conf_case_large_output(csdkp_conf_ctx *t)
{
	static const char line[] = "0123456789abcdef\n";
	csdk_result *res;
	size_t i, n = sizeof(line) - 1;
	int rc;

	CSDKP_CONF_CHECK(csdkp_conf_run(t, &res, t->sandbox, "yes 0123456789abcdef | head -c 8388608", NULL));
	rc = csdkp_conf_expect_exit(t, "8 MiB to stdout", res, 0);
	if (rc == 0 && res->stdout_len != LARGE_BYTES)
		rc = csdkp_conf_fail(t, "8 MiB to stdout: expected %zu bytes, got %zu", LARGE_BYTES, res->stdout_len);
	for (i = 0; rc == 0 && i < res->stdout_len; i++)
		if (res->stdout_buf[i] != line[i % n])
			rc = csdkp_conf_fail(t, "8 MiB to stdout: byte %zu expected 0x%02x, got 0x%02x", i,
					     (unsigned char)line[i % n], (unsigned char)res->stdout_buf[i]);
	csdk_result_free(res);
	return rc;
}

struct worker {
	pthread_t thread;
	csdk_sandbox *sandbox;
	char command[64];
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

int csdkp_conf_case_concurrent(csdkp_conf_ctx *t)
{
	struct worker w[2];
	csdk_sandbox *other = NULL;
	double start, elapsed;
	int i, started = 0, rc = 0;

	CSDKP_CONF_CHECK(csdkp_conf_create(t, &other, NULL));
	memset(w, 0, sizeof(w));
	w[0].sandbox = t->sandbox;
	w[1].sandbox = other;
	start = csdkp_conf_now_ms();
	for (i = 0; i < 2; i++) {
		snprintf(w[i].command, sizeof(w[i].command), "sleep 1; echo sandbox-%d", i);
		if (pthread_create(&w[i].thread, NULL, work, &w[i]) != 0) {
			rc = csdkp_conf_fail(t, "pthread_create failed");
			break;
		}
		started++;
	}
	for (i = 0; i < started; i++)
		pthread_join(w[i].thread, NULL);
	elapsed = csdkp_conf_now_ms() - start;
	for (i = 0; rc == 0 && i < 2; i++) {
		char expected[32], what[96];

		snprintf(what, sizeof(what), "thread %d: %s", i, w[i].command);
		if (w[i].rc < 0 || !w[i].res) {
			rc = csdkp_conf_fail(t, "%s: failed: %s (%d): %s", what, csdk_strerror(w[i].rc), w[i].rc,
					     w[i].message);
			break;
		}
		snprintf(expected, sizeof(expected), "sandbox-%d\n", i);
		rc = csdkp_conf_expect_exit(t, what, w[i].res, 0);
		if (rc == 0)
			rc = csdkp_conf_expect_str(t, what, expected, w[i].res->stdout_buf, w[i].res->stdout_len);
	}
	/* Only a plugin that declares thread safety is called concurrently by the host. */
	if (rc == 0 && (t->caps & CSDK_CAP_THREAD_SAFE) && elapsed >= 1900)
		rc = csdkp_conf_fail(t, "two 1 s commands on a thread-safe provider: expected to overlap (under 1900 ms), took %.0f ms",
				     elapsed);
	for (i = 0; i < 2; i++)
		csdk_result_free(w[i].res);
	csdk_sandbox_free(other);
	return rc;
}
