#include "config.h"

#include "cli.h"

int csdkp_cli_provider(csdk_provider **out, struct csdkp_cli *cli)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	int rc;

	if (!cli->provider) {
		opts.config = cli->config;
		opts.n_config = cli->n_config;
		rc = csdk_provider_open(&cli->provider, cli->provider_name, &opts);
		if (rc < 0) {
			cli->provider = NULL;
			csdkp_report(rc, "opening the provider");
			return -1;
		}
	}
	*out = cli->provider;
	return 0;
}

int csdkp_cli_sandbox(csdk_sandbox **out, struct csdkp_cli *cli, const char *id)
{
	csdk_provider *provider;
	int rc;

	*out = NULL;
	if (csdkp_cli_provider(&provider, cli) < 0)
		return -1;
	rc = csdk_sandbox_get(out, provider, id);
	if (rc < 0) {
		csdkp_report(rc, "looking up the sandbox");
		return -1;
	}
	if (!*out) {
		csdkp_error("no sandbox '%s' in provider '%s'", id, csdk_provider_name(provider));
		return -1;
	}
	return 0;
}
