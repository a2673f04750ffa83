#include "config.h"

#include "conformance.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct tool_conf_tracked {
	char kind;
	char *id;
};

/* Long outputs would drown the table: show their beginning only. */
#define QUOTE_MAX 160

const char *tool_conf_quote(char *buf, size_t size, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t used = 0, i;

	if (size < 16) {
		if (size)
			buf[0] = '\0';
		return buf;
	}
	if (!data) {
		snprintf(buf, size, "NULL");
		return buf;
	}
	buf[used++] = '"';
	for (i = 0; i < len && i < QUOTE_MAX; i++) {
		char esc[8];
		size_t n;

		switch (p[i]) {
		case '\n': strcpy(esc, "\\n"); break;
		case '\r': strcpy(esc, "\\r"); break;
		case '\t': strcpy(esc, "\\t"); break;
		case '"': strcpy(esc, "\\\""); break;
		case '\\': strcpy(esc, "\\\\"); break;
		default:
			if (p[i] < 0x20 || p[i] >= 0x7f)
				snprintf(esc, sizeof(esc), "\\x%02x", p[i]);
			else
				snprintf(esc, sizeof(esc), "%c", p[i]);
		}
		n = strlen(esc);
		if (used + n + 12 >= size)
			break;
		memcpy(buf + used, esc, n);
		used += n;
	}
	buf[used++] = '"';
	buf[used] = '\0';
	if (i < len)
		snprintf(buf + used, size - used, "...(%zu bytes)", len);
	return buf;
}

int tool_conf_fail(tool_conf_ctx *t, const char *fmt, ...)
{
	va_list ap;
	char *nl;

	va_start(ap, fmt);
	vsnprintf(t->detail, sizeof(t->detail), fmt, ap);
	va_end(ap);
	while ((nl = strchr(t->detail, '\n')))
		*nl = ' ';
	return -1;
}

int tool_conf_call_failed(tool_conf_ctx *t, const char *what, int rc)
{
	const csdk_error *err = csdk_error_last();

	return tool_conf_fail(t, "%s failed: %s (%d): %s", what, csdk_strerror(rc), rc,
			       err->message[0] ? err->message : "no message");
}

double tool_conf_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

int tool_conf_track(tool_conf_ctx *t, char kind, const char *id)
{
	struct tool_conf_tracked *grown;
	char *copy;

	copy = strdup(id);
	if (!copy)
		return CSDK_ENOMEM;
	grown = realloc(t->tracked, (t->n_tracked + 1) * sizeof(*grown));
	if (!grown) {
		free(copy);
		return CSDK_ENOMEM;
	}
	t->tracked = grown;
	t->tracked[t->n_tracked].kind = kind;
	t->tracked[t->n_tracked].id = copy;
	t->n_tracked++;
	if (t->report_fd >= 0) {
		char line[1024];
		int n = snprintf(line, sizeof(line), "%c %s\n", kind, id);

		if (n > 0 && (size_t)n < sizeof(line) && !strchr(id, '\n')) {
			ssize_t w;

			do
				w = write(t->report_fd, line, (size_t)n);
			while (w < 0 && errno == EINTR);
		}
	}
	return 0;
}

void tool_conf_forget(tool_conf_ctx *t)
{
	size_t i;

	for (i = 0; i < t->n_tracked; i++)
		free(t->tracked[i].id);
	free(t->tracked);
	t->tracked = NULL;
	t->n_tracked = 0;
}

void tool_conf_cleanup(tool_conf_ctx *t)
{
	size_t i = t->n_tracked;

	/* Newest first: a sandbox made from a template goes before the template. */
	while (i-- > 0) {
		const char *id = t->tracked[i].id;

		switch (t->tracked[i].kind) {
		case 'S': csdk_provider_destroy(t->provider, id); break;
		case 'T': csdk_template_delete(t->provider, id); break;
		case 'P': csdk_snapshot_delete(t->provider, id); break;
		}
		free(t->tracked[i].id);
	}
	free(t->tracked);
	t->tracked = NULL;
	t->n_tracked = 0;
	csdk_error_clear();
}

int tool_conf_create(tool_conf_ctx *t, csdk_sandbox **out, const struct csdk_create_options *opts)
{
	*out = NULL;
	TOOL_CONF_TRY(t, "csdk_sandbox_create", csdk_sandbox_create(out, t->provider, opts));
	if (!*out || !csdk_sandbox_id(*out) || !csdk_sandbox_id(*out)[0]) {
		csdk_sandbox_free(*out);
		*out = NULL;
		return tool_conf_fail(t, "csdk_sandbox_create: expected a sandbox with a non-empty id, got none");
	}
	if (tool_conf_track(t, 'S', csdk_sandbox_id(*out)) < 0) {
		csdk_sandbox_destroy(*out);
		csdk_sandbox_free(*out);
		*out = NULL;
		return tool_conf_fail(t, "out of memory");
	}
	return 0;
}

int tool_conf_run(tool_conf_ctx *t, csdk_result **out, csdk_sandbox *sandbox,
		   const char *command, const csdk_command_options *opts)
{
	char what[256];
	int rc;

	*out = NULL;
	rc = csdk_sandbox_run_command(out, sandbox, command, opts);
	if (rc < 0) {
		snprintf(what, sizeof(what), "run_command '%s'", command);
		return tool_conf_call_failed(t, what, rc);
	}
	if (!*out)
		return tool_conf_fail(t, "run_command '%s': returned 0 without a result", command);
	return 0;
}

int tool_conf_expect_exit(tool_conf_ctx *t, const char *what, const csdk_result *res, int code)
{
	char err[160];

	if (res->exit_code == code)
		return 0;
	return tool_conf_fail(t, "%s: expected exit code %d, got %d (stderr %s)", what, code,
			       res->exit_code, tool_conf_quote(err, sizeof(err), res->stderr_buf, res->stderr_len));
}

int tool_conf_expect_bytes(tool_conf_ctx *t, const char *what, const char *expected,
			    size_t expected_len, const char *got, size_t len)
{
	char e[400], g[400];
	size_t i;

	if (got && len == expected_len && memcmp(expected, got, len) == 0)
		return 0;
	if (got && len == expected_len) {
		for (i = 0; i < len && expected[i] == got[i]; i++)
			;
		return tool_conf_fail(t, "%s: expected %zu bytes, got %zu bytes differing first at offset %zu (0x%02x, expected 0x%02x)",
				       what, expected_len, len, i, (unsigned char)got[i], (unsigned char)expected[i]);
	}
	return tool_conf_fail(t, "%s: expected %s, got %s", what, tool_conf_quote(e, sizeof(e), expected, expected_len),
			       tool_conf_quote(g, sizeof(g), got, len));
}

int tool_conf_expect_str(tool_conf_ctx *t, const char *what, const char *expected,
			  const char *got, size_t len)
{
	return tool_conf_expect_bytes(t, what, expected, strlen(expected), got, len);
}

int tool_conf_expect_contains(tool_conf_ctx *t, const char *what, const char *needle,
			       const char *got, size_t len)
{
	char g[400];

	if (got && memmem(got, len, needle, strlen(needle)))
		return 0;
	return tool_conf_fail(t, "%s: expected to contain \"%s\", got %s", what, needle,
			       tool_conf_quote(g, sizeof(g), got, len));
}

int tool_conf_expect_error(tool_conf_ctx *t, const char *what, int rc, int code, const char *message)
{
	const csdk_error *err = csdk_error_last();
	char e[400], g[400];

	if (rc != code)
		return tool_conf_fail(t, "%s: expected %s (%d), got %s (%d)", what, csdk_strerror(code), code,
				       rc ? csdk_strerror(rc) : "success", rc);
	if (err->code != code)
		return tool_conf_fail(t, "%s: expected the last error's code to be %d, got %d", what, code, err->code);
	if (message && strcmp(err->message, message) != 0)
		return tool_conf_fail(t, "%s: expected message %s, got %s", what,
				       tool_conf_quote(e, sizeof(e), message, strlen(message)),
				       tool_conf_quote(g, sizeof(g), err->message, strlen(err->message)));
	return 0;
}
