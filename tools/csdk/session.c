#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/*
 * The providers of one invocation: the configuration file, the compute
 * object over the configured providers (the default one first), and the
 * configuration pairs of the default provider (command line and file
 * merged), which replace cli->config once set up so that every command sees
 * the file's keys.
 */
static struct {
	int ready;
	int failed;
	csdk_user_config *file;
	csdk_registry *registry;
	csdk_compute *compute;
	const char *default_name;
	char *default_error;
	int default_code;
	struct csdk_kv *given;
	size_t n_given;
	struct csdk_kv *merged;
} session;

static int in_list(const csdk_user_config *file, const char *name)
{
	size_t i;

	for (i = 0; i < csdk_user_config_provider_count(file); i++)
		if (!strcmp(csdk_user_config_provider_at(file, i), name))
			return 1;
	return 0;
}

/* The pairs to open name with: the command line's (default provider only), then the file's keys whose variable is unset. */
static int pairs_for(struct csdk_kv **out, size_t *n_out, struct tool_cli *cli, const char *name, int is_default)
{
	const csdk_plugin_info *plugin = csdk_registry_find(session.registry, name);
	csdk_config_entries *entries = NULL;
	struct csdk_kv *kv;
	size_t i, n = 0;

	*out = NULL;
	*n_out = 0;
	if (!plugin || !csdk_user_config_path(session.file))
		return 0;
	if (csdk_user_config_resolve(&entries, session.file, plugin, NULL, 0) < 0)
		return -1;
	kv = calloc((is_default ? session.n_given : 0) + entries->count + 1, sizeof(*kv));
	if (!kv) {
		csdk_config_entries_free(entries);
		return -1;
	}
	for (i = 0; is_default && i < session.n_given; i++)
		kv[n++] = session.given[i];
	for (i = 0; i < entries->count; i++) {
		const char *key = entries->entries[i].key;
		const char *v = csdk_user_config_get(session.file, name, key);
		size_t j;
		int given = 0;

		for (j = 0; is_default && j < session.n_given; j++)
			given |= !strcmp(session.given[j].key, key);
		/* v is borrowed from the file, which lives until the end. */
		if (entries->entries[i].source == CSDK_CONFIG_FROM_FILE && !given) {
			kv[n].key = plugin->config_keys[i].key;
			kv[n].value = v;
			n++;
		}
	}
	csdk_config_entries_free(entries);
	*out = kv;
	*n_out = n;
	return 0;
}

static char *cursor_path(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char *path = NULL;

	if (xdg && xdg[0] == '/')
		return asprintf(&path, "%s/csdk/round-robin", xdg) < 0 ? NULL : path;
	if (home && *home)
		return asprintf(&path, "%s/.local/state/csdk/round-robin", home) < 0 ? NULL : path;
	return NULL;
}

int tool_cli_registry_new(csdk_registry **out)
{
	csdk_registry_options opts = CSDK_REGISTRY_OPTIONS_INIT;

	opts.flags = CSDK_REGISTRY_ISOLATE;
	return csdk_registry_new(out, &opts);
}

/* --provider or CSDK_PROVIDER, else the file's default, else its first provider, else the built-in default. */
static void choose_default(struct tool_cli *cli)
{
	const char *env = getenv("CSDK_PROVIDER");

	if (cli->provider_given || (env && *env))
		session.default_name = cli->provider_name;
	else if (csdk_user_config_default(session.file))
		session.default_name = csdk_user_config_default(session.file);
	else if (csdk_user_config_provider_count(session.file))
		session.default_name = csdk_user_config_provider_at(session.file, 0);
	else
		session.default_name = cli->provider_name;
	cli->provider_name = session.default_name;
}

/* The default first, then the file's other providers; NULL when out of memory. */
static const char **provider_order(size_t *n_order)
{
	size_t n = csdk_user_config_provider_count(session.file), i;
	const char **order = calloc(n + 1, sizeof(*order));

	if (!order)
		return NULL;
	*n_order = 0;
	order[(*n_order)++] = session.default_name;
	/* A default from the command line or the environment outside the file's list is used alone. */
	if (in_list(session.file, session.default_name))
		for (i = 0; i < n; i++)
			if (strcmp(csdk_user_config_provider_at(session.file, i), session.default_name))
				order[(*n_order)++] = csdk_user_config_provider_at(session.file, i);
	return order;
}

static int new_compute(void)
{
	csdk_compute_options copts = CSDK_COMPUTE_OPTIONS_INIT;
	int rc;

	copts.strategy = csdk_user_config_strategy(session.file);
	copts.no_fallback = !csdk_user_config_fallback(session.file);
	copts.cursor_path = cursor_path();
	rc = csdk_compute_new(&session.compute, &copts);
	free((char *)copts.cursor_path);
	if (rc < 0 || (rc = tool_cli_registry_new(&session.registry)) < 0) {
		tool_report(rc, "setting up the providers");
		return -1;
	}
	return 0;
}

/* What every host program gets from csdk_provider_open_default; the command line's pairs come first. */
static void add_default(struct tool_cli *cli, const char *name, const csdk_provider_options *popts)
{
	csdk_provider_options given = *popts;
	csdk_provider *p = NULL;
	int rc;

	given.config = cli->config;
	given.n_config = cli->n_config;
	rc = csdk_provider_open_default_ext(&p, name, &given);
	if (rc == 0) {
		csdk_compute_add(session.compute, p);
		csdk_provider_close(p);
	} else {
		session.default_code = rc;
		session.default_error = strdup(csdk_error_last()->message);
		/* Recorded as unavailable (the same pairs fail the same way), for the fallback and its messages. */
		csdk_compute_open(session.compute, name, popts);
	}
}

/* Opens the provider name into the session's compute; -1 when its pairs cannot be read. */
static int add_provider(struct tool_cli *cli, const char *name, int is_default)
{
	csdk_provider_options popts = CSDK_PROVIDER_OPTIONS_INIT;
	struct csdk_kv *kv = NULL;
	size_t n = 0;

	if (pairs_for(&kv, &n, cli, name, is_default) < 0) {
		tool_report(CSDK_ECONFIG, "reading the configuration file");
		return -1;
	}
	if (kv) {
		popts.config = kv;
		popts.n_config = n;
	} else if (is_default) {
		popts.config = cli->config;
		popts.n_config = cli->n_config;
	}
	popts.registry = session.registry;
	if (is_default)
		add_default(cli, name, &popts);
	else
		csdk_compute_open(session.compute, name, &popts);
	if (is_default && kv) {
		session.merged = kv;
		cli->config = kv;
		cli->n_config = n;
	} else {
		free(kv);
	}
	return 0;
}

static int setup(struct tool_cli *cli)
{
	const char **order;
	size_t n_order = 0, i;
	int rc;

	if (session.ready)
		return session.failed ? -1 : 0;
	session.ready = 1;
	session.failed = 1;
	session.given = cli->config;
	session.n_given = cli->n_config;
	if ((rc = csdk_user_config_load(&session.file, NULL)) < 0) {
		tool_report(rc, "reading the configuration file");
		return -1;
	}
	if (csdk_user_config_exposed(session.file))
		tool_warning("%s is readable by other users and may hold secrets; run 'chmod 600 %s'",
			      csdk_user_config_path(session.file), csdk_user_config_path(session.file));
	choose_default(cli);
	if (!(order = provider_order(&n_order))) {
		tool_error("out of memory while reading the configuration");
		return -1;
	}
	rc = new_compute();
	for (i = 0; rc == 0 && i < n_order; i++)
		rc = add_provider(cli, order[i], i == 0);
	free(order);
	if (rc < 0)
		return -1;
	session.failed = 0;
	return 0;
}

int tool_cli_compute(csdk_compute **out, struct tool_cli *cli)
{
	*out = NULL;
	if (setup(cli) < 0)
		return -1;
	/* With a single provider, failing to open it is the whole answer, as before there were several. */
	if (csdk_compute_count(session.compute) == 1 && session.default_error) {
		csdk_error_clear();
		tool_error("%s", session.default_error);
		return -1;
	}
	*out = session.compute;
	return 0;
}

int tool_cli_provider(csdk_provider **out, struct tool_cli *cli)
{
	*out = NULL;
	if (setup(cli) < 0)
		return -1;
	*out = csdk_compute_provider(session.compute, session.default_name);
	if (!*out) {
		if (session.default_error)
			tool_error("%s", session.default_error);
		else
			tool_report(session.default_code, "opening the provider");
		return -1;
	}
	return 0;
}

int tool_cli_qualifies(const struct tool_cli *cli)
{
	return session.compute && csdk_compute_count(session.compute) > 1;
}

char *tool_cli_qualify(const struct tool_cli *cli, const csdk_provider *provider, const char *id)
{
	char *s = NULL;

	if (!tool_cli_qualifies(cli))
		return strdup(id);
	if (asprintf(&s, "%s:%s", csdk_provider_name(provider), id) < 0)
		return NULL;
	return s;
}

char *tool_cli_qualified_id(const struct tool_cli *cli, csdk_sandbox *sandbox)
{
	return tool_cli_qualify(cli, csdk_sandbox_provider(sandbox), csdk_sandbox_id(sandbox));
}

const char *tool_cli_split_id(const char **provider_out, const struct tool_cli *cli, const char *id)
{
	const char *colon = strchr(id, ':');
	size_t i;

	*provider_out = NULL;
	if (!colon || !session.compute)
		return id;
	for (i = 0; i < csdk_compute_count(session.compute); i++) {
		const char *name = csdk_compute_name_at(session.compute, i);

		if (strlen(name) == (size_t)(colon - id) && !strncmp(name, id, (size_t)(colon - id))) {
			*provider_out = name;
			return colon + 1;
		}
	}
	return id;
}

int tool_cli_sandbox(csdk_sandbox **out, struct tool_cli *cli, const char *id)
{
	csdk_compute *compute;
	const char *provider, *bare;
	int rc;

	*out = NULL;
	if (tool_cli_compute(&compute, cli) < 0)
		return -1;
	bare = tool_cli_split_id(&provider, cli, id);
	rc = csdk_compute_get(out, compute, provider, bare);
	if (rc < 0) {
		tool_report(rc, "looking up the sandbox");
		return -1;
	}
	if (!*out) {
		if (provider || csdk_compute_count(compute) == 1)
			tool_error("no sandbox '%s' in provider '%s'", id, provider ? provider : csdk_compute_name_at(compute, 0));
		else
			tool_error("no sandbox '%s' in any configured provider; qualify it as PROVIDER:ID", id);
		return -1;
	}
	return 0;
}

static csdk_cancel *create_cancel;

static volatile sig_atomic_t create_signals;

/* The first signal cancels (a sandbox finishing late is then destroyed);
 * a second one ends csdk at once, for a provider whose create hangs. */
static void cancel_create(int sig)
{
	static const char msg[] = "csdk: interrupted again; exiting without waiting for the provider (a sandbox it finishes creating may be left: check 'csdk list')\n";

	if (create_signals++) {
		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
		_exit(128 + sig);
	}
	csdk_cancel_request(create_cancel);
}

int tool_cli_create(csdk_sandbox **out, struct tool_cli *cli, const struct csdk_create_options *opts)
{
	csdk_compute_create_options copts = CSDK_COMPUTE_CREATE_OPTIONS_INIT;
	struct sigaction sa, old_int, old_term;
	struct csdk_create_options local;
	csdk_compute *compute;
	int rc, i;

	*out = NULL;
	if (tool_cli_compute(&compute, cli) < 0)
		return -1;
	if (csdk_cancel_new(&create_cancel) < 0) {
		tool_report(CSDK_ENOMEM, "creating a sandbox");
		return -1;
	}
	copts.provider = cli->provider_given ? session.default_name : NULL;
	/* --snapshot/--template PROVIDER:ID: made there, from ID */
	if (opts) {
		local = *opts;
	} else {
		struct csdk_create_options none = CSDK_CREATE_OPTIONS_INIT;
		local = none;
	}
	for (i = 0; i < 2; i++) {
		const char **from = i ? &local.template_id : &local.snapshot_id, *in;

		if (*from && (*from = tool_cli_split_id(&in, cli, *from)) && in)
			copts.provider = in;
	}
	copts.create = &local;
	copts.cancel = create_cancel;
	create_signals = 0;
	/* An interrupted create still returns, so that a sandbox finishing late is destroyed rather than leaked. */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = cancel_create;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	rc = csdk_compute_create(out, compute, &copts);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	csdk_cancel_free(create_cancel);
	create_cancel = NULL;
	if (rc < 0) {
		tool_report(rc, "creating a sandbox");
		return -1;
	}
	return 0;
}

const csdk_user_config *tool_cli_user_config(struct tool_cli *cli)
{
	return setup(cli) < 0 ? NULL : session.file;
}

csdk_registry *tool_cli_registry(struct tool_cli *cli)
{
	return setup(cli) < 0 ? NULL : session.registry;
}

void tool_cli_close(struct tool_cli *cli)
{
	if (session.merged) {
		cli->config = session.given;
		cli->n_config = session.n_given;
	}
	free(session.merged);
	free(session.default_error);
	csdk_compute_free(session.compute);
	csdk_registry_free(session.registry);
	csdk_user_config_free(session.file);
	memset(&session, 0, sizeof(session));
}
