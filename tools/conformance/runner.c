#include "config.h"

#include "conformance.h"
#include "io.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tool_conf_outcome_name(tool_conf_outcome outcome)
{
	switch (outcome) {
	case TOOL_CONF_PASS: return "pass";
	case TOOL_CONF_FAIL: return "fail";
	case TOOL_CONF_SKIP: return "skip";
	}
	return "unknown";
}

static int set_detail(tool_conf_result *out, const char *detail)
{
	free(out->detail);
	out->detail = NULL;
	if (!detail || !detail[0])
		return 0;
	out->detail = strdup(detail);
	return out->detail ? 0 : CSDK_ENOMEM;
}

/* The fresh sandbox around the case body, removed whatever the body did. */
static tool_conf_outcome run_body(char *detail, size_t size, csdk_provider *provider,
				   const tool_conf_case *c, const tool_conf_options *opts, int report_fd)
{
	tool_conf_ctx t;
	int rc, drc;

	memset(&t, 0, sizeof(t));
	t.provider = provider;
	t.provider_name = opts->provider_name;
	t.caps = csdk_provider_capabilities(provider);
	t.report_fd = report_fd;
	rc = tool_conf_create(&t, &t.sandbox, NULL);
	if (rc == 0) {
		csdk_error_clear();
		rc = c->fn(&t) < 0 ? -1 : 0;
		drc = csdk_sandbox_destroy(t.sandbox);
		if (rc == 0 && drc < 0)
			rc = tool_conf_call_failed(&t, "destroy of the case's sandbox", drc);
		csdk_sandbox_free(t.sandbox);
	}
	tool_conf_cleanup(&t);
	snprintf(detail, size, "%s", rc == 0 ? "" : t.detail);
	return rc == 0 ? TOOL_CONF_PASS : TOOL_CONF_FAIL;
}

static int run_here(tool_conf_result *out, csdk_provider *provider, const tool_conf_case *c,
		    const tool_conf_options *opts)
{
	char detail[1024];
	double start = tool_conf_now_ms();

	out->outcome = run_body(detail, sizeof(detail), provider, c, opts, -1);
	out->duration_ms = (int64_t)(tool_conf_now_ms() - start);
	if (out->outcome == TOOL_CONF_PASS && opts->timeout_ms > 0 && out->duration_ms > opts->timeout_ms) {
		out->outcome = TOOL_CONF_FAIL;
		snprintf(detail, sizeof(detail), "took %lld ms, more than the %lld ms a case may take",
			 (long long)out->duration_ms, (long long)opts->timeout_ms);
	}
	return set_detail(out, detail);
}

/* The case process's report pipe, for the crash handler. */
static int crash_fd = -1;

/* Async-signal-safe: tell the parent which method was running, then die of the signal. */
static void on_crash(int sig)
{
	const char *provider, *method;
	char line[160];
	size_t n = 0;

	if (csdk_plugin_call_current(&provider, &method)) {
		line[n++] = 'M';
		line[n++] = ' ';
		for (const char *m = method; *m && n < sizeof(line) - 2; m++)
			line[n++] = *m;
		line[n++] = '\n';
		(void)!write(crash_fd, line, n);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A plugin's writes to stdout, reported by libcsdk under CSDK_STDOUT_CHECK, fail the case. */
static char stdout_finding[512];

static void case_log(enum csdk_log_level level, const char *provider, const char *message, void *userdata)
{
	(void)userdata;
	if (level == CSDK_LOG_WARN && provider && strstr(message, " to standard output in ")) {
		if (!stdout_finding[0])
			snprintf(stdout_finding, sizeof(stdout_finding), "%s", message);
		return;
	}
	if (level >= CSDK_LOG_WARN)
		fprintf(stderr, "csdk: %s%s%s: %s\n", provider ? provider : "", provider ? ": " : "",
			level == CSDK_LOG_WARN ? "warning" : "error", message);
}

static void watch_stdout(void)
{
	static const int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	struct sigaction sa;
	int fd = memfd_create("csdk-case-stdout", MFD_CLOEXEC);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_crash;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, NULL);
	fflush(stdout);
	if (fd >= 0 && dup2(fd, STDOUT_FILENO) >= 0)
		csdk_set_log_handler(case_log, NULL);
	if (fd >= 0)
		close(fd);
}

static void __attribute__((noreturn)) child(int fd, const tool_conf_case *c, const tool_conf_options *opts)
{
	csdk_provider_options popts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_provider *provider = NULL;
	char detail[1024], line[1100];
	tool_conf_outcome outcome;
	int n;

	/* A group of its own, so that a timeout kills whatever the case started. */
	setpgid(0, 0);
	crash_fd = fd;
	watch_stdout();
	/* Threads the plugin started in the parent do not exist here: open it afresh. */
	popts.config = opts->config;
	popts.n_config = opts->n_config;
	popts.registry = opts->registry;
	if (csdk_provider_open(&provider, opts->provider_name, &popts) < 0) {
		snprintf(detail, sizeof(detail), "cannot open the provider in the case process: %s",
			 csdk_error_last()->message);
		outcome = TOOL_CONF_FAIL;
	} else {
		outcome = run_body(detail, sizeof(detail), provider, c, opts, fd);
		csdk_provider_close(provider);
	}
	if (stdout_finding[0]) {
		size_t used = strlen(detail);

		snprintf(detail + used, sizeof(detail) - used, "%s%s", used ? "; also: " : "", stdout_finding);
		outcome = TOOL_CONF_FAIL;
	}
	n = snprintf(line, sizeof(line), "R %c %s\n", outcome == TOOL_CONF_PASS ? 'p' : 'f', detail);
	if (n > 0)
		(void)csdku_write_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	_exit(0);
}

struct watch {
	char *buf;
	size_t len, cap;
	int have_result;
	char method[64];          /* the plugin method a crash happened in */
	tool_conf_ctx cleanup;   /* resources the case announced */
};

/* Returns 0, or CSDK_ENOMEM. */
static int take_lines(struct watch *w, tool_conf_result *out)
{
	char *nl;

	while ((nl = memchr(w->buf, '\n', w->len))) {
		size_t used = (size_t)(nl - w->buf) + 1;

		*nl = '\0';
		if (w->buf[0] == 'R' && w->buf[1] == ' ' && w->buf[2] && w->buf[3] == ' ') {
			w->have_result = 1;
			out->outcome = w->buf[2] == 'p' ? TOOL_CONF_PASS : TOOL_CONF_FAIL;
			if (set_detail(out, w->buf + 4) < 0)
				return CSDK_ENOMEM;
		} else if (w->buf[0] == 'M' && w->buf[1] == ' ') {
			snprintf(w->method, sizeof(w->method), "%s", w->buf + 2);
		} else if (w->buf[0] && w->buf[1] == ' ' && w->buf[2]) {
			if (tool_conf_track(&w->cleanup, w->buf[0], w->buf + 2) < 0)
				return CSDK_ENOMEM;
		}
		memmove(w->buf, w->buf + used, w->len - used);
		w->len -= used;
	}
	return 0;
}

static int watch_child(struct watch *w, tool_conf_result *out, int fd, double deadline)
{
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		double left = deadline - tool_conf_now_ms();
		ssize_t n;
		int rc;

		if (left <= 0)
			return CSDK_ETIMEOUT;
		rc = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left + 1);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return CSDK_EIO;
		if (rc == 0)
			continue;
		if (w->len + 4096 > w->cap) {
			size_t cap = w->cap ? w->cap * 2 : 8192;
			char *grown = realloc(w->buf, cap);

			if (!grown)
				return CSDK_ENOMEM;
			w->buf = grown;
			w->cap = cap;
		}
		n = read(fd, w->buf + w->len, w->cap - w->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		w->len += (size_t)n;
		if (take_lines(w, out) < 0)
			return CSDK_ENOMEM;
	}
}

static int run_forked(tool_conf_result *out, csdk_provider *provider, const tool_conf_case *c,
		      const tool_conf_options *opts)
{
	struct watch w;
	double start;
	int fds[2], status = 0, rc;
	pid_t pid;

	memset(&w, 0, sizeof(w));
	w.cleanup.provider = provider;
	w.cleanup.report_fd = -1;
	if (pipe(fds) < 0)
		return CSDK_EIO;
	fflush(NULL);
	start = tool_conf_now_ms();
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return CSDK_EIO;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], c, opts);
	}
	close(fds[1]);
	setpgid(pid, pid);
	rc = watch_child(&w, out, fds[0], start + (double)(opts->timeout_ms > 0 ? opts->timeout_ms : 1e12));
	if (rc == CSDK_ETIMEOUT) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	out->duration_ms = (int64_t)(tool_conf_now_ms() - start);
	if (rc == CSDK_ETIMEOUT) {
		char detail[160];

		out->outcome = TOOL_CONF_FAIL;
		snprintf(detail, sizeof(detail), "timed out after %lld ms and was killed; raise --timeout for a slow provider",
			 (long long)opts->timeout_ms);
		rc = set_detail(out, detail);
	} else if (rc == 0 && !w.have_result) {
		char detail[240];

		out->outcome = TOOL_CONF_FAIL;
		if (WIFSIGNALED(status) && w.method[0])
			snprintf(detail, sizeof(detail), "the provider crashed in %s (signal %d, %s)",
				 w.method, WTERMSIG(status), strsignal(WTERMSIG(status)));
		else if (WIFSIGNALED(status))
			snprintf(detail, sizeof(detail), "the case process died of signal %d (%s) before reporting a result",
				 WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(detail, sizeof(detail), "the case process exited with status %d before reporting a result",
				 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		rc = set_detail(out, detail);
	}
	/* The case process removes what it made; when it could not, do it here. */
	if (w.have_result)
		tool_conf_forget(&w.cleanup);
	else
		tool_conf_cleanup(&w.cleanup);
	free(w.buf);
	return rc;
}

int tool_conf_run_case(tool_conf_result *out, csdk_provider *provider,
			const tool_conf_case *c, const tool_conf_options *opts)
{
	char reason[256];

	memset(out, 0, sizeof(*out));
	out->c = c;
	if (tool_conf_skip_reason(reason, sizeof(reason), c, csdk_provider_capabilities(provider))) {
		out->outcome = TOOL_CONF_SKIP;
		return set_detail(out, reason);
	}
	if (opts->in_process)
		return run_here(out, provider, c, opts);
	return run_forked(out, provider, c, opts);
}
