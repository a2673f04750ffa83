#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_wrapped(const char *text, size_t width)
{
	size_t col = 0;

	while (*text) {
		size_t len;

		while (*text == ' ')
			text++;
		len = strcspn(text, " ");
		if (col && col + 1 + len > width) {
			fputc('\n', TOOL_STDOUT);
			col = 0;
		} else if (col) {
			fputc(' ', TOOL_STDOUT);
			col++;
		}
		fprintf(TOOL_STDOUT, "%.*s", (int)len, text);
		col += len;
		text += len;
	}
	fputc('\n', TOOL_STDOUT);
}

static void print_command_help(const struct tool_cli *cli)
{
	const struct tool_command *cmd = cli->command;
	const char *line = cmd->synopsis;
	const char *prefix = "Usage: ";

	while (*line) {
		size_t len = strcspn(line, "\n");

		if (*line == '\t')
			fprintf(TOOL_STDOUT, "%*s%.*s\n", (int)(strlen("Usage: csdk ") + strlen(cmd->name) + 1), "",
				(int)len - 1, line + 1);
		else if (*line == ' ')
			fprintf(TOOL_STDOUT, "       %.*s\n", (int)len, line);
		else
			fprintf(TOOL_STDOUT, "%scsdk %.*s\n", prefix, (int)len, line);
		prefix = "       ";
		line += len;
		if (*line)
			line++;
	}
	fputc('\n', TOOL_STDOUT);
	print_wrapped(cmd->summary, 78);
	fputs("\nOptions:\n", TOOL_STDOUT);
	if (cmd->options)
		fputs(cmd->options, TOOL_STDOUT);
	/* a command whose options say what its --json does (bench, serve) is not told twice */
	if (!cmd->options || !strstr(cmd->options, " --json "))
		fputs("  --json                   machine-readable output\n", TOOL_STDOUT);
	fputs("  -h, --help               show this help\n", TOOL_STDOUT);
}

int tool_cli_usage(const struct tool_cli *cli, const char *fmt, ...)
{
	va_list ap;

	fflush(TOOL_STDOUT);
	fprintf(stderr, "%s: %s: ", tool_name(), cli->command->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; run '%s %s --help' for usage\n", tool_name(), cli->command->name);
	return TOOL_EXIT_USAGE;
}

int tool_parse(struct tool_cli *cli, int argc, char **argv, const struct option *longopts,
		size_t n_lead, tool_option_fn fn, void *state, char ***pos_out, size_t *n_pos_out)
{
	size_t n = 0;
	int c, before, status;

	*pos_out = argv;
	*n_pos_out = 0;
	opterr = 0;
	optind = 0;
	for (;;) {
		before = optind ? optind : 1;
		c = getopt_long(argc, argv, "+:h", longopts, NULL);
		if (c == -1) {
			if (optind == before + 1 && strcmp(argv[before], "--") == 0)
				break;
			if (optind < argc && n < n_lead) {
				/* Slots before optind are consumed, so positionals can be packed there. */
				argv[n++] = argv[optind++];
				continue;
			}
			break;
		}
		switch (c) {
		case TOOL_OPT_HELP:
			print_command_help(cli);
			status = tool_finish(0, TOOL_EXIT_FAILURE);
			return status ? status : -1;
		case TOOL_OPT_JSON:
			cli->json = 1;
			break;
		case ':':
			return tool_cli_usage(cli, "missing value for option '%s'", argv[optind - 1]);
		case '?':
			if (optopt)
				return tool_cli_usage(cli, "unknown option '-%c'", optopt);
			return tool_cli_usage(cli, "unknown option '%s'", argv[optind - 1]);
		default:
			status = fn ? fn(cli, state, c, optarg) : TOOL_EXIT_USAGE;
			if (status)
				return status;
			break;
		}
	}
	while (optind < argc)
		argv[n++] = argv[optind++];
	*n_pos_out = n;
	return 0;
}

int tool_expect_args(const struct tool_cli *cli, size_t n_pos, size_t min, size_t max, const char *what)
{
	if (n_pos < min)
		return tool_cli_usage(cli, "missing %s", what);
	if (n_pos > max)
		return tool_cli_usage(cli, "too many arguments (expected %s)", what);
	return 0;
}

int tool_parse_operands(struct tool_cli *cli, int argc, char **argv, const struct option *longopts,
			 tool_option_fn fn, void *state, size_t min, size_t max, const char *what,
			 char ***pos_out, size_t *n_pos_out)
{
	int status = tool_parse(cli, argc, argv, longopts, TOOL_ALL_POSITIONALS, fn, state, pos_out, n_pos_out);

	return status ? status : tool_expect_args(cli, *n_pos_out, min, max, what);
}

int tool_parse_operand(const char **out, struct tool_cli *cli, int argc, char **argv, const struct option *longopts,
		       tool_option_fn fn, void *state, const char *what)
{
	char **pos;
	size_t n_pos;
	int status = tool_parse_operands(cli, argc, argv, longopts, fn, state, 1, 1, what, &pos, &n_pos);

	if (!status)
		*out = pos[0];
	return status;
}

int tool_parse_none(struct tool_cli *cli, int argc, char **argv)
{
	char **pos;
	size_t n_pos;

	return tool_parse_operands(cli, argc, argv, tool_common_longopts, NULL, NULL, 0, 0, "no arguments", &pos, &n_pos);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

int tool_parse_ms(int64_t *out, const struct tool_cli *cli, const char *option, const char *arg)
{
	long long value;

	errno = 0;
	value = all_digits(arg) ? strtoll(arg, NULL, 10) : -1;
	if (value < 0 || errno == ERANGE)
		return tool_cli_usage(cli, "invalid value '%s' for --%s: give a whole number of milliseconds, 0 or more",
				       arg, option);
	*out = value;
	return 0;
}

int tool_parse_port(int *out, const struct tool_cli *cli, const char *arg)
{
	long value = -1;

	if (all_digits(arg) && strlen(arg) <= 5)
		value = strtol(arg, NULL, 10);
	if (value < 1 || value > 65535)
		return tool_cli_usage(cli, "invalid port '%s': give a number from 1 to 65535", arg);
	*out = (int)value;
	return 0;
}

int tool_parse_kv(struct csdk_kv **list, size_t *n, const struct tool_cli *cli,
		   const char *option, char *arg)
{
	char *eq = strchr(arg, '=');
	struct csdk_kv *grown;

	if (!eq || eq == arg) {
		/* With an empty key only "=..." is echoed: the value may be a secret. */
		const char *shown = eq ? "=..." : arg;
		const char *why = eq ? "the key before '=' is empty" : "expected KEY=VALUE";

		if (cli->command)
			return tool_cli_usage(cli, "invalid %s '%s': %s", option, shown, why);
		tool_error("invalid %s '%s': %s; run 'csdk --help' for usage", option, shown, why);
		return TOOL_EXIT_USAGE;
	}
	grown = realloc(*list, (*n + 1) * sizeof(**list));
	if (!grown) {
		tool_error("out of memory while reading %s", option);
		return TOOL_EXIT_FAILURE;
	}
	*eq = '\0';
	grown[*n].key = arg;
	grown[*n].value = eq + 1;
	*list = grown;
	(*n)++;
	return 0;
}

const struct option tool_common_longopts[] = { TOOL_COMMON_LONGOPTS, { NULL, 0, NULL, 0 } };

const struct option tool_create_named_longopts[] = {
	TOOL_COMMON_LONGOPTS,
	{ "name", required_argument, NULL, TOOL_OPT_NAME },
	TOOL_CREATE_LONGOPTS,
	{ NULL, 0, NULL, 0 }
};

void tool_create_args_init(struct tool_create_args *args)
{
	static const struct csdk_create_options init = CSDK_CREATE_OPTIONS_INIT;

	memset(args, 0, sizeof(*args));
	args->opts = init;
}

static int tool_parse_cpus(double *out, const struct tool_cli *cli, const char *arg)
{
	char *end;
	double v = strtod(arg, &end);

	if (end == arg || *end || !(v >= 0.01 && v <= 1024))
		return tool_cli_usage(cli, "invalid --cpus '%s': give a number of CPUs from 0.01 to 1024, such as 0.5 or 2", arg);
	*out = v;
	return 0;
}

static int tool_parse_memory(uint64_t *out, const struct tool_cli *cli, const char *arg)
{
	static const char units[] = "KMGT";
	char *end;
	unsigned long long v = strtoull(arg, &end, 10);
	const char *u = *end ? strchr(units, *end) : NULL;
	int shift = u ? 10 * (int)(u - units + 1) : 0;

	if (end == arg || *arg == '-' || (*end && (!u || end[1])) || !v || v > (UINT64_MAX >> shift))
		return tool_cli_usage(cli, "invalid --memory '%s': give bytes, or a number with K, M, G or T such as 512M", arg);
	*out = (uint64_t)v << shift;
	return 0;
}

int tool_create_option(struct tool_create_args *args, const struct tool_cli *cli, int opt, const char *arg)
{
	switch (opt) {
	case TOOL_OPT_NAME:
		args->opts.name = arg;
		return 0;
	case TOOL_OPT_NAMESPACE:
		args->opts.namespace_ = arg;
		return 0;
	case TOOL_OPT_RUNTIME:
		if (strcmp(arg, "python") != 0 && strcmp(arg, "node") != 0)
			return tool_cli_usage(cli, "invalid runtime '%s': give python or node", arg);
		args->opts.runtime = arg;
		return 0;
	case TOOL_OPT_TEMPLATE:
		args->opts.template_id = arg;
		return 0;
	case TOOL_OPT_SNAPSHOT:
		args->opts.snapshot_id = arg;
		return 0;
	case TOOL_OPT_TIMEOUT:
		return tool_parse_ms(&args->opts.timeout_ms, cli, "timeout", arg);
	case TOOL_OPT_ENV:
		return tool_parse_kv(&args->envs, &args->n_envs, cli, "--env", (char *)arg);
	case TOOL_OPT_METADATA:
		return tool_parse_kv(&args->metadata, &args->n_metadata, cli, "--metadata", (char *)arg);
	case TOOL_OPT_CPUS:
		return tool_parse_cpus(&args->opts.cpus, cli, arg);
	case TOOL_OPT_MEMORY:
		return tool_parse_memory(&args->opts.memory_bytes, cli, arg);
	default:
		return -1;
	}
}

void tool_create_args_finish(struct tool_create_args *args)
{
	args->opts.envs = args->envs;
	args->opts.n_envs = args->n_envs;
	args->opts.metadata = args->metadata;
	args->opts.n_metadata = args->n_metadata;
}

void tool_create_args_release(struct tool_create_args *args)
{
	free(args->envs);
	free(args->metadata);
	args->envs = NULL;
	args->metadata = NULL;
}
