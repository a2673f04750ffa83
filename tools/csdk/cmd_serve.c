/* csdk serve: E2B-compatible sandboxes over csdk providers (docs/serve.md). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifdef CSDK_WITH_SERVE

#include "serve/serve.h"

enum { OPT_LISTEN = TOOL_OPT_FIRST_FREE, OPT_PROVIDER, OPT_STATE_DIR, OPT_DOMAIN, OPT_CHECK, OPT_GRACE };

struct serve_args {
	const char *listen;
	const char **providers;
	size_t n_providers;
	const char *state_dir;
	const char *domain;
	int check;
	int grace_s;
};

static int serve_option(struct tool_cli *cli, void *state, int opt, const char *arg)
{
	struct serve_args *a = state;
	const char **grown;
	char *end;
	long v;

	switch (opt) {
	case OPT_LISTEN:
		a->listen = arg;
		return 0;
	case OPT_PROVIDER:
		if (!(grown = realloc(a->providers, (a->n_providers + 1) * sizeof(*grown)))) {
			tool_error("out of memory");
			return TOOL_EXIT_FAILURE;
		}
		a->providers = grown;
		a->providers[a->n_providers++] = arg;
		return 0;
	case OPT_STATE_DIR:
		a->state_dir = arg;
		return 0;
	case OPT_DOMAIN:
		a->domain = arg;
		return 0;
	case OPT_CHECK:
		a->check = 1;
		return 0;
	case OPT_GRACE:
		v = strtol(arg, &end, 10);
		if (!*arg || *end || v < 0 || v > 3600)
			return tool_cli_usage(cli, "--grace takes 0 to 3600 seconds, not '%s'", arg);
		a->grace_s = (int)v;
		return 0;
	}
	return tool_cli_usage(cli, "unknown option");
}

static const char *conf(const csdk_user_config *file, const char *key)
{
	return csdk_user_config_get(file, "[serve]", key);
}

/* A [serve] number; -1 and a message when malformed. */
static int conf_int(int64_t *out, const csdk_user_config *file, const char *key, int64_t min, int64_t max, int *problems)
{
	const char *v = conf(file, key);
	char *end;
	long long n;

	if (!v)
		return 0;
	n = strtoll(v, &end, 10);
	if (!*v || *end || n < min || n > max) {
		tool_error("%s: [serve] %s = '%s' is not valid; give a whole number from %lld to %lld",
			    csdk_user_config_path(file), key, v, (long long)min, (long long)max);
		(*problems)++;
		return -1;
	}
	*out = n;
	return 0;
}

static char *default_state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *path = NULL;

	if (xdg && xdg[0] == '/')
		return asprintf(&path, "%s/csdk/serve", xdg) < 0 ? NULL : path;
	if (home && *home)
		return asprintf(&path, "%s/.local/state/csdk/serve", home) < 0 ? NULL : path;
	return strdup("/var/lib/csdk/serve");
}

static int add_tenant(struct serve_options *o, const char *name, const char *key)
{
	struct serve_tenant *grown = realloc(o->tenants, (o->n_tenants + 1) * sizeof(*grown));

	if (!grown)
		return -1;
	o->tenants = grown;
	grown[o->n_tenants].name = strdup(name);
	grown[o->n_tenants].key = strdup(key);
	if (!grown[o->n_tenants].name || !grown[o->n_tenants].key)
		return -1;
	o->n_tenants++;
	return 0;
}

/* The tenants and their keys: api_key (tenant "default"), and api_key_NAME for each NAME of tenants. */
static int load_tenants(struct serve_options *o, const csdk_user_config *file, int *problems)
{
	const char *path = csdk_user_config_path(file) ? csdk_user_config_path(file) : "the configuration file";
	const char *list = conf(file, "tenants"), *env = getenv("CSDK_SERVE_API_KEY");
	size_t i, j;

	if (conf(file, "api_key")) {
		if (add_tenant(o, "default", conf(file, "api_key")) < 0)
			return -1;
	} else if (env && *env && add_tenant(o, "default", env) < 0) {
		return -1;
	}
	while (list && *list) {
		size_t n = strcspn(list, ", \t");
		char name[64], key[80];

		if (n == 0) {
			list++;
			continue;
		}
		if (n >= sizeof(name) - 1) {
			tool_error("%s: [serve] tenants: a tenant name is over 62 bytes; shorten it", path);
			(*problems)++;
			break;
		}
		memcpy(name, list, n);
		name[n] = '\0';
		snprintf(key, sizeof(key), "api_key_%s", name);
		if (!conf(file, key)) {
			tool_error("%s: [serve] tenants names '%s' but %s is not set; add '%s = SECRET' under [serve]", path, name, key, key);
			(*problems)++;
		} else if (add_tenant(o, name, conf(file, key)) < 0) {
			return -1;
		}
		list += n;
	}
	if (!o->n_tenants) {
		tool_error("no API key for csdk serve: add 'api_key = SECRET' under [serve] in %s (a secret of 32 random bytes, e.g. from 'openssl rand -hex 32'), or set CSDK_SERVE_API_KEY",
			    path);
		(*problems)++;
	}
	for (i = 0; i < o->n_tenants; i++) {
		if (strlen(o->tenants[i].key) < 16) {
			tool_error("%s: the API key of tenant '%s' is shorter than 16 characters; use a long random secret", path,
				    o->tenants[i].name);
			(*problems)++;
		}
		for (j = 0; j < i; j++)
			if (!strcmp(o->tenants[i].key, o->tenants[j].key)) {
				tool_error("%s: tenants '%s' and '%s' have the same API key; give each its own", path,
					    o->tenants[j].name, o->tenants[i].name);
				(*problems)++;
			}
	}
	return 0;
}

static void free_options(struct serve_options *o)
{
	size_t i;

	for (i = 0; i < o->n_tenants; i++) {
		free(o->tenants[i].name);
		if (o->tenants[i].key)
			memset(o->tenants[i].key, 0, strlen(o->tenants[i].key));
		free(o->tenants[i].key);
	}
	free(o->tenants);
	free(o->templates);
}

/* The providers named by --provider, each with its [provider NAME] keys (and --config for the first). */
static int open_providers(csdk_compute **out, struct tool_cli *cli, const struct serve_args *a, int *problems)
{
	csdk_compute_options copts = CSDK_COMPUTE_OPTIONS_INIT;
	const csdk_user_config *file = tool_cli_user_config(cli);
	csdk_registry *reg = tool_cli_registry(cli);
	size_t i;

	*out = NULL;
	if (!file || !reg)
		return -1;
	if (!a->n_providers)
		return tool_cli_compute(out, cli);
	copts.strategy = csdk_user_config_strategy(file);
	copts.no_fallback = !csdk_user_config_fallback(file);
	if (csdk_compute_new(out, &copts) < 0) {
		tool_report(CSDK_ENOMEM, "setting up the providers");
		return -1;
	}
	for (i = 0; i < a->n_providers; i++) {
		csdk_provider_options popts = CSDK_PROVIDER_OPTIONS_INIT;
		const csdk_plugin_info *plugin = csdk_registry_find(reg, a->providers[i]);
		csdk_config_entries *entries = NULL;
		struct csdk_kv *kv = NULL;
		size_t n = 0;
		int rc;

		if (plugin && (csdk_user_config_resolve(&entries, file, plugin, i == 0 ? cli->config : NULL, i == 0 ? cli->n_config : 0) < 0 ||
			       csdk_config_entries_to_kv(&kv, &n, entries) < 0)) {
			tool_error("%s", csdk_error_last()->message);
			csdk_config_entries_free(entries);
			(*problems)++;
			continue;
		}
		popts.config = kv;
		popts.n_config = n;
		popts.registry = reg;
		rc = csdk_compute_open(*out, a->providers[i], &popts);
		free(kv);
		csdk_config_entries_free(entries);
		if (rc < 0) {
			tool_error("provider '%s': %s", a->providers[i], csdk_error_last()->message);
			(*problems)++;
		}
	}
	return 0;
}

static int check_gateway(csdk_compute *compute, int *problems)
{
	size_t i;

	for (i = 0; i < csdk_compute_count(compute); i++) {
		const char *name = csdk_compute_name_at(compute, i);
		csdk_provider *p = csdk_compute_provider(compute, name);

		if (!p) {
			tool_error("provider '%s' could not be opened; see the error above or run 'csdk --provider %s providers'", name, name);
			(*problems)++;
		} else if (csdk_provider_mode(p) != CSDK_MODE_GATEWAY) {
			tool_error("provider '%s' runs in direct mode; csdk serve relays E2B clients to the envd agent of gateway-mode sandboxes: "
				    "run it with --config mode=gateway (local, docker) or choose a gateway provider", name);
			(*problems)++;
		}
	}
	return 0;
}

/* The server's options: the configuration file's [serve] values over the defaults, the command line's over those. -1 when out of memory. */
static int server_options(struct serve_options *opt, const struct tool_cli *cli, const csdk_user_config *file,
			  const struct serve_args *a, int *problems)
{
	int64_t v;

	opt->json_logs = cli->json;
	opt->listen = a->listen ? a->listen : conf(file, "listen") ? conf(file, "listen") : "127.0.0.1:3000";
	opt->domain = a->domain ? a->domain : conf(file, "domain");
	opt->max_timeout_s = 86400;
	opt->default_timeout_s = SERVE_DEFAULT_TIMEOUT_S;
	opt->max_body = 1024 * 1024;
	opt->grace_s = 30;
	opt->idle_timeout_s = 120;
	if (conf_int(&v, file, "max_timeout", 1, 30 * 86400, problems) == 0 && conf(file, "max_timeout"))
		opt->max_timeout_s = v;
	if (conf_int(&v, file, "default_timeout", 1, 30 * 86400, problems) == 0 && conf(file, "default_timeout"))
		opt->default_timeout_s = v;
	if (conf_int(&v, file, "max_body", 1024, 64 * 1024 * 1024, problems) == 0 && conf(file, "max_body"))
		opt->max_body = (size_t)v;
	if (conf_int(&v, file, "grace", 0, 3600, problems) == 0 && conf(file, "grace"))
		opt->grace_s = (int)v;
	if (conf_int(&v, file, "idle_timeout", 1, 3600, problems) == 0 && conf(file, "idle_timeout"))
		opt->idle_timeout_s = (int)v;
	if (a->grace_s >= 0)
		opt->grace_s = a->grace_s;
	if (opt->default_timeout_s > opt->max_timeout_s) {
		tool_error("[serve] default_timeout (%lld) is over max_timeout (%lld); lower it or raise max_timeout",
			    (long long)opt->default_timeout_s, (long long)opt->max_timeout_s);
		(*problems)++;
	}
	if (conf(file, "templates") && !(opt->templates = strdup(conf(file, "templates"))))
		return -1;
	if (load_tenants(opt, file, problems) < 0)
		return -1;
	if (serve_check_listen(opt->listen) < 0) {
		tool_error("cannot listen on '%s': give ADDRESS:PORT, e.g. 127.0.0.1:3000", opt->listen);
		(*problems)++;
	}
	if (csdk_user_config_exposed(file) && opt->n_tenants && conf(file, "api_key")) {
		tool_error("%s holds API keys and is readable by other users; run 'chmod 600 %s'", csdk_user_config_path(file),
			    csdk_user_config_path(file));
		(*problems)++;
	}
	return 0;
}

/* csdk serve --check: what would be served, or how many problems stop it. */
static int report_check(const struct serve_options *opt, csdk_compute *compute, int problems)
{
	if (problems) {
		tool_error("%d problem(s) found", problems);
		return TOOL_EXIT_FAILURE;
	}
	fprintf(TOOL_STDOUT, "csdk serve: configuration ok: listen %s, %zu tenant(s), %zu provider(s), state in %s\n", opt->listen,
		opt->n_tenants, compute ? csdk_compute_count(compute) : 0, opt->state_dir);
	return tool_finish(0, TOOL_EXIT_FAILURE);
}

/* The server's options, providers and store, counting the problems found; -1 when out of memory. */
static int prepare_serve(struct tool_cli *cli, const csdk_user_config *file, const struct serve_args *a, struct serve *srv,
			 char **state_dir_out, csdk_compute **compute_out, csdk_compute **own_out, int *problems)
{
	char err[512];

	if (server_options(&srv->opt, cli, file, a, problems) < 0)
		return -1;
	if (!(*state_dir_out = a->state_dir ? strdup(a->state_dir) : conf(file, "state_dir") ? strdup(conf(file, "state_dir")) : default_state_dir()))
		return -1;
	srv->opt.state_dir = *state_dir_out;
	if (open_providers(compute_out, cli, a, problems) < 0) {
		(*problems)++;
	} else {
		if (a->n_providers)
			*own_out = *compute_out;
		check_gateway(*compute_out, problems);
	}
	if (serve_store_open(&srv->store, *state_dir_out, err, sizeof(err)) < 0) {
		tool_error("%s", err);
		(*problems)++;
	}
	return 0;
}

static int run_serve(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "provider", required_argument, NULL, OPT_PROVIDER },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ NULL, 0, NULL, 0 }
	};
	struct serve_args a = { 0 };
	struct serve srv;
	const csdk_user_config *file;
	csdk_compute *own = NULL, *compute = NULL;
	char **pos, *state_dir = NULL;
	size_t n_pos;
	int status, problems = 0;

	memset(&srv, 0, sizeof(srv));
	a.grace_s = -1;
	status = tool_parse_operands(cli, argc, argv, longopts, serve_option, &a, 0, 0, "no arguments", &pos, &n_pos);
	if (status) {
		free(a.providers);
		return status < 0 ? 0 : status;
	}
	if (!(file = tool_cli_user_config(cli))) {
		free(a.providers);
		return TOOL_EXIT_FAILURE;
	}
	if (prepare_serve(cli, file, &a, &srv, &state_dir, &compute, &own, &problems) < 0)
		goto oom;
	if (a.check) {
		status = report_check(&srv.opt, compute, problems);
		goto out;
	}
	if (problems) {
		tool_error("not starting: fix the problem(s) above (csdk serve --check lists them)");
		status = TOOL_EXIT_FAILURE;
		goto out;
	}
	srv.compute = compute;
	srv.qualify = csdk_compute_count(compute) > 1;
	status = serve_run(&srv);
	goto out;
oom:
	tool_error("out of memory");
	status = TOOL_EXIT_FAILURE;
out:
	if (srv.store.path)
		serve_store_close(&srv.store);
	csdk_compute_free(own);
	free_options(&srv.opt);
	free(state_dir);
	free(a.providers);
	return status;
}

#else

static int run_serve(struct tool_cli *cli, int argc, char **argv)
{
	(void)cli;
	(void)argc;
	(void)argv;
	tool_error("serve: this csdk was built without libmicrohttpd; apt-get install libmicrohttpd-dev, then configure and build again");
	return TOOL_EXIT_FAILURE;
}

#endif

const struct tool_command tool_cmd_serve = {
	"serve", run_serve,
	"serve [--listen ADDR:PORT] [--provider NAME]... [--state-dir DIR] [--domain D] [--grace S] [--check]",
	"Serve E2B's API so that E2B SDK programs use csdk sandboxes.",
	"  --listen ADDR:PORT       address to listen on (default: [serve] listen, else 127.0.0.1:3000)\n"
	"  --provider NAME          provider of the sandboxes, in gateway mode (repeatable;\n"
	"                           default: the configured providers)\n"
	"  --state-dir DIR          where serve keeps its sandboxes' records\n"
	"                           (default: $XDG_STATE_HOME/csdk/serve)\n"
	"  --domain DOMAIN          the domain answered to clients (E2B_DOMAIN)\n"
	"  --grace SECONDS          on SIGTERM, how long requests may finish (default 30)\n"
	"  --check                  say what is misconfigured, then exit\n"
	"  --json                   log one JSON object per line\n",
};
