#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/describe.h"
#include "common/output.h"
#include "conformance/conformance.h"
#include "tool.h"

static int cmd_test(int argc, char **argv)
{
	return tool_conformance_main(argc, argv);
}

static const struct tool_subcommand subcommands[] = {
	{ "test", cmd_test },
};

static const struct tool_subcommand *find_subcommand(const char *word)
{
	size_t i;

	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (strcmp(subcommands[i].word, word) == 0)
			return &subcommands[i];
	return NULL;
}

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
	      TOOL_STDOUT);
}

static void print_version(void)
{
	char abi[TOOL_ABI_TEXT_SIZE];

	fprintf(TOOL_STDOUT, PROGRAM " (csdk) %s\n", PACKAGE_VERSION);
	fprintf(TOOL_STDOUT, "plugin ABI %s\n", tool_abi_text(abi, csdk_abi_version()));
}

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

static int set_view(struct tool_plugins_options *opts, enum tool_view view, const char *option)
{
	if (opts->view != VIEW_NONE && opts->view != view)
		return tool_usage_error("%s and %s cannot be used together", opts->view_option, option);
	opts->view = view;
	opts->view_option = option;
	return 0;
}

/* Returns -1 to go on, or the exit status when done (--help, --version, a usage error). */
int tool_parse_options(struct tool_plugins_options *opts, int argc, char **argv)
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
				return tool_usage_error("--path is empty; give one or more plugin directories separated by ':'");
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
			return tool_getopt_error(c, argv);
		}
	}
	opts->operands = argv + optind;
	opts->n_operands = argc - optind;

	switch (opts->view) {
	case VIEW_NONE:
		if (opts->n_operands > 1)
			return tool_usage_error("unexpected argument '%s'; give one plugin NAME or FILE",
						 opts->operands[1]);
		opts->view = opts->n_operands == 1 ? VIEW_PLUGIN : VIEW_LIST;
		break;
	case VIEW_CHECK:
		if (opts->n_operands == 0)
			return tool_usage_error("--check needs at least one plugin FILE");
		break;
	default:
		if (opts->n_operands > 0)
			return tool_usage_error("%s and a plugin NAME or FILE ('%s') cannot be used together",
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
int tool_subcommand_argv(const struct tool_subcommand **sub, char ***out, int *out_argc, int argc, char **argv)
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
		tool_error("out of memory");
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
