/*
 * csdk/csdk.h - libcsdk, the csdk plugin host.
 *
 * libcsdk finds provider plugins (csdk-<name>.so) on a search path, validates
 * them against the plugin ABI (csdk/plugin.h) and exposes them through one
 * uniform API.
 *
 * Conventions (as in libgit2 and jansson):
 * - Functions that can fail return int: 0 on success, a negative CSDK_E*
 *   code on failure. The failure is also recorded as the calling thread's
 *   last error (csdk_error_last), with a one-line message.
 * - Outputs come first and are named out. Results returned through **out
 *   are owned by the caller and freed with the matching NULL-safe _free.
 * - Getters borrow: what they return lives as long as the object asked.
 *
 * Threads: see docs/threading.md. The registry is guarded by one mutex;
 * records it hands out are immutable and stay valid until the registry is
 * freed.
 */
#ifndef CSDK_CSDK_H
#define CSDK_CSDK_H

#include <stddef.h>
#include <stdint.h>

#include <csdk/plugin.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- library */

/** The library's version string, e.g. "0.1.0". Static; never NULL. */
const char *csdk_version(void);

/** The plugin ABI version this library speaks (CSDK_ABI_VERSION when built). */
uint32_t csdk_abi_version(void);

/* ----------------------------------------------------------------- errors */

/** The last error of the calling thread. */
typedef struct csdk_error {
	int code;             /**< a CSDK_E* code, or 0 when there was none */
	const char *message;  /**< one line (provider messages may hold more, see csdk.h docs); never NULL */
	const char *provider; /**< the provider or plugin concerned, or NULL */
} csdk_error;

/**
 * The calling thread's last error. Never NULL; code is 0 and message ""
 * when no error was recorded. Borrowed: valid until the thread's next call
 * into libcsdk.
 */
const csdk_error *csdk_error_last(void);

/** Forget the calling thread's last error. */
void csdk_error_clear(void);

/** A short static description of a CSDK_E* code ("not found", ...). Never NULL. */
const char *csdk_strerror(int code);

/* --------------------------------------------------------------- registry */

/** A set of plugins found on a search path. */
typedef struct csdk_registry csdk_registry;

/** Where a search path entry came from. */
typedef enum csdk_path_origin {
	CSDK_PATH_OPTION = 1,     /**< csdk_registry_options.search_path */
	CSDK_PATH_ENV = 2,        /**< CSDK_PLUGIN_PATH */
	CSDK_PATH_USER = 3,       /**< $XDG_DATA_HOME/csdk-1/plugins (or ~/.local/share/...) */
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
	unsigned int version;      /**< CSDK_REGISTRY_OPTIONS_VERSION */
	unsigned int flags;        /**< CSDK_REGISTRY_* */
	/** Colon-separated directories searched instead of the default path; NULL for the default. */
	const char *search_path;
	/** Comma-separated name globs: only matching plugins load (default: CSDK_PLUGINS, else all). */
	const char *select;
	/** Comma-separated name globs: matching plugins are skipped (default: CSDK_PLUGINS_DISABLE). */
	const char *disable;
} csdk_registry_options;

#define CSDK_REGISTRY_OPTIONS_VERSION 1
#define CSDK_REGISTRY_OPTIONS_INIT { CSDK_REGISTRY_OPTIONS_VERSION, 0, NULL, NULL, NULL }

/** A plugin that passed validation. Immutable; borrowed from its registry. */
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
	const struct csdk_config_key *config_keys; /**< host copies, CSDK_CONFIG_KEY_SIZE_1_0 or larger */
	const struct csdk_methods *methods;        /**< host copy, zero-extended to this host's size */
	const struct csdk_plugin *descriptor;      /**< the plugin's own descriptor */
	size_t n_warnings;
	const char *const *warnings;               /**< one-line warnings, each naming the file */
	const char *origin_dir;                    /**< search path directory it was found in, or NULL */
} csdk_plugin_info;

/** A file that was rejected, and why. */
typedef struct csdk_rejection {
	const char *path;          /**< absolute path of the file */
	const char *name;          /**< the plugin's name when known, else NULL */
	int code;                  /**< CSDK_EPLUGIN, CSDK_EABI, CSDK_ECRASHED, CSDK_EIO */
	int signal;                /**< with CSDK_ECRASHED: the signal that ended the probe */
	int shadowed;              /**< non-zero when rejected as a duplicate name */
	const char *reason;        /**< one line: "PATH: fact; fix" */
} csdk_rejection;

/**
 * Create a registry and scan its search path once.
 *
 * Scanning rejects bad files (kept, with reasons) but never fails because of
 * them; it fails only when out of memory. opts may be NULL for defaults.
 * Thread-safe.
 */
int csdk_registry_new(csdk_registry **out, const csdk_registry_options *opts);

/**
 * Scan the search path again: files added since the last scan are loaded
 * and validated, files already loaded stay as they are (plugins are never
 * unloaded), rejections are recomputed. Thread-safe; records handed out
 * before stay valid.
 */
int csdk_registry_scan(csdk_registry *reg);

/** Free a registry (NULL-safe). Loaded plugins stay mapped: they are never unloaded. */
void csdk_registry_free(csdk_registry *reg);

/** Number of valid plugins, sorted by name. */
size_t csdk_registry_count(const csdk_registry *reg);

/** The i-th valid plugin, or NULL when i is out of range. */
const csdk_plugin_info *csdk_registry_at(const csdk_registry *reg, size_t i);

/** The valid plugin of that name, or NULL (no error is recorded). */
const csdk_plugin_info *csdk_registry_find(const csdk_registry *reg, const char *name);

/** Number of rejected files, in scan order. */
size_t csdk_registry_rejected_count(const csdk_registry *reg);

/** The i-th rejection, or NULL when i is out of range. */
const csdk_rejection *csdk_registry_rejected_at(const csdk_registry *reg, size_t i);

/** Number of search path entries, in search order (including missing directories). */
size_t csdk_registry_path_count(const csdk_registry *reg);

/** The i-th search path entry, or NULL. */
const csdk_path_entry *csdk_registry_path_at(const csdk_registry *reg, size_t i);

/** Warnings about the search path itself (e.g. overrides ignored under elevated privileges). */
size_t csdk_registry_warning_count(const csdk_registry *reg);
const char *csdk_registry_warning_at(const csdk_registry *reg, size_t i);

/**
 * Load and validate one file outside the search path (or inside it again).
 *
 * On success *out borrows the record from the registry (a plugin already
 * loaded from the same file is returned as is). On rejection returns
 * CSDK_EPLUGIN (or CSDK_ECRASHED under CSDK_REGISTRY_ISOLATE) with the
 * reason as the last error's message. The name-matches-file rule applies;
 * the duplicate rule does not.
 */
int csdk_registry_load_file(csdk_registry *reg, const char *path, const csdk_plugin_info **out);

/* -------------------------------------------------------------- plugin lint */

/** One finding of csdk_plugin_lint. */
typedef struct csdk_lint_check {
	const char *check;         /**< "elf", "exports", "undefined", "descriptor" */
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
 * and a valid descriptor. Plugin code runs in a child process only, so a
 * crashing plugin is reported, not suffered. Returns 0 when the lint ran
 * (whatever it found; see out->ok), an error when it could not run.
 */
int csdk_plugin_lint(csdk_lint **out, const char *path);

/** Free a lint result (NULL-safe). */
void csdk_lint_free(csdk_lint *lint);

/* ------------------------------------------------------------ descriptions */

/** "direct" or "gateway" for one CSDK_MODE_* value; "unknown" otherwise. Static. */
const char *csdk_mode_name(uint32_t mode);

/** Name of one CSDK_CAP_* bit ("filesystem", "named", "templates", "snapshots", "streaming", "thread-safe"), or NULL. Static. */
const char *csdk_capability_name(uint64_t cap);

#ifdef __cplusplus
}
#endif

#endif /* CSDK_CSDK_H */
