/* GET /files (download) and POST /files (multipart or raw upload). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"

struct agent_files {
	struct MHD_PostProcessor *pp;
	char *query_path;
	int fd, nfiles;
	char *part_name;
	uint64_t part_bytes;
	json_t *written;
	unsigned fail_status;
	char fail_msg[600];
};

static void agent_files_fail(struct agent_files *st, unsigned status, const char *what,
			     const char *path, int e)
{
	if (st->fail_status)
		return;
	st->fail_status = status;
	snprintf(st->fail_msg, sizeof st->fail_msg, "%s %s: %s", what, path, strerror(e));
}

static const char *agent_query_path(struct MHD_Connection *c)
{
	const char *p = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "path");

	return p && *p ? p : NULL;
}

static enum MHD_Result agent_download(struct MHD_Connection *c)
{
	const char *raw = agent_query_path(c);
	char *path, disp[600];
	struct stat st;
	struct MHD_Response *r;
	int fd;
	enum MHD_Result rc;

	if (!raw)
		return agent_reply_rest_error(c, 400, "the path query parameter is required");
	path = agent_fs_resolve(raw);
	if (!path)
		return agent_reply_rest_error(c, 400, "path too long");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		rc = e == ENOENT || e == ENOTDIR
			? agent_reply_rest_error(c, 404, "path '%s' does not exist", path)
			: agent_reply_rest_error(c, e == EACCES ? 401 : 500, "error opening file '%s': %s",
						 path, strerror(e));
		free(path);
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		rc = agent_reply_rest_error(c, 400, "path '%s' is not a regular file", path);
		free(path);
		return rc;
	}
	r = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
	if (!r) {
		close(fd);
		free(path);
		return MHD_NO;
	}
	snprintf(disp, sizeof disp, "inline; filename=\"%s\"", strrchr(path, '/') + 1);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(r, "Content-Disposition", disp);
	free(path);
	rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return rc;
}

static int agent_open_target(struct agent_files *st, const char *raw)
{
	struct agent_err err;
	char *path = agent_fs_resolve(raw), *slash;
	json_t *e;

	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	if (!path) {
		st->fail_status = 400;
		snprintf(st->fail_msg, sizeof st->fail_msg, "path too long");
		return -1;
	}
	slash = strrchr(path, '/');
	if (slash != path) {
		*slash = '\0';
		if (agent_fs_mkdirs(path, &err) < 0)
			agent_files_fail(st, 500, "error creating the directory", path, errno);
		*slash = '/';
	}
	st->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (st->fd < 0) {
		agent_files_fail(st, errno == ENOENT || errno == EISDIR || errno == ENOTDIR ? 400 : 500,
				 "error opening", path, errno);
		free(path);
		return -1;
	}
	e = json_pack("{s:s,s:s,s:s}", "path", path, "name", strrchr(path, '/') + 1, "type", "file");
	json_array_append_new(st->written, e);
	st->nfiles++;
	free(path);
	return 0;
}

static void agent_write_chunk(struct agent_files *st, const char *data, size_t size)
{
	while (size > 0 && st->fd >= 0 && !st->fail_status) {
		ssize_t n = write(st->fd, data, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			agent_files_fail(st, errno == ENOSPC ? 507 : 500, "error writing", "file", errno);
			return;
		}
		data += n;
		size -= (size_t)n;
	}
}

static enum MHD_Result agent_part(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *filename, const char *content_type,
				  const char *transfer_encoding, const char *data, uint64_t off,
				  size_t size)
{
	struct agent_files *st = cls;

	if (!key || strcmp(key, "file") != 0 || st->fail_status)
		return MHD_YES;
	/* MHD may announce a part with an empty chunk before its first data at offset 0. */
	if (off == 0 && (!st->part_name || st->part_bytes || !filename || strcmp(filename, st->part_name))) {
		const char *target = st->nfiles == 0 && st->query_path ? st->query_path : filename;
		free(st->part_name);
		st->part_name = strdup(filename ? filename : "");
		st->part_bytes = 0;
		if (!target || !*target) {
			st->fail_status = 400;
			snprintf(st->fail_msg, sizeof st->fail_msg, "a file part has no filename");
			return MHD_YES;
		}
		if (agent_open_target(st, target) < 0)
			return MHD_YES;
	}
	st->part_bytes += size;
	agent_write_chunk(st, data, size);
	return MHD_YES;
}

static int agent_media(struct MHD_Connection *c, const char *want)
{
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);

	return ct && strncasecmp(ct, want, strlen(want)) == 0;
}

static void agent_files_refuse(struct agent_files *st, unsigned status, const char *msg)
{
	st->fail_status = status;
	snprintf(st->fail_msg, sizeof st->fail_msg, "%s", msg);
}

/* Errors are answered once the body is read: answering earlier closes the connection. */
static int agent_upload_start(struct MHD_Connection *c, struct agent_files *st)
{
	const char *q = agent_query_path(c);
	const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");

	if (q && !(st->query_path = strdup(q)))
		return -1;
	if (enc && *enc && strcasecmp(enc, "identity") != 0) {
		agent_files_refuse(st, 400, "Content-Encoding is not supported by csdk-agent");
		return 0;
	}
	if (agent_media(c, "multipart/")) {
		st->pp = MHD_create_post_processor(c, 64 * 1024, agent_part, st);
		if (!st->pp)
			agent_files_refuse(st, 400, "invalid multipart request");
	} else if (agent_media(c, "application/octet-stream")) {
		if (!q)
			agent_files_refuse(st, 400, "path query parameter is required for raw body upload");
		else
			agent_open_target(st, q);
	} else {
		agent_files_refuse(st, 400, "unsupported content type, expected multipart/form-data or application/octet-stream");
	}
	return 0;
}

static enum MHD_Result agent_upload_finish(struct MHD_Connection *c, struct agent_files *st)
{
	if (st->fd >= 0 && close(st->fd) < 0)
		agent_files_fail(st, 500, "error closing", "file", errno);
	st->fd = -1;
	if (st->fail_status)
		return agent_reply_rest_error(c, st->fail_status, "%s", st->fail_msg);
	if (st->nfiles == 0)
		return agent_reply_rest_error(c, 400, "no file part in the request");
	return agent_reply_json(c, 200, json_incref(st->written));
}

enum MHD_Result agent_files_handle(struct MHD_Connection *c, const char *method, void **state,
				   const char *upload, size_t *upload_size)
{
	struct agent_files *st = *state;

	if (strcmp(method, "GET") == 0)
		return *upload_size ? (*upload_size = 0, MHD_YES) : agent_download(c);
	if (strcmp(method, "POST") != 0)
		return agent_reply_rest_error(c, 405, "method %s not allowed", method);
	if (!st) {
		st = calloc(1, sizeof *st);
		if (!st)
			return MHD_NO;
		st->fd = -1;
		st->written = json_array();
		*state = st;
		if (!st->written || agent_upload_start(c, st) < 0)
			return MHD_NO;
	}
	if (*upload_size == 0)
		return agent_upload_finish(c, st);
	if (st->pp && MHD_post_process(st->pp, upload, *upload_size) != MHD_YES && !st->fail_status) {
		st->fail_status = 400;
		snprintf(st->fail_msg, sizeof st->fail_msg, "malformed multipart body");
	}
	if (!st->pp)
		agent_write_chunk(st, upload, *upload_size);
	*upload_size = 0;
	return MHD_YES;
}

void agent_files_done(void *state)
{
	struct agent_files *st = state;

	if (st->pp)
		MHD_destroy_post_processor(st->pp);
	if (st->fd >= 0)
		close(st->fd);
	json_decref(st->written);
	free(st->query_path);
	free(st->part_name);
	free(st);
}
