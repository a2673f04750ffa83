#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "shellquote.h"

enum {
	OPT_CWD = TOOL_OPT_FIRST_FREE,
	OPT_COMMAND_TIMEOUT,
	OPT_BACKGROUND,
	OPT_ENV,
	OPT_CODE_RUNTIME
};

/* Live output of a command: copied byte for byte to our own descriptors. */
struct stream {
	int write_errno;
	volatile sig_atomic_t *stop;
};

static int forward(int fd, const char *data, size_t len, struct stream *st)
{
	if (st->stop && *st->stop)
		return 1;
	if (st->write_errno)
		return 1;
	if (csdku_write_all(fd, data, len) < 0) {
		st->write_errno = errno;
		return 1;
	}
	return 0;
}

static int on_stdout(const char *data, size_t len, void *userdata)
{
	return forward(tool_out_fd, data, len, userdata);
}

static int on_stderr(const char *data, size_t len, void *userdata)
{
	return forward(STDERR_FILENO, data, len, userdata);
}

/*
 * One word is a shell string used as it is (pipes, redirections, $VARS work);
 * several words are an argument vector, each quoted, so that
 * `run -- python3 -c 'print(42)'` runs what it says.
 */
static char *join_words(char **words, size_t n)
{
	char *cmd = NULL;
	size_t i;

	if (n == 1)
		return strdup(words[0]);
	for (i = 0; i < n; i++) {
		if (csdku_shell_append(&cmd, words[i])) {
			free(cmd);
			return NULL;
		}
	}
	return cmd;
}

/*
 * Run command in sandbox, streaming its output (or printing the JSON result
 * with --json). Returns the command's exit status, or 125 when csdk failed.
 */
static int syntax_error(struct tool_cli *cli);

/* Code's output is printed once it ended: a syntax error replaces it with the interpreter's message. */
static int print_result(const csdk_result *result)
{
	if (csdku_write_all(tool_out_fd, result->stdout_buf, result->stdout_len) < 0 ||
	    csdku_write_all(STDERR_FILENO, result->stderr_buf, result->stderr_len) < 0) {
		tool_error("cannot write the code's output (%s); check the disk or the pipe it goes to",
			    strerror(errno));
		return TOOL_EXIT_CSDK;
	}
	return result->exit_code;
}

static int run_streamed(struct tool_cli *cli, csdk_sandbox *sandbox, const char *command,
			csdk_command_options *opts, volatile sig_atomic_t *stop)
{
	struct stream st = { 0, stop };
	csdk_result *result = NULL;
	int rc, status, code = opts->runtime != NULL;

	if (!cli->json && !opts->background && !code) {
		opts->on_stdout = on_stdout;
		opts->on_stderr = on_stderr;
		opts->userdata = &st;
		opts->flags |= CSDK_COMMAND_STREAM_ONLY;
	}
	if (code)
		rc = csdk_sandbox_run_code(&result, sandbox, command, opts);
	else
		rc = csdk_sandbox_run_command(&result, sandbox, command, opts);
	if (code && rc == CSDK_ESYNTAX)
		return syntax_error(cli);
	if (st.write_errno) {
		tool_error("cannot write the command's output (%s); check the disk or the pipe it goes to",
			    strerror(st.write_errno));
		csdk_result_free(result);
		return TOOL_EXIT_CSDK;
	}
	if (rc < 0) {
		if (!(stop && *stop))
			tool_report(rc, code ? "running the code" : "running the command");
		return TOOL_EXIT_CSDK;
	}
	if (cli->json) {
		status = tool_print_json(tool_json_result(result), TOOL_EXIT_CSDK);
		if (!status)
			status = result->exit_code;
	} else {
		status = code ? print_result(result) : result->exit_code;
	}
	csdk_result_free(result);
	return status;
}

/* ------------------------------------------------------------------- exec */

struct exec_args {
	csdk_command_options opts;
	struct csdk_kv *envs;
	size_t n_envs;
	const char *runtime;
};

/* The options exec and run-code share. */
#define EXEC_LONGOPTS \
	{ "cwd", required_argument, NULL, OPT_CWD }, \
	{ "env", required_argument, NULL, OPT_ENV }, \
	{ "timeout", required_argument, NULL, OPT_COMMAND_TIMEOUT }

/* Usage errors of the commands that exit with the command's own status are
 * csdk's failures (125), so that they cannot pass for the command's 2. */
static int parse_status(int status)
{
	if (status < 0)
		return 0;
	return status == TOOL_EXIT_USAGE ? TOOL_EXIT_CSDK : status;
}

static int exec_option(struct tool_cli *cli, void *state, int opt, const char *arg)
{
	struct exec_args *args = state;

	switch (opt) {
	case OPT_CWD:
		args->opts.cwd = arg;
		return 0;
	case OPT_ENV:
		return tool_parse_kv(&args->envs, &args->n_envs, cli, "--env", (char *)arg);
	case OPT_COMMAND_TIMEOUT:
		return tool_parse_ms(&args->opts.timeout_ms, cli, "timeout", arg);
	case OPT_BACKGROUND:
		args->opts.background = 1;
		return 0;
	case OPT_CODE_RUNTIME:
		if (strcmp(arg, "python") != 0 && strcmp(arg, "node") != 0)
			return tool_cli_usage(cli, "invalid runtime '%s': give python or node", arg);
		args->runtime = arg;
		return 0;
	default:
		return TOOL_EXIT_USAGE;
	}
}

/* Streams text (a command, or code with args->opts.runtime set) run in sandbox id. */
static int exec_in(struct tool_cli *cli, const char *id, const char *text, struct exec_args *args)
{
	csdk_sandbox *sandbox = NULL;
	int status;

	args->opts.envs = args->envs;
	args->opts.n_envs = args->n_envs;
	if (tool_cli_sandbox(&sandbox, cli, id) < 0)
		status = TOOL_EXIT_CSDK;
	else
		status = run_streamed(cli, sandbox, text, &args->opts, NULL);
	csdk_sandbox_free(sandbox);
	return status;
}

static int run_exec(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		EXEC_LONGOPTS,
		{ "background", no_argument, NULL, OPT_BACKGROUND },
		{ NULL, 0, NULL, 0 }
	};
	static const csdk_command_options init = CSDK_COMMAND_OPTIONS_INIT;
	struct exec_args args = { init, NULL, 0, NULL };
	char **pos, *command = NULL;
	size_t n_pos;
	int status;

	status = tool_parse(cli, argc, argv, longopts, 1, exec_option, &args, &pos, &n_pos);
	if (!status && n_pos < 1)
		status = tool_cli_usage(cli, "missing a sandbox ID");
	else if (!status && n_pos < 2)
		status = tool_cli_usage(cli, "missing the command to run after the sandbox ID");
	if (status) {
		free(args.envs);
		return parse_status(status);
	}
	command = join_words(pos + 1, n_pos - 1);
	if (!command) {
		tool_error("out of memory while building the command");
		status = TOOL_EXIT_CSDK;
	} else {
		status = exec_in(cli, pos[0], command, &args);
	}
	free(command);
	free(args.envs);
	return status;
}

const struct tool_command tool_cmd_exec = {
	"exec", run_exec,
	"exec ID [--cwd DIR] [--env K=V]... [--timeout MS] [--background] [--] WORDS...",
	"Run a command with /bin/sh -c in the sandbox: one WORD is a shell string used as "
	"it is ('ls | wc -l'); several WORDS are a command and its arguments, each quoted "
	"(python3 -c 'print(42)'). Output is "
	"streamed as it comes; csdk exits with the command's status (124 timed out, "
	"127 not found), or 125 when csdk itself fails.",
	"  --cwd DIR                working directory of the command\n"
	"  --env KEY=VALUE          environment variable of the command (repeatable)\n"
	"  --timeout MS             kill the command after MS milliseconds (exit status 124)\n"
	"  --background             start the command and return at once (exit status 0)\n",
};

/* --------------------------------------------------------------- run-code */

static int syntax_error(struct tool_cli *cli)
{
	const char *message = csdk_error_last()->message;
	size_t len = strlen(message);
	json_t *root;

	if (!cli->json) {
		fflush(TOOL_STDOUT);
		fputs(message, stderr);
		if (len == 0 || message[len - 1] != '\n')
			fputc('\n', stderr);
		return 1;
	}
	root = json_pack("{s:s,s:s,s:i,s:i,s:b}", "stdout", "", "stderr", message, "exit_code", 1,
			 "duration_ms", 0, "syntax_error", 1);
	return tool_print_json(root, TOOL_EXIT_CSDK) ? TOOL_EXIT_CSDK : 1;
}

static int run_run_code(struct tool_cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		TOOL_COMMON_LONGOPTS,
		{ "runtime", required_argument, NULL, OPT_CODE_RUNTIME },
		EXEC_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	static const csdk_command_options init = CSDK_COMMAND_OPTIONS_INIT;
	struct exec_args args = { init, NULL, 0, NULL };
	char **pos, *stdin_code = NULL;
	const char *code;
	size_t n_pos, len;
	int status;

	status = tool_parse_operands(cli, argc, argv, longopts, exec_option, &args, 2, 2,
				      "a sandbox ID and CODE (or - to read it from standard input)", &pos, &n_pos);
	if (status) {
		free(args.envs);
		return parse_status(status);
	}
	code = pos[1];
	if (strcmp(code, "-") == 0) {
		if (tool_read_all(&stdin_code, &len, STDIN_FILENO) < 0) {
			tool_error("cannot read the code from standard input (%s)", strerror(errno));
			free(args.envs);
			return TOOL_EXIT_CSDK;
		}
		code = stdin_code;
	}
	args.opts.runtime = args.runtime ? args.runtime : csdk_detect_runtime(code);
	status = exec_in(cli, pos[0], code, &args);
	free(stdin_code);
	free(args.envs);
	return status;
}

const struct tool_command tool_cmd_run_code = {
	"run-code", run_run_code,
	"run-code ID [--runtime python|node] [--cwd DIR] [--env K=V]... [--timeout MS] [--] CODE|-",
	"Run CODE (or standard input, for -) with the sandbox's python or node. csdk "
	"exits with the code's status; code that does not compile prints the "
	"interpreter's message on standard error and exits 1; 125 when csdk itself fails.",
	"  --runtime python|node    interpreter (default: detected from the code)\n"
	"  --cwd DIR                working directory of the code\n"
	"  --env KEY=VALUE          environment variable of the code (repeatable)\n"
	"  --timeout MS             kill the code after MS milliseconds (exit status 124)\n",
};

/* -------------------------------------------------------------------- run */

/*
 * An interrupted run must still destroy its sandbox. The handler only
 * records the signal and wakes a watcher thread. The command may be silent
 * (so no output callback can notice the signal) and a provider that is not
 * thread-safe serialises calls on one context, so the watcher destroys the
 * sandbox through a second provider context, opened only then (so that a
 * plain run initialises the plugin once), and then ends the process,
 * which also takes down what the provider ties to our lifetime. Until the
 * sandbox exists, the main thread sees the flag after create instead.
 */
static volatile sig_atomic_t run_signal;
static int wake_pipe[2] = { -1, -1 };

struct watcher {
	pthread_mutex_t lock;
	const char *name;           /* the provider, for the second context */
	csdk_provider_options popts;
	char *id;                   /* the sandbox, once created */
};

static const char *signal_name(int sig)
{
	switch (sig) {
	case SIGINT:
		return "SIGINT";
	case SIGTERM:
		return "SIGTERM";
	case SIGHUP:
		return "SIGHUP";
	default:
		return "a signal";
	}
}

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char byte = (unsigned char)sig;

	run_signal = sig;
	if (write(wake_pipe[1], &byte, 1) < 0) {
		/* nothing more can be done in a handler */
	}
	errno = saved;
}

static void *watch(void *arg)
{
	struct watcher *w = arg;
	unsigned char byte;
	int seen = 0, rc;

	for (;;) {
		ssize_t n = read(wake_pipe[0], &byte, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || byte == 0)
			return NULL;
		if (seen++)
			_exit(128 + byte);
		pthread_mutex_lock(&w->lock);
		if (w->id) {
			csdk_provider *provider = NULL;

			rc = csdk_provider_open(&provider, w->name, &w->popts);
			if (rc == 0)
				rc = csdk_provider_destroy(provider, w->id);
			if (rc < 0)
				tool_report(rc, "destroying the sandbox");
			else
				tool_error("run: interrupted by %s; sandbox '%s' destroyed", signal_name(byte), w->id);
			_exit(rc < 0 ? TOOL_EXIT_CSDK : 128 + byte);
		}
		pthread_mutex_unlock(&w->lock);
	}
}

static int run_option(struct tool_cli *cli, void *state, int opt, const char *arg)
{
	int status = tool_create_option(state, cli, opt, arg);

	return status < 0 ? TOOL_EXIT_USAGE : status;
}

static int run_in_new_sandbox(struct tool_cli *cli, csdk_provider *provider, struct watcher *w,
			      const struct csdk_create_options *create, const char *command)
{
	csdk_command_options opts = CSDK_COMMAND_OPTIONS_INIT;
	csdk_sandbox *sandbox = NULL;
	char *id;
	int status, rc;

	rc = csdk_sandbox_create(&sandbox, provider, create);
	if (rc < 0) {
		tool_report(rc, "creating a sandbox");
		return TOOL_EXIT_CSDK;
	}
	id = strdup(csdk_sandbox_id(sandbox));
	pthread_mutex_lock(&w->lock);
	w->id = id;
	pthread_mutex_unlock(&w->lock);

	status = run_signal ? 0 : run_streamed(cli, sandbox, command, &opts, &run_signal);
	rc = csdk_sandbox_destroy(sandbox);
	if (rc < 0) {
		tool_report(rc, "destroying the sandbox");
		status = TOOL_EXIT_CSDK;
	} else if (run_signal) {
		tool_error("run: interrupted by %s; sandbox '%s' destroyed", signal_name(run_signal),
			    csdk_sandbox_id(sandbox));
	}
	csdk_sandbox_free(sandbox);
	return status;
}

static const int guarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
#define N_GUARDED (sizeof(guarded_signals) / sizeof(guarded_signals[0]))

/* What stands guard while a run's sandbox lives: the watcher thread and our signal handlers. */
struct guard {
	pthread_t thread;
	int have_thread;
	struct sigaction old[N_GUARDED];
};

static int guard_start(struct guard *g, struct watcher *w)
{
	struct sigaction sa;
	sigset_t all, saved;
	size_t i;

	if (pipe2(wake_pipe, O_CLOEXEC) < 0) {
		tool_error("cannot create a pipe for signal handling (%s)", strerror(errno));
		return -1;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	g->have_thread = pthread_create(&g->thread, NULL, watch, w) == 0;
	pthread_sigmask(SIG_SETMASK, &saved, NULL);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (i = 0; i < N_GUARDED; i++) {
		/* A closed output pipe must not kill us before the sandbox is destroyed. */
		sa.sa_handler = guarded_signals[i] == SIGPIPE ? SIG_IGN : on_signal;
		sigaction(guarded_signals[i], &sa, &g->old[i]);
	}
	return 0;
}

static void guard_stop(struct guard *g)
{
	unsigned char stop_byte = 0;
	size_t i;

	if (g->have_thread) {
		if (write(wake_pipe[1], &stop_byte, 1) == 1)
			pthread_join(g->thread, NULL);
		else
			pthread_detach(g->thread);
	}
	for (i = 0; i < N_GUARDED; i++)
		sigaction(guarded_signals[i], &g->old[i], NULL);
	close(wake_pipe[0]);
	close(wake_pipe[1]);
}

/* Runs command in a new sandbox of the provider, under guard; the exit status. */
static int run_guarded(struct tool_cli *cli, const csdk_create_options *opts, const char *command)
{
	struct watcher w = { PTHREAD_MUTEX_INITIALIZER, NULL, CSDK_PROVIDER_OPTIONS_INIT, NULL };
	csdk_provider *provider;
	struct guard g;
	int status;

	if (tool_cli_provider(&provider, cli) < 0)
		return TOOL_EXIT_CSDK;
	w.name = cli->provider_name;
	w.popts.config = cli->config;
	w.popts.n_config = cli->n_config;
	w.popts.registry = tool_cli_registry(cli);
	if (guard_start(&g, &w) < 0)
		return TOOL_EXIT_CSDK;
	status = run_in_new_sandbox(cli, provider, &w, opts, command);
	guard_stop(&g);
	if (run_signal)
		status = 128 + run_signal;
	free(w.id);
	return status;
}

static int run_run(struct tool_cli *cli, int argc, char **argv)
{
	struct tool_create_args args;
	char **pos, *command;
	size_t n_pos;
	int status;

	tool_create_args_init(&args);
	status = tool_parse(cli, argc, argv, tool_create_named_longopts, 0, run_option, &args, &pos, &n_pos);
	if (!status && n_pos < 1)
		status = tool_cli_usage(cli, "missing the command to run");
	if (status) {
		tool_create_args_release(&args);
		return parse_status(status);
	}
	tool_create_args_finish(&args);
	command = join_words(pos, n_pos);
	if (!command) {
		tool_error("out of memory while building the command");
		status = TOOL_EXIT_CSDK;
	} else {
		status = run_guarded(cli, &args.opts, command);
	}
	free(command);
	tool_create_args_release(&args);
	return status;
}

const struct tool_command tool_cmd_run = {
	"run", run_run,
	"run [--name N] [--namespace NS] " TOOL_CREATE_SYNOPSIS " [--] WORDS...",
	"Create a sandbox, run WORDS in it as exec does, and destroy it, also when the "
	"command fails or csdk is interrupted (SIGINT, SIGTERM, SIGHUP: exit status 128+N).",
	TOOL_NAME_OPTIONS_HELP
	TOOL_CREATE_OPTIONS_HELP,
};
