#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syntax.h"

/* Finds the first line of text starting with one of the prefixes; returns
 * its start and sets *len to its length without the newline. */
static const char *find_line(const char *text, size_t n, const char *const *prefixes, size_t *len)
{
	const char *p = text, *end = text + n;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t i;

		for (i = 0; prefixes[i]; i++) {
			size_t pl = strlen(prefixes[i]);
			if (l >= pl && !memcmp(p, prefixes[i], pl)) {
				*len = l;
				return p;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return NULL;
}

static int contains(const char *text, size_t n, const char *needle)
{
	return memmem(text, n, needle, strlen(needle)) != NULL;
}

static int python_syntax(char *msg, size_t msglen, const char *err, size_t n, const char *script)
{
	static const char *const kinds[] = { "SyntaxError:", "IndentationError:", "TabError:", NULL };
	const char *line, *loc;
	size_t len;
	char file_marker[4200];
	long lineno = 0;

	if (contains(err, n, "Traceback (most recent call last):"))
		return 0;
	line = find_line(err, n, kinds, &len);
	if (!line)
		return 0;
	snprintf(file_marker, sizeof(file_marker), "File \"%s\", line ", script ? script : "");
	loc = script ? memmem(err, n, file_marker, strlen(file_marker)) : NULL;
	if (!loc) {
		loc = memmem(err, n, "File \"", 6);
		if (script || !loc)
			return 0;
		loc = memmem(loc, n - (size_t)(loc - err), "\", line ", 8);
		if (!loc)
			return 0;
		loc += 8;
	} else {
		loc += strlen(file_marker);
	}
	lineno = strtol(loc, NULL, 10);
	snprintf(msg, msglen, "%.*s (line %ld)", (int)(len > 400 ? 400 : len), line, lineno);
	return 1;
}

static int node_syntax(char *msg, size_t msglen, const char *err, size_t n, const char *script)
{
	static const char *const kinds[] = { "SyntaxError:", NULL };
	const char *line, *after;
	size_t len, sl;
	char frame[4200];
	long lineno;

	if (!script)
		return 0;
	sl = strlen(script);
	/* A compile error starts with "SCRIPT:LINE", the source line and a caret. */
	if (n <= sl || memcmp(err, script, sl) || err[sl] != ':' || err[sl + 1] < '0' || err[sl + 1] > '9')
		return 0;
	lineno = strtol(err + sl + 1, NULL, 10);
	line = find_line(err, n, kinds, &len);
	if (!line)
		return 0;
	/* A SyntaxError thrown while running has a stack frame in the script. */
	after = line + len;
	snprintf(frame, sizeof(frame), "(%s:", script);
	if (contains(after, n - (size_t)(after - err), frame))
		return 0;
	snprintf(frame, sizeof(frame), "at %s:", script);
	if (contains(after, n - (size_t)(after - err), frame))
		return 0;
	snprintf(msg, msglen, "%.*s (line %ld)", (int)(len > 400 ? 400 : len), line, lineno);
	return 1;
}

int csdku_syntax_error_classify(char *msg, size_t msglen, const char *runtime,
				int exit_code, const char *stderr_text, size_t stderr_len,
				const char *script_path)
{
	if (exit_code != 1 || !stderr_text || !runtime)
		return 0;
	if (!strcmp(runtime, "python"))
		return python_syntax(msg, msglen, stderr_text, stderr_len, script_path);
	if (!strcmp(runtime, "node"))
		return node_syntax(msg, msglen, stderr_text, stderr_len, script_path);
	return 0;
}
