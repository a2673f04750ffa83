/*
 * csdk/plugin.h - the csdk plugin ABI, version 2.1, for plugin authors.
 *
 * A csdk provider plugin is a shared object named csdk-<name>.so that
 * exports exactly one symbol, csdk_plugin_entry. The host calls it with its
 * own ABI version; the plugin answers with a pointer to a static descriptor
 * (struct csdk_plugin) that names the plugin, declares its capabilities and
 * configuration keys, and points at its method table.
 *
 * Applications do not include this header: they use csdk/csdk.h, which
 * never exposes a plugin's descriptor, method table or native handles.
 *
 * Growing the ABI (docs/plugin-abi.md): fields are only ever appended, and
 * every structure that crosses the boundary begins with its own size
 * (struct_size). A reader accepts every size from the 2.0 size
 * (CSDK_*_SIZE_2_0 below) up, reads only the fields that size covers, and
 * treats the rest as zero. ABI 1.x plugins are rejected: rebuild them
 * against this header.
 *
 * Memory never crosses the boundary with mixed allocators. Everything the
 * plugin hands back travels through host-owned builders (struct csdk_sink,
 * struct csdk_text, ...) that copy what they are given during the call. The
 * plugin's own per-sandbox handle (void *) is released by its release
 * method.
 *
 * Threads. Unless the plugin declares CSDK_CAP_THREAD_SAFE, the host never
 * calls two methods of one plugin context at the same time (it may call
 * them from different threads, one after the other). Every method runs on
 * the thread of the application call that caused it. The host functions of
 * struct csdk_host may be called:
 * - from the thread running the method, for the whole method: all of them;
 * - from other threads the plugin started, while a method is running and
 *   before it returns: log, config_get, config_get_int and sink_write
 *   (calls on one sink must not overlap: serialise them yourself);
 * - from any thread at any time between init and teardown: log,
 *   config_get and config_get_int.
 * host->error sets the last error of the calling thread: call it on the
 * method's own thread, just before returning the code, or the application
 * will not see the message.
 */
#ifndef CSDK_PLUGIN_H
#define CSDK_PLUGIN_H

#include <csdk/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** First field of every descriptor: the bytes "CSDK" read as little-endian. */
#define CSDK_PLUGIN_MAGIC 0x4b445343u

/** The name of the one symbol a plugin exports. */
#define CSDK_PLUGIN_ENTRY_SYMBOL "csdk_plugin_entry"

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
struct csdk_endpoint;  /**< receives a gateway agent's URL, token and headers */
struct csdk_config;    /**< configuration given to init (read-only) */

/* ------------------------------------------------------------ host table */

/**
 * Services the host offers to a plugin, passed to init and valid until
 * teardown returns. Which thread may call what: see the top of this file.
 * Functions returning int return 0 or a negative CSDK_E* code; a non-zero
 * return from sink_write means the host wants the operation stopped (end
 * the command and return CSDK_ECANCELLED).
 *
 * A plugin must check struct_size before using a function appended after
 * 2.0 (see CSDK_HOST_SIZE_2_0).
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
	 * can `return host->error(host, CSDK_EBACKEND, "...", ...);`. The
	 * message is one line (a newline ends it): what failed, where, and how
	 * to fix it. Values of secret configuration keys are masked.
	 */
	int (*error)(const struct csdk_host *host, int code, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;

	/**
	 * The value of a configuration key as given (after the environment
	 * fallback), or NULL when unset. Typed keys have been checked already.
	 * Borrowed until teardown.
	 */
	const char *(*config_get)(const struct csdk_config *config, const char *key);
	/**
	 * The parsed value of a typed key (CSDK_CONFIG_BOOL: 1 or 0; INT; SIZE
	 * in bytes; DURATION in milliseconds): 0 with *out set, CSDK_ENOTFOUND
	 * when the key is unset (*out untouched, so preset your default), or
	 * CSDK_EINVAL for a string key or an undeclared one.
	 */
	int (*config_get_int)(const struct csdk_config *config, const char *key, int64_t *out);

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

	/**
	 * Gateway mode: where the sandbox-side agent listens, as "unix:PATH"
	 * or an "http://" or "https://" URL, and the access token it expects
	 * (NULL for none). CSDK_EINVAL for another scheme.
	 */
	int (*endpoint_set)(struct csdk_endpoint *endpoint, const char *url, const char *token);
	/** Gateway mode: one more HTTP header to send to the agent with every request. */
	int (*endpoint_add_header)(struct csdk_endpoint *endpoint, const char *name, const char *value);
};

/* ------------------------------------------------- requests (host → plugin) */

/*
 * What the host asks of a plugin. Unset strings are NULL, unset numbers 0.
 * The host has checked them before the call: names and namespaces match
 * [A-Za-z0-9][A-Za-z0-9._-]* (at most 63 bytes), timeouts are 0 or within
 * 1 ms to 30 days, runtimes are "python" or "node".
 */

/** create and find_or_create. */
struct csdk_create_request {
	uint32_t struct_size;
	uint32_t reserved;
	int64_t timeout_ms;        /**< lifetime; 0 = provider default */
	const char *template_id;
	const char *snapshot_id;
	const char *name;          /**< find_or_create: always set; create: set when the plugin is CSDK_CAP_NAMED and the caller named the sandbox */
	const char *namespace_;    /**< with name: never NULL ("default" when the caller gave none) */
	const char *runtime;       /**< "python", "node" or NULL */
	const char *image;
	const struct csdk_kv *metadata;
	size_t n_metadata;
	const struct csdk_kv *envs;
	size_t n_envs;
	double cpus;               /**< hint; 0 = default */
	uint64_t memory_bytes;     /**< hint; 0 = default */
};

/** run_command and run_code. */
struct csdk_run_request {
	uint32_t struct_size;
	uint32_t background;       /**< non-zero: start and return at once with exit code 0 */
	const char *cwd;           /**< NULL = the sandbox's default directory */
	const struct csdk_kv *envs;
	size_t n_envs;
	int64_t timeout_ms;        /**< 0 = none; exceeded: kill the process group, keep the output so far, exit code 124 */
	const char *runtime;       /**< run_code: "python" or "node" (the host detects it when the caller gave none); run_command: NULL */
};

/** template_create. */
struct csdk_template_request {
	uint32_t struct_size;
	uint32_t reserved;
	const char *name;
	const char *source;        /**< provider-specific source (a directory, an image, ...), or NULL */
	void *sandbox;             /**< or the plugin's own native handle of a sandbox to capture, or NULL */
};

/* ---------------------------------------------------------- method table */

/*
 * All methods receive the plugin's context (from init) first. Sandbox
 * instance methods receive the plugin's native handle next. Methods return 0
 * or a negative CSDK_E* code after calling host->error with a message.
 *
 * get and find return CSDK_ENOTFOUND (without setting an error) when no such
 * sandbox exists; the host reports that as "not found", not as a failure.
 * Methods must not write to stdout: csdk-plugins --check and the
 * conformance kit report a plugin that does, naming the method.
 */
struct csdk_methods {
	uint32_t struct_size;
	uint32_t reserved;

	/* lifecycle: init is required */
	int (*init)(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out);
	void (*teardown)(void *ctx);
	/** Release a native handle (never called with NULL). */
	void (*release)(void *ctx, void *sandbox);

	/* required: collection */
	int (*create)(void *ctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out);
	int (*get)(void *ctx, const char *id, void **sandbox_out);
	int (*list)(void *ctx, struct csdk_handles *out);
	/** Destroying a sandbox that no longer exists succeeds. */
	int (*destroy)(void *ctx, const char *id);

	/* required in direct mode: instance */
	int (*run_code)(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out);
	int (*run_command)(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out);
	int (*get_info)(void *ctx, void *sandbox, struct csdk_info *out);
	/** port is 1 to 65535; protocol is NULL for the provider's default, else a URL scheme ([a-z][a-z0-9+.-]*). */
	int (*get_url)(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out);

	/* CSDK_CAP_FILESYSTEM */
	int (*fs_read)(void *ctx, void *sandbox, const char *path, struct csdk_sink *out);
	int (*fs_write)(void *ctx, void *sandbox, const char *path, const void *data, size_t len);
	int (*fs_mkdir)(void *ctx, void *sandbox, const char *path);
	int (*fs_readdir)(void *ctx, void *sandbox, const char *path, struct csdk_dir *out);
	int (*fs_exists)(void *ctx, void *sandbox, const char *path, int *exists_out);
	int (*fs_remove)(void *ctx, void *sandbox, const char *path);

	/* CSDK_CAP_NAMED */
	/** Find req->namespace_/req->name or create it with req, atomically. */
	int (*find_or_create)(void *ctx, const struct csdk_create_request *req, struct csdk_text *id_out, void **sandbox_out);
	int (*find)(void *ctx, const char *namespace_, const char *name, struct csdk_text *id_out, void **sandbox_out);
	int (*extend_timeout)(void *ctx, void *sandbox, int64_t duration_ms);

	/* CSDK_CAP_TEMPLATES */
	int (*template_create)(void *ctx, const struct csdk_template_request *req, struct csdk_text *id_out);
	int (*template_list)(void *ctx, struct csdk_items *out);
	int (*template_delete)(void *ctx, const char *id);

	/* CSDK_CAP_SNAPSHOTS */
	int (*snapshot_create)(void *ctx, void *sandbox, const char *name, struct csdk_text *id_out);
	int (*snapshot_list)(void *ctx, struct csdk_items *out);
	int (*snapshot_delete)(void *ctx, const char *id);

	/* CSDK_MODE_GATEWAY: where the sandbox-side agent of a sandbox listens */
	int (*gateway_endpoint)(void *ctx, void *sandbox, struct csdk_endpoint *out);

	/* 2.1 */
	/**
	 * Optional: an operation of this plugin's own, not of every provider
	 * (the local provider's pool: "pool.status"). op is the operation's
	 * name, prefixed by the plugin ("pool."); arg an optional argument or
	 * NULL; the result is text set on out (JSON by convention). Answers
	 * CSDK_EUNSUPPORTED, naming the operations it has, for an op it does not
	 * know. Called under the same call lock as the other methods.
	 */
	int (*extension)(void *ctx, const char *op, const char *arg, struct csdk_text *out);
};

/* ------------------------------------------------------- configuration keys */

/**
 * One configuration key a plugin understands. The descriptor's
 * config_key_size is the size of one entry as compiled (the array's
 * stride): the host reads only what that size covers.
 */
struct csdk_config_key {
	const char *key;      /**< e.g. "api_key": [a-z][a-z0-9_]* */
	const char *env;      /**< environment variable read when the key is unset, or NULL */
	uint32_t flags;       /**< CSDK_CONFIG_REQUIRED, CSDK_CONFIG_SECRET */
	uint32_t type;        /**< enum csdk_config_type (0: string) */
	const char *help;     /**< one line, shown by csdk-plugins and in the missing-key error */
	int64_t min;          /**< INT, SIZE, DURATION: smallest value allowed */
	int64_t max;          /**< INT, SIZE, DURATION: largest value allowed; min and max both 0 = no bounds (INT64_MAX) */
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

/* --------------------------------------------------- frozen 2.0 sizes */

/*
 * The sizes of the 2.0 structs, frozen: a struct may only grow beyond them.
 * The host rejects a plugin whose struct_size is smaller than these.
 */
#define CSDK_PLUGIN_SIZE_2_0 (offsetof(struct csdk_plugin, methods) + sizeof(void *))
#define CSDK_METHODS_SIZE_2_0 (offsetof(struct csdk_methods, gateway_endpoint) + sizeof(void (*)(void)))
#define CSDK_HOST_SIZE_2_0 (offsetof(struct csdk_host, endpoint_add_header) + sizeof(void (*)(void)))
#define CSDK_CONFIG_KEY_SIZE_2_0 (offsetof(struct csdk_config_key, max) + sizeof(int64_t))
#define CSDK_CREATE_REQUEST_SIZE_2_0 (offsetof(struct csdk_create_request, memory_bytes) + sizeof(uint64_t))
#define CSDK_RUN_REQUEST_SIZE_2_0 (offsetof(struct csdk_run_request, runtime) + sizeof(void *))
#define CSDK_TEMPLATE_REQUEST_SIZE_2_0 (offsetof(struct csdk_template_request, sandbox) + sizeof(void *))

/* ---------------------------------------------------- frozen 2.1 sizes */

/* The structs 2.1 grew, at their 2.1 size; the others keep their 2.0 size. */
#define CSDK_METHODS_SIZE_2_1 (offsetof(struct csdk_methods, extension) + sizeof(void (*)(void)))

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

#endif /* CSDK_PLUGIN_H */
