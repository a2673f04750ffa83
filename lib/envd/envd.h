/*
 * envd.h - a client of E2B's envd protocol (the sandbox agent csdk-agent
 * speaks, and E2B's own sandboxes), over libcurl and jansson.
 *
 * Internal to csdk: linked statically by libcsdk (gateway routing) and by
 * plugins that talk to envd agents. Not installed; no symbol is exported.
 *
 * Every function returns 0 or a negative CSDK_E* code and, on failure, puts
 * a one-line message (what, where; no secret) into err. A client holds no
 * connection between calls and may be used from one thread at a time;
 * separate clients are independent.
 */
#ifndef CSDK_ENVD_H
#define CSDK_ENVD_H

#include <stddef.h>
#include <stdint.h>

#include <csdk/common.h>

/** Room for a message. */
#define ENVDC_ERR_MAX 512

typedef struct envdc envdc;

/**
 * A client of the agent at url ("unix:PATH" or "http(s)://HOST[:PORT]"),
 * sending token as X-Access-Token (NULL for none) and the extra headers
 * with every request. The strings are copied.
 */
int envdc_new(envdc **out, const char *url, const char *token, const struct csdk_kv *headers, size_t n_headers,
	      char err[ENVDC_ERR_MAX]);
void envdc_free(envdc *client);

/** Receives output: stream is CSDK_STREAM_STDOUT or CSDK_STREAM_STDERR; non-zero stops the command. */
typedef int (*envdc_output_fn)(void *userdata, enum csdk_stream stream, const void *data, size_t len);

/** A command, run as /bin/sh -c COMMAND. */
struct envdc_command {
	const char *command;
	const char *cwd;               /**< NULL: the agent's default */
	const struct csdk_kv *envs;
	size_t n_envs;
	int64_t timeout_ms;            /**< 0: none; else the process's lifetime, exit code 124 when it ran out */
	int background;                /**< return once started, with exit code 0 */
	envdc_output_fn on_output;     /**< may be NULL */
	void *userdata;
};

/**
 * Run a command through process.Process/Start, streaming its output as it
 * comes. *exit_code: the command's status (128+N for signal N, 124 for a
 * timeout). CSDK_ECANCELLED when on_output asked to stop (the process is
 * then sent SIGKILL).
 */
int envdc_run(envdc *client, const struct envdc_command *cmd, int *exit_code, char err[ENVDC_ERR_MAX]);

/** Send SIGKILL (sig 9) or SIGTERM (15) to a process of the agent by pid. */
int envdc_signal(envdc *client, uint32_t pid, int sig, char err[ENVDC_ERR_MAX]);

/** Receives file contents as they arrive; non-zero stops the read (CSDK_ECANCELLED). */
typedef int (*envdc_data_fn)(void *userdata, const void *data, size_t len);

/** GET /files: the file's bytes. CSDK_ENOTFOUND "no such file: PATH". */
int envdc_read(envdc *client, const char *path, envdc_data_fn on_data, void *userdata, char err[ENVDC_ERR_MAX]);

/** POST /files (application/octet-stream): create or replace the file, making its parents. */
int envdc_write(envdc *client, const char *path, const void *data, size_t len, char err[ENVDC_ERR_MAX]);

/** An entry of filesystem.Filesystem's EntryInfo. */
struct envdc_entry {
	char *name;
	char *path;
	enum csdk_entry_type type;
	uint64_t size;
	int64_t modified_ms;
};

/** Stat: 0 with *out filled (free with envdc_entry_clear), CSDK_ENOTFOUND when missing. */
int envdc_stat(envdc *client, const char *path, struct envdc_entry *out, char err[ENVDC_ERR_MAX]);

/** ListDir with depth 1: *out an array of *n_out entries (free with envdc_entries_free). */
int envdc_list(envdc *client, const char *path, struct envdc_entry **out, size_t *n_out, char err[ENVDC_ERR_MAX]);

/** MakeDir (with parents); a directory that exists already is success. */
int envdc_mkdir(envdc *client, const char *path, char err[ENVDC_ERR_MAX]);

/** Remove a file or a directory tree; CSDK_ENOTFOUND when missing. */
int envdc_remove(envdc *client, const char *path, char err[ENVDC_ERR_MAX]);

void envdc_entry_clear(struct envdc_entry *entry);
void envdc_entries_free(struct envdc_entry *entries, size_t n);

#endif
