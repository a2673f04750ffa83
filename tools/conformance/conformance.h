/*
 * The conformance kit: ComputeSDK's provider test suite, run against a csdk
 * plugin through the public API of libcsdk only (csdk/csdk.h).
 *
 * A case is a function that receives a fresh sandbox of the provider under
 * test and returns 0 when every check passed, or -1 after recording the
 * first failed check (what was expected, what came back) in its context.
 * The runner creates the sandbox before each case and destroys it after,
 * and runs the case in a child process so that a hanging or crashing plugin
 * fails that case instead of the whole run.
 */
#ifndef CSDK_TOOLS_CONFORMANCE_H
#define CSDK_TOOLS_CONFORMANCE_H

#include <stddef.h>
#include <stdint.h>

#include <csdk/csdk.h>

/** Per-case state handed to a case function. */
typedef struct tool_conf_ctx {
	csdk_provider *provider;
	const char *provider_name;
	uint64_t caps;
	csdk_sandbox *sandbox;       /**< fresh for this case; the runner destroys it */
	char detail[1024];           /**< the failed check, one line */
	int report_fd;               /**< where tracked resources are announced, or -1 */
	size_t n_tracked;
	struct tool_conf_tracked *tracked;
} tool_conf_ctx;

/** A case function: 0 passed, -1 failed (ctx->detail says why). */
typedef int (*tool_conf_fn)(tool_conf_ctx *t);

/** One entry of the case table. */
typedef struct tool_conf_case {
	const char *name;
	uint64_t needs;              /**< CSDK_CAP_* bits the provider must declare */
	uint64_t absent;             /**< CSDK_CAP_* bits the provider must NOT declare */
	tool_conf_fn fn;
	const char *summary;         /**< one line, for --list and the manual */
} tool_conf_case;

/** The case table, in run order. */
extern const tool_conf_case tool_conf_cases[];
extern const size_t tool_conf_n_cases;

/** The name of one CSDK_CAP_* bit ("exec", "filesystem", ...). Static. */
const char *tool_conf_cap_name(uint64_t cap);

/* ------------------------------------------------------------ result model */

typedef enum tool_conf_outcome {
	TOOL_CONF_PASS = 0,
	TOOL_CONF_FAIL = 1,
	TOOL_CONF_SKIP = 2
} tool_conf_outcome;

/** "pass", "fail" or "skip". */
const char *tool_conf_outcome_name(tool_conf_outcome outcome);

typedef struct tool_conf_result {
	const tool_conf_case *c;
	tool_conf_outcome outcome;
	int64_t duration_ms;
	char *detail;                /**< one line, or NULL */
} tool_conf_result;

/** How the runner runs cases. */
typedef struct tool_conf_options {
	const char *provider_name;
	const struct csdk_kv *config;
	size_t n_config;
	int64_t timeout_ms;          /**< per case, sandbox creation and removal included */
	int in_process;              /**< run cases in this process (no time bound, no crash isolation) */
	csdk_registry *registry;     /**< where the provider is found (--path), or NULL for the default */
} tool_conf_options;

/**
 * When c cannot run on a provider with capabilities caps, write why (one
 * line: "needs capability 'filesystem'") to buf and return 1; else 0.
 */
int tool_conf_skip_reason(char *buf, size_t size, const tool_conf_case *c, uint64_t caps);

/**
 * Run one case against provider (opened by the caller from opts) and fill
 * out (out->detail is owned: free it with free()). Returns 0, or CSDK_ENOMEM
 * or CSDK_EIO when the runner itself could not work.
 */
int tool_conf_run_case(tool_conf_result *out, csdk_provider *provider,
			const tool_conf_case *c, const tool_conf_options *opts);

/** The `test` subcommand of csdk-plugins: argv[0] is the subcommand's name. */
int tool_conformance_main(int argc, char **argv);

/**
 * Check the value of --path (shared with the csdk-plugins views): every
 * directory must exist and be a directory, and there must be one. Returns 0,
 * or prints one error and returns 2 (an empty value, a usage error) or 1.
 */
int tool_check_path_option(const char *dirs);

/* ------------------------------------------------- helpers for case bodies */

/** Record a failed check (printf format) and return -1. */
int tool_conf_fail(tool_conf_ctx *t, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

/** Record that a call returned the error rc (with the last error's message) and return -1. */
int tool_conf_call_failed(tool_conf_ctx *t, const char *what, int rc);

/** Write data as a quoted, escaped, shortened one-line string into buf. */
const char *tool_conf_quote(char *buf, size_t size, const void *data, size_t len);

/** Milliseconds on CLOCK_MONOTONIC. */
double tool_conf_now_ms(void);

/**
 * Announce a resource the case created so that it is removed even when the
 * case process dies: kind 'S' sandbox, 'T' template, 'P' snapshot.
 */
int tool_conf_track(tool_conf_ctx *t, char kind, const char *id);

/** Remove every tracked resource of ctx (errors ignored) and forget them. */
void tool_conf_cleanup(tool_conf_ctx *t);

/** Forget the tracked resources of ctx without removing them. */
void tool_conf_forget(tool_conf_ctx *t);

/** Create a sandbox (opts may be NULL) and track it. */
int tool_conf_create(tool_conf_ctx *t, csdk_sandbox **out, const struct csdk_create_options *opts);

/** Run command; a failing call fails the check. */
int tool_conf_run(tool_conf_ctx *t, csdk_result **out, csdk_sandbox *sandbox,
		   const char *command, const csdk_command_options *opts);

/** The result's exit code is code; what names the command. */
int tool_conf_expect_exit(tool_conf_ctx *t, const char *what, const csdk_result *res, int code);

/** got (len bytes) equals expected exactly. */
int tool_conf_expect_bytes(tool_conf_ctx *t, const char *what, const char *expected,
			    size_t expected_len, const char *got, size_t len);

/** got equals the string expected exactly. */
int tool_conf_expect_str(tool_conf_ctx *t, const char *what, const char *expected,
			  const char *got, size_t len);

/** got (len bytes) contains needle. */
int tool_conf_expect_contains(tool_conf_ctx *t, const char *what, const char *needle,
			       const char *got, size_t len);

/** A call failed with code and exactly message. */
int tool_conf_expect_error(tool_conf_ctx *t, const char *what, int rc, int code, const char *message);

/** Evaluate a csdk call; on failure record it and leave the case. */
#define TOOL_CONF_TRY(t, what, call)                                         \
	do {                                                                  \
		int tool_conf_rc_ = (call);                                  \
		if (tool_conf_rc_ < 0)                                       \
			return tool_conf_call_failed((t), (what), tool_conf_rc_); \
	} while (0)

/** Evaluate a check that returns 0 or -1; on -1 leave the case. */
#define TOOL_CONF_CHECK(expr)                                                \
	do {                                                                  \
		if ((expr) < 0)                                               \
			return -1;                                            \
	} while (0)

/* The case bodies, by group (cases_*.c). */
int tool_conf_case_create(tool_conf_ctx *t);
int tool_conf_case_info(tool_conf_ctx *t);
int tool_conf_case_url(tool_conf_ctx *t);
int tool_conf_case_crud(tool_conf_ctx *t);
int tool_conf_case_named(tool_conf_ctx *t);
int tool_conf_case_extend_timeout(tool_conf_ctx *t);
int tool_conf_case_template(tool_conf_ctx *t);
int tool_conf_case_snapshot(tool_conf_ctx *t);

int tool_conf_case_echo(tool_conf_ctx *t);
int tool_conf_case_background(tool_conf_ctx *t);
int tool_conf_case_not_found(tool_conf_ctx *t);
int tool_conf_case_streams(tool_conf_ctx *t);
int tool_conf_case_streaming(tool_conf_ctx *t);
int tool_conf_case_timeout(tool_conf_ctx *t);
int tool_conf_case_quoting(tool_conf_ctx *t);
int tool_conf_case_env(tool_conf_ctx *t);
int tool_conf_case_cwd(tool_conf_ctx *t);
int tool_conf_case_exit_codes(tool_conf_ctx *t);
int tool_conf_case_large_output(tool_conf_ctx *t);
int tool_conf_case_concurrent(tool_conf_ctx *t);

int tool_conf_case_node_hello(tool_conf_ctx *t);
int tool_conf_case_node_error(tool_conf_ctx *t);
int tool_conf_case_node_syntax(tool_conf_ctx *t);
int tool_conf_case_python_version(tool_conf_ctx *t);
int tool_conf_case_python_json(tool_conf_ctx *t);
int tool_conf_case_python_error(tool_conf_ctx *t);
int tool_conf_case_python_syntax(tool_conf_ctx *t);
int tool_conf_case_detect_runtime(tool_conf_ctx *t);

int tool_conf_case_fs_write_read(tool_conf_ctx *t);
int tool_conf_case_fs_exists(tool_conf_ctx *t);
int tool_conf_case_fs_readdir(tool_conf_ctx *t);
int tool_conf_case_fs_remove(tool_conf_ctx *t);
int tool_conf_case_fs_read_missing(tool_conf_ctx *t);
int tool_conf_case_fs_binary(tool_conf_ctx *t);
int tool_conf_case_fs_odd_paths(tool_conf_ctx *t);

int tool_conf_case_unsupported_fs(tool_conf_ctx *t);
int tool_conf_case_unsupported_named(tool_conf_ctx *t);
int tool_conf_case_unsupported_templates(tool_conf_ctx *t);
int tool_conf_case_unsupported_snapshots(tool_conf_ctx *t);

#endif /* CSDK_TOOLS_CONFORMANCE_H */
