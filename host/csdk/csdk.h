/*
 * csdk/csdk.h - libcsdk, the csdk plugin host: the application API.
 *
 * libcsdk finds provider plugins (csdk-<name>.so) on a search path, validates
 * them against the plugin ABI (csdk/plugin.h, for plugin authors only) and
 * exposes them through one uniform API. Nothing here hands out a plugin's
 * descriptor, method table or native handles: every call into a plugin goes
 * through the host, its checks and its call lock.
 *
 * Conventions (as in libgit2 and jansson):
 * - Functions that can fail return int: 0 on success, a negative CSDK_E*
 *   code on failure. The failure is also recorded as the calling thread's
 *   last error (csdk_error_last), with a one-line message.
 * - Outputs come first and are named out. Results returned through **out
 *   are owned by the caller and freed with the matching NULL-safe _free.
 * - Getters borrow: what they return lives as long as the object asked.
 * - Options structures begin with struct_size, set by their _INIT macro to
 *   the size the caller was compiled with. The library accepts every size
 *   from the 2.0 one up to its own, treating fields the caller's size does
 *   not cover as zero (unset); a larger size (a caller built against a
 *   newer libcsdk) fails with CSDK_EINVAL.
 *
 * Threads: see docs/threading.md. The registry is guarded by one mutex;
 * records it hands out are immutable and stay valid until the registry is
 * freed.
 */
#ifndef CSDK_CSDK_H
#define CSDK_CSDK_H

#include <stddef.h>
#include <stdint.h>

#include <csdk/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks the library's exported functions: libcsdk is built with hidden visibility and exports these only. */
#if defined(__GNUC__)
#define CSDK_API __attribute__((visibility("default")))
#else
#define CSDK_API
#endif

/* ---------------------------------------------------------------- library */

/** The library's version string, e.g. "0.1.0". Static; never NULL. */
CSDK_API const char *csdk_version(void);

/** The plugin ABI version this library speaks (CSDK_ABI_VERSION when built). */
CSDK_API uint32_t csdk_abi_version(void);

/* ----------------------------------------------------------------- errors */

/** The last error of the calling thread. */
typedef struct csdk_error {
	int code;             /**< a CSDK_E* code, or 0 when there was none */
	const char *message;  /**< one line (a line break in a value is written \n; a plugin's message ends at its first one); only the aggregated failures of csdk_compute_* add one "- NAME: message" line per provider; never NULL */
	const char *provider; /**< the provider or plugin concerned, or NULL */
} csdk_error;

/**
 * The calling thread's last error. Never NULL; code is 0 and message ""
 * when no error was recorded. Borrowed: valid until the thread's next call
 * into libcsdk.
 */
CSDK_API const csdk_error *csdk_error_last(void);

/** Forget the calling thread's last error. */
CSDK_API void csdk_error_clear(void);

/** A short static description of a CSDK_E* code ("not found", ...). Never NULL. */
CSDK_API const char *csdk_strerror(int code);

/* ---------------------------------------------------------------- logging */

/** Receives log messages from libcsdk and from plugins (provider may be NULL). */
typedef void (*csdk_log_fn)(enum csdk_log_level level, const char *provider, const char *message, void *userdata);

/**
 * Install a log handler for the whole process (NULL restores the default).
 * The default writes warnings and errors to stderr as
 * "csdk: PROVIDER: warning: MESSAGE", and debug/info messages only when
 * CSDK_DEBUG names the provider or is "all". Values of configuration keys
 * marked secret are replaced by "***" before any handler sees a message.
 * The handler may be called from any thread, concurrently.
 */
CSDK_API void csdk_set_log_handler(csdk_log_fn fn, void *userdata);

/* --------------------------------------------------------------- registry */

/** A set of plugins found on a search path. */
typedef struct csdk_registry csdk_registry;

/** Where a search path entry came from. */
typedef enum csdk_path_origin {
	CSDK_PATH_OPTION = 1,     /**< csdk_registry_options.search_path */
	CSDK_PATH_ENV = 2,        /**< CSDK_PLUGIN_PATH */
	CSDK_PATH_USER = 3,       /**< $XDG_DATA_HOME/csdk-2/plugins (or ~/.local/share/...) */
	CSDK_PATH_SYSTEM = 4,     /**< the compiled-in system directory */
	CSDK_PATH_SYSTEM_ENV = 5  /**< CSDK_PLUGIN_SYSTEM_PATH */
} csdk_path_origin;

/** One entry of the search path. */
typedef struct csdk_path_entry {
	const char *dir;
	csdk_path_origin origin;
	int exists;               /**< non-zero if the directory exists */
} csdk_path_entry;

/** Registry flags. */
#define CSDK_REGISTRY_ISOLATE 0x1u /**< validate each new file in a child process first, so a plugin that crashes while loading is rejected instead of crashing the caller */
#define CSDK_REGISTRY_NO_ENV 0x2u  /**< ignore CSDK_PLUGIN_PATH, CSDK_PLUGIN_SYSTEM_PATH, CSDK_PLUGINS and CSDK_PLUGINS_DISABLE */

/** Options for csdk_registry_new. */
typedef struct csdk_registry_options {
	uint32_t struct_size;      /**< sizeof(csdk_registry_options) as compiled: use CSDK_REGISTRY_OPTIONS_INIT */
	unsigned int flags;        /**< CSDK_REGISTRY_* */
	/** Colon-separated directories searched instead of the default path; NULL for the default. */
	const char *search_path;
	/** Comma-separated name globs: only matching plugins load (default: CSDK_PLUGINS, else all). */
	const char *select;
	/** Comma-separated name globs: matching plugins are skipped (default: CSDK_PLUGINS_DISABLE). */
	const char *disable;
} csdk_registry_options;

#define CSDK_REGISTRY_OPTIONS_INIT { sizeof(csdk_registry_options), 0, NULL, NULL, NULL }

/** One configuration key a plugin declares (facts; host copies). */
typedef struct csdk_config_key_info {
	const char *key;
	const char *env;           /**< environment variable read when the key is unset, or NULL */
	uint32_t flags;            /**< CSDK_CONFIG_REQUIRED, CSDK_CONFIG_SECRET */
	uint32_t type;             /**< enum csdk_config_type */
	const char *help;          /**< one line, or NULL */
	int64_t min;               /**< bounds of INT, SIZE and DURATION keys */
	int64_t max;
} csdk_config_key_info;

/** A plugin that passed validation: facts only. Immutable; borrowed from its registry. */
typedef struct csdk_plugin_info {
	const char *name;
	const char *version;
	const char *description;
	const char *license;
	const char *path;          /**< absolute path of the file */
	uint32_t abi_version;      /**< as declared by the plugin */
	uint32_t modes;            /**< CSDK_MODE_* bits */
	uint32_t default_mode;
	uint64_t capabilities;     /**< CSDK_CAP_* bits known to this host */
	size_t n_config_keys;
	const csdk_config_key_info *config_keys;
	size_t n_methods;
	const char *const *methods;                /**< names of the methods the plugin implements, in table order ("init", "create", ...) */
	size_t n_warnings;
	const char *const *warnings;               /**< one-line warnings, each naming the file */
	const char *origin_dir;                    /**< search path directory it was found in, or NULL */
} csdk_plugin_info;

/** A file that was rejected, and why. */
typedef struct csdk_rejection {
	const char *path;          /**< absolute path of the file */
	const char *name;          /**< the plugin's name when known, else NULL */
	int code;                  /**< CSDK_EPLUGIN, CSDK_EABI, CSDK_ECRASHED, CSDK_EIO, or CSDK_ETIMEOUT (an isolated probe that did not finish) */
	int signal;                /**< with CSDK_ECRASHED: the signal that ended the probe */
	int shadowed;              /**< non-zero when rejected as a duplicate name */
	const char *reason;        /**< one line: "PATH: fact; fix" */
} csdk_rejection;

/**
 * Create a registry over a search path. Nothing is loaded yet: opening a
 * provider (csdk_registry_find, csdk_provider_open) looks at the first
 * csdk-NAME.so of the path only, and the listing getters (count, at,
 * rejected_*, warning_*) scan the whole path on their first call.
 *
 * Scanning rejects bad files (kept, with reasons) but never fails because of
 * them; it fails only when out of memory. opts may be NULL for defaults.
 * With CSDK_REGISTRY_ISOLATE, verdicts are kept in the verdict cache
 * (docs/loader.md; CSDK_PLUGIN_CACHE=0 disables it). Thread-safe.
 */
CSDK_API int csdk_registry_new(csdk_registry **out, const csdk_registry_options *opts);

/**
 * Scan the search path again: files added since the last scan are loaded
 * and validated, files already loaded stay as they are (plugins are never
 * unloaded), rejections are recomputed. Thread-safe; records handed out
 * before stay valid.
 */
CSDK_API int csdk_registry_scan(csdk_registry *reg);

/** Free a registry (NULL-safe). Loaded plugins stay mapped: they are never unloaded. */
CSDK_API void csdk_registry_free(csdk_registry *reg);

/** Number of valid plugins, sorted by name. */
CSDK_API size_t csdk_registry_count(const csdk_registry *reg);

/** The i-th valid plugin, or NULL when i is out of range. */
CSDK_API const csdk_plugin_info *csdk_registry_at(const csdk_registry *reg, size_t i);

/**
 * The valid plugin of that name, or NULL (no error is recorded). When it is
 * not known yet, only the first csdk-NAME.so of the search path is loaded
 * (a rejected one is not listed: csdk_provider_open reports why).
 */
CSDK_API const csdk_plugin_info *csdk_registry_find(const csdk_registry *reg, const char *name);

/** Number of rejected files, in scan order. */
CSDK_API size_t csdk_registry_rejected_count(const csdk_registry *reg);

/** The i-th rejection, or NULL when i is out of range. */
CSDK_API const csdk_rejection *csdk_registry_rejected_at(const csdk_registry *reg, size_t i);

/** Number of search path entries, in search order (including missing directories). */
CSDK_API size_t csdk_registry_path_count(const csdk_registry *reg);

/** The i-th search path entry, or NULL. */
CSDK_API const csdk_path_entry *csdk_registry_path_at(const csdk_registry *reg, size_t i);

/** Warnings about the search path itself (e.g. overrides ignored under elevated privileges). */
CSDK_API size_t csdk_registry_warning_count(const csdk_registry *reg);
CSDK_API const char *csdk_registry_warning_at(const csdk_registry *reg, size_t i);

/**
 * Load and validate one file outside the search path (or inside it again).
 *
 * On success *out borrows the record from the registry (a plugin already
 * loaded from the same file is returned as is). On rejection returns
 * CSDK_EPLUGIN (or CSDK_ECRASHED / CSDK_ETIMEOUT under
 * CSDK_REGISTRY_ISOLATE) with the reason as the last error's message. The name-matches-file rule applies;
 * the duplicate rule does not: a plugin loaded by file answers
 * csdk_registry_find for its name, unless one of that name was loaded first.
 */
CSDK_API int csdk_registry_load_file(csdk_registry *reg, const char *path, const csdk_plugin_info **out);

/* -------------------------------------------------------------- plugin lint */

/** One finding of csdk_plugin_lint. */
typedef struct csdk_lint_check {
	const char *check;         /**< "elf", "exports", "undefined", "descriptor", "stdout" */
	int ok;
	const char *message;       /**< one line; for failures "PATH: fact; fix" */
} csdk_lint_check;

/** The findings of csdk_plugin_lint. */
typedef struct csdk_lint {
	size_t n_checks;
	csdk_lint_check *checks;
	int ok;                    /**< non-zero when every check passed */
} csdk_lint;

/**
 * Lint a plugin file for its author: right ELF class and machine, only
 * csdk_plugin_entry exported, no undefined symbols when bound immediately,
 * a valid descriptor, and nothing written to standard output while loading. When the ELF check fails, the checks that need a
 * loadable file are left out of out->checks (and exports too when the file
 * has no symbol table). Plugin code runs in a child process only, so a
 * crashing plugin is reported, not suffered. Returns 0 when the lint ran
 * (whatever it found; see out->ok), an error when it could not run.
 */
CSDK_API int csdk_plugin_lint(csdk_lint **out, const char *path);

/** Free a lint result (NULL-safe). */
CSDK_API void csdk_lint_free(csdk_lint *lint);

/* -------------------------------------------------------------- providers */

/** An opened provider: a plugin with its configuration and context. */
typedef struct csdk_provider csdk_provider;
/** A sandbox handle. */
typedef struct csdk_sandbox csdk_sandbox;

/** Options for csdk_provider_open. */
typedef struct csdk_provider_options {
	uint32_t struct_size;          /**< sizeof(csdk_provider_options) as compiled: use CSDK_PROVIDER_OPTIONS_INIT */
	const struct csdk_kv *config;  /**< configuration keys and values; unset keys fall back to the plugin's environment variables */
	size_t n_config;
	csdk_registry *registry;       /**< where to find the plugin; NULL for the process-wide default registry */
} csdk_provider_options;

#define CSDK_PROVIDER_OPTIONS_INIT { sizeof(csdk_provider_options), NULL, 0, NULL }

/**
 * Open the provider called name. Fails with CSDK_ENOTFOUND for an unknown
 * provider (the message lists the csdk-NAME.so files on the search path,
 * or the rejection reason if the plugin was rejected), CSDK_ECONFIG for a configuration key the plugin does
 * not declare or a required key that is missing (the message names the key
 * and its environment variable), or the plugin's init error.
 *
 * Only the first csdk-NAME.so of the search path is loaded (a file already
 * loaded by the registry is reused); other plugin files are never touched.
 * The process-wide default registry is created on first use with default
 * options (environment honoured, not isolated). Thread-safe. Close with
 * csdk_provider_close.
 */
CSDK_API int csdk_provider_open(csdk_provider **out, const char *name, const csdk_provider_options *opts);

/**
 * Open a provider the way the csdk command does. name NULL (or "") means
 * $CSDK_PROVIDER when set and not empty, else the configuration file's
 * [csdk] default, else the first of its [csdk] providers, else "local".
 * The configuration file is the one csdk_user_config_load(NULL) reads; the
 * keys of its [provider NAME] section are applied, each unless its
 * environment variable is set (the plugin reads that itself).
 *
 * Loading follows csdk_provider_open: only csdk-NAME.so, through the
 * process-wide default registry. Errors: those of csdk_user_config_load
 * (CSDK_ECONFIG "FILE:LINE: ...", CSDK_ENOTFOUND for a missing
 * $CSDK_CONFIG), CSDK_ECONFIG for a key the plugin does not declare, and
 * those of csdk_provider_open. *out is owned by the caller: close it with
 * csdk_provider_close. Thread-safe (it reads the environment: do not call
 * setenv concurrently).
 */
CSDK_API int csdk_provider_open_default(csdk_provider **out, const char *name);

/**
 * csdk_provider_open_default with options: opts->config pairs come before
 * (and override) the file's keys, opts->registry replaces the default
 * registry. opts may be NULL. Same errors, ownership and threads.
 */
CSDK_API int csdk_provider_open_default_ext(csdk_provider **out, const char *name, const csdk_provider_options *opts);

/**
 * The plugin call the calling thread is in: while libcsdk runs a plugin's
 * method (init, create, run_command, fs_read, teardown, ...), 1 with
 * *provider set to the provider's name and *method to the method's name
 * (static strings, or the provider's own name, valid while it is open);
 * otherwise 0 with both set to NULL. Either pointer may be NULL.
 *
 * Async-signal-safe: meant for a SIGSEGV/SIGBUS/SIGABRT handler that reports
 * which plugin crashed the program (csdk does, see docs/loader.md). Reads
 * only the calling thread's record; never fails, never allocates.
 */
CSDK_API int csdk_plugin_call_current(const char **provider, const char **method);

/**
 * Release the caller's reference (NULL-safe). The provider is torn down when
 * its last sandbox handle is freed as well.
 */
CSDK_API void csdk_provider_close(csdk_provider *provider);

/** The provider's name (borrowed). */
CSDK_API const char *csdk_provider_name(const csdk_provider *provider);
/**
 * The provider's mode (CSDK_MODE_DIRECT or CSDK_MODE_GATEWAY): its
 * configuration key "mode" when the plugin declares one and it is set, else
 * the plugin's default mode. In gateway mode commands, code and files go to
 * the envd agent inside each sandbox (docs/agent.md).
 */
CSDK_API uint32_t csdk_provider_mode(const csdk_provider *provider);
/** The provider's capabilities (CSDK_CAP_*) as callers see them: in gateway mode the agent adds filesystem, exec and streaming. */
CSDK_API uint64_t csdk_provider_capabilities(const csdk_provider *provider);
/** The plugin behind the provider (borrowed). */
CSDK_API const csdk_plugin_info *csdk_provider_plugin(const csdk_provider *provider);
/**
 * The effective value of a configuration key (given, else from the
 * environment variable), or NULL. Borrowed. Secret values are returned too:
 * never print them.
 */
CSDK_API const char *csdk_provider_config(const csdk_provider *provider, const char *key);

/* -------------------------------------------------------------- sandboxes */

/** Options for csdk_sandbox_create and csdk_sandbox_find_or_create. Unset strings are NULL, unset numbers 0. */
typedef struct csdk_create_options {
	uint32_t struct_size;      /**< sizeof(csdk_create_options) as compiled: use CSDK_CREATE_OPTIONS_INIT */
	uint32_t reserved;
	int64_t timeout_ms;        /**< lifetime, 1 ms to 30 days; 0 = the provider's default */
	const char *template_id;
	const char *snapshot_id;
	const char *name;          /**< a name for the sandbox ([A-Za-z0-9][A-Za-z0-9._-]*, at most 63 bytes) */
	const char *namespace_;    /**< the name's namespace, same grammar; NULL = "default" */
	const char *runtime;       /**< "python", "node" or NULL */
	const char *image;
	const struct csdk_kv *metadata;
	size_t n_metadata;
	const struct csdk_kv *envs;
	size_t n_envs;
	double cpus;               /**< hint; 0 = default */
	uint64_t memory_bytes;     /**< hint; 0 = default */
} csdk_create_options;

/** Initialiser for csdk_create_options: all unset. */
#define CSDK_CREATE_OPTIONS_INIT { sizeof(csdk_create_options), 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0, 0 }

/**
 * Create a sandbox; opts may be NULL. A template_id or snapshot_id the
 * provider has no capability for fails with CSDK_EUNSUPPORTED ("Provider 'P'
 * does not support templates." / "... snapshots.") before the plugin is
 * called. A name is checked against the name grammar and passed to a
 * provider with named sandboxes (CSDK_CAP_NAMED); others ignore it.
 */
CSDK_API int csdk_sandbox_create(csdk_sandbox **out, csdk_provider *provider, const csdk_create_options *opts);

/** Get a sandbox by id. Not found is not an error: returns 0 with *out NULL. */
CSDK_API int csdk_sandbox_get(csdk_sandbox **out, csdk_provider *provider, const char *id);

/** A list of sandbox handles. */
typedef struct csdk_sandbox_list {
	size_t count;
	csdk_sandbox **sandboxes;  /**< owned by the list */
} csdk_sandbox_list;

/** All sandboxes of the provider. */
CSDK_API int csdk_sandbox_list_all(csdk_sandbox_list **out, csdk_provider *provider);
/** Free a list and its handles (NULL-safe). */
CSDK_API void csdk_sandbox_list_free(csdk_sandbox_list *list);

/** Destroy a sandbox by id. Idempotent: an unknown id succeeds. */
CSDK_API int csdk_provider_destroy(csdk_provider *provider, const char *id);

/** Destroy the sandbox behind a handle (idempotent); the handle must still be freed. */
CSDK_API int csdk_sandbox_destroy(csdk_sandbox *sandbox);

/** Free a handle (NULL-safe); the sandbox itself lives on. */
CSDK_API void csdk_sandbox_free(csdk_sandbox *sandbox);

/** The sandbox id (borrowed). */
CSDK_API const char *csdk_sandbox_id(const csdk_sandbox *sandbox);
/** The provider the sandbox came from (borrowed). */
CSDK_API csdk_provider *csdk_sandbox_provider(const csdk_sandbox *sandbox);

/** Where a gateway-mode sandbox's agent listens (envd protocol, docs/agent.md). */
typedef struct csdk_agent_endpoint {
	char *url;                 /**< "unix:PATH" or an "http(s)://" URL */
	char *token;               /**< the X-Access-Token value, or NULL; a secret: never print it */
	size_t n_headers;
	struct csdk_kv *headers;   /**< more headers to send with every request (owned strings) */
} csdk_agent_endpoint;

/**
 * The agent endpoint of a sandbox whose provider runs in gateway mode, as
 * its plugin gives it, for programs that talk to the agent themselves (csdk
 * serve relays E2B clients to it). CSDK_EUNSUPPORTED ("provider 'P' runs in
 * direct mode; its sandboxes have no agent endpoint") otherwise. Free *out
 * with csdk_agent_endpoint_free. Thread-safe as any sandbox call.
 */
CSDK_API int csdk_sandbox_agent_endpoint(csdk_agent_endpoint **out, csdk_sandbox *sandbox);
/** Free an endpoint (NULL-safe). */
CSDK_API void csdk_agent_endpoint_free(csdk_agent_endpoint *endpoint);

/* ------------------------------------------------------------ running code */

/** The outcome of a command or of code. Buffers are NUL-terminated and may contain NUL bytes. */
typedef struct csdk_result {
	char *stdout_buf;
	size_t stdout_len;
	char *stderr_buf;
	size_t stderr_len;
	int exit_code;            /**< 124 timed out, 127 not found, 128+N killed by signal N */
	int64_t duration_ms;
} csdk_result;

/** Free a result (NULL-safe). */
CSDK_API void csdk_result_free(csdk_result *result);

/** Receives live output; return non-zero to cancel the command (it then fails with CSDK_ECANCELLED). */
typedef int (*csdk_output_fn)(const char *data, size_t len, void *userdata);

/** Options for csdk_sandbox_run_command and csdk_sandbox_run_code. */
typedef struct csdk_command_options {
	uint32_t struct_size;         /**< sizeof(csdk_command_options) as compiled: use CSDK_COMMAND_OPTIONS_INIT */
	const char *cwd;              /**< NULL for the sandbox's default */
	const struct csdk_kv *envs;
	size_t n_envs;
	int64_t timeout_ms;           /**< 0 none; exceeded: exit code 124, output so far kept */
	int background;               /**< return at once with exit code 0; not with callbacks */
	csdk_output_fn on_stdout;     /**< live output; may be NULL */
	csdk_output_fn on_stderr;
	void *userdata;
	unsigned int flags;           /**< CSDK_COMMAND_* */
	const char *runtime;          /**< run_code only: "python", "node", or NULL to detect it (csdk_detect_runtime) */
} csdk_command_options;

/**
 * Output that goes to a callback is not kept in the result (its buffer is
 * then empty): for large streams, where keeping a copy costs memory and time.
 */
#define CSDK_COMMAND_STREAM_ONLY 0x1u

#define CSDK_COMMAND_OPTIONS_INIT { sizeof(csdk_command_options), NULL, NULL, 0, 0, 0, NULL, NULL, NULL, 0, NULL }

/**
 * Run one shell string with /bin/sh -c. A non-zero exit code is a result,
 * not an error. Callbacks run once for each piece of output the provider
 * hands over, before this call returns and never two at once: while the
 * command runs with streaming providers (CSDK_CAP_STREAMING), otherwise
 * after it ended. They run on the calling thread, or on a thread of the
 * plugin's own when it writes output from one (plugin.h allows it). Background
 * together with a callback fails with CSDK_EINVAL. opts may be NULL; its
 * runtime must be NULL here.
 */
CSDK_API int csdk_sandbox_run_command(csdk_result **out, csdk_sandbox *sandbox, const char *command, const csdk_command_options *opts);

/**
 * Run code with opts->runtime "python" or "node", or detected when NULL
 * (csdk_detect_runtime); opts may be NULL. The other options are those of
 * csdk_sandbox_run_command: cwd, envs, timeout (exit code 124), background,
 * live output. Code that does not compile fails with CSDK_ESYNTAX and the
 * interpreter's message; a runtime error is a result with a non-zero exit
 * code and the traceback in stderr.
 */
CSDK_API int csdk_sandbox_run_code(csdk_result **out, csdk_sandbox *sandbox, const char *code, const csdk_command_options *opts);

/**
 * "python" if code contains `print(`, `import `, `def `, `sys.`, `json.`,
 * `__`, `f"`, `f'` or `raise `; else "node". Static.
 */
CSDK_API const char *csdk_detect_runtime(const char *code);

/* ------------------------------------------------------------ information */

/** What a provider says of a sandbox. */
typedef struct csdk_sandbox_info {
	char *id;
	char *provider;
	enum csdk_status status;
	int64_t created_ms;       /**< ms since the epoch, 0 if unknown */
	int64_t timeout_ms;       /**< lifetime, 0 if none */
	size_t n_metadata;
	struct csdk_kv *metadata; /**< owned strings */
} csdk_sandbox_info;

CSDK_API int csdk_sandbox_get_info(csdk_sandbox_info **out, csdk_sandbox *sandbox);
CSDK_API void csdk_sandbox_info_free(csdk_sandbox_info *info);

/** "running", "stopped", "error" or "unknown". Static. */
CSDK_API const char *csdk_status_name(enum csdk_status status);

/** The URL of a port of the sandbox; protocol NULL for the provider's default. Free with csdk_free. */
CSDK_API int csdk_sandbox_get_url(char **out, csdk_sandbox *sandbox, int port, const char *protocol);

/** Free memory libcsdk returned as a plain pointer (strings, file contents). NULL-safe. */
CSDK_API void csdk_free(void *ptr);

/* ------------------------------------------------------------- filesystem */

/*
 * With CSDK_CAP_FILESYSTEM the plugin serves these; with
 * CSDK_CAP_FS_OVER_COMMANDS the host serves them through the plugin's
 * run_command and a POSIX sh in the sandbox (binary-safe, any size). Without
 * either, every call fails with CSDK_EUNSUPPORTED and
 * "Filesystem operations are not supported by NAME's sandbox environment.
 * NAME sandboxes are designed for code execution only."
 */

/** Read a whole file; *out is NUL-terminated (not counted in *len_out). Free with csdk_free. */
CSDK_API int csdk_fs_read(char **out, size_t *len_out, csdk_sandbox *sandbox, const char *path);
/** Write a whole file, creating parent directories. */
CSDK_API int csdk_fs_write(csdk_sandbox *sandbox, const char *path, const void *data, size_t len);
/** Make a directory and its parents. */
CSDK_API int csdk_fs_mkdir(csdk_sandbox *sandbox, const char *path);
/** Sets *out to 1 if the file or directory exists, else 0. */
CSDK_API int csdk_fs_exists(int *out, csdk_sandbox *sandbox, const char *path);
/** Remove a file or a directory tree. */
CSDK_API int csdk_fs_remove(csdk_sandbox *sandbox, const char *path);

/** A directory entry. */
typedef struct csdk_dirent {
	char *name;               /**< bare name */
	enum csdk_entry_type type;
	uint64_t size;
	int64_t modified_ms;
} csdk_dirent;

typedef struct csdk_dir_list {
	size_t count;
	csdk_dirent *entries;
} csdk_dir_list;

CSDK_API int csdk_fs_readdir(csdk_dir_list **out, csdk_sandbox *sandbox, const char *path);
CSDK_API void csdk_dir_list_free(csdk_dir_list *list);

/* -------------------------------------------------------- named sandboxes */

/*
 * Without CSDK_CAP_NAMED these fail with CSDK_EUNSUPPORTED and "Provider
 * 'NAME' does not support named sandboxes (find_or_create); this needs a
 * provider with named sandbox support." (find likewise; extend_timeout:
 * "... does not support timeout extension (extend_timeout) ...").
 */

/** Default namespace, and default extension of csdk_sandbox_extend_timeout. */
#define CSDK_DEFAULT_NAMESPACE "default"
#define CSDK_DEFAULT_EXTEND_MS 900000

/** Find the sandbox namespace/name or create it (atomically) with opts; namespace_ NULL = "default". The arguments name the sandbox: they replace opts->name and opts->namespace_. */
CSDK_API int csdk_sandbox_find_or_create(csdk_sandbox **out, csdk_provider *provider, const char *namespace_, const char *name, const csdk_create_options *opts);
/** Find a named sandbox; not found: 0 with *out NULL. */
CSDK_API int csdk_sandbox_find(csdk_sandbox **out, csdk_provider *provider, const char *namespace_, const char *name);
/** Extend the sandbox's lifetime by duration_ms (0 = CSDK_DEFAULT_EXTEND_MS). */
CSDK_API int csdk_sandbox_extend_timeout(csdk_sandbox *sandbox, int64_t duration_ms);

/* ------------------------------------------------ templates and snapshots */

/** A template or snapshot record. */
typedef struct csdk_item {
	char *id;
	char *name;               /**< may be NULL */
	int64_t created_ms;
} csdk_item;

typedef struct csdk_item_list {
	size_t count;
	csdk_item *items;
} csdk_item_list;

CSDK_API void csdk_item_list_free(csdk_item_list *list);

/** Options for csdk_template_create. */
typedef struct csdk_template_options {
	uint32_t struct_size;      /**< sizeof(csdk_template_options) as compiled: use CSDK_TEMPLATE_OPTIONS_INIT */
	uint32_t reserved;
	const char *name;
	const char *source;        /**< provider-specific source (a directory, an image, ...), or NULL */
	csdk_sandbox *sandbox;     /**< or a sandbox of the same provider to capture, or NULL */
} csdk_template_options;

/** Initialiser for csdk_template_options. */
#define CSDK_TEMPLATE_OPTIONS_INIT { sizeof(csdk_template_options), 0, NULL, NULL, NULL }

/*
 * Without CSDK_CAP_TEMPLATES / CSDK_CAP_SNAPSHOTS these fail with
 * CSDK_EUNSUPPORTED: "Provider 'NAME' does not support templates." (or
 * snapshots).
 */
/** Create a template; *out receives its id (free with csdk_free). */
CSDK_API int csdk_template_create(char **out, csdk_provider *provider, const csdk_template_options *opts);
CSDK_API int csdk_template_list(csdk_item_list **out, csdk_provider *provider);
CSDK_API int csdk_template_delete(csdk_provider *provider, const char *id);

CSDK_API int csdk_snapshot_create(char **out, csdk_sandbox *sandbox, const char *name);
CSDK_API int csdk_snapshot_list(csdk_item_list **out, csdk_provider *provider);
CSDK_API int csdk_snapshot_delete(csdk_provider *provider, const char *id);

/*
 * A plugin's own operations (docs/plugin-abi.md, Extensions): calls the
 * plugin's optional extension method (ABI 2.1) with op and arg (NULL for
 * none), under the provider's call lock. *out receives its text result
 * (the local provider answers JSON), caller-owned: free with csdk_free; NULL
 * on error. CSDK_EINVAL for a NULL out, provider or op; CSDK_EUNSUPPORTED
 * when the plugin has no such method ("Provider 'NAME' has no extension
 * operations (OP).") or does not know op; else the plugin's error. Threads:
 * as the provider's other calls.
 */
CSDK_API int csdk_provider_extension(char **out, csdk_provider *provider, const char *op, const char *arg);

/* ------------------------------------------------------------ descriptions */

/** "direct" or "gateway" for one CSDK_MODE_* value; "unknown" otherwise. Static. */
CSDK_API const char *csdk_mode_name(uint32_t mode);

/** Name of one CSDK_CAP_* bit ("filesystem", "named", "templates", "snapshots", "streaming", "thread-safe", "exec", "fs-over-commands"), or NULL. Static. */
CSDK_API const char *csdk_capability_name(uint64_t cap);

/* ================================================================ compute */
/*
 * Several providers behind one object, and the user's
 * configuration file. See docs/configuration.md for the file format and the
 * precedence of configuration sources.
 *
 * Threads: a csdk_compute is set up (csdk_compute_add, csdk_compute_open)
 * from one thread, before other calls on it; from then on it may be used
 * from several threads at once (its routing state is guarded by a mutex;
 * calls into providers keep the providers' own rules). Adding a provider
 * while other threads use the compute is not supported. A csdk_cancel may be requested from any thread. A
 * csdk_user_config is immutable once loaded and may be shared.
 */

/** Several opened providers with a routing strategy. */
typedef struct csdk_compute csdk_compute;

/** How csdk_compute_create picks the first provider to try. */
typedef enum csdk_strategy {
	CSDK_STRATEGY_PRIORITY = 1,    /**< always the first provider, then the next ones in order */
	CSDK_STRATEGY_ROUND_ROBIN = 2  /**< each create starts one provider further, wrapping around */
} csdk_strategy;

/** "priority" or "round-robin"; "unknown" otherwise. Static. */
CSDK_API const char *csdk_strategy_name(csdk_strategy strategy);

/** Options for csdk_compute_new. */
typedef struct csdk_compute_options {
	uint32_t struct_size;      /**< sizeof(csdk_compute_options) as compiled: use CSDK_COMPUTE_OPTIONS_INIT */
	csdk_strategy strategy;    /**< 0 means CSDK_STRATEGY_PRIORITY */
	int no_fallback;           /**< non-zero: a failure is final, the next provider is not tried */
	/**
	 * With round-robin, a file holding the cursor, so that separate
	 * processes take turns: under a lock on PATH.lock (flock) the cursor
	 * is read and the next one written atomically before each create; its
	 * directory is created. NULL keeps the cursor in memory.
	 */
	const char *cursor_path;
} csdk_compute_options;

#define CSDK_COMPUTE_OPTIONS_INIT { sizeof(csdk_compute_options), CSDK_STRATEGY_PRIORITY, 0, NULL }

/** Create an empty compute object; opts may be NULL. Free with csdk_compute_free. */
CSDK_API int csdk_compute_new(csdk_compute **out, const csdk_compute_options *opts);

/** Free a compute object (NULL-safe): drops its references to its providers; sandbox handles it returned stay valid. */
CSDK_API void csdk_compute_free(csdk_compute *compute);

/**
 * Add an opened provider, last in order. The compute takes its own
 * reference: the caller still closes provider. A provider whose name is
 * already held is not added (the first one stays) and 0 is returned.
 */
CSDK_API int csdk_compute_add(csdk_compute *compute, csdk_provider *provider);

/**
 * Open the provider name with opts (see csdk_provider_open) and add it.
 * When opening fails the name is still added, as unavailable: every
 * operation routed to it fails with the same error (so that creates fall
 * back past it and the aggregated error names it), and the open error is
 * returned. A name already held: 0, nothing opened.
 */
CSDK_API int csdk_compute_open(csdk_compute *compute, const char *name, const csdk_provider_options *opts);

/** Number of providers held (available or not), in order. */
CSDK_API size_t csdk_compute_count(const csdk_compute *compute);
/** The name of the i-th provider (borrowed), or NULL when out of range. */
CSDK_API const char *csdk_compute_name_at(const csdk_compute *compute, size_t i);
/** The provider called name (borrowed), or NULL when unknown or unavailable. */
CSDK_API csdk_provider *csdk_compute_provider(const csdk_compute *compute, const char *name);

/** A cancellation flag shared between the thread that creates and the one that cancels. */
typedef struct csdk_cancel csdk_cancel;
CSDK_API int csdk_cancel_new(csdk_cancel **out);
/** Free a token (NULL-safe) once no call uses it any more. */
CSDK_API void csdk_cancel_free(csdk_cancel *cancel);
/** Request cancellation (thread-safe, async-signal-safe, idempotent). */
CSDK_API void csdk_cancel_request(csdk_cancel *cancel);
/** Non-zero once cancellation was requested. */
CSDK_API int csdk_cancel_requested(const csdk_cancel *cancel);

/** Options for csdk_compute_create. */
typedef struct csdk_compute_create_options {
	uint32_t struct_size;                      /**< sizeof(csdk_compute_create_options) as compiled: use CSDK_COMPUTE_CREATE_OPTIONS_INIT */
	const char *provider;                      /**< create there and only there (no fallback); NULL to route */
	const csdk_create_options *create;         /**< NULL for defaults */
	csdk_cancel *cancel;                       /**< may be NULL */
} csdk_compute_create_options;

#define CSDK_COMPUTE_CREATE_OPTIONS_INIT { sizeof(csdk_compute_create_options), NULL, NULL, NULL }

/**
 * Create a sandbox on one of the providers.
 *
 * With opts->provider, only that provider is tried; a name the compute does
 * not hold fails with CSDK_ENOTFOUND and "unknown provider 'X'; configured
 * providers: a, b". Otherwise providers are tried in strategy order
 * (a create from a snapshot this compute knows starts at the snapshot's
 * provider); with fallback, a failure moves on to the next one. When every
 * provider tried failed, the error is CSDK_EBACKEND (or the code they all
 * shared) with the message
 *   "Failed to create sandbox across N provider(s).\n- NAME: message\n..."
 * listing each provider tried, in order; when only one was tried, and
 * without fallback, its failure is returned as it is (this holds for every
 * "across N provider(s)" error below).
 *
 * Cancellation: the token is checked before each attempt and after it. A
 * provider's create cannot be interrupted, so a sandbox that finishes
 * creating after the request is destroyed at once. A cancelled create
 * returns CSDK_ECANCELLED ("sandbox creation was cancelled") and is never
 * retried on another provider.
 *
 * The handle's provider is the one that created it; the compute remembers
 * the id for affinity.
 */
CSDK_API int csdk_compute_create(csdk_sandbox **out, csdk_compute *compute, const csdk_compute_create_options *opts);

/**
 * Find a sandbox by id: only at provider when given (a qualified id);
 * else first at the provider that created, found or listed that id
 * before (affinity), then at the others in order. Not found anywhere: 0 with *out NULL. Providers that
 * failed are skipped when another one finds the sandbox; when none finds it
 * and some failed, the error is "Failed to get sandbox 'ID' across N
 * provider(s)." with a "- NAME: message" line per provider asked, in
 * order ("- NAME: no such sandbox" for one that answered not found). An
 * unknown provider name fails as in csdk_compute_create.
 */
CSDK_API int csdk_compute_get(csdk_sandbox **out, csdk_compute *compute, const char *provider, const char *id);

/**
 * Destroy a sandbox by id: only at provider when given; else at the affine
 * provider when known (with fallback, a failure there goes on as if it
 * were not known); else at the first provider whose get finds it. Idempotent: an id found
 * nowhere succeeds. Failures aggregate as in csdk_compute_get ("Failed to
 * destroy sandbox 'ID' across N provider(s).").
 */
CSDK_API int csdk_compute_destroy(csdk_compute *compute, const char *provider, const char *id);

/**
 * The sandboxes of every provider, concatenated in provider order (each
 * handle's provider tells where it lives). With fallback, a provider that
 * fails is left out with a warning logged, unless every one fails
 * ("Failed to list sandboxes across N provider(s)."); without fallback its
 * error is returned.
 */
CSDK_API int csdk_compute_list(csdk_sandbox_list **out, csdk_compute *compute);

/** Snapshot a sandbox at its own provider; remembers the snapshot's provider for affinity. Free *out with csdk_free. */
CSDK_API int csdk_compute_snapshot_create(char **out, csdk_compute *compute, csdk_sandbox *sandbox, const char *name);

/**
 * Delete a snapshot: only at provider when given; else at the affine
 * provider first, then, with fallback, at the other providers that
 * support snapshots until one succeeds. Found nowhere: CSDK_ENOTFOUND with the aggregated message
 * "Failed to delete snapshot 'ID' across N provider(s)."
 */
CSDK_API int csdk_compute_snapshot_delete(csdk_compute *compute, const char *provider, const char *id);

/* --------------------------------------------------- configuration file */

/** The user's configuration file, parsed. Immutable. */
typedef struct csdk_user_config csdk_user_config;

/**
 * Read a configuration file. path NULL means $CSDK_CONFIG when set and not
 * empty, else $XDG_CONFIG_HOME/csdk/config (default ~/.config/csdk/config);
 * a missing default file gives an empty configuration, a missing file that
 * was named (path or CSDK_CONFIG) fails with CSDK_ENOTFOUND. A syntax
 * error fails with CSDK_ECONFIG and "FILE:LINE: fact; fix". Keys of
 * provider sections are checked against the plugins later, by
 * csdk_user_config_resolve.
 */
CSDK_API int csdk_user_config_load(csdk_user_config **out, const char *path);

/** Parse text as if read from the file named name (for tests and tools). */
CSDK_API int csdk_user_config_parse(csdk_user_config **out, const char *name, const char *text);

CSDK_API void csdk_user_config_free(csdk_user_config *config);

/** The file read (borrowed), or NULL when there was none. */
CSDK_API const char *csdk_user_config_path(const csdk_user_config *config);
/** Non-zero when the file is readable or writable by group or others (mode & 077). */
CSDK_API int csdk_user_config_exposed(const csdk_user_config *config);
/** [csdk] default, or NULL when not set. */
CSDK_API const char *csdk_user_config_default(const csdk_user_config *config);
/** [csdk] providers, in order (0 when not set). */
CSDK_API size_t csdk_user_config_provider_count(const csdk_user_config *config);
CSDK_API const char *csdk_user_config_provider_at(const csdk_user_config *config, size_t i);
/** [csdk] strategy (CSDK_STRATEGY_PRIORITY when not set). */
CSDK_API csdk_strategy csdk_user_config_strategy(const csdk_user_config *config);
/** [csdk] fallback (1 when not set). */
CSDK_API int csdk_user_config_fallback(const csdk_user_config *config);
/** The value of KEY in [provider NAME] (provider "[serve]": in the [serve] section, read by csdk serve), or NULL. Borrowed. */
CSDK_API const char *csdk_user_config_get(const csdk_user_config *config, const char *provider, const char *key);

/** Where an effective configuration value came from, highest precedence first. */
typedef enum csdk_config_source {
	CSDK_CONFIG_FROM_COMMAND_LINE = 1, /**< given by the caller (csdk --config) */
	CSDK_CONFIG_FROM_ENVIRONMENT = 2,  /**< the plugin's environment variable */
	CSDK_CONFIG_FROM_FILE = 3,         /**< the configuration file */
	CSDK_CONFIG_FROM_DEFAULT = 4       /**< unset: the plugin's own default applies */
} csdk_config_source;

/** "command line", "environment", "file" or "default". Static. */
CSDK_API const char *csdk_config_source_name(csdk_config_source source);

/** One effective configuration key of a provider. */
typedef struct csdk_config_entry {
	char *key;
	char *value;               /**< NULL when unset (source CSDK_CONFIG_FROM_DEFAULT) */
	char *shown;               /**< value as it may be printed: "***" for a set secret key; NULL when unset */
	char *origin;              /**< "--config", the variable's name, or "FILE:LINE"; NULL for defaults */
	csdk_config_source source;
	uint32_t flags;            /**< the plugin's CSDK_CONFIG_* flags for the key */
} csdk_config_entry;

typedef struct csdk_config_entries {
	size_t count;
	csdk_config_entry *entries;
} csdk_config_entries;

CSDK_API void csdk_config_entries_free(csdk_config_entries *entries);

/**
 * The effective configuration of plugin: one entry per declared key, in
 * the plugin's order, each from the first source that sets it: the given
 * pairs (command line) > the key's environment variable > [provider NAME]
 * of config (may be NULL) > the plugin's default. Fails with CSDK_ECONFIG
 * for a key the plugin does not declare, in the file ("FILE:LINE: unknown
 * key 'K' for provider 'P'; known keys: ...") or in the pairs.
 */
CSDK_API int csdk_user_config_resolve(csdk_config_entries **out, const csdk_user_config *config,
			     const csdk_plugin_info *plugin, const struct csdk_kv *given, size_t n_given);

/**
 * The pairs to pass as csdk_provider_options.config for resolved entries:
 * those from the command line and the file (environment values are found
 * by the provider itself). *out points into entries and is freed with
 * csdk_free; *n_out is its length.
 */
CSDK_API int csdk_config_entries_to_kv(struct csdk_kv **out, size_t *n_out, const csdk_config_entries *entries);

/* ============================================================ end compute */

#ifdef __cplusplus
}
#endif

#endif /* CSDK_CSDK_H */
