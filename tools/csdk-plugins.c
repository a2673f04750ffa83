#include "config.h"

#include <dirent.h>
#include <fnmatch.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <csdk/csdk.h>
#include <jansson.h>

#include "common/args.h"
#include "common/describe.h"
#include "common/output.h"
#include "conformance/conformance.h"

#define PROGRAM "csdk-plugins"

enum view {
	VIEW_NONE,
	VIEW_LIST,
	VIEW_PLUGIN,
	VIEW_REJECTED,
	VIEW_PATHS,
	VIEW_CHECK
};

struct options {
	int json;
	const char *search_path;
	enum view view;
	const char *view_option;
	char **operands;
	int n_operands;
};

/* ------------------------------------------------------------ subcommands */

static int cmd_test(int argc, char **argv)
{
	return csdkp_conformance_main(argc, argv);
}

static const struct subcommand {
	const char *word;
	int (*run)(int argc, char **argv);
} subcommands[] = {
	{ "test", cmd_test },
};

static const struct subcommand *find_subcommand(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(subcommands[i].word, word) == 0)
			return &subcommands[i];
	return NULL;
}

/* ------------------------------------------------------------------- help */

static void print_usage(void)
{
	fputs("Usage: " PROGRAM " [--json] [--path DIRS]\n"
	      "       " PROGRAM " [--json] [--path DIRS] NAME|FILE\n"
	      "       " PROGRAM " [--json] [--path DIRS] --rejected\n"
	      "       " PROGRAM " [--json] [--path DIRS] --paths\n"
	      "       " PROGRAM " [--json] --check FILE...\n"
	      "       " PROGRAM " [--json] [--path DIRS] test NAME [TEST OPTIONS]\n"
	      "List, inspect, check and test csdk provider plugins.\n"
	      "\n"
	      "With no argument, list the valid plugins found on the search path. With a\n"
	      "NAME, show that plugin's details; an argument containing '/' or ending in\n"
	      "'.so' is a FILE, loaded and shown whether or not it is on the search path.\n"
	      "\n"
	      "Views (at most one):\n"
	      "      --rejected      show why each rejected file was rejected\n"
	      "      --paths         show the search path, in order, and where each entry\n"
	      "                      comes from\n"
	      "      --check FILE... check plugin files for their authors (ELF, exports,\n"
	      "                      undefined symbols, descriptor)\n"
	      "\n"
	      "Subcommands:\n"
	      "  test NAME           run the conformance kit against the provider NAME: one\n"
	      "                      fresh sandbox per case, cases needing a capability NAME\n"
	      "                      lacks are skipped; exit 0 none failed, 1 a case failed,\n"
	      "                      2 usage, 3 NAME cannot be opened (see '" PROGRAM " test\n"
	      "                      --help' for its options)\n"
	      "\n"
	      "Options:\n"
	      "      --json          print JSON instead of text\n"
	      "      --path DIRS     search only DIRS, a colon-separated list\n"
	      "  -h, --help          show this help and exit\n"
	      "  -V, --version       show the version and the plugin ABI version and exit\n"
	      "\n"
	      "Environment: CSDK_PLUGIN_PATH, CSDK_PLUGIN_SYSTEM_PATH, CSDK_PLUGINS,\n"
	      "CSDK_PLUGINS_DISABLE, CSDK_DEBUG=plugins (see " PROGRAM "(1)).\n"
	      "\n"
	      "Exit status: 0 ok; 1 a file was rejected, a check failed, no such plugin, or a\n"
	      "--path directory is missing or not a directory; 2 usage error.\n",
	      CSDKP_STDOUT);
}

static void print_version(void)
{
	char abi[CSDKP_ABI_TEXT_SIZE];

	fprintf(CSDKP_STDOUT, PROGRAM " (csdk) %s\n", PACKAGE_VERSION);
	fprintf(CSDKP_STDOUT, "plugin ABI %s\n", csdkp_abi_text(abi, csdk_abi_version()));
}

/* ------------------------------------------------------------------- JSON */

static json_t *warnings_json(const char *const *warnings, size_t n)
{
	json_t *array = json_array();
	size_t i;

	for (i = 0; array && i < n; i++) {
		if (json_array_append_new(array, json_string(warnings[i])) < 0) {
			json_decref(array);
			array = NULL;
		}
	}
	return array;
}

static json_t *plugin_json(const csdk_plugin_info *info)
{
	char abi[CSDKP_ABI_TEXT_SIZE];

	return json_pack("{s:s?, s:s?, s:s, s:o, s:s, s:o, s:s?, s:s?, s:s?, s:o}",
			 "name", info->name,
			 "version", info->version,
			 "abi", csdkp_abi_text(abi, info->abi_version),
			 "modes", csdkp_modes_json(info->modes, info->default_mode),
			 "default_mode", csdk_mode_name(info->default_mode),
			 "capabilities", csdkp_capabilities_json(info->capabilities),
			 "path", info->path,
			 "description", info->description,
			 "license", info->license,
			 "warnings", warnings_json(info->warnings, info->n_warnings));
}

static json_t *config_json(const csdk_plugin_info *info)
{
	json_t *array = json_array();
	size_t i;

	for (i = 0; array && i < info->n_config_keys; i++) {
		const csdk_config_key_info *key = &info->config_keys[i];
		json_t *item = json_pack("{s:s?, s:s?, s:s, s:b, s:b, s:s?}",
					 "key", key->key,
					 "env", key->env,
					 "type", csdkp_config_type_name(key->type),
					 "required", (key->flags & CSDK_CONFIG_REQUIRED) != 0,
					 "secret", (key->flags & CSDK_CONFIG_SECRET) != 0,
					 "help", key->help);

		if (json_array_append_new(array, item) < 0) {
			json_decref(array);
			array = NULL;
		}
	}
	return array;
}

static json_t *methods_json(const csdk_plugin_info *info)
{
	json_t *object = json_object();
	size_t i;

	for (i = 0; object && i < csdkp_method_count(); i++) {
		if (json_object_set_new(object, csdkp_method_name(i),
					json_boolean(csdkp_method_present(info, i))) < 0) {
			json_decref(object);
			object = NULL;
		}
	}
	return object;
}

static json_t *rejection_json(const char *path, const char *name, int code, int signal,
			      int shadowed, const char *reason)
{
	return json_pack("{s:s?, s:s?, s:i, s:i, s:b, s:s?}",
			 "path", path,
			 "name", name,
			 "code", code,
			 "signal", signal,
			 "shadowed", shadowed != 0,
			 "reason", reason);
}

static json_t *rejected_json(const csdk_registry *reg)
{
	json_t *array = json_array();
	size_t i;

	for (i = 0; array && i < csdk_registry_rejected_count(reg); i++) {
		const csdk_rejection *rej = csdk_registry_rejected_at(reg, i);

		if (json_array_append_new(array, rejection_json(rej->path, rej->name, rej->code,
								 rej->signal, rej->shadowed,
								 rej->reason)) < 0) {
			json_decref(array);
			array = NULL;
		}
	}
	return array;
}

static json_t *plugins_json(const csdk_registry *reg)
{
	json_t *array = json_array();
	size_t i;

	for (i = 0; array && i < csdk_registry_count(reg); i++) {
		if (json_array_append_new(array, plugin_json(csdk_registry_at(reg, i))) < 0) {
			json_decref(array);
			array = NULL;
		}
	}
	return array;
}

/* Print root (NULL means building it ran out of memory) and drop it. */
static int emit_json(json_t *root)
{
	int rc;

	if (!root) {
		csdkp_error("out of memory while building the JSON output");
		return -1;
	}
	rc = csdkp_json_print(CSDKP_STDOUT, root);
	json_decref(root);
	return rc;
}

/* ------------------------------------------------------------------ views */

static int open_registry(csdk_registry **out, const struct options *opts)
{
	csdk_registry_options reg_opts = CSDK_REGISTRY_OPTIONS_INIT;

	/* A plugin that crashes while loading must become a rejection, not take the tool down. */
	reg_opts.flags = CSDK_REGISTRY_ISOLATE;
	reg_opts.search_path = opts->search_path;
	if (csdk_registry_new(out, &reg_opts) < 0) {
		csdkp_error("cannot scan for plugins: %s", csdk_error_last()->message);
		return -1;
	}
	return 0;
}

/* Why a glob can never match as meant (fnmatch(3) takes an unclosed '[' literally), or NULL. */
static const char *glob_problem(const char *glob)
{
	const char *p, *q;
	int rc;

	for (p = glob; *p; p++) {
		if (*p == '\\') {
			if (!p[1])
				return "it ends with a lone '\\'";
			p++;
		} else if (*p == '[') {
			q = p + 1;
			if (*q == '!' || *q == '^')
				q++;
			if (*q == ']')
				q++;
			while (*q && *q != ']')
				q += q[0] == '\\' && q[1] ? 2 : 1;
			if (!*q)
				return "a '[' is never closed by ']'";
			p = q;
		}
	}
	rc = fnmatch(glob, "", 0);
	return rc == 0 || rc == FNM_NOMATCH ? NULL : "fnmatch(3) rejects it";
}

/* Calls fn on each non-empty item of a comma-separated glob list, as the registry splits it. */
static int each_glob(const char *list, int (*fn)(const char *glob, size_t len, void *arg), void *arg)
{
	while (list && *list) {
		size_t n = strcspn(list, ",");
		int rc = n ? fn(list, n, arg) : 0;

		if (rc)
			return rc;
		list += n;
		if (*list == ',')
			list++;
	}
	return 0;
}

static int warn_if_malformed(const char *glob, size_t len, void *variable)
{
	char *copy = strndup(glob, len);
	const char *problem = copy ? glob_problem(copy) : NULL;

	if (problem)
		csdkp_warning("%s pattern '%s' is malformed (%s), so it matches no plugin; correct it or unset %s",
			      (const char *)variable, copy, problem, (const char *)variable);
	free(copy);
	return problem != NULL;
}

struct names {
	char **items;
	size_t n;
};

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The NAMEs of the csdk-NAME.so files on the search path, sorted and unique, as the registry sees them. */
static int plugin_file_names(struct names *out, const csdk_registry *reg)
{
	size_t i, kept = 0;

	for (i = 0; i < csdk_registry_path_count(reg); i++) {
		DIR *dir = opendir(csdk_registry_path_at(reg, i)->dir);
		struct dirent *de;

		while (dir && (de = readdir(dir)) != NULL) {
			size_t len = strlen(de->d_name);
			char **grown;

			if (len < 8 || strncmp(de->d_name, "csdk-", 5) != 0 || strcmp(de->d_name + len - 3, ".so") != 0)
				continue;
			grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
			if (!grown || !(grown[out->n] = strndup(de->d_name + 5, len - 8))) {
				out->items = grown ? grown : out->items;
				closedir(dir);
				return CSDK_ENOMEM;
			}
			out->items = grown;
			out->n++;
		}
		if (dir)
			closedir(dir);
	}
	if (out->n == 0)
		return 0;
	qsort(out->items, out->n, sizeof(*out->items), compare_strings);
	for (i = 0; i < out->n; i++) {
		if (kept > 0 && strcmp(out->items[kept - 1], out->items[i]) == 0)
			free(out->items[i]);
		else
			out->items[kept++] = out->items[i];
	}
	out->n = kept;
	return 0;
}

struct match {
	const struct names *names;
	int matched;
};

static int glob_matches_a_name(const char *glob, size_t len, void *arg)
{
	struct match *m = arg;
	char *copy = strndup(glob, len);
	size_t i;

	for (i = 0; copy && !m->matched && i < m->names->n; i++)
		m->matched = fnmatch(copy, m->names->items[i], 0) == 0;
	free(copy);
	return m->matched;
}

/*
 * The registry skips what CSDK_PLUGINS does not select without a word (only
 * the trace says so): say it when that leaves out every plugin file found.
 */
static void warn_about_selection(const csdk_registry *reg)
{
	const char *select = getenv("CSDK_PLUGINS");
	struct names names = { NULL, 0 };
	struct match m = { &names, 0 };
	char list[256] = "";
	size_t i, used = 0;
	int malformed;

	malformed = each_glob(select, warn_if_malformed, "CSDK_PLUGINS");
	each_glob(getenv("CSDK_PLUGINS_DISABLE"), warn_if_malformed, "CSDK_PLUGINS_DISABLE");
	if (malformed || !select || strspn(select, ",") == strlen(select))
		return;
	if (plugin_file_names(&names, reg) == 0 && names.n > 0 && each_glob(select, glob_matches_a_name, &m) == 0) {
		for (i = 0; i < names.n && i <= 3 && used < sizeof(list); i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
						 i == 3 ? "..." : names.items[i]);
		csdkp_warning("CSDK_PLUGINS='%s' matches none of the %zu plugin file%s on the search path (%s); correct the pattern or unset CSDK_PLUGINS",
			      select, names.n, names.n == 1 ? "" : "s", list);
	}
	for (i = 0; i < names.n; i++)
		free(names.items[i]);
	free(names.items);
}

static void print_registry_warnings(const csdk_registry *reg)
{
	size_t i;

	for (i = 0; i < csdk_registry_warning_count(reg); i++)
		csdkp_warning("%s", csdk_registry_warning_at(reg, i));
}

/* The warnings of a view that shows what the scan found. */
static void print_scan_warnings(const csdk_registry *reg)
{
	print_registry_warnings(reg);
	warn_about_selection(reg);
}

static int add_plugin_row(csdkp_table *table, const csdk_plugin_info *info)
{
	char abi[CSDKP_ABI_TEXT_SIZE];
	char *modes = csdkp_modes_text(info->modes, info->default_mode);
	char *caps = csdkp_capabilities_text(info->capabilities);
	int rc = CSDK_ENOMEM;

	if (modes && caps) {
		const char *cells[] = { info->name, info->version,
					csdkp_abi_text(abi, info->abi_version),
					modes, caps, info->path };

		rc = csdkp_table_add(table, cells);
	}
	free(modes);
	free(caps);
	return rc;
}

static int view_list(const csdk_registry *reg, const struct options *opts)
{
	static const char *const headers[] = {
		"NAME", "VERSION", "ABI", "MODES", "CAPABILITIES", "PATH"
	};
	size_t i, n = csdk_registry_count(reg), n_rejected = csdk_registry_rejected_count(reg);
	csdkp_table *table;

	print_scan_warnings(reg);
	if (opts->json)
		return emit_json(json_pack("{s:o, s:o}", "plugins", plugins_json(reg),
					   "rejected", rejected_json(reg))) < 0 || n_rejected ? 1 : 0;

	if (csdkp_table_new(&table, 6, headers) < 0)
		goto nomem;
	for (i = 0; i < n; i++) {
		const csdk_plugin_info *info = csdk_registry_at(reg, i);
		size_t w;

		for (w = 0; w < info->n_warnings; w++)
			csdkp_warning("%s", info->warnings[w]);
		if (add_plugin_row(table, info) < 0)
			goto nomem;
	}
	if (n > 0) {
		csdkp_table_print(table, CSDKP_STDOUT, NULL);
		fputc('\n', CSDKP_STDOUT);
	}
	csdkp_table_free(table);
	fprintf(CSDKP_STDOUT, "%zu %s loaded", n, n == 1 ? "plugin" : "plugins");
	if (n_rejected > 0)
		fprintf(CSDKP_STDOUT, ", %zu rejected (run '" PROGRAM " --rejected' to see why)", n_rejected);
	fputc('\n', CSDKP_STDOUT);
	return n_rejected ? 1 : 0;

nomem:
	csdkp_table_free(table);
	csdkp_error("out of memory while listing plugins");
	return 1;
}

static void print_field(const char *label, const char *value)
{
	fprintf(CSDKP_STDOUT, "%-14s%s\n", label, value ? value : "-");
}

static int print_plugin_text(const csdk_plugin_info *info)
{
	static const char *const config_headers[] = { "KEY", "ENV", "REQUIRED", "SECRET", "HELP" };
	char abi[CSDKP_ABI_TEXT_SIZE];
	char *modes = csdkp_modes_text(info->modes, info->default_mode);
	char *caps = csdkp_capabilities_text(info->capabilities);
	csdkp_table *config = NULL, *methods = NULL;
	size_t i;
	int rc = -1;

	if (!modes || !caps || csdkp_table_new(&config, 5, config_headers) < 0 ||
	    csdkp_table_new(&methods, 2, NULL) < 0)
		goto out;
	for (i = 0; i < info->n_config_keys; i++) {
		const csdk_config_key_info *key = &info->config_keys[i];
		const char *cells[] = { key->key, key->env,
					(key->flags & CSDK_CONFIG_REQUIRED) ? "yes" : "no",
					(key->flags & CSDK_CONFIG_SECRET) ? "yes" : "no",
					key->help };

		if (csdkp_table_add(config, cells) < 0)
			goto out;
	}
	for (i = 0; i < csdkp_method_count(); i++) {
		const char *cells[] = { csdkp_method_name(i),
					csdkp_method_present(info, i) ? "present" : "absent" };

		if (csdkp_table_add(methods, cells) < 0)
			goto out;
	}

	print_field("name:", info->name);
	print_field("version:", info->version);
	print_field("description:", info->description);
	print_field("license:", info->license);
	print_field("path:", info->path);
	print_field("abi:", csdkp_abi_text(abi, info->abi_version));
	fprintf(CSDKP_STDOUT, "%-14s%s (default: %s)\n", "modes:", modes, csdk_mode_name(info->default_mode));
	print_field("capabilities:", caps);

	if (csdkp_table_rows(config) > 0) {
		fprintf(CSDKP_STDOUT, "\nconfiguration keys:\n");
		csdkp_table_print(config, CSDKP_STDOUT, "  ");
	} else {
		fprintf(CSDKP_STDOUT, "\nconfiguration keys: none\n");
	}
	fprintf(CSDKP_STDOUT, "\nmethods:\n");
	csdkp_table_print(methods, CSDKP_STDOUT, "  ");
	if (info->n_warnings > 0) {
		fprintf(CSDKP_STDOUT, "\nwarnings:\n");
		for (i = 0; i < info->n_warnings; i++)
			fprintf(CSDKP_STDOUT, "  %s\n", info->warnings[i]);
	} else {
		fprintf(CSDKP_STDOUT, "\nwarnings: none\n");
	}
	rc = 0;
out:
	if (rc < 0)
		csdkp_error("out of memory while describing plugin '%s'", info->name);
	csdkp_table_free(config);
	csdkp_table_free(methods);
	free(modes);
	free(caps);
	return rc;
}

static int print_plugin(const csdk_plugin_info *info, const struct options *opts)
{
	json_t *root;

	if (!opts->json)
		return print_plugin_text(info) < 0 ? 1 : 0;
	root = plugin_json(info);
	if (root && (json_object_set_new(root, "config", config_json(info)) < 0 ||
		     json_object_set_new(root, "methods", methods_json(info)) < 0)) {
		json_decref(root);
		root = NULL;
	}
	return emit_json(root) < 0 ? 1 : 0;
}

static int is_file_argument(const char *arg)
{
	size_t len = strlen(arg);

	return strchr(arg, '/') != NULL || (len >= 3 && strcmp(arg + len - 3, ".so") == 0);
}

/* Rejections of files named csdk-NAME.so or whose descriptor said NAME. */
static int rejection_matches(const csdk_rejection *rej, const char *name)
{
	const char *base = strrchr(rej->path, '/');

	base = base ? base + 1 : rej->path;
	if (rej->name && strcmp(rej->name, name) == 0)
		return 1;
	return strncmp(base, "csdk-", 5) == 0 && strncmp(base + 5, name, strlen(name)) == 0 &&
	       strcmp(base + 5 + strlen(name), ".so") == 0;
}

static int report_rejections(const csdk_registry *reg, const char *name, const struct options *opts)
{
	json_t *array = opts->json ? json_array() : NULL;
	size_t i, found = 0;

	for (i = 0; i < csdk_registry_rejected_count(reg); i++) {
		const csdk_rejection *rej = csdk_registry_rejected_at(reg, i);

		if (!rejection_matches(rej, name))
			continue;
		found++;
		if (!opts->json)
			csdkp_error("%s", rej->reason);
		else if (array && json_array_append_new(array, rejection_json(rej->path, rej->name, rej->code,
									     rej->signal, rej->shadowed,
									     rej->reason)) < 0) {
			json_decref(array);
			array = NULL;
		}
	}
	if (found == 0) {
		json_decref(array);
		csdkp_error("no plugin named '%s' (run '" PROGRAM "' to list them, or '" PROGRAM " --rejected')",
			    name);
		return 1;
	}
	if (opts->json)
		emit_json(array ? json_pack("{s:o}", "rejected", array) : NULL);
	return 1;
}

/* The signal a crash rejection names: "crashed while loading (signal N, NAME); ...". */
static int crash_signal(int code, const char *reason)
{
	const char *p = reason ? strstr(reason, "(signal ") : NULL;

	return code == CSDK_ECRASHED && p ? atoi(p + strlen("(signal ")) : 0;
}

static int report_file_rejection(const csdk_registry *reg, const char *file, const csdk_error *err,
				 const struct options *opts)
{
	char resolved[PATH_MAX];
	const char *path = realpath(file, resolved) ? resolved : file;
	json_t *item = NULL;
	size_t i;

	if (!opts->json) {
		csdkp_error("%s", err->message);
		return 1;
	}
	for (i = 0; !item && i < csdk_registry_rejected_count(reg); i++) {
		const csdk_rejection *rej = csdk_registry_rejected_at(reg, i);

		if (strcmp(rej->path, path) == 0 && rej->reason && strcmp(rej->reason, err->message) == 0)
			item = rejection_json(rej->path, rej->name, rej->code, rej->signal, rej->shadowed,
					      rej->reason);
	}
	if (!item)
		item = rejection_json(path, NULL, err->code, crash_signal(err->code, err->message), 0,
				      err->message);
	emit_json(item ? json_pack("{s:[o]}", "rejected", item) : NULL);
	return 1;
}

static int view_plugin(csdk_registry *reg, const char *arg, const struct options *opts)
{
	const csdk_plugin_info *info;

	if (!opts->json && is_file_argument(arg))
		print_registry_warnings(reg);
	else if (!opts->json)
		print_scan_warnings(reg);
	if (is_file_argument(arg)) {
		if (csdk_registry_load_file(reg, arg, &info) < 0) {
			/* The error is borrowed only until the next libcsdk call. */
			csdk_error err = *csdk_error_last();
			char *message = strdup(err.message);
			int rc;

			err.message = message ? message : "out of memory";
			rc = report_file_rejection(reg, arg, &err, opts);
			free(message);
			return rc;
		}
	} else {
		info = csdk_registry_find(reg, arg);
		if (!info)
			return report_rejections(reg, arg, opts);
	}
	return print_plugin(info, opts);
}

static int view_rejected(const csdk_registry *reg, const struct options *opts)
{
	size_t i, n = csdk_registry_rejected_count(reg);

	print_scan_warnings(reg);
	if (opts->json) {
		if (emit_json(json_pack("{s:o}", "rejected", rejected_json(reg))) < 0)
			return 1;
	} else {
		for (i = 0; i < n; i++)
			fprintf(CSDKP_STDOUT, "%s\n", csdk_registry_rejected_at(reg, i)->reason);
	}
	return n > 0 ? 1 : 0;
}

/* The registry says only whether a directory is there; a file in its place is the likelier mistake. */
static int is_non_directory(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !S_ISDIR(st.st_mode);
}

static int view_paths(const csdk_registry *reg, const struct options *opts)
{
	size_t i, n = csdk_registry_path_count(reg);

	if (opts->json) {
		json_t *paths = json_array();
		json_t *warnings = json_array();

		for (i = 0; paths && i < n; i++) {
			const csdk_path_entry *entry = csdk_registry_path_at(reg, i);

			if (json_array_append_new(paths, json_pack("{s:s, s:s, s:b, s:b}",
								   "dir", entry->dir,
								   "origin", csdkp_path_origin_name(entry->origin),
								   "exists", entry->exists != 0,
								   "not_a_directory",
								   !entry->exists && is_non_directory(entry->dir))) < 0) {
				json_decref(paths);
				paths = NULL;
			}
		}
		for (i = 0; warnings && i < csdk_registry_warning_count(reg); i++) {
			if (json_array_append_new(warnings, json_string(csdk_registry_warning_at(reg, i))) < 0) {
				json_decref(warnings);
				warnings = NULL;
			}
		}
		return emit_json(json_pack("{s:o, s:o}", "paths", paths, "warnings", warnings)) < 0 ? 1 : 0;
	}
	for (i = 0; i < n; i++) {
		const csdk_path_entry *entry = csdk_registry_path_at(reg, i);

		fprintf(CSDKP_STDOUT, "%s  (%s)%s\n", entry->dir, csdkp_path_origin_name(entry->origin),
		       entry->exists ? "" : is_non_directory(entry->dir) ? " [not a directory]" : " [missing]");
	}
	print_registry_warnings(reg);
	return 0;
}

/*
 * The checks csdk_plugin_lint runs, in its order. It leaves out those that
 * need a loadable file when elf failed; they are shown as skipped.
 */
static const char *const lint_checks[] = { "elf", "exports", "undefined", "descriptor", "stdout" };
#define N_LINT_CHECKS (sizeof(lint_checks) / sizeof(lint_checks[0]))
#define SKIP_REASON "the file is not a loadable ELF shared object"

static const csdk_lint_check *lint_find(const csdk_lint *lint, const char *name)
{
	size_t i;

	for (i = 0; i < lint->n_checks; i++)
		if (strcmp(lint->checks[i].check, name) == 0)
			return &lint->checks[i];
	return NULL;
}

static int is_lint_check(const char *name)
{
	size_t i;

	for (i = 0; i < N_LINT_CHECKS; i++)
		if (strcmp(lint_checks[i], name) == 0)
			return 1;
	return 0;
}

/* One line or one JSON object for check (NULL when the lint skipped it). */
static int report_check(json_t *checks, const char *name, const csdk_lint_check *check)
{
	if (checks)
		return json_array_append_new(checks, json_pack("{s:s, s:b, s:b, s:s?}", "check", name,
							       "ok", check && check->ok,
							       "skipped", check == NULL,
							       "message", check ? check->message : SKIP_REASON));
	if (!check)
		fprintf(CSDKP_STDOUT, "SKIP %s: " SKIP_REASON "\n", name);
	else if (check->ok)
		fprintf(CSDKP_STDOUT, "ok   %s\n", name);
	else
		fprintf(CSDKP_STDOUT, "FAIL %s: %s\n", name, check->message);
	return 0;
}

static int view_check(const struct options *opts)
{
	json_t *files = opts->json ? json_array() : NULL;
	int i, failed = 0;

	if (opts->json && !files) {
		emit_json(NULL);
		return 1;
	}
	for (i = 0; i < opts->n_operands; i++) {
		const char *file = opts->operands[i];
		csdk_lint *lint = NULL;
		json_t *checks = NULL;
		size_t c;

		if (!opts->json)
			fprintf(CSDKP_STDOUT, "%s%s\n", i > 0 ? "\n" : "", file);
		if (csdk_plugin_lint(&lint, file) < 0) {
			const char *message = csdk_error_last()->message;

			failed = 1;
			if (!opts->json)
				csdkp_error("%s", message);
			else if (json_array_append_new(files, json_pack("{s:s, s:b, s:[], s:s}", "file", file,
									"ok", 0, "checks", "error", message)) < 0)
				goto nomem;
			continue;
		}
		if (!lint->ok)
			failed = 1;
		if (opts->json) {
			checks = json_array();
			if (!checks)
				goto nomem_lint;
		}
		for (c = 0; c < N_LINT_CHECKS; c++)
			if (report_check(checks, lint_checks[c], lint_find(lint, lint_checks[c])) < 0)
				goto nomem_lint;
		for (c = 0; c < lint->n_checks; c++)
			if (!is_lint_check(lint->checks[c].check) &&
			    report_check(checks, lint->checks[c].check, &lint->checks[c]) < 0)
				goto nomem_lint;
		if (opts->json) {
			if (json_array_append_new(files, json_pack("{s:s, s:b, s:o}", "file", file,
								   "ok", lint->ok != 0, "checks", checks)) < 0) {
				checks = NULL;
				goto nomem_lint;
			}
		}
		csdk_lint_free(lint);
		continue;
nomem_lint:
		json_decref(checks);
		csdk_lint_free(lint);
		goto nomem;
	}
	if (opts->json && emit_json(json_pack("{s:o}", "files", files)) < 0)
		return 1;
	return failed;

nomem:
	json_decref(files);
	emit_json(NULL);
	return 1;
}

/* ---------------------------------------------------------------- options */

enum {
	OPT_JSON = 0x100,
	OPT_PATH,
	OPT_REJECTED,
	OPT_PATHS,
	OPT_CHECK
};

static const struct option long_options[] = {
	{ "json", no_argument, NULL, OPT_JSON },
	{ "path", required_argument, NULL, OPT_PATH },
	{ "rejected", no_argument, NULL, OPT_REJECTED },
	{ "paths", no_argument, NULL, OPT_PATHS },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

static int set_view(struct options *opts, enum view view, const char *option)
{
	if (opts->view != VIEW_NONE && opts->view != view)
		return csdkp_usage_error("%s and %s cannot be used together", opts->view_option, option);
	opts->view = view;
	opts->view_option = option;
	return 0;
}

/* Returns -1 to go on, or the exit status when done (--help, --version, a usage error). */
static int parse_options(struct options *opts, int argc, char **argv)
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":hV", long_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			opts->json = 1;
			break;
		case OPT_PATH:
			if (optarg[strspn(optarg, ":")] == '\0')
				return csdkp_usage_error("--path is empty; give one or more plugin directories separated by ':'");
			opts->search_path = optarg;
			break;
		case OPT_REJECTED:
			if (set_view(opts, VIEW_REJECTED, "--rejected"))
				return 2;
			break;
		case OPT_PATHS:
			if (set_view(opts, VIEW_PATHS, "--paths"))
				return 2;
			break;
		case OPT_CHECK:
			if (set_view(opts, VIEW_CHECK, "--check"))
				return 2;
			break;
		case 'h':
			print_usage();
			return 0;
		case 'V':
			print_version();
			return 0;
		default:
			return csdkp_getopt_error(c, argv);
		}
	}
	opts->operands = argv + optind;
	opts->n_operands = argc - optind;

	switch (opts->view) {
	case VIEW_NONE:
		if (opts->n_operands > 1)
			return csdkp_usage_error("unexpected argument '%s'; give one plugin NAME or FILE",
						 opts->operands[1]);
		opts->view = opts->n_operands == 1 ? VIEW_PLUGIN : VIEW_LIST;
		break;
	case VIEW_CHECK:
		if (opts->n_operands == 0)
			return csdkp_usage_error("--check needs at least one plugin FILE");
		break;
	default:
		if (opts->n_operands > 0)
			return csdkp_usage_error("%s and a plugin NAME or FILE ('%s') cannot be used together",
						 opts->view_option, opts->operands[0]);
		break;
	}
	return -1;
}

/*
 * A subcommand word after nothing but global options ("--json test NAME"):
 * sets *sub and passes those options on after the word, where the
 * subcommand's own parser takes them. Else *sub is NULL and getopt is reset.
 */
static int subcommand_argv(const struct subcommand **sub, char ***out, int *out_argc, int argc, char **argv)
{
	const char *path = NULL;
	int json = 0, c, n = 0, i;
	char **sub_argv;

	*sub = NULL;
	opterr = 0;
	/* '+' stops at the first operand instead of moving it to the end. */
	while ((c = getopt_long(argc, argv, "+:hV", long_options, NULL)) != -1) {
		if (c == OPT_JSON)
			json = 1;
		else if (c == OPT_PATH)
			path = optarg;
		else
			break;
	}
	if (c == -1 && optind < argc)
		*sub = find_subcommand(argv[optind]);
	if (!*sub) {
		optind = 0;
		return 0;
	}
	sub_argv = calloc((size_t)(argc - optind + 4), sizeof(*sub_argv));
	if (!sub_argv) {
		csdkp_error("out of memory");
		return -1;
	}
	sub_argv[n++] = argv[optind];
	if (json)
		sub_argv[n++] = "--json";
	if (path) {
		sub_argv[n++] = "--path";
		sub_argv[n++] = (char *)path;
	}
	for (i = optind + 1; i < argc; i++)
		sub_argv[n++] = argv[i];
	*out = sub_argv;
	*out_argc = n;
	return 0;
}

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	const struct subcommand *sub;
	csdk_registry *reg = NULL;
	char **sub_argv;
	int rc, sub_argc;

	csdkp_tool_set_name(PROGRAM);
	/* Plugins load in this process: what they print must not reach our output. */
	csdkp_stdout_protect();
	if (subcommand_argv(&sub, &sub_argv, &sub_argc, argc, argv) < 0)
		return 1;
	if (sub) {
		rc = sub->run(sub_argc, sub_argv);
		free(sub_argv);
		return rc;
	}

	rc = parse_options(&opts, argc, argv);
	if (rc >= 0)
		return csdkp_finish_output() < 0 && rc == 0 ? 1 : rc;

	/* --paths shows bad directories (marked) instead of refusing them. */
	if (opts.view != VIEW_CHECK && opts.view != VIEW_PATHS && opts.search_path &&
	    (rc = csdkp_check_path_option(opts.search_path)) != 0)
		return rc;
	if (opts.view == VIEW_CHECK) {
		rc = view_check(&opts);
	} else if (open_registry(&reg, &opts) < 0) {
		rc = 1;
	} else {
		switch (opts.view) {
		case VIEW_PLUGIN:
			rc = view_plugin(reg, opts.operands[0], &opts);
			break;
		case VIEW_REJECTED:
			rc = view_rejected(reg, &opts);
			break;
		case VIEW_PATHS:
			rc = view_paths(reg, &opts);
			break;
		default:
			rc = view_list(reg, &opts);
			break;
		}
	}
	csdk_registry_free(reg);
	if (csdkp_finish_output() < 0 && rc == 0)
		rc = 1;
	return rc;
}
