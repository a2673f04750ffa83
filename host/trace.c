#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

static int list_has(const char *list, const char *word)
{
	size_t len = strlen(word);
	const char *p = list;

	while (*p) {
		size_t n = strcspn(p, ",");

		if ((n == len && strncmp(p, word, len) == 0) || (n == 3 && strncmp(p, "all", 3) == 0))
			return 1;
		p += n;
		if (*p == ',')
			p++;
	}
	return 0;
}

int csdkp_trace_enabled(const char *topic)
{
	const char *debug = getenv("CSDK_DEBUG");

	return debug && list_has(debug, topic);
}

void csdkp_trace(const char *topic, const char *fmt, ...)
{
	va_list ap;
	char *line = NULL;

	if (!csdkp_trace_enabled(topic))
		return;
	va_start(ap, fmt);
	if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	va_end(ap);
	/* One fprintf per line, so concurrent traces do not interleave. */
	fprintf(stderr, "csdk: %s: %s\n", topic, line ? line : "(out of memory)");
	free(line);
}
