/*
 * Output helpers shared by the csdk command-line tools: prefixed one-line
 * messages on stderr, plain-text tables and JSON documents on stdout.
 */
#ifndef CSDK_TOOLS_OUTPUT_H
#define CSDK_TOOLS_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#if defined(__GNUC__)
#define TOOL_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define TOOL_PRINTF(fmt, args)
#endif

/*
 * The tool's own standard output. csdk runs plugins in its own process and
 * a plugin may write to fd 1 (printf, puts, write(1, ...)): tool_stdout_protect
 * moves the real standard output to a private descriptor and points fd 1
 * at stderr, so only what the tool writes through TOOL_STDOUT (or to
 * tool_out_fd) reaches its standard output. Without it both are stdout.
 */
extern FILE *tool_out_fp;
extern int tool_out_fd;
#define TOOL_STDOUT (tool_out_fp ? tool_out_fp : stdout)

/** Keep the real stdout aside and point fd 1 at stderr. 0, or -1 (nothing changed) when fd 1 or 2 is closed. */
int tool_stdout_protect(void);

/** Set the program name used as the prefix of every message (static string). */
void tool_set_name(const char *name);

/** The program name set by tool_set_name ("csdk" if never set). */
const char *tool_name(void);

/** Print "NAME: MESSAGE" and a newline on stderr. */
void tool_error(const char *fmt, ...) TOOL_PRINTF(1, 2);

/** Print "NAME: warning: MESSAGE" and a newline on stderr. */
void tool_warning(const char *fmt, ...) TOOL_PRINTF(1, 2);

/**
 * Print "NAME: MESSAGE; run 'NAME --help' for usage" on stderr and return
 * the usage exit status, 2.
 */
int tool_usage_error(const char *fmt, ...) TOOL_PRINTF(1, 2);

/**
 * Flush stdout and report a failed write (a full disk, a closed pipe) as an
 * error. Returns 0, or -1 after printing the error.
 */
int tool_finish_output(void);

/* ------------------------------------------------------------------ tables */

/** A plain-text table whose columns are as wide as their widest cell. */
typedef struct tool_table tool_table;

/**
 * Create a table of n_columns columns. headers holds n_columns strings, or
 * is NULL for a table without a header row. Returns 0 or CSDK_ENOMEM.
 */
int tool_table_new(tool_table **out, size_t n_columns, const char *const *headers);

/** Append a row of n_columns cells (copied; a NULL cell prints as "-"). Returns 0 or CSDK_ENOMEM. */
int tool_table_add(tool_table *table, const char *const *cells);

/** Number of rows added, not counting the header. */
size_t tool_table_rows(const tool_table *table);

/**
 * Print the table to fp, each line starting with indent (NULL for none),
 * columns separated by two spaces, and no trailing blanks.
 */
void tool_table_print(const tool_table *table, FILE *fp, const char *indent);

/** Free a table (NULL-safe). */
void tool_table_free(tool_table *table);

/* -------------------------------------------------------------------- JSON */

/** Print root to fp indented by two spaces, followed by a newline. Returns 0 or -1. */
int tool_json_print(FILE *fp, const json_t *root);

/** A new JSON string, or JSON null when s is NULL. */
json_t *tool_json_string_or_null(const char *s);

#endif /* CSDK_TOOLS_OUTPUT_H */
