#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct csdkp_command *const commands[] = {
	&csdkp_cmd_providers,
	&csdkp_cmd_create,
	&csdkp_cmd_list,
	&csdkp_cmd_info,
	&csdkp_cmd_exec,
	&csdkp_cmd_run_code,
	&csdkp_cmd_fs,
	&csdkp_cmd_url,
	&csdkp_cmd_destroy,
	&csdkp_cmd_find_or_create,
	&csdkp_cmd_find,
	&csdkp_cmd_extend,
	&csdkp_cmd_snapshot,
	&csdkp_cmd_template,
	&csdkp_cmd_run,
	&csdkp_cmd_config,
	&csdkp_cmd_bench,
	&csdkp_cmd_serve,
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_global_help(FILE *fp)
{
	size_t i, width = 0;

	fputs("Usage: csdk [--provider NAME] [--config KEY=VALUE]... [--json] COMMAND [ARGS]\n"
	      "\n"
	      "Use compute sandboxes of a csdk provider from the shell.\n"
	      "\n"
	      "Options:\n"
	      "  -p, --provider NAME      provider to use (default: $CSDK_PROVIDER, else the\n"
	      "                           configuration file's default, else local)\n"
	      "  -c, --config KEY=VALUE   set a configuration key of the provider (repeatable)\n"
	      "  -j, --json               machine-readable output\n"
	      "  -h, --help               show this help\n"
	      "  -V, --version            show the version\n"
	      "\n"
	      "Commands:\n", fp);
	for (i = 0; i < N_COMMANDS; i++)
		if (strlen(commands[i]->name) > width)
			width = strlen(commands[i]->name);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(fp, "  %-*s  %s\n", (int)width, commands[i]->name, commands[i]->summary);
	fputs("\n"
	      "Run 'csdk COMMAND --help' for a command's options. Exit status: 0 success,\n"
	      "1 failure, 2 usage error; exec, run-code and run exit with the command's\n"
	      "status, or 125 when csdk itself fails. See csdk(1).\n", fp);
}

static int global_usage(const char *what, const char *arg)
{
	csdkp_error("%s '%s'; run 'csdk --help' for usage", what, arg);
	return CSDKP_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct csdkp_cli cli;
	const struct csdkp_command *command = NULL;
	const char *env;
	size_t i;
	int c, status;

	csdkp_tool_set_name("csdk");
	memset(&cli, 0, sizeof(cli));
	env = getenv("CSDK_PROVIDER");
	cli.provider_name = env && *env ? env : "local";

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:c:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!*optarg)
				return global_usage("empty provider name given to", "--provider");
			cli.provider_name = optarg;
			cli.provider_given = 1;
			break;
		case 'c':
			status = csdkp_parse_kv(&cli.config, &cli.n_config, &cli, "--config", optarg);
			if (status)
				return status;
			break;
		case 'j':
			cli.json = 1;
			break;
		case 'h':
			print_global_help(stdout);
			return csdkp_finish(0, CSDKP_EXIT_FAILURE);
		case 'V':
			printf("csdk %s (libcsdk %s, plugin ABI %u.%u)\n", PACKAGE_VERSION, csdk_version(),
			       (unsigned)CSDK_ABI_MAJOR_OF(csdk_abi_version()),
			       (unsigned)CSDK_ABI_MINOR_OF(csdk_abi_version()));
			return csdkp_finish(0, CSDKP_EXIT_FAILURE);
		case ':':
			return global_usage("missing value for option", argv[optind - 1]);
		default:
			return global_usage("unknown option", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		csdkp_error("no command given; run 'csdk --help' for the list of commands");
		return CSDKP_EXIT_USAGE;
	}

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(argv[optind], commands[i]->name) == 0)
			command = commands[i];
	if (!command)
		return global_usage("unknown command", argv[optind]);

	cli.command = command;
	status = command->run(&cli, argc - optind, argv + optind);
	csdk_provider_close(cli.provider);
	csdkp_cli_close(&cli);
	free(cli.config);
	return status;
}
