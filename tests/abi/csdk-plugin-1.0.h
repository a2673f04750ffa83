/*
 * csdk/plugin.h - the csdk plugin ABI, version 1.0.
 *
 * A csdk provider plugin is a shared object named csdk-<name>.so that
 * exports exactly one symbol, csdk_plugin_entry. The host calls it with its
 * own ABI version; the plugin answers with a pointer to a static descriptor
 * (struct csdk_plugin) that names the plugin, declares its capabilities and
 * configuration keys, and points at its method table.
 *
 * This header is self-contained (it needs only the C standard library) and is
 * the whole contract between the host (libcsdk) and a plugin. The rules for
 * growing it are in docs/plugin-abi.md: fields are only ever appended, every
 * growable struct begins with its own size, and the 1.0 sizes are frozen as
 * the CSDK_*_SIZE_1_0 constants below.
 *
 * Memory never crosses the boundary with mixed allocators. Everything the
 * plugin hands back travels through host-owned builders (struct csdk_sink,
 * struct csdk_text, ...) that copy what they are given during the call. The
 * plugin's own per-sandbox handle (void *) is released by the plugin's
 * release method.
 */
#ifndef CSDK_PLUGIN_1_0_H
#define CSDK_PLUGIN_1_0_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

/** ABI major version: a change here breaks every plugin. */
#define CSDK_ABI_MAJOR 1
/** ABI minor version: grows when fields are appended. */
#define CSDK_ABI_MINOR 0
/** Build an ABI version number, as passed to csdk_plugin_entry. */
#define CSDK_ABI_MAKE(major, minor) \
	((uint32_t)(((uint32_t)(major) << 16) | ((uint32_t)(minor) & 0xffffu)))
/** Major part of an ABI version number. */
#define CSDK_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
/** Minor part of an ABI version number. */
#define CSDK_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)
/** The ABI version this header describes. */
#define CSDK_ABI_VERSION CSDK_ABI_MAKE(CSDK_ABI_MAJOR, CSDK_ABI_MINOR)

/** First field of every descriptor: the bytes "CSDK" read as little-endian. */
#define CSDK_PLUGIN_MAGIC 0x4b445343u

/** The name of the one symbol a plugin exports. */
#define CSDK_PLUGIN_ENTRY_SYMBOL "csdk_plugin_entry"

/* ----------------------------------------------------------- error codes */

/*
 * Every function in the ABI and in libcsdk returns 0 on success or one of
 * these negative codes. Codes are never reused or renumbered.
 */
#define CSDK_OK 0
#define CSDK_ERROR (-1)        /**< generic failure */
#define CSDK_ENOMEM (-2)       /**< out of memory */
#define CSDK_EINVAL (-3)       /**< invalid argument or option value */
#define CSDK_ENOTFOUND (-4)    /**< no such sandbox, file, plugin, ... */
#define CSDK_EUNSUPPORTED (-5) /**< the provider lacks this capability */
#define CSDK_EABI (-6)         /**< ABI version cannot be spoken */
#define CSDK_EPLUGIN (-7)      /**< invalid or rejected plugin */
#define CSDK_ECONFIG (-8)      /**< missing or invalid configuration */
#define CSDK_EIO (-9)          /**< I/O or system call failure */
#define CSDK_ETIMEOUT (-10)    /**< an operation ran out of time */
#define CSDK_ESYNTAX (-11)     /**< code given to run_code did not compile */
#define CSDK_EBACKEND (-12)    /**< the provider's backend failed */
#define CSDK_EEXISTS (-13)     /**< already exists */
#define CSDK_ECANCELLED (-14)  /**< cancelled by the caller */
#define CSDK_EPERM (-15)       /**< not permitted (e.g. a path outside the sandbox) */
#define CSDK_ECRASHED (-16)    /**< plugin code crashed (reported from a child process) */
#define CSDK_ERROR_MIN (-16)   /**< lowest code this header defines */

/* ----------------------------------------------------- modes, capabilities */

/** Operating modes (bits of csdk_plugin.modes; one value for default_mode). */
#define CSDK_MODE_DIRECT 0x1u  /**< the plugin runs sandbox operations itself */
#define CSDK_MODE_GATEWAY 0x2u /**< the plugin supplies infrastructure and an agent endpoint */
#define CSDK_MODES_KNOWN_1_0 0x3u

/** Capability bits (csdk_plugin.capabilities). Retired bits are never reused. */
#define CSDK_CAP_FILESYSTEM (UINT64_C(1) << 0) /**< methods.fs_* */
#define CSDK_CAP_NAMED (UINT64_C(1) << 1)      /**< methods.find_or_create, find, extend_timeout */
#define CSDK_CAP_TEMPLATES (UINT64_C(1) << 2)  /**< methods.template_* */
#define CSDK_CAP_SNAPSHOTS (UINT64_C(1) << 3)  /**< methods.snapshot_* */
#define CSDK_CAP_STREAMING (UINT64_C(1) << 4)  /**< run_command writes output while the command runs */
#define CSDK_CAP_THREAD_SAFE (UINT64_C(1) << 5) /**< methods may be called concurrently */
#define CSDK_CAP_EXEC (UINT64_C(1) << 6)       /**< run_command and run_code really execute (output and exit codes are the program's) */
#define CSDK_CAPS_KNOWN_1_0 (UINT64_C(0x7f))

/* ------------------------------------------------------ host-owned outputs */

/*
 * Opaque, host-owned output objects. A plugin fills them only through the
 * functions of struct csdk_host; each call copies its arguments, so the
 * plugin may free or reuse them as soon as the call returns.
 */
struct csdk_sink;      /**< receives stdout/stderr bytes (or file contents) */
struct csdk_text;      /**< receives one string (an id, a URL) */
struct csdk_info;      /**< receives sandbox information */
struct csdk_handles;   /**< receives (id, native handle) pairs from list */
struct csdk_dir;       /**< receives directory entries */
struct csdk_items;     /**< receives template or snapshot records */
struct csdk_endpoint;  /**< receives a gateway agent's URL and token */
struct csdk_config;    /**< configuration given to init (read-only) */

/** Output streams for csdk_host.sink_write. */
enum csdk_stream {
	CSDK_STREAM_STDOUT = 1,
	CSDK_STREAM_STDERR = 2
};

/** Sandbox status (csdk_host.info_set_status). */
enum csdk_status {
	CSDK_STATUS_RUNNING = 1,
	CSDK_STATUS_STOPPED = 2,
	CSDK_STATUS_ERROR = 3
};

/** Directory entry types (csdk_host.dir_add). */
enum csdk_entry_type {
	CSDK_ENTRY_FILE = 1,
	CSDK_ENTRY_DIRECTORY = 2,
	CSDK_ENTRY_OTHER = 3
};

/** Log levels (csdk_host.log). */
enum csdk_log_level {
	CSDK_LOG_DEBUG = 1,
	CSDK_LOG_INFO = 2,
	CSDK_LOG_WARN = 3,
	CSDK_LOG_ERROR = 4
};

/** A key/value pair, as used for environment variables and metadata. */
struct csdk_kv {
	const char *key;
	const char *value;
};

/* ------------------------------------------------------------ host table */

/**
 * Services the host offers to a plugin, passed to init and valid until
 * teardown returns. All functions are thread-safe. Functions returning int
 * return 0 or a negative CSDK_E* code; a non-zero return from sink_write
 * means the host wants the operation stopped (the plugin should end the
 * command and return CSDK_ECANCELLED).
 *
 * A plugin must check struct_size before using a function appended after
 * 1.0 (see CSDK_HOST_SIZE_1_0).
 */
struct csdk_host {
	uint32_t struct_size;
	uint32_t abi_version; /**< the host's ABI version */

	/** Log a message (printf format) under the plugin's name; pass the table itself as host. */
	void (*log)(const struct csdk_host *host, enum csdk_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;
	/**
	 * Set the calling thread's last error to code and a one-line message
	 * (printf format), attributed to the plugin; returns code, so a method
	 * can `return host->error(host, CSDK_EBACKEND, "...", ...);`.
	 * The message is one line: what failed, where, and how to fix it.
	 */
	int (*error)(const struct csdk_host *host, int code, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;

	/** The value of a configuration key (after environment fallback), or NULL. Borrowed until teardown. */
	const char *(*config_get)(const struct csdk_config *config, const char *key);

	/** Append len bytes to a stream of the sink. */
	int (*sink_write)(struct csdk_sink *sink, enum csdk_stream stream, const void *data, size_t len);

	/** Set a text output (NUL-terminated). */
	int (*text_set)(struct csdk_text *text, const char *value);

	/** Sandbox information. */
	int (*info_set_id)(struct csdk_info *info, const char *id);
	int (*info_set_status)(struct csdk_info *info, enum csdk_status status);
	/** Creation time and timeout in milliseconds (since the Unix epoch / of lifetime; 0 = none). */
	int (*info_set_times)(struct csdk_info *info, int64_t created_ms, int64_t timeout_ms);
	int (*info_add_metadata)(struct csdk_info *info, const char *key, const char *value);

	/** Add one sandbox to a list; the host takes ownership of handle (released through methods.release). */
	int (*handles_add)(struct csdk_handles *list, const char *id, void *handle);

	/** Add one directory entry (bare name, type, size in bytes, modification time in ms since the epoch). */
	int (*dir_add)(struct csdk_dir *dir, const char *name, enum csdk_entry_type type, uint64_t size, int64_t modified_ms);

	/** Add one template or snapshot record (name may be NULL; created_ms 0 if unknown). */
	int (*items_add)(struct csdk_items *items, const char *id, const char *name, int64_t created_ms);

	/** Gateway mode: where the sandbox-side agent listens, and the token it expects (may be NULL). */
	int (*endpoint_set)(struct csdk_endpoint *endpoint, const char *url, const char *token);
};

/* ---------------------------------------------------- options (host → plugin) */

/** Options for create and find_or_create. Unset strings are NULL, unset numbers 0. */
struct csdk_create_options {
	uint32_t struct_size;
	uint32_t reserved;
	int64_t timeout_ms;        /**< lifetime; 0 = provider default */
	const char *template_id;
	const char *snapshot_id;
	const char *name;          /**< named sandboxes */
	const char *namespace_;    /**< named sandboxes; NULL = "default" */
	const char *runtime;       /**< "python", "node" or NULL */
	const char *image;
	const struct csdk_kv *metadata;
	size_t n_metadata;
	const struct csdk_kv *envs;
	size_t n_envs;
	double cpus;               /**< hint; 0 = default */
	uint64_t memory_bytes;     /**< hint; 0 = default */
};

/** Options for run_command. */
struct csdk_run_options {
	uint32_t struct_size;
	uint32_t background;       /**< non-zero: start and return at once with exit code 0 */
	const char *cwd;           /**< NULL = the sandbox's default directory */
	const struct csdk_kv *envs;
	size_t n_envs;
	int64_t timeout_ms;        /**< 0 = none; exceeded: kill the process group, exit code 124 */
};

/** Options for template_create. */
struct csdk_template_options {
	uint32_t struct_size;
	uint32_t reserved;
	const char *name;
	const char *source;        /**< provider-specific source (a directory, an image, ...) */
	void *sandbox;             /**< or a sandbox handle to capture; NULL if unused */
};

/* ---------------------------------------------------------- method table */

/*
 * All methods receive the plugin's context (from init) first. Sandbox
 * instance methods receive the plugin's native handle next. Methods return 0
 * or a negative CSDK_E* code after calling host->error with a message.
 *
 * get and find return CSDK_ENOTFOUND (without setting an error) when no such
 * sandbox exists; the host reports that as "not found", not as a failure.
 *
 * Unless the plugin declares CSDK_CAP_THREAD_SAFE, the host never calls two
 * methods of one plugin context at the same time.
 */
struct csdk_methods {
	uint32_t struct_size;
	uint32_t reserved;

	/* lifecycle */
	int (*init)(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out);
	void (*teardown)(void *ctx);
	/** Release a native handle (never called with NULL). */
	void (*release)(void *ctx, void *sandbox);

	/* required: collection */
	int (*create)(void *ctx, const struct csdk_create_options *opts, struct csdk_text *id_out, void **sandbox_out);
	int (*get)(void *ctx, const char *id, void **sandbox_out);
	int (*list)(void *ctx, struct csdk_handles *out);
	/** Destroying a sandbox that no longer exists succeeds. */
	int (*destroy)(void *ctx, const char *id);

	/* required in direct mode: instance */
	/** runtime is always "python" or "node" (the host detects it when the caller gave none). */
	int (*run_code)(void *ctx, void *sandbox, const char *code, const char *runtime, struct csdk_sink *out, int *exit_code_out);
	int (*run_command)(void *ctx, void *sandbox, const char *command, const struct csdk_run_options *opts, struct csdk_sink *out, int *exit_code_out);
	int (*get_info)(void *ctx, void *sandbox, struct csdk_info *out);
	/** protocol is NULL for the provider's default. */
	int (*get_url)(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out);

	/* CSDK_CAP_FILESYSTEM */
	int (*fs_read)(void *ctx, void *sandbox, const char *path, struct csdk_sink *out);
	int (*fs_write)(void *ctx, void *sandbox, const char *path, const void *data, size_t len);
	int (*fs_mkdir)(void *ctx, void *sandbox, const char *path);
	int (*fs_readdir)(void *ctx, void *sandbox, const char *path, struct csdk_dir *out);
	int (*fs_exists)(void *ctx, void *sandbox, const char *path, int *exists_out);
	int (*fs_remove)(void *ctx, void *sandbox, const char *path);

	/* CSDK_CAP_NAMED */
	int (*find_or_create)(void *ctx, const char *namespace_, const char *name, const struct csdk_create_options *opts, struct csdk_text *id_out, void **sandbox_out);
	int (*find)(void *ctx, const char *namespace_, const char *name, struct csdk_text *id_out, void **sandbox_out);
	int (*extend_timeout)(void *ctx, void *sandbox, int64_t duration_ms);

	/* CSDK_CAP_TEMPLATES */
	int (*template_create)(void *ctx, const struct csdk_template_options *opts, struct csdk_text *id_out);
	int (*template_list)(void *ctx, struct csdk_items *out);
	int (*template_delete)(void *ctx, const char *id);

	/* CSDK_CAP_SNAPSHOTS */
	int (*snapshot_create)(void *ctx, void *sandbox, const char *name, struct csdk_text *id_out);
	int (*snapshot_list)(void *ctx, struct csdk_items *out);
	int (*snapshot_delete)(void *ctx, const char *id);

	/* CSDK_MODE_GATEWAY: where the sandbox-side agent of a sandbox listens */
	int (*gateway_endpoint)(void *ctx, void *sandbox, struct csdk_endpoint *out);
};

/* ------------------------------------------------------- configuration keys */

/** Flags of a configuration key. */
#define CSDK_CONFIG_REQUIRED 0x1u /**< open fails without it */
#define CSDK_CONFIG_SECRET 0x2u   /**< never printed, logged or put in an error */

/** One configuration key a plugin understands. */
struct csdk_config_key {
	const char *key;      /**< e.g. "api_key": [a-z][a-z0-9_]* */
	const char *env;      /**< environment variable read when the key is unset, or NULL */
	uint32_t flags;       /**< CSDK_CONFIG_* */
	uint32_t reserved;
	const char *help;     /**< one line */
};

/* ------------------------------------------------------------- descriptor */

/** The plugin descriptor: static data, readable without running plugin code beyond the entry. */
struct csdk_plugin {
	uint32_t magic;            /**< CSDK_PLUGIN_MAGIC */
	uint32_t struct_size;      /**< sizeof(struct csdk_plugin) as the plugin was compiled */
	uint32_t abi_version;      /**< the ABI version this descriptor speaks */
	uint32_t modes;            /**< CSDK_MODE_* bits the plugin supports */
	uint32_t default_mode;     /**< one CSDK_MODE_* value among modes */
	uint32_t reserved;
	uint64_t capabilities;     /**< CSDK_CAP_* bits */
	const char *name;          /**< [a-z][a-z0-9-]*, at most 32 bytes; the file is csdk-<name>.so */
	const char *version;       /**< the plugin's own version */
	const char *description;   /**< one line */
	const char *license;       /**< SPDX identifier */
	const struct csdk_config_key *config_keys;
	uint32_t n_config_keys;
	uint32_t config_key_size;  /**< sizeof(struct csdk_config_key) as compiled */
	const struct csdk_methods *methods;
};

/* --------------------------------------------------- frozen 1.0 sizes */

/*
 * The sizes of the 1.0 structs, frozen: a struct may only grow beyond them.
 * The host rejects a plugin whose struct_size is smaller than these.
 */
#define CSDK_PLUGIN_SIZE_1_0 (offsetof(struct csdk_plugin, methods) + sizeof(void *))
#define CSDK_METHODS_SIZE_1_0 (offsetof(struct csdk_methods, gateway_endpoint) + sizeof(void (*)(void)))
#define CSDK_HOST_SIZE_1_0 (offsetof(struct csdk_host, endpoint_set) + sizeof(void (*)(void)))
#define CSDK_CONFIG_KEY_SIZE_1_0 (offsetof(struct csdk_config_key, help) + sizeof(void *))
#define CSDK_CREATE_OPTIONS_SIZE_1_0 (offsetof(struct csdk_create_options, memory_bytes) + sizeof(uint64_t))
#define CSDK_RUN_OPTIONS_SIZE_1_0 (offsetof(struct csdk_run_options, timeout_ms) + sizeof(int64_t))
#define CSDK_TEMPLATE_OPTIONS_SIZE_1_0 (offsetof(struct csdk_template_options, sandbox) + sizeof(void *))

/* ----------------------------------------------------------- entry point */

/**
 * The one symbol a plugin exports.
 *
 * host_abi is the host's ABI version (CSDK_ABI_MAKE(major, minor)). The
 * plugin stores a pointer to a static descriptor for an ABI the host can
 * speak (same major, minor not newer than the host's) in *out and returns 0,
 * or returns CSDK_EABI when it cannot speak to this host. It must do nothing
 * else: no I/O, no allocation, no network, so that listing plugins is cheap
 * and safe. It may be called more than once and from any thread.
 */
typedef int (*csdk_plugin_entry_fn)(uint32_t host_abi, const struct csdk_plugin **out);

#if defined(__GNUC__)
#define CSDK_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define CSDK_PLUGIN_EXPORT
#endif

/** Declare the entry point; a plugin defines it with CSDK_PLUGIN_EXPORT. */
CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out);

#ifdef __cplusplus
}
#endif

#endif /* CSDK_PLUGIN_1_0_H */
