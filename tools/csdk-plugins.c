#include "config.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	      "List, inspect and check csdk provider plugins.\n"
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
	      "Options:\n"
	      "      --json          print JSON instead of text\n"
	      "      --path DIRS     search only DIRS, a colon-separated list\n"
	      "  -h, --help          show this help and exit\n"
	      "  -V, --version       show the version and the plugin ABI version and exit\n"
	      "\n"
	      "Environment: CSDK_PLUGIN_PATH, CSDK_PLUGIN_SYSTEM_PATH, CSDK_PLUGINS,\n"
	      "CSDK_PLUGINS_DISABLE, CSDK_DEBUG=plugins (see " PROGRAM "(1)).\n"
	      "\n"
	      "Exit status: 0 ok; 1 a file was rejected, a check failed or no such plugin;\n"
	      "2 usage error.\n",
	      stdout);
}

static void print_version(void)
{
	char abi[CSDKP_ABI_TEXT_SIZE];

	printf(PROGRAM " (csdk) %s\n", PACKAGE_VERSION);
	printf("plugin ABI %s\n", csdkp_abi_text(abi, csdk_abi_version()));
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
		const struct csdk_config_key *key = &info->config_keys[i];
		json_t *item = json_pack("{s:s?, s:s?, s:b, s:b, s:s?}",
					 "key", key->key,
					 "env", key->env,
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

static json_t *methods_json(const struct csdk_methods *methods)
{
	json_t *object = json_object();
	size_t i;

	for (i = 0; object && i < csdkp_method_count(); i++) {
		if (json_object_set_new(object, csdkp_method_name(i),
					json_boolean(csdkp_method_present(methods, i))) < 0) {
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
	rc = csdkp_json_print(stdout, root);
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

static void print_registry_warnings(const csdk_registry *reg)
{
	size_t i;

	for (i = 0; i < csdk_registry_warning_count(reg); i++)
		csdkp_warning("%s", csdk_registry_warning_at(reg, i));
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

	print_registry_warnings(reg);
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
		csdkp_table_print(table, stdout, NULL);
		putchar('\n');
	}
	csdkp_table_free(table);
	printf("%zu %s loaded", n, n == 1 ? "plugin" : "plugins");
	if (n_rejected > 0)
		printf(", %zu rejected (run '" PROGRAM " --rejected' to see why)", n_rejected);
	putchar('\n');
	return n_rejected ? 1 : 0;

nomem:
	csdkp_table_free(table);
	csdkp_error("out of memory while listing plugins");
	return 1;
}

static void print_field(const char *label, const char *value)
{
	printf("%-14s%s\n", label, value ? value : "-");
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
		const struct csdk_config_key *key = &info->config_keys[i];
		const char *cells[] = { key->key, key->env,
					(key->flags & CSDK_CONFIG_REQUIRED) ? "yes" : "no",
					(key->flags & CSDK_CONFIG_SECRET) ? "yes" : "no",
					key->help };

		if (csdkp_table_add(config, cells) < 0)
			goto out;
	}
	for (i = 0; i < csdkp_method_count(); i++) {
		const char *cells[] = { csdkp_method_name(i),
					csdkp_method_present(info->methods, i) ? "present" : "absent" };

		if (csdkp_table_add(methods, cells) < 0)
			goto out;
	}

	print_field("name:", info->name);
	print_field("version:", info->version);
	print_field("description:", info->description);
	print_field("license:", info->license);
	print_field("path:", info->path);
	print_field("abi:", csdkp_abi_text(abi, info->abi_version));
	printf("%-14s%s (default: %s)\n", "modes:", modes, csdk_mode_name(info->default_mode));
	print_field("capabilities:", caps);

	if (csdkp_table_rows(config) > 0) {
		printf("\nconfiguration keys:\n");
		csdkp_table_print(config, stdout, "  ");
	} else {
		printf("\nconfiguration keys: none\n");
	}
	printf("\nmethods:\n");
	csdkp_table_print(methods, stdout, "  ");
	if (info->n_warnings > 0) {
		printf("\nwarnings:\n");
		for (i = 0; i < info->n_warnings; i++)
			printf("  %s\n", info->warnings[i]);
	} else {
		printf("\nwarnings: none\n");
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
		     json_object_set_new(root, "methods", methods_json(info->methods)) < 0)) {
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

	if (!opts->json)
		print_registry_warnings(reg);
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

	print_registry_warnings(reg);
	if (opts->json) {
		if (emit_json(json_pack("{s:o}", "rejected", rejected_json(reg))) < 0)
			return 1;
	} else {
		for (i = 0; i < n; i++)
			printf("%s\n", csdk_registry_rejected_at(reg, i)->reason);
	}
	return n > 0 ? 1 : 0;
}

static int view_paths(const csdk_registry *reg, const struct options *opts)
{
	size_t i, n = csdk_registry_path_count(reg);

	if (opts->json) {
		json_t *paths = json_array();
		json_t *warnings = json_array();

		for (i = 0; paths && i < n; i++) {
			const csdk_path_entry *entry = csdk_registry_path_at(reg, i);

			if (json_array_append_new(paths, json_pack("{s:s, s:s, s:b}",
								   "dir", entry->dir,
								   "origin", csdkp_path_origin_name(entry->origin),
								   "exists", entry->exists != 0)) < 0) {
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

		printf("%s  (%s)%s\n", entry->dir, csdkp_path_origin_name(entry->origin),
		       entry->exists ? "" : " [missing]");
	}
	print_registry_warnings(reg);
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
			printf("%s%s\n", i > 0 ? "\n" : "", file);
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
		for (c = 0; c < lint->n_checks; c++) {
			const csdk_lint_check *check = &lint->checks[c];

			if (opts->json) {
				if (json_array_append_new(checks, json_pack("{s:s, s:b, s:s?}",
									    "check", check->check,
									    "ok", check->ok != 0,
									    "message", check->message)) < 0)
					goto nomem_lint;
			} else if (check->ok) {
				printf("ok   %s\n", check->check);
			} else {
				printf("FAIL %s: %s\n", check->check, check->message);
			}
		}
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

int main(int argc, char **argv)
{
	struct options opts = { 0 };
	const struct subcommand *sub;
	csdk_registry *reg = NULL;
	int rc;

	csdkp_tool_set_name(PROGRAM);
	if (argc > 1 && (sub = find_subcommand(argv[1])) != NULL)
		return sub->run(argc - 1, argv + 1);

	rc = parse_options(&opts, argc, argv);
	if (rc >= 0)
		return csdkp_finish_output() < 0 && rc == 0 ? 1 : rc;
	if (opts.view == VIEW_PLUGIN && (sub = find_subcommand(opts.operands[0])) != NULL)
		return sub->run(opts.n_operands, opts.operands);

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
