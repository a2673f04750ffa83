/*
 * csdk/common.h - what applications and plugins share: the ABI version,
 * error codes, modes, capability bits, and the small value types both
 * sides speak of.
 *
 * Included by csdk/csdk.h (applications) and csdk/plugin.h (plugin
 * authors); include one of those, not this file. Self-contained: it needs
 * only the C standard library. Everything here is part of the frozen ABI
 * 2.0: values are appended, never renumbered or reused.
 */
#ifndef CSDK_COMMON_H
#define CSDK_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

/** ABI major version: a change here breaks every plugin. */
#define CSDK_ABI_MAJOR 2
/** ABI minor version: grows when fields are appended. */
#define CSDK_ABI_MINOR 1
/** Build an ABI version number, as passed to csdk_plugin_entry. */
#define CSDK_ABI_MAKE(major, minor) \
	((uint32_t)(((uint32_t)(major) << 16) | ((uint32_t)(minor) & 0xffffu)))
/** Major part of an ABI version number. */
#define CSDK_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
/** Minor part of an ABI version number. */
#define CSDK_ABI_MINOR_OF(v) ((uint32_t)(v) & 0xffffu)
/** The ABI version this header describes. */
#define CSDK_ABI_VERSION CSDK_ABI_MAKE(CSDK_ABI_MAJOR, CSDK_ABI_MINOR)

/* ----------------------------------------------------------- error codes */

/*
 * Every function of libcsdk and of the plugin ABI returns 0 on success or
 * one of these negative codes. Codes are never reused or renumbered.
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

/** Operating modes (bits of a plugin's modes; one value for its default mode). */
#define CSDK_MODE_DIRECT 0x1u  /**< the plugin runs sandbox operations itself */
#define CSDK_MODE_GATEWAY 0x2u /**< the plugin supplies machines and an agent endpoint; the host talks to the agent */
#define CSDK_MODES_KNOWN_2_0 0x3u

/** Capability bits. Retired bits are never reused. */
#define CSDK_CAP_FILESYSTEM (UINT64_C(1) << 0) /**< the plugin's fs_* methods */
#define CSDK_CAP_NAMED (UINT64_C(1) << 1)      /**< find_or_create, find, extend_timeout */
#define CSDK_CAP_TEMPLATES (UINT64_C(1) << 2)  /**< template_* */
#define CSDK_CAP_SNAPSHOTS (UINT64_C(1) << 3)  /**< snapshot_* */
#define CSDK_CAP_STREAMING (UINT64_C(1) << 4)  /**< run_command writes output while the command runs */
#define CSDK_CAP_THREAD_SAFE (UINT64_C(1) << 5) /**< methods may be called concurrently */
#define CSDK_CAP_EXEC (UINT64_C(1) << 6)       /**< run_command and run_code really execute: output and exit codes are the program's */
#define CSDK_CAP_FS_OVER_COMMANDS (UINT64_C(1) << 7) /**< no fs_* methods: the host provides the filesystem through run_command and a POSIX sh */
#define CSDK_CAPS_KNOWN_2_0 (UINT64_C(0xff))

/* ------------------------------------------------------------ value types */

/** A key/value pair, as used for environment variables, metadata and configuration. */
struct csdk_kv {
	const char *key;
	const char *value;
};

/** Output streams. */
enum csdk_stream {
	CSDK_STREAM_STDOUT = 1,
	CSDK_STREAM_STDERR = 2
};

/** Sandbox status. */
enum csdk_status {
	CSDK_STATUS_RUNNING = 1,
	CSDK_STATUS_STOPPED = 2,
	CSDK_STATUS_ERROR = 3
};

/** Directory entry types. */
enum csdk_entry_type {
	CSDK_ENTRY_FILE = 1,
	CSDK_ENTRY_DIRECTORY = 2,
	CSDK_ENTRY_OTHER = 3
};

/** Log levels. */
enum csdk_log_level {
	CSDK_LOG_DEBUG = 1,
	CSDK_LOG_INFO = 2,
	CSDK_LOG_WARN = 3,
	CSDK_LOG_ERROR = 4
};

/** Flags of a configuration key. */
#define CSDK_CONFIG_REQUIRED 0x1u /**< opening the provider fails without it */
#define CSDK_CONFIG_SECRET 0x2u   /**< never printed, logged or put in an error */

/**
 * Types of configuration values. The host parses and checks a typed value
 * before the plugin sees it, with one message format; the plugin reads it
 * with csdk_host.config_get (the text as given) or config_get_int (the
 * parsed number).
 */
enum csdk_config_type {
	CSDK_CONFIG_STRING = 0,   /**< any text */
	CSDK_CONFIG_BOOL = 1,     /**< true/false, yes/no, on/off, 1/0; read as 1 or 0 */
	CSDK_CONFIG_INT = 2,      /**< a decimal integer within [min, max] */
	CSDK_CONFIG_SIZE = 3,     /**< bytes, with an optional K, M, G or T suffix (powers of 1024), within [min, max] */
	CSDK_CONFIG_DURATION = 4  /**< milliseconds, or a number with ms, s, m or h, within [min, max]; read in milliseconds */
};

#ifdef __cplusplus
}
#endif

#endif /* CSDK_COMMON_H */
