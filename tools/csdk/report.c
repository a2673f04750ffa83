#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

void tool_report(int code, const char *what)
{
	const csdk_error *err = csdk_error_last();

	if (err->code != 0 && err->message[0])
		tool_error("%s", err->message);
	else
		tool_error("%s failed: %s", what, csdk_strerror(code));
}

int tool_finish(int status, int failure_status)
{
	return tool_finish_output() < 0 ? failure_status : status;
}

int tool_listing_new(struct tool_listing *out, const struct tool_cli *cli, size_t n_columns,
		      const char *const *headers, const char *what)
{
	out->array = NULL;
	out->table = NULL;
	if (cli->json ? !(out->array = json_array()) : tool_table_new(&out->table, n_columns, headers) < 0) {
		tool_error("out of memory while %s", what);
		return -1;
	}
	return 0;
}

int tool_listing_print(struct tool_listing *out)
{
	if (out->array)
		return tool_print_json(out->array, TOOL_EXIT_FAILURE);
	tool_table_print(out->table, TOOL_STDOUT, NULL);
	tool_table_free(out->table);
	return tool_finish(0, TOOL_EXIT_FAILURE);
}

void tool_listing_free(struct tool_listing *out)
{
	json_decref(out->array);
	tool_table_free(out->table);
}

int tool_print_id(const struct tool_cli *cli, const char *id, const char *key, const char *value)
{
	if (cli->json)
		return tool_print_json(json_pack("{s:o,s:o}", "id", tool_json_text(id), key, tool_json_text(value)),
				       TOOL_EXIT_FAILURE);
	fprintf(TOOL_STDOUT, "%s\n", id);
	return tool_finish(0, TOOL_EXIT_FAILURE);
}

int tool_print_json(json_t *root, int failure_status)
{
	int rc;

	if (!root) {
		tool_error("out of memory while building the JSON output");
		return failure_status;
	}
	rc = tool_json_print(TOOL_STDOUT, root);
	json_decref(root);
	if (rc < 0) {
		tool_finish_output();
		return failure_status;
	}
	return tool_finish(0, failure_status);
}

/* Length of the valid UTF-8 sequence at p (NUL counts as valid), or 0. */
static size_t utf8_sequence(const unsigned char *p, size_t avail)
{
	size_t need, i;
	unsigned int cp;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		need = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (avail < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

int tool_utf8_valid(const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	size_t i = 0, n;

	while (i < len) {
		n = utf8_sequence(p + i, len - i);
		if (!n)
			return 0;
		i += n;
	}
	return 1;
}

json_t *tool_json_bytes(const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data;
	char *fixed;
	size_t i = 0, o = 0, n;
	json_t *str;

	if (!data)
		return json_stringn("", 0);
	if (tool_utf8_valid(data, len))
		return json_stringn(data, len);
	fixed = malloc(len * 3 + 1);
	if (!fixed)
		return NULL;
	while (i < len) {
		n = utf8_sequence(p + i, len - i);
		if (n) {
			memcpy(fixed + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	str = json_stringn(fixed, o);
	free(fixed);
	return str;
}

const char *tool_format_time(char *buf, size_t size, int64_t ms)
{
	time_t secs;
	struct tm tm;

	if (ms == 0)
		return "-";
	secs = (time_t)(ms / 1000);
	if (!gmtime_r(&secs, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, size, "%lld", (long long)ms);
	return buf;
}

json_t *tool_json_time(int64_t ms)
{
	char buf[64];

	return ms ? json_string(tool_format_time(buf, sizeof(buf), ms)) : json_null();
}

int tool_read_all(char **out, size_t *len_out, int fd)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1), *grown;

	*out = NULL;
	*len_out = 0;
	if (!buf)
		return -1;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			cap *= 2;
			grown = realloc(buf, cap + 1);
			if (!grown) {
				free(buf);
				errno = ENOMEM;
				return -1;
			}
			buf = grown;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*out = buf;
	*len_out = len;
	return 0;
}

json_t *tool_json_result(const csdk_result *result)
{
	return json_pack("{s:o,s:o,s:i,s:I}",
			 "stdout", tool_json_bytes(result->stdout_buf, result->stdout_len),
			 "stderr", tool_json_bytes(result->stderr_buf, result->stderr_len),
			 "exit_code", result->exit_code,
			 "duration_ms", (json_int_t)result->duration_ms);
}

json_t *tool_json_text(const char *s)
{
	return s ? tool_json_bytes(s, strlen(s)) : json_null();
}

json_t *tool_json_info(const csdk_sandbox_info *info)
{
	json_t *metadata = json_object(), *root;
	size_t i;

	if (!metadata)
		return NULL;
	for (i = 0; i < info->n_metadata; i++) {
		/* keys must be UTF-8 too: use the repaired text as the key */
		json_t *key = tool_json_text(info->metadata[i].key);

		if (key)
			json_object_set_new(metadata, json_string_value(key), tool_json_text(info->metadata[i].value));
		json_decref(key);
	}
	root = json_pack("{s:o,s:o,s:s,s:I,s:o,s:I,s:o}",
			 "id", tool_json_text(info->id),
			 "provider", tool_json_text(info->provider),
			 "status", csdk_status_name(info->status),
			 "created_ms", (json_int_t)info->created_ms,
			 "created", tool_json_time(info->created_ms),
			 "timeout_ms", (json_int_t)info->timeout_ms,
			 "metadata", metadata);
	return root;
}
