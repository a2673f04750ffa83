/* test-rfc3339: csdku_rfc3339_ms on the forms Docker, Kubernetes and envd write. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "rfc3339.h"

int main(void)
{
	static const struct {
		const char *in;
		int64_t want;
	} cases[] = {
		{ "2026-12-04T17:29:01Z", 1796405341000 },
		{ "2026-12-04T17:29:01.123456789Z", 1796405341123 },
		{ "2026-12-04T17:29:01.5Z", 1796405341500 },
		{ "2026-12-04T19:29:01+02:00", 1796405341000 },
		{ "2026-12-04T12:59:01.25-04:30", 1796405341250 },
		{ "1970-01-01T00:00:00Z", 0 },
		{ "0001-01-01T00:00:00Z", -62135596800000 },
		{ "yesterday", 0 },
		{ "", 0 },
		{ NULL, 0 },
	};
	int failed = 0;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int64_t got = csdku_rfc3339_ms(cases[i].in);

		if (got != cases[i].want) {
			fprintf(stderr, "FAIL: %s: %" PRId64 ", want %" PRId64 "\n", cases[i].in ? cases[i].in : "NULL", got,
				cases[i].want);
			failed++;
		}
	}
	printf("%zu checks, %d failed\n", sizeof cases / sizeof cases[0], failed);
	return failed ? 1 : 0;
}
