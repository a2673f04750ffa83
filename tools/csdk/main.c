#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const struct tool_command *const commands[] = {
	&tool_cmd_providers,
	&tool_cmd_create,
	&tool_cmd_list,
	&tool_cmd_info,
	&tool_cmd_exec,
	&tool_cmd_run_code,
	&tool_cmd_fs,
	&tool_cmd_url,
	&tool_cmd_destroy,
	&tool_cmd_find_or_create,
	&tool_cmd_find,
	&tool_cmd_extend,
	&tool_cmd_snapshot,
	&tool_cmd_template,
	&tool_cmd_pool,
	&tool_cmd_run,
	&tool_cmd_config,
	&tool_cmd_bench,
	&tool_cmd_serve,
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
	      "                           configuration file's default or first provider,\n"
	      "                           else local)\n"
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

static void put(char *buf, size_t *len, size_t size, const char *s)
{
	while (s && *s && *len < size)
		buf[(*len)++] = *s++;
}

/* Async-signal-safe: only write(2), _exit and the libcsdk getter meant for this. */
static void on_crash(int sig)
{
	const char *provider, *method, *name;
	char buf[512], num[16];
	size_t len = 0;
	int i = (int)sizeof(num) - 1, n = sig;

	if (!csdk_plugin_call_current(&provider, &method)) {
		/* csdk's own crash: die of the signal as usual, core dump included. */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	switch (sig) {
	case SIGSEGV: name = "SIGSEGV"; break;
	case SIGBUS: name = "SIGBUS"; break;
	case SIGILL: name = "SIGILL"; break;
	case SIGFPE: name = "SIGFPE"; break;
	case SIGABRT: name = "SIGABRT"; break;
	default:
		num[i] = '\0';
		do
			num[--i] = (char)('0' + n % 10);
		while ((n /= 10) && i > 0);
		name = num + i;
	}
	put(buf, &len, sizeof(buf) - 1, "csdk: provider '");
	put(buf, &len, sizeof(buf) - 1, provider);
	put(buf, &len, sizeof(buf) - 1, "' crashed in ");
	put(buf, &len, sizeof(buf) - 1, method);
	put(buf, &len, sizeof(buf) - 1, " (");
	put(buf, &len, sizeof(buf) - 1, name);
	put(buf, &len, sizeof(buf) - 1, ")\n");
	(void)!write(STDERR_FILENO, buf, len);
	_exit(TOOL_EXIT_CSDK);
}

/* A plugin that crashes inside a method is named, on an alternate stack in case it overflowed its own. */
static void install_crash_handlers(void)
{
	static const int signals[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	static char altstack[64 * 1024];
	struct sigaction sa;
	stack_t ss;

	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	ss.ss_flags = 0;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND | (sigaltstack(&ss, NULL) == 0 ? SA_ONSTACK : 0);
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		sigaction(signals[i], &sa, NULL);
}

static int global_usage(const char *what, const char *arg)
{
	tool_error("%s '%s'; run 'csdk --help' for usage", what, arg);
	return TOOL_EXIT_USAGE;
}

static int print_version(void)
{
	fprintf(TOOL_STDOUT, "csdk %s (libcsdk %s, plugin ABI %u.%u)\n", PACKAGE_VERSION, csdk_version(),
		(unsigned)CSDK_ABI_MAJOR_OF(csdk_abi_version()),
		(unsigned)CSDK_ABI_MINOR_OF(csdk_abi_version()));
	return tool_finish(0, TOOL_EXIT_FAILURE);
}

/* The options before the command: 0 to go on, 1 to exit with *status_out. */
static int parse_globals(int argc, char **argv, struct tool_cli *cli, int *status_out)
{
	static const struct option longopts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:c:jhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!*optarg)
				return *status_out = global_usage("empty provider name given to", "--provider"), 1;
			cli->provider_name = optarg;
			cli->provider_given = 1;
			break;
		case 'c':
			if ((*status_out = tool_parse_kv(&cli->config, &cli->n_config, cli, "--config", optarg)))
				return 1;
			break;
		case 'j':
			cli->json = 1;
			break;
		case 'h':
			print_global_help(TOOL_STDOUT);
			return *status_out = tool_finish(0, TOOL_EXIT_FAILURE), 1;
		case 'V':
			return *status_out = print_version(), 1;
		case ':':
			return *status_out = global_usage("missing value for option", argv[optind - 1]), 1;
		default:
			return *status_out = global_usage("unknown option", argv[optind - 1]), 1;
		}
	}
	return 0;
}

static const struct tool_command *find_command(const char *name)
{
	const struct tool_command *command = NULL;

	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(name, commands[i]->name) == 0)
			command = commands[i];
	return command;
}

int main(int argc, char **argv)
{
	struct tool_cli cli;
	const struct tool_command *command;
	const char *env;
	int status;

	tool_set_name("csdk");
	tool_stdout_protect();
	install_crash_handlers();
	memset(&cli, 0, sizeof(cli));
	env = getenv("CSDK_PROVIDER");
	cli.provider_name = env && *env ? env : "local";
	if (parse_globals(argc, argv, &cli, &status))
		return status;
	if (optind >= argc) {
		tool_error("no command given; run 'csdk --help' for the list of commands");
		return TOOL_EXIT_USAGE;
	}
	if (!(command = find_command(argv[optind])))
		return global_usage("unknown command", argv[optind]);
	cli.command = command;
	status = command->run(&cli, argc - optind, argv + optind);
	csdk_provider_close(cli.provider);
	tool_cli_close(&cli);
	free(cli.config);
	return status;
}
