/*
 * csdk-pool-refill SHAPE KEY=VALUE...: the local provider's detached pool
 * refiller (docs/pools.md). A create starts it in a session of its own,
 * standard error on the pool's refill.log, with the creating process's
 * configuration; it opens the local provider with that configuration and
 * fills the pool of SHAPE, unless another refiller does.
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
	int n = 0, rc = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: csdk-pool-refill SHAPE [KEY=VALUE...] (run by the local provider; see docs/pools.md)\n");
		return 2;
	}
	if (argc > 2 && !(kv = calloc((size_t)argc - 2, sizeof(*kv))))
		return 1;
	for (int i = 2; i < argc; i++) {
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
	if (csdk_provider_open(&provider, "local", &opts) < 0 || csdk_provider_extension(&out, provider, "pool.refill", argv[1]) < 0)
		fprintf(stderr, "csdk-pool-refill: %s\n", csdk_error_last()->message);
	else
		rc = 0;
out:
	csdk_free(out);
	csdk_provider_close(provider);
	free(kv);
	return rc;
}
