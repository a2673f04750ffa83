/*
 * Internal interface of the csdk command: the invocation context, the
 * command table, argument parsing and output helpers shared by the command
 * groups.
 */
#ifndef CSDK_TOOLS_CLI_H
#define CSDK_TOOLS_CLI_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <csdk/csdk.h>

#include "common/output.h"
#include "io.h"

/* Exit statuses. */
#define TOOL_EXIT_FAILURE 1
#define TOOL_EXIT_USAGE 2
#define TOOL_EXIT_CSDK 125  /* csdk itself failed in exec, run-code, run */

struct tool_cli;

/** One command: `csdk NAME ...`. run returns the process exit status. */
struct tool_command {
	const char *name;
	int (*run)(struct tool_cli *cli, int argc, char **argv);
	const char *synopsis;   /* one or more lines, each without "csdk "; one starting with a tab is shown under the first argument */
	const char *summary;    /* one line for the global help */
	const char *options;    /* option help, lines ending in '\n', or NULL */
};

/** The invocation: global options and the provider, opened on first use. */
struct tool_cli {
	const char *provider_name;
	struct csdk_kv *config;
	size_t n_config;
	int json;
	const struct tool_command *command;
	csdk_provider *provider;
	int provider_given;     /* --provider was on the command line */
};

extern const struct tool_command tool_cmd_providers;
extern const struct tool_command tool_cmd_create;
extern const struct tool_command tool_cmd_list;
extern const struct tool_command tool_cmd_info;
extern const struct tool_command tool_cmd_exec;
extern const struct tool_command tool_cmd_run_code;
extern const struct tool_command tool_cmd_fs;
extern const struct tool_command tool_cmd_url;
extern const struct tool_command tool_cmd_destroy;
extern const struct tool_command tool_cmd_find_or_create;
extern const struct tool_command tool_cmd_find;
extern const struct tool_command tool_cmd_extend;
extern const struct tool_command tool_cmd_snapshot;
extern const struct tool_command tool_cmd_template;
extern const struct tool_command tool_cmd_pool;
extern const struct tool_command tool_cmd_run;
extern const struct tool_command tool_cmd_config;
extern const struct tool_command tool_cmd_bench;
extern const struct tool_command tool_cmd_serve;

/* ------------------------------------------------------------ arguments */

/* Option values shared by every command. */
#define TOOL_OPT_HELP 'h'
#define TOOL_OPT_JSON 0x100
#define TOOL_COMMON_LONGOPTS \
	{ "help", no_argument, NULL, TOOL_OPT_HELP }, \
	{ "json", no_argument, NULL, TOOL_OPT_JSON }

/* Option values of the create options (create, find-or-create, run). */
enum {
	TOOL_OPT_NAME = 0x200,
	TOOL_OPT_NAMESPACE,
	TOOL_OPT_RUNTIME,
	TOOL_OPT_TEMPLATE,
	TOOL_OPT_SNAPSHOT,
	TOOL_OPT_TIMEOUT,
	TOOL_OPT_ENV,
	TOOL_OPT_METADATA,
	TOOL_OPT_CPUS,
	TOOL_OPT_MEMORY,
	TOOL_OPT_FIRST_FREE
};
#define TOOL_CREATE_LONGOPTS \
	{ "namespace", required_argument, NULL, TOOL_OPT_NAMESPACE }, \
	{ "runtime", required_argument, NULL, TOOL_OPT_RUNTIME }, \
	{ "template", required_argument, NULL, TOOL_OPT_TEMPLATE }, \
	{ "snapshot", required_argument, NULL, TOOL_OPT_SNAPSHOT }, \
	{ "timeout", required_argument, NULL, TOOL_OPT_TIMEOUT }, \
	{ "env", required_argument, NULL, TOOL_OPT_ENV }, \
	{ "metadata", required_argument, NULL, TOOL_OPT_METADATA }, \
	{ "cpus", required_argument, NULL, TOOL_OPT_CPUS }, \
	{ "memory", required_argument, NULL, TOOL_OPT_MEMORY }

/* The options of the commands that create a sandbox of their own: create, run. */
extern const struct option tool_create_named_longopts[];
/* The options of a command that has only the common ones. */
extern const struct option tool_common_longopts[];

/* The synopsis of TOOL_CREATE_LONGOPTS but --namespace. */
#define TOOL_CREATE_SYNOPSIS \
	"[--runtime R] [--template T] [--snapshot S]\n" \
	"\t[--timeout MS] [--env K=V]... [--metadata K=V]... [--cpus N] [--memory SIZE]"

/* The help of TOOL_OPT_NAME and TOOL_OPT_NAMESPACE, and of TOOL_CREATE_LONGOPTS but --namespace. */
#define TOOL_NAME_OPTIONS_HELP \
	"  --name NAME              name stored with the sandbox\n" \
	"  --namespace NS           namespace of the name (default: default)\n"
#define TOOL_CREATE_OPTIONS_HELP \
	"  --runtime python|node    runtime of the sandbox\n" \
	"  --template ID            start from a template\n" \
	"  --snapshot ID            start from a snapshot\n" \
	"  --timeout MS             lifetime in milliseconds (0: provider default)\n" \
	"  --env KEY=VALUE          environment variable of the sandbox (repeatable)\n" \
	"  --metadata KEY=VALUE     metadata stored with the sandbox (repeatable)\n" \
	"  --cpus N                 CPUs of the sandbox, e.g. 0.5 (a hint; local: a cgroup quota)\n" \
	"  --memory SIZE            memory of the sandbox, e.g. 512M (a hint; local: a cgroup limit)\n"

/* Interleave options with every positional argument. */
#define TOOL_ALL_POSITIONALS ((size_t)-1)

/**
 * Called for each option other than --help and --json. Returns 0, or an
 * exit status after printing a usage error.
 */
typedef int (*tool_option_fn)(struct tool_cli *cli, void *state, int opt, const char *arg);

/**
 * Parse argv (argv[0] is the command word) with getopt_long in "stop at the
 * first non-option" mode. The first n_lead positional arguments may be
 * interleaved with options; the first positional argument after them (or
 * everything after "--") ends option parsing. *pos_out points into argv.
 * Returns 0 to go on, -1 when --help was printed (exit 0), or a usage exit
 * status.
 */
int tool_parse(struct tool_cli *cli, int argc, char **argv, const struct option *longopts,
		size_t n_lead, tool_option_fn fn, void *state, char ***pos_out, size_t *n_pos_out);

/**
 * tool_parse with every argument positional, then tool_expect_args on
 * their number: returns as tool_parse does.
 */
int tool_parse_operands(struct tool_cli *cli, int argc, char **argv, const struct option *longopts,
			 tool_option_fn fn, void *state, size_t min, size_t max, const char *what,
			 char ***pos_out, size_t *n_pos_out);

/** tool_parse_operands of exactly one operand (what names it), *out set to it: returns as tool_parse. */
int tool_parse_operand(const char **out, struct tool_cli *cli, int argc, char **argv, const struct option *longopts,
		       tool_option_fn fn, void *state, const char *what);

/** Parse the arguments of a command that has only the common options and no operands: as tool_parse. */
int tool_parse_none(struct tool_cli *cli, int argc, char **argv);

/** Print "csdk: COMMAND: MESSAGE; run 'csdk COMMAND --help' for usage"; returns 2. */
int tool_cli_usage(const struct tool_cli *cli, const char *fmt, ...) TOOL_PRINTF(2, 3);

/** Check the number of positional arguments; prints a usage error (returns 2) when wrong. */
int tool_expect_args(const struct tool_cli *cli, size_t n_pos, size_t min, size_t max, const char *what);

/** Parse milliseconds (a whole number >= 0) given to --OPTION. Returns 0 or a usage exit status. */
int tool_parse_ms(int64_t *out, const struct tool_cli *cli, const char *option, const char *arg);

/** Parse a port, 1..65535. Returns 0 or a usage exit status. */
int tool_parse_port(int *out, const struct tool_cli *cli, const char *arg);

/** Split KEY=VALUE (in place) and append it to *list. Returns 0 or an exit status. */
int tool_parse_kv(struct csdk_kv **list, size_t *n, const struct tool_cli *cli,
		   const char *option, char *arg);

/** Create options gathered from the command line. */
struct tool_create_args {
	struct csdk_create_options opts;
	struct csdk_kv *envs;
	size_t n_envs;
	struct csdk_kv *metadata;
	size_t n_metadata;
};

void tool_create_args_init(struct tool_create_args *args);
/** Handle one create option; returns 0, a usage exit status, or -1 when opt is not a create option. */
int tool_create_option(struct tool_create_args *args, const struct tool_cli *cli, int opt, const char *arg);
/** Point opts at the gathered lists (call once parsing is over). */
void tool_create_args_finish(struct tool_create_args *args);
void tool_create_args_release(struct tool_create_args *args);

/* -------------------------------------------------------- provider access */

/** Open the provider (once). Prints the error and returns -1 on failure. */
/**
 * The plugin registry of a csdk command: each plugin file is validated in a
 * child process first (CSDK_REGISTRY_ISOLATE), so a plugin that crashes
 * while loading is reported and left out instead of ending csdk. Call it
 * before starting threads (the check forks).
 */
int tool_cli_registry_new(csdk_registry **out);
int tool_cli_provider(csdk_provider **out, struct tool_cli *cli);

/**
 * Get the sandbox id of the provider. Prints "no sandbox 'ID' in provider
 * 'P'" or the library error and returns -1 on failure.
 */
int tool_cli_sandbox(csdk_sandbox **out, struct tool_cli *cli, const char *id);

/*
 * Several providers (csdk/csdk.h "compute"): the configuration file names
 * them; ids are shown as PROVIDER:ID when there is more than one.
 */

/** The compute object of the configured providers. Prints the error and returns -1 on failure. */
int tool_cli_compute(csdk_compute **out, struct tool_cli *cli);
/** Create a sandbox, routed (or at --provider); SIGINT/SIGTERM cancel it. Prints the error and returns -1 on failure. */
int tool_cli_create(csdk_sandbox **out, struct tool_cli *cli, const struct csdk_create_options *opts);
/** Non-zero when more than one provider is configured, so ids are shown qualified. */
int tool_cli_qualifies(const struct tool_cli *cli);
/** ID as shown: PROVIDER:ID when several providers are configured, else ID. Caller frees; NULL when out of memory. */
char *tool_cli_qualify(const struct tool_cli *cli, const csdk_provider *provider, const char *id);
/** The id to show for sandbox (PROVIDER:ID or ID); caller frees; NULL when out of memory. */
char *tool_cli_qualified_id(const struct tool_cli *cli, csdk_sandbox *sandbox);
/** Split PROVIDER:ID when PROVIDER is configured: returns the bare id, *provider_out the name or NULL. */
const char *tool_cli_split_id(const char **provider_out, const struct tool_cli *cli, const char *id);
/** The configuration file read (NULL after an error was printed). */
const csdk_user_config *tool_cli_user_config(struct tool_cli *cli);
/** The registry the providers were opened from (NULL after an error was printed). */
csdk_registry *tool_cli_registry(struct tool_cli *cli);
/** Release what the session opened; restores cli->config. */
void tool_cli_close(struct tool_cli *cli);

/* --------------------------------------------------------------- output */

/** Print the library's last error (or a description of code when none was recorded). */
void tool_report(int code, const char *what);

/** Print root as the command's JSON output; returns 0 or the failure exit status (root is released). */
int tool_print_json(json_t *root, int failure_status);
/** Print id: {"id": id, key: value} with --json, else the id alone; 0 or TOOL_EXIT_FAILURE. */
int tool_print_id(const struct tool_cli *cli, const char *id, const char *key, const char *value);

/** What a listing command prints: a JSON array with --json, else a table. */
struct tool_listing {
	json_t *array;
	tool_table *table;
};

/** Start an empty listing for cli; -1 (said) when out of memory, with nothing to free. */
int tool_listing_new(struct tool_listing *out, const struct tool_cli *cli, size_t n_columns,
		      const char *const *headers, const char *what);
/** Print the listing and free it; returns the exit status. */
int tool_listing_print(struct tool_listing *out);
void tool_listing_free(struct tool_listing *out);

/** Finish standard output; returns status, or failure_status when writing failed. */
int tool_finish(int status, int failure_status);

/** A JSON string of bytes that may hold NULs or invalid UTF-8 (replaced by U+FFFD). */
json_t *tool_json_bytes(const char *data, size_t len);
/* A NUL-terminated string as JSON text (invalid UTF-8 repaired), or null for NULL. */
json_t *tool_json_text(const char *s);

/** Non-zero when data is valid UTF-8. */
int tool_utf8_valid(const char *data, size_t len);

/** Format ms since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into buf, or "-" for 0. */
const char *tool_format_time(char *buf, size_t size, int64_t ms);

/** A JSON string of tool_format_time, or null for 0. */
json_t *tool_json_time(int64_t ms);

/** Write all of data to fd; returns 0 or -1 (errno set). */


/** Read all of fd into a malloc'ed buffer (NUL-terminated, not counted). Returns 0 or -1 (errno set). */
int tool_read_all(char **out, size_t *len_out, int fd);

/** The JSON object {"stdout","stderr","exit_code","duration_ms"} of a result. */
json_t *tool_json_result(const csdk_result *result);

/** The JSON object of a sandbox's information. */
json_t *tool_json_info(const csdk_sandbox_info *info);

#endif /* CSDK_TOOLS_CLI_H */
