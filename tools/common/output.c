#include "config.h"

#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/plugin.h>

FILE *tool_out_fp;
int tool_out_fd = STDOUT_FILENO;

int tool_stdout_protect(void)
{
	int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	FILE *fp;

	if (fd < 0)
		return -1;
	if (fcntl(STDERR_FILENO, F_GETFD) < 0 || !(fp = fdopen(fd, "w"))) {
		close(fd);
		return -1;
	}
	fflush(stdout);
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		fclose(fp);
		return -1;
	}
	tool_out_fp = fp;
	tool_out_fd = fd;
	return 0;
}

static const char *program_name = "csdk";

void tool_set_name(const char *name)
{
	program_name = name;
}

const char *tool_name(void)
{
	return program_name;
}

static void vmessage(const char *kind, const char *suffix, const char *fmt, va_list ap)
	TOOL_PRINTF(3, 0);

static void vmessage(const char *kind, const char *suffix, const char *fmt, va_list ap)
{
	fflush(TOOL_STDOUT);
	fprintf(stderr, "%s: %s", program_name, kind);
	vfprintf(stderr, fmt, ap);
	if (suffix)
		fputs(suffix, stderr);
	fputc('\n', stderr);
}

void tool_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("", NULL, fmt, ap);
	va_end(ap);
}

void tool_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("warning: ", NULL, fmt, ap);
	va_end(ap);
}

int tool_usage_error(const char *fmt, ...)
{
	char suffix[128];
	va_list ap;

	snprintf(suffix, sizeof(suffix), "; run '%s --help' for usage", program_name);
	va_start(ap, fmt);
	vmessage("", suffix, fmt, ap);
	va_end(ap);
	return 2;
}

int tool_finish_output(void)
{
	int failed = fflush(TOOL_STDOUT) != 0 || ferror(TOOL_STDOUT);

	if (!failed)
		return 0;
	tool_error("cannot write to standard output (%s); check the disk or the pipe it goes to",
		    strerror(errno ? errno : EIO));
	return -1;
}

/* ------------------------------------------------------------------ tables */

struct tool_table {
	size_t n_columns;
	int has_header;
	size_t n_rows;        /* including the header row */
	size_t cap_rows;
	char **cells;         /* n_rows * n_columns */
};

int tool_table_new(tool_table **out, size_t n_columns, const char *const *headers)
{
	tool_table *table;

	*out = NULL;
	table = calloc(1, sizeof(*table));
	if (!table)
		return CSDK_ENOMEM;
	table->n_columns = n_columns;
	if (headers) {
		table->has_header = 1;
		if (tool_table_add(table, headers) < 0) {
			free(table);
			return CSDK_ENOMEM;
		}
	}
	*out = table;
	return 0;
}

int tool_table_add(tool_table *table, const char *const *cells)
{
	size_t i, base;

	if (table->n_rows == table->cap_rows) {
		size_t cap = table->cap_rows ? table->cap_rows * 2 : 8;
		char **grown = realloc(table->cells, cap * table->n_columns * sizeof(*grown));

		if (!grown)
			return CSDK_ENOMEM;
		table->cells = grown;
		table->cap_rows = cap;
	}
	base = table->n_rows * table->n_columns;
	for (i = 0; i < table->n_columns; i++) {
		table->cells[base + i] = strdup(cells[i] ? cells[i] : "-");
		if (!table->cells[base + i]) {
			while (i-- > 0)
				free(table->cells[base + i]);
			return CSDK_ENOMEM;
		}
	}
	table->n_rows++;
	return 0;
}

size_t tool_table_rows(const tool_table *table)
{
	return table->n_rows - (table->has_header ? 1 : 0);
}

void tool_table_print(const tool_table *table, FILE *fp, const char *indent)
{
	size_t *widths = calloc(table->n_columns ? table->n_columns : 1, sizeof(*widths));
	size_t row, col;

	for (row = 0; widths && row < table->n_rows; row++) {
		for (col = 0; col < table->n_columns; col++) {
			size_t len = strlen(table->cells[row * table->n_columns + col]);

			if (len > widths[col])
				widths[col] = len;
		}
	}
	for (row = 0; row < table->n_rows; row++) {
		const char *const *cells = (const char *const *)table->cells + row * table->n_columns;
		size_t last = table->n_columns;

		/* Trailing empty cells would only leave blanks at the end of the line. */
		while (last > 0 && cells[last - 1][0] == '\0')
			last--;
		if (indent)
			fputs(indent, fp);
		for (col = 0; col < last; col++) {
			if (col + 1 < last)
				fprintf(fp, "%-*s  ", widths ? (int)widths[col] : 0, cells[col]);
			else
				fputs(cells[col], fp);
		}
		fputc('\n', fp);
	}
	free(widths);
}

void tool_table_free(tool_table *table)
{
	size_t i;

	if (!table)
		return;
	for (i = 0; i < table->n_rows * table->n_columns; i++)
		free(table->cells[i]);
	free(table->cells);
	free(table);
}

/* -------------------------------------------------------------------- JSON */

int tool_json_print(FILE *fp, const json_t *root)
{
	if (json_dumpf(root, fp, JSON_INDENT(2)) < 0)
		return -1;
	return fputc('\n', fp) == EOF ? -1 : 0;
}

json_t *tool_json_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}
