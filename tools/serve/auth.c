/* API keys and envd tokens of csdk serve. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "serve.h"

int serve_secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char diff = la != lb;

	for (i = 0; i < la; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[lb ? i % lb : 0];
	return lb && !diff;
}

const struct serve_tenant *serve_auth_key(const struct serve_options *opt, const char *key)
{
	const struct serve_tenant *found = NULL;
	size_t i;

	if (!key || !*key)
		return NULL;
	/* Every key is compared, so the time does not tell which one matched. */
	for (i = 0; i < opt->n_tenants; i++)
		if (serve_secret_equal(key, opt->tenants[i].key) && !found)
			found = &opt->tenants[i];
	return found;
}

int serve_random_token(char out[SERVE_TOKEN_HEX + 1])
{
	unsigned char raw[SERVE_TOKEN_HEX / 2];
	size_t got = 0, i;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(raw); i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
	return 0;
}
