#include "config.h"

#include "output.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <csdk/plugin.h>

FILE *csdkp_out_fp;
int csdkp_out_fd = STDOUT_FILENO;

int csdkp_stdout_protect(void)
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
	csdkp_out_fp = fp;
	csdkp_out_fd = fd;
	return 0;
}

static const char *tool_name = "csdk";

void csdkp_tool_set_name(const char *name)
{
	tool_name = name;
}

const char *csdkp_tool_name(void)
{
	return tool_name;
}

static void vmessage(const char *kind, const char *suffix, const char *fmt, va_list ap)
	CSDKP_PRINTF(3, 0);

static void vmessage(const char *kind, const char *suffix, const char *fmt, va_list ap)
{
	fflush(CSDKP_STDOUT);
	fprintf(stderr, "%s: %s", tool_name, kind);
	vfprintf(stderr, fmt, ap);
	if (suffix)
		fputs(suffix, stderr);
	fputc('\n', stderr);
}

void csdkp_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("", NULL, fmt, ap);
	va_end(ap);
}

void csdkp_warning(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("warning: ", NULL, fmt, ap);
	va_end(ap);
}

int csdkp_usage_error(const char *fmt, ...)
{
	char suffix[128];
	va_list ap;

	snprintf(suffix, sizeof(suffix), "; run '%s --help' for usage", tool_name);
	va_start(ap, fmt);
	vmessage("", suffix, fmt, ap);
	va_end(ap);
	return 2;
}

int csdkp_finish_output(void)
{
	int failed = fflush(CSDKP_STDOUT) != 0 || ferror(CSDKP_STDOUT);

	if (!failed)
		return 0;
	csdkp_error("cannot write to standard output (%s); check the disk or the pipe it goes to",
		    strerror(errno ? errno : EIO));
	return -1;
}

/* ------------------------------------------------------------------ tables */

struct csdkp_table {
	size_t n_columns;
	int has_header;
	size_t n_rows;        /* including the header row */
	size_t cap_rows;
	char **cells;         /* n_rows * n_columns */
};

int csdkp_table_new(csdkp_table **out, size_t n_columns, const char *const *headers)
{
	csdkp_table *table;

	*out = NULL;
	table = calloc(1, sizeof(*table));
	if (!table)
		return CSDK_ENOMEM;
	table->n_columns = n_columns;
	if (headers) {
		table->has_header = 1;
		if (csdkp_table_add(table, headers) < 0) {
			free(table);
			return CSDK_ENOMEM;
		}
	}
	*out = table;
	return 0;
}

int csdkp_table_add(csdkp_table *table, const char *const *cells)
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

size_t csdkp_table_rows(const csdkp_table *table)
{
	return table->n_rows - (table->has_header ? 1 : 0);
}

void csdkp_table_print(const csdkp_table *table, FILE *fp, const char *indent)
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

void csdkp_table_free(csdkp_table *table)
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

int csdkp_json_print(FILE *fp, const json_t *root)
{
	if (json_dumpf(root, fp, JSON_INDENT(2)) < 0)
		return -1;
	return fputc('\n', fp) == EOF ? -1 : 0;
}

json_t *csdkp_json_string_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}
