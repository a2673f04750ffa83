#include "config.h"

#include "rfc3339.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t csdku_rfc3339_ms(const char *s)
{
	struct tm tm;
	const char *rest;
	int64_t ms = 0, off = 0;
	int digits = 0;

	if (!s)
		return 0;
	memset(&tm, 0, sizeof(tm));
	if (!(rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)))
		return 0;
	if (*rest == '.')
		for (rest++; *rest >= '0' && *rest <= '9'; rest++)
			if (digits++ < 3)
				ms = ms * 10 + (*rest - '0');
	while (digits++ < 3)
		ms *= 10;
	if (*rest == '+' || *rest == '-') {
		int hh = 0, mm = 0;

		if (sscanf(rest + 1, "%d:%d", &hh, &mm) == 2)
			off = (int64_t)(hh * 3600 + mm * 60) * (*rest == '+' ? 1 : -1);
	}
	return ((int64_t)timegm(&tm) - off) * 1000 + ms;
}
