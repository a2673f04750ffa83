/*
 * csdk-pool-refill [--provider NAME] POOL KEY=VALUE...: the detached pool
 * refiller of the local and docker providers (docs/pools.md). A create
 * starts it in a session of its own, standard error on the pool's
 * refill.log, with the creating process's configuration; it opens the
 * provider NAME (default local) with that configuration and fills POOL
 * (pool.refill), unless another refiller does.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/csdk.h>

int main(int argc, char **argv)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	struct csdk_kv *kv = NULL;
	csdk_provider *provider = NULL;
	char *out = NULL;
	const char *name = "local";
	int n = 0, rc = 1, first = 1;

	if (argc > 2 && !strcmp(argv[1], "--provider")) {
		name = argv[2];
		first = 3;
	}
	if (argc <= first || argv[first][0] == '-') {
		fprintf(stderr, "usage: csdk-pool-refill [--provider NAME] POOL [KEY=VALUE...] (run by the local and docker providers; see docs/pools.md)\n");
		return 2;
	}
	if (!(kv = calloc((size_t)argc, sizeof(*kv))))
		return 1;
	for (int i = first + 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');

		if (!eq) {
			fprintf(stderr, "csdk-pool-refill: '%s' is not KEY=VALUE\n", argv[i]);
			goto out;
		}
		*eq = '\0';
		kv[n].key = argv[i];
		kv[n++].value = eq + 1;
	}
	opts.config = kv;
	opts.n_config = (size_t)n;
	if (csdk_provider_open(&provider, name, &opts) < 0 ||
	    csdk_provider_extension(&out, provider, "pool.refill", argv[first]) < 0)
		fprintf(stderr, "csdk-pool-refill: %s\n", csdk_error_last()->message);
	else
		rc = 0;
out:
	csdk_free(out);
	csdk_provider_close(provider);
	free(kv);
	return rc;
}
