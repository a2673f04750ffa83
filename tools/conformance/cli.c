#include "config.h"

#include "conformance.h"

#include "common/output.h"

#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define DEFAULT_TIMEOUT_MS 120000

struct args {
	const char *name;
	const char *path;
	csdk_registry *registry;
	struct csdk_kv *config;
	size_t n_config;
	const char **globs;
	size_t n_globs;
	int json, list, in_process;
	int64_t timeout_ms;
};

static void usage(FILE *fp)
{
	const char *prog = tool_name();

	fprintf(fp,
		"usage: %s test NAME [--config KEY=VALUE]... [--case GLOB]... [--json]\n"
		"                    [--path DIRS] [--timeout MS] [--no-fork]\n"
		"       %s test --list [NAME] [--json]\n"
		"\n"
		"Run the conformance kit against the provider plugin NAME: each case gets a\n"
		"fresh sandbox; a case needing a capability NAME does not declare is skipped.\n"
		"\n"
		"  --config KEY=VALUE  configuration for the provider (repeatable)\n"
		"  --case GLOB         run only the cases whose name matches GLOB (repeatable)\n"
		"  --json              print the results as JSON\n"
		"  --path DIRS         find NAME only in DIRS, a colon-separated list\n"
		"  --list              list the cases and the capabilities they need\n"
		"  --timeout MS        time one case may take, sandbox included (default %d)\n"
		"  --no-fork           run cases in this process (for debuggers; no time bound)\n"
		"\n"
		"Exit status: 0 nothing failed, 1 a case failed, 2 usage, 3 the provider cannot\n"
		"be opened.\n",
		prog, prog, DEFAULT_TIMEOUT_MS);
}

static int option_value(const char **out, int argc, char **argv, int *i, const char *opt)
{
	size_t len = strlen(opt);

	if (argv[*i][len] == '=') {
		*out = argv[*i] + len + 1;
		return 0;
	}
	if (*i + 1 >= argc)
		return tool_usage_error("%s needs a value", opt);
	*out = argv[++*i];
	return 0;
}

static int is_option(const char *arg, const char *opt)
{
	size_t len = strlen(opt);

	return strncmp(arg, opt, len) == 0 && (arg[len] == '\0' || arg[len] == '=');
}

static int add_config(struct args *a, const char *kv)
{
	const char *eq = strchr(kv, '=');
	struct csdk_kv *grown;
	char *key;

	if (!eq || eq == kv)
		return tool_usage_error("--config expects KEY=VALUE, got '%s'", kv);
	grown = realloc(a->config, (a->n_config + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	a->config = grown;
	key = strndup(kv, (size_t)(eq - kv));
	if (!key)
		return -1;
	a->config[a->n_config].key = key;
	a->config[a->n_config].value = eq + 1;
	a->n_config++;
	return 0;
}

static int parse(struct args *a, int argc, char **argv)
{
	int i, rc;

	a->timeout_ms = DEFAULT_TIMEOUT_MS;
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i], *value;

		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(TOOL_STDOUT);
			return 1;
		} else if (strcmp(arg, "--json") == 0) {
			a->json = 1;
		} else if (strcmp(arg, "--list") == 0) {
			a->list = 1;
		} else if (strcmp(arg, "--no-fork") == 0) {
			a->in_process = 1;
		} else if (is_option(arg, "--path")) {
			if ((rc = option_value(&a->path, argc, argv, &i, "--path")) != 0)
				return rc;
		} else if (is_option(arg, "--config")) {
			if ((rc = option_value(&value, argc, argv, &i, "--config")) != 0)
				return rc;
			if ((rc = add_config(a, value)) != 0)
				return rc < 0 ? tool_usage_error("out of memory") : rc;
		} else if (is_option(arg, "--case")) {
			const char **grown;

			if ((rc = option_value(&value, argc, argv, &i, "--case")) != 0)
				return rc;
			grown = realloc(a->globs, (a->n_globs + 1) * sizeof(*grown));
			if (!grown)
				return tool_usage_error("out of memory");
			a->globs = grown;
			a->globs[a->n_globs++] = value;
		} else if (is_option(arg, "--timeout")) {
			char *end;
			long long ms;

			if ((rc = option_value(&value, argc, argv, &i, "--timeout")) != 0)
				return rc;
			errno = 0;
			ms = strtoll(value, &end, 10);
			if (errno || end == value || *end || ms <= 0)
				return tool_usage_error("--timeout expects a positive number of milliseconds, got '%s'", value);
			a->timeout_ms = ms;
		} else if (arg[0] == '-' && arg[1]) {
			return tool_usage_error("unknown option '%s' for test", arg);
		} else if (a->name) {
			return tool_usage_error("test takes one provider NAME, got '%s' and '%s'", a->name, arg);
		} else {
			a->name = arg;
		}
	}
	if (!a->name && !a->list)
		return tool_usage_error("test needs a provider NAME, e.g. '%s test local'", tool_name());
	return 0;
}

static int selected(const struct args *a, const tool_conf_case *c)
{
	size_t i;

	if (a->n_globs == 0)
		return 1;
	for (i = 0; i < a->n_globs; i++)
		if (fnmatch(a->globs[i], c->name, 0) == 0)
			return 1;
	return 0;
}

static int check_globs(const struct args *a)
{
	size_t i, j;

	for (i = 0; i < a->n_globs; i++) {
		for (j = 0; j < tool_conf_n_cases; j++)
			if (fnmatch(a->globs[i], tool_conf_cases[j].name, 0) == 0)
				break;
		if (j == tool_conf_n_cases)
			return tool_usage_error("no case matches '%s'; run '%s test --list' to see the cases",
						 a->globs[i], tool_name());
	}
	return 0;
}

int tool_check_path_option(const char *dirs)
{
	const char *p = dirs;
	int found = 0;

	while (*p) {
		size_t n = strcspn(p, ":");
		struct stat st;
		char dir[4096];

		if (n > 0) {
			found = 1;
			snprintf(dir, sizeof(dir), "%.*s", (int)n, p);
			if (stat(dir, &st) < 0) {
				if (errno == ENOENT)
					tool_error("--path directory '%s' does not exist; create it or correct --path", dir);
				else
					tool_error("--path directory '%s' cannot be used (%s); make it accessible or correct --path",
						    dir, strerror(errno));
				return 1;
			}
			if (!S_ISDIR(st.st_mode)) {
				tool_error("--path entry '%s' is not a directory; give the directory that holds the csdk-NAME.so files",
					    dir);
				return 1;
			}
		}
		p += n;
		if (*p == ':')
			p++;
	}
	if (!found)
		return tool_usage_error("--path is empty; give one or more plugin directories separated by ':'");
	return 0;
}

/* --path: the provider is looked for in those directories only. */
static int open_registry(struct args *a)
{
	csdk_registry_options opts = CSDK_REGISTRY_OPTIONS_INIT;
	int rc = tool_check_path_option(a->path);

	if (rc != 0)
		return rc == 2 ? 2 : 3;
	opts.flags = CSDK_REGISTRY_ISOLATE;
	opts.search_path = a->path;
	if (csdk_registry_new(&a->registry, &opts) < 0) {
		tool_error("cannot scan for plugins: %s", csdk_error_last()->message);
		return 3;
	}
	return 0;
}

static int try_open(csdk_provider **out, const struct args *a, char *why, size_t whylen)
{
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	char *nl;

	opts.config = a->config;
	opts.n_config = a->n_config;
	opts.registry = a->registry;
	if (csdk_provider_open(out, a->name, &opts) == 0)
		return 0;
	snprintf(why, whylen, "%s", csdk_error_last()->message);
	for (nl = why; (nl = strchr(nl, '\n'));)
		*nl = ' ';
	return -1;
}

/*
 * The plugin's init runs first in a child, bounded by --timeout, so a plugin
 * that crashes or hangs there is reported instead of taking the kit down.
 */
static int probe_open(const struct args *a, char *why, size_t whylen)
{
	struct pollfd pfd;
	size_t got = 0;
	int fds[2], status, r;
	pid_t pid;

	if (pipe(fds) < 0) {
		snprintf(why, whylen, "cannot create a pipe (%s)", strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		snprintf(why, whylen, "cannot start a process (%s)", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		csdk_provider *p = NULL;
		char msg[1024] = "";

		close(fds[0]);
		if (try_open(&p, a, msg, sizeof(msg)) == 0)
			csdk_provider_close(p);
		if (write(fds[1], msg, strlen(msg)) < 0)
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	why[0] = '\0';
	for (;;) {
		r = poll(&pfd, 1, (int)a->timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			close(fds[0]);
			snprintf(why, whylen, "init did not return within %lld ms; raise --timeout or fix the plugin's init",
				 (long long)a->timeout_ms);
			return -1;
		}
		r = (int)read(fds[0], why + got, whylen - 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || got + (size_t)r >= whylen - 1) {
			if (r > 0)
				got += (size_t)r;
			break;
		}
		got += (size_t)r;
	}
	why[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		snprintf(why, whylen, "init crashed (signal %d, %s); fix the plugin's init",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
		return -1;
	}
	return why[0] ? -1 : 0;
}

static int open_provider(csdk_provider **out, const struct args *a)
{
	char why[1024];

	if ((a->in_process || probe_open(a, why, sizeof(why)) == 0) && try_open(out, a, why, sizeof(why)) == 0)
		return 0;
	tool_error("cannot open provider '%s': %s", a->name, why);
	return 3;
}

static void caps_text(char *buf, size_t size, const tool_conf_case *c)
{
	size_t used = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < 64; i++) {
		uint64_t bit = UINT64_C(1) << i;

		if (!((c->needs | c->absent) & bit) || used >= size)
			continue;
		used += (size_t)snprintf(buf + used, size - used, "%s%s%s", used ? "," : "",
					 (c->absent & bit) ? "!" : "", tool_conf_cap_name(bit));
	}
}

static json_t *caps_json(uint64_t bits)
{
	json_t *arr = json_array();
	unsigned i;

	for (i = 0; arr && i < 64; i++)
		if (bits & (UINT64_C(1) << i))
			json_array_append_new(arr, json_string(tool_conf_cap_name(UINT64_C(1) << i)));
	return arr;
}

static int list_cases(const struct args *a, csdk_provider *provider)
{
	tool_table *table = NULL;
	json_t *root = NULL;
	size_t i;
	int rc = 0;

	if (a->json) {
		root = json_array();
	} else {
		static const char *const with_run[] = { "CASE", "NEEDS", "RUN", "DESCRIPTION" };
		static const char *const plain[] = { "CASE", "NEEDS", "DESCRIPTION" };

		tool_table_new(&table, provider ? 4 : 3, provider ? with_run : plain);
	}
	if (a->json ? !root : !table) {
		tool_error("out of memory");
		return 1;
	}
	for (i = 0; i < tool_conf_n_cases; i++) {
		const tool_conf_case *c = &tool_conf_cases[i];
		char caps[256], reason[256] = "yes";

		if (!selected(a, c))
			continue;
		if (provider && !tool_conf_skip_reason(reason, sizeof(reason), c,
							 csdk_provider_capabilities(provider)))
			snprintf(reason, sizeof(reason), "yes");
		if (root) {
			json_t *o = json_pack("{s:s, s:o, s:o, s:s}", "name", c->name, "needs", caps_json(c->needs),
					      "needs_absent", caps_json(c->absent), "description", c->summary);

			if (o && provider)
				json_object_set_new(o, "skip_reason", strcmp(reason, "yes") ? json_string(reason) : json_null());
			if (!o || json_array_append_new(root, o) < 0)
				rc = -1;
		} else {
			const char *row[4];

			caps_text(caps, sizeof(caps), c);
			row[0] = c->name;
			row[1] = caps[0] ? caps : "-";
			row[2] = provider ? reason : c->summary;
			row[3] = c->summary;
			if (tool_table_add(table, row) < 0)
				rc = -1;
		}
	}
	if (rc == 0) {
		if (root)
			rc = tool_json_print(TOOL_STDOUT, root);
		else
			tool_table_print(table, TOOL_STDOUT, NULL);
	}
	json_decref(root);
	tool_table_free(table);
	if (rc < 0)
		tool_error("out of memory");
	return rc < 0 || tool_finish_output() < 0 ? 1 : 0;
}

static int print_results(const struct args *a, const tool_conf_result *results, size_t n,
			 const size_t counts[3])
{
	size_t i;
	int rc = 0;

	if (a->json) {
		json_t *root, *cases = json_array();

		for (i = 0; cases && i < n; i++) {
			const tool_conf_result *r = &results[i];

			if (json_array_append_new(cases, json_pack("{s:s, s:s, s:I, s:o}", "name", r->c->name,
								   "result", tool_conf_outcome_name(r->outcome),
								   "duration_ms", (json_int_t)r->duration_ms,
								   "detail", tool_json_string_or_null(r->detail))) < 0)
				rc = -1;
		}
		root = json_pack("{s:s, s:o, s:I, s:I, s:I}", "provider", a->name, "cases", cases,
				 "passed", (json_int_t)counts[TOOL_CONF_PASS], "failed", (json_int_t)counts[TOOL_CONF_FAIL],
				 "skipped", (json_int_t)counts[TOOL_CONF_SKIP]);
		if (!root || rc < 0 || tool_json_print(TOOL_STDOUT, root) < 0)
			rc = -1;
		json_decref(root);
	} else {
		static const char *const headers[] = { "CASE", "RESULT", "TIME", "DETAIL" };
		tool_table *table = NULL;

		if (tool_table_new(&table, 4, headers) < 0)
			return -1;
		for (i = 0; i < n; i++) {
			const tool_conf_result *r = &results[i];
			char ms[32];
			const char *row[4];

			snprintf(ms, sizeof(ms), "%lld ms", (long long)r->duration_ms);
			row[0] = r->c->name;
			row[1] = tool_conf_outcome_name(r->outcome);
			row[2] = r->outcome == TOOL_CONF_SKIP ? "-" : ms;
			row[3] = r->detail ? r->detail : "";
			if (tool_table_add(table, row) < 0)
				rc = -1;
		}
		tool_table_print(table, TOOL_STDOUT, NULL);
		tool_table_free(table);
		fprintf(TOOL_STDOUT, "%zu passed, %zu failed, %zu skipped\n", counts[TOOL_CONF_PASS], counts[TOOL_CONF_FAIL],
		       counts[TOOL_CONF_SKIP]);
	}
	return rc;
}

static int run_all(const struct args *a, csdk_provider *provider)
{
	tool_conf_options opts = { 0 };
	tool_conf_result *results;
	size_t i, n = 0, counts[3] = { 0, 0, 0 };
	int progress = !a->json && isatty(STDERR_FILENO), rc;

	results = calloc(tool_conf_n_cases, sizeof(*results));
	if (!results) {
		tool_error("out of memory");
		return 1;
	}
	opts.provider_name = a->name;
	opts.config = a->config;
	opts.n_config = a->n_config;
	opts.timeout_ms = a->timeout_ms;
	opts.in_process = a->in_process;
	opts.registry = a->registry;
	for (i = 0; i < tool_conf_n_cases; i++) {
		const tool_conf_case *c = &tool_conf_cases[i];
		tool_conf_result *r = &results[n];

		if (!selected(a, c))
			continue;
		if (progress)
			fprintf(stderr, "\r\033[K%s: running %s", tool_name(), c->name);
		rc = tool_conf_run_case(r, provider, c, &opts);
		if (rc < 0) {
			char detail[160];

			snprintf(detail, sizeof(detail), "the kit could not run the case: %s", csdk_strerror(rc));
			free(r->detail);
			r->c = c;
			r->outcome = TOOL_CONF_FAIL;
			r->detail = strdup(detail);
		}
		counts[r->outcome]++;
		n++;
	}
	if (progress)
		fprintf(stderr, "\r\033[K");
	rc = print_results(a, results, n, counts);
	for (i = 0; i < n; i++)
		free(results[i].detail);
	free(results);
	if (rc < 0) {
		tool_error("out of memory");
		return 1;
	}
	if (tool_finish_output() < 0)
		return 1;
	return counts[TOOL_CONF_FAIL] ? 1 : 0;
}

int tool_conformance_main(int argc, char **argv)
{
	struct args a;
	csdk_provider *provider = NULL;
	size_t i;
	int rc;

	memset(&a, 0, sizeof(a));
	/* Case processes point fd 1 at a file: libcsdk then names a method that writes to it. */
	setenv("CSDK_STDOUT_CHECK", "1", 0);
	rc = parse(&a, argc, argv);
	if (rc == 0)
		rc = check_globs(&a);
	if (rc == 0 && a.path)
		rc = open_registry(&a);
	if (rc == 0 && a.name)
		rc = open_provider(&provider, &a);
	if (rc == 0)
		rc = a.list ? list_cases(&a, provider) : run_all(&a, provider);
	else if (rc == 1)
		rc = tool_finish_output() < 0 ? 1 : 0;  /* --help */
	csdk_provider_close(provider);
	csdk_registry_free(a.registry);
	for (i = 0; i < a.n_config; i++)
		free((char *)a.config[i].key);
	free(a.config);
	free(a.globs);
	return rc;
}
