#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <csdk/common.h>

#include "shellquote.h"

int csdku_shell_quote(char **out, const char *s)
{
	size_t n = 3, i;
	char *q, *p;

	*out = NULL;
	for (i = 0; s[i]; i++)
		n += s[i] == '\'' ? 4 : 1;
	q = malloc(n);
	if (!q)
		return CSDK_ENOMEM;
	p = q;
	*p++ = '\'';
	for (i = 0; s[i]; i++) {
		if (s[i] == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = s[i];
		}
	}
	*p++ = '\'';
	*p = '\0';
	*out = q;
	return 0;
}

int csdku_shell_append(char **buf, const char *s)
{
	char *q, *n;
	size_t have = *buf ? strlen(*buf) : 0;
	int rc = csdku_shell_quote(&q, s);

	if (rc)
		return rc;
	n = realloc(*buf, have + strlen(q) + 2);
	if (!n) {
		free(q);
		return CSDK_ENOMEM;
	}
	if (have)
		n[have++] = ' ';
	strcpy(n + have, q);
	free(q);
	*buf = n;
	return 0;
}
