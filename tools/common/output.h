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
#define CSDKP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CSDKP_PRINTF(fmt, args)
#endif

/*
 * The tool's own standard output. csdk runs plugins in its own process and
 * a plugin may write to fd 1 (printf, puts, write(1, ...)): csdkp_stdout_protect
 * moves the real standard output to a private descriptor and points fd 1
 * at stderr, so only what the tool writes through CSDKP_STDOUT (or to
 * csdkp_out_fd) reaches its standard output. Without it both are stdout.
 */
extern FILE *csdkp_out_fp;
extern int csdkp_out_fd;
#define CSDKP_STDOUT (csdkp_out_fp ? csdkp_out_fp : stdout)

/** Keep the real stdout aside and point fd 1 at stderr. 0, or -1 (nothing changed) when fd 1 or 2 is closed. */
int csdkp_stdout_protect(void);

/** Set the program name used as the prefix of every message (static string). */
void csdkp_tool_set_name(const char *name);

/** The program name set by csdkp_tool_set_name ("csdk" if never set). */
const char *csdkp_tool_name(void);

/** Print "NAME: MESSAGE" and a newline on stderr. */
void csdkp_error(const char *fmt, ...) CSDKP_PRINTF(1, 2);

/** Print "NAME: warning: MESSAGE" and a newline on stderr. */
void csdkp_warning(const char *fmt, ...) CSDKP_PRINTF(1, 2);

/**
 * Print "NAME: MESSAGE; run 'NAME --help' for usage" on stderr and return
 * the usage exit status, 2.
 */
int csdkp_usage_error(const char *fmt, ...) CSDKP_PRINTF(1, 2);

/**
 * Flush stdout and report a failed write (a full disk, a closed pipe) as an
 * error. Returns 0, or -1 after printing the error.
 */
int csdkp_finish_output(void);

/* ------------------------------------------------------------------ tables */

/** A plain-text table whose columns are as wide as their widest cell. */
typedef struct csdkp_table csdkp_table;

/**
 * Create a table of n_columns columns. headers holds n_columns strings, or
 * is NULL for a table without a header row. Returns 0 or CSDK_ENOMEM.
 */
int csdkp_table_new(csdkp_table **out, size_t n_columns, const char *const *headers);

/** Append a row of n_columns cells (copied; a NULL cell prints as "-"). Returns 0 or CSDK_ENOMEM. */
int csdkp_table_add(csdkp_table *table, const char *const *cells);

/** Number of rows added, not counting the header. */
size_t csdkp_table_rows(const csdkp_table *table);

/**
 * Print the table to fp, each line starting with indent (NULL for none),
 * columns separated by two spaces, and no trailing blanks.
 */
void csdkp_table_print(const csdkp_table *table, FILE *fp, const char *indent);

/** Free a table (NULL-safe). */
void csdkp_table_free(csdkp_table *table);

/* -------------------------------------------------------------------- JSON */

/** Print root to fp indented by two spaces, followed by a newline. Returns 0 or -1. */
int csdkp_json_print(FILE *fp, const json_t *root);

/** A new JSON string, or JSON null when s is NULL. */
json_t *csdkp_json_string_or_null(const char *s);

#endif /* CSDK_TOOLS_OUTPUT_H */
