#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "csdkc.h"
#include "docker.h"
#include "rfc3339.h"

#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
/* symlink, device, named pipe, socket, char device, irregular */
#define GO_MODE_OTHER (GO_MODE_SYMLINK | 1u << 26 | 1u << 25 | 1u << 24 | 1u << 21 | 1u << 19)

struct path_stat {
	uint32_t mode;
	uint64_t size;
	int64_t mtime_ms;
	char *link_target;
};

static int archive_path(struct dockerp_sandbox *sb, const char *abs, char **out)
{
	char *q = NULL;
	int rc;

	if ((rc = dockerp_http_escape(&q, abs)))
		return rc;
	if (asprintf(out, "/containers/%s/archive?path=%s", sb->id, q) < 0)
		*out = NULL;
	free(q);
	return *out ? 0 : CSDK_ENOMEM;
}

static int gone(struct dockerp_docker *ctx, struct dockerp_sandbox *sb)
{
	return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
}

/* req on the archive endpoint of abs: 0 with *resp (any status but 404), 1 when abs is
 * missing, or a reported error (CSDK_ENOTFOUND among them when the sandbox is gone). */
static int archive_call(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *abs,
			struct dockerp_http_request *req, struct dockerp_http_response *resp)
{
	char *path;
	json_t *j = NULL;
	int rc;

	if ((rc = archive_path(sb, abs, &path)))
		return ctx->host->error(ctx->host, rc, "out of memory building an archive request");
	req->path = path;
	rc = dockerp_raw(ctx, req, resp);
	free(path);
	if (rc || resp->status != 404)
		return rc;
	dockerp_http_response_free(resp);
	/* 404 covers both a missing path and a missing container */
	if (dockerp_inspect(ctx, sb->id, &j) == CSDK_ENOTFOUND)
		return gone(ctx, sb);
	json_decref(j);
	return 1;
}

/* HEAD the archive endpoint: 0 with *st, CSDK_ENOTFOUND (no error set) when missing. */
static int path_stat(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *abs, struct path_stat *st)
{
	struct dockerp_http_request req = { .method = "HEAD", .capture_header = "X-Docker-Container-Path-Stat", .timeout_ms = 60000 };
	struct dockerp_http_response resp;
	json_t *j;
	size_t n;
	unsigned char *raw;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = archive_call(ctx, sb, abs, &req, &resp)))
		return rc == 1 ? CSDK_ENOTFOUND : rc;
	if (resp.status != 200 || !resp.header) {
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "Docker engine at %s: stat of '%s' in sandbox %s failed (HTTP %ld); check the engine's log",
				      ctx->ep.display, abs, sb->id, resp.status);
		dockerp_http_response_free(&resp);
		return rc;
	}
	rc = csdku_b64_decode(&raw, &n, resp.header, strlen(resp.header));
	dockerp_http_response_free(&resp);
	if (rc == CSDK_ENOMEM)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory reading a path stat");
	j = raw ? json_loadb((const char *)raw, n, 0, NULL) : NULL;
	free(raw);
	if (!j)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "Docker engine at %s sent an unreadable X-Docker-Container-Path-Stat for '%s'; check the engine's version",
					ctx->ep.display, abs);
	st->mode = (uint32_t)json_integer_value(json_object_get(j, "mode"));
	st->size = (uint64_t)json_integer_value(json_object_get(j, "size"));
	st->mtime_ms = csdku_rfc3339_ms(json_string_value(json_object_get(j, "mtime")));
	if (json_string_length(json_object_get(j, "linkTarget")))
		st->link_target = strdup(json_string_value(json_object_get(j, "linkTarget")));
	json_decref(j);
	return 0;
}

/* Run a fixed command with quoted arguments; fails with the command's stderr. */
static int exec_simple(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *cmd, int *code,
		       struct csdkc_capture *cap)
{
	struct csdk_run_request ro = { .struct_size = sizeof(ro), .timeout_ms = 120000 };

	return dockerp_exec(ctx, sb, cmd, &ro, NULL, cap, code);
}

static int quoted_cmd(char **out, const char *before, const char *path, const char *after)
{
	char *q = NULL;
	int rc;

	if ((rc = csdku_shell_quote(&q, path)))
		return rc;
	if (asprintf(out, "%s%s%s", before, q, after) < 0)
		*out = NULL;
	free(q);
	return *out ? 0 : CSDK_ENOMEM;
}

static void chomp(struct csdkc_capture *cap)
{
	while (cap->len && (cap->data[cap->len - 1] == '\n' || cap->data[cap->len - 1] == '\r'))
		cap->data[--cap->len] = '\0';
}

static int mkdir_p(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *abs, const char *shown)
{
	struct csdkc_capture cap = { .max = 4096 };
	char *cmd;
	int rc, code = 0;

	if ((rc = quoted_cmd(&cmd, "mkdir -p -- ", abs, "")))
		return ctx->host->error(ctx->host, rc, "out of memory building a mkdir command");
	rc = exec_simple(ctx, sb, cmd, &code, &cap);
	free(cmd);
	if (!rc && code) {
		chomp(&cap);
		if (cap.data && (strstr(cap.data, "exists") || strstr(cap.data, "Not a directory")))
			rc = ctx->host->error(ctx->host, CSDK_EEXISTS, "'%s' (or one of its parents) exists and is not a directory; remove it first", shown);
		else
			rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot create directory '%s' in sandbox %s: %s", shown, sb->id,
					      cap.data ? cap.data : "mkdir failed");
	}
	free(cap.data);
	return rc;
}

static int dirname_of(const char *abs, char **dir, const char **base)
{
	const char *slash = strrchr(abs, '/');

	*base = slash + 1;
	*dir = slash == abs ? strdup("/") : strndup(abs, (size_t)(slash - abs));
	return *dir ? 0 : CSDK_ENOMEM;
}

int dockerp_put_file(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *abs,
			  const void *data, size_t len)
{
	struct dockerp_http_request req = { .method = "PUT", .content_type = "application/x-tar", .timeout_ms = 300000 };
	struct dockerp_http_response resp;
	struct path_stat st;
	char *dir = NULL, *tar = NULL, *path = NULL;
	const char *base;
	size_t tar_len;
	int rc, tries = 0;

	rc = path_stat(ctx, sb, abs, &st);
	free(st.link_target);
	if (rc && rc != CSDK_ENOTFOUND)
		return rc;
	if (!rc && (st.mode & GO_MODE_DIR))
		return ctx->host->error(ctx->host, CSDK_EINVAL, "'%s' is a directory; give a file path to write", abs);
	if ((rc = dirname_of(abs, &dir, &base)) || !*base ||
	    (rc = dockerp_tar_one(&tar, &tar_len, base, data, len, time(NULL))) ||
	    (rc = archive_path(sb, dir, &path))) {
		free(dir);
		free(tar);
		if (!rc)
			return ctx->host->error(ctx->host, CSDK_EINVAL, "'%s' names no file; give a file path to write", abs);
		return ctx->host->error(ctx->host, rc, "out of memory building an archive for '%s'", abs);
	}
	req.path = path;
	req.body = tar;
	req.body_len = tar_len;
	for (;;) {
		if ((rc = dockerp_raw(ctx, &req, &resp)))
			break;
		if (resp.status == 404 && !tries++) {
			dockerp_http_response_free(&resp);
			if ((rc = mkdir_p(ctx, sb, dir, dir)))
				break;
			continue;
		}
		if (resp.status != 200) {
			json_t *j = json_loadb(resp.body, resp.len, 0, NULL);
			if (resp.status == 400 || resp.status == 404)
				rc = ctx->host->error(ctx->host, CSDK_EINVAL, "cannot write '%s': a parent of it is a file; remove that file or choose another path", abs);
			else
				rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "writing a file", resp.status, j);
			json_decref(j);
		}
		dockerp_http_response_free(&resp);
		break;
	}
	free(path);
	free(tar);
	free(dir);
	return rc;
}

struct read_state {
	struct dockerp_docker *ctx;
	struct csdk_sink *out;
	int seen;
	char type;
	char *link;
	int rc;
};

static int read_member(void *arg, const char *name, char type, uint64_t size, int64_t mtime, const char *data)
{
	struct read_state *s = arg;

	(void)name;
	(void)mtime;
	if (s->seen++)
		return 1;
	s->type = type;
	if (type == '2') {
		s->link = strndup(data - 512 + 157, 100);
		return 1;
	}
	if ((type == '0' || type == '\0' || type == '7') && size &&
	    s->ctx->host->sink_write(s->out, CSDK_STREAM_STDOUT, data, (size_t)size))
		s->rc = CSDK_ECANCELLED;
	return 1;
}

/* Stream the archive of abs (read as path) from the engine through read_member into s. */
static int read_archive(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *abs, const char *path,
			struct read_state *s)
{
	struct dockerp_http_request req = { .method = "GET", .timeout_ms = 300000 };
	struct dockerp_http_response resp;
	json_t *j;
	int rc;

	if ((rc = archive_call(ctx, sb, abs, &req, &resp)) == 1)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "no such file: %s", path);
	if (rc)
		return rc;
	if (resp.status != 200) {
		j = json_loadb(resp.body, resp.len, 0, NULL);
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "reading a file", resp.status, j);
		json_decref(j);
		dockerp_http_response_free(&resp);
		return rc;
	}
	rc = dockerp_tar_each(resp.body, resp.len, read_member, s);
	dockerp_http_response_free(&resp);
	if (rc < 0)
		return ctx->host->error(ctx->host, rc, "Docker engine at %s sent a truncated archive for '%s'; retry", ctx->ep.display, path);
	return 0;
}

/* Where the symbolic link at abs leads: a new string, or NULL when out of memory. */
static char *link_target(const char *abs, const char *link)
{
	char *next, *dir;
	const char *base;

	if (link[0] == '/')
		return strdup(link);
	if (dirname_of(abs, &dir, &base))
		return NULL;
	if (asprintf(&next, "%s/%s", dir, link) < 0)
		next = NULL;
	free(dir);
	return next;
}

/* The error for what the archive of path held (s), or 0 when it was a regular file. */
static int read_verdict(struct dockerp_docker *ctx, const struct read_state *s, const char *path)
{
	if (s->rc)
		return ctx->host->error(ctx->host, CSDK_ECANCELLED, "reading '%s' was cancelled by the caller", path);
	if (s->type == '5')
		return ctx->host->error(ctx->host, CSDK_EINVAL, "'%s' is a directory; use readdir to list it", path);
	if (s->type == '2')
		return ctx->host->error(ctx->host, CSDK_EINVAL, "'%s' is a chain of more than 8 symbolic links; read the target directly", path);
	if (!s->seen || !(s->type == '0' || s->type == '\0' || s->type == '7'))
		return ctx->host->error(ctx->host, CSDK_EINVAL, "'%s' is not a regular file; read a file", path);
	return 0;
}

int dockerp_m_fs_read(void *vctx, void *sandbox, const char *path, struct csdk_sink *out)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	char *abs = NULL;
	int rc, hops = 0;

	if ((rc = dockerp_abs_path(sb, path, &abs)))
		return ctx->host->error(ctx->host, rc, "out of memory resolving '%s'", path);
	for (;;) {
		struct read_state s = { .ctx = ctx, .out = out };

		if ((rc = read_archive(ctx, sb, abs, path, &s)) == 0 && s.type == '2' && s.link && hops++ < 8) {
			char *next = link_target(abs, s.link);

			free(s.link);
			free(abs);
			if (!(abs = next))
				return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory following a link");
			continue;
		}
		free(s.link);
		if (!rc)
			rc = read_verdict(ctx, &s, path);
		break;
	}
	free(abs);
	return rc;
}

int dockerp_m_fs_write(void *vctx, void *sandbox, const char *path, const void *data, size_t len)
{
	struct dockerp_docker *ctx = vctx;
	char *abs = NULL;
	int rc;

	if ((rc = dockerp_abs_path(sandbox, path, &abs)))
		return ctx->host->error(ctx->host, rc, "out of memory resolving '%s'", path);
	rc = dockerp_put_file(ctx, sandbox, abs, data, len);
	free(abs);
	return rc;
}

int dockerp_m_fs_mkdir(void *vctx, void *sandbox, const char *path)
{
	struct dockerp_docker *ctx = vctx;
	char *abs = NULL;
	int rc;

	if ((rc = dockerp_abs_path(sandbox, path, &abs)))
		return ctx->host->error(ctx->host, rc, "out of memory resolving '%s'", path);
	rc = mkdir_p(ctx, sandbox, abs, path);
	free(abs);
	return rc;
}

int dockerp_m_fs_exists(void *vctx, void *sandbox, const char *path, int *exists_out)
{
	struct dockerp_docker *ctx = vctx;
	struct path_stat st;
	char *abs = NULL;
	int rc;

	*exists_out = 0;
	if ((rc = dockerp_abs_path(sandbox, path, &abs)))
		return ctx->host->error(ctx->host, rc, "out of memory resolving '%s'", path);
	rc = path_stat(ctx, sandbox, abs, &st);
	free(abs);
	free(st.link_target);
	if (rc == CSDK_ENOTFOUND)
		return 0;
	if (!rc)
		*exists_out = 1;
	return rc;
}

int dockerp_m_fs_remove(void *vctx, void *sandbox, const char *path)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	struct csdkc_capture cap = { .max = 4096 };
	struct path_stat st;
	char *abs = NULL, *cmd = NULL;
	int rc, code = 0;

	if ((rc = dockerp_abs_path(sb, path, &abs)))
		return ctx->host->error(ctx->host, rc, "out of memory resolving '%s'", path);
	if (!strcmp(abs, "/") || abs[strspn(abs, "/")] == '\0') {
		free(abs);
		return ctx->host->error(ctx->host, CSDK_EPERM, "cannot remove '%s': it is the sandbox's root directory; remove the files in it instead", path);
	}
	rc = path_stat(ctx, sb, abs, &st);
	free(st.link_target);
	if (rc == CSDK_ENOTFOUND)
		rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND, "no such file or directory: %s", path);
	if (!rc && (rc = quoted_cmd(&cmd, "rm -rf -- ", abs, "")))
		rc = ctx->host->error(ctx->host, rc, "out of memory building a remove command");
	if (!rc && !(rc = exec_simple(ctx, sb, cmd, &code, &cap)) && code) {
		chomp(&cap);
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot remove '%s' in sandbox %s: %s", path, sb->id, cap.data ? cap.data : "rm failed");
	}
	free(cap.data);
	free(cmd);
	free(abs);
	return rc;
}

int dockerp_m_fs_readdir(void *vctx, void *sandbox, const char *path, struct csdk_dir *out)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	/* names NUL-separated on stderr (captured), so any byte but NUL and / survives */
	static const char list_tail[] =
		" || exit 2; for f in * .*; do case $f in .|..) continue;; esac; "
		"[ -e \"$f\" ] || [ -h \"$f\" ] || continue; printf '%s\\0' \"$f\" >&2; done";
	struct csdkc_capture cap = { .max = 64 * 1024 * 1024 };
	struct path_stat st;
	char *abs = NULL, *cmd = NULL;
	int rc, code = 0;

	if ((rc = dockerp_abs_path(sb, path, &abs)))
		return ctx->host->error(ctx->host, rc, "out of memory resolving '%s'", path);
	rc = path_stat(ctx, sb, abs, &st);
	free(st.link_target);
	if (rc == CSDK_ENOTFOUND)
		rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND, "no such directory: %s", path);
	else if (!rc && !(st.mode & GO_MODE_DIR))
		rc = ctx->host->error(ctx->host, CSDK_EINVAL, "'%s' is not a directory; use read for files", path);
	if (!rc && (rc = quoted_cmd(&cmd, "cd -- ", abs, list_tail)))
		rc = ctx->host->error(ctx->host, rc, "out of memory building a list command");
	if (!rc && !(rc = exec_simple(ctx, sb, cmd, &code, &cap)) && code)
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot list '%s' in sandbox %s (exit code %d); check its permissions", path, sb->id, code);
	for (size_t off = 0; !rc && cap.data && off < cap.len;) {
		const char *name = cap.data + off;
		size_t nl = strnlen(name, cap.len - off);
		char *child;
		struct path_stat cst;
		int src;

		off += nl + 1;
		if (asprintf(&child, "%s%s%s", abs, abs[strlen(abs) - 1] == '/' ? "" : "/", name) < 0) {
			rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory listing '%s'", path);
			break;
		}
		src = path_stat(ctx, sb, child, &cst);
		free(child);
		free(cst.link_target);
		if (src == CSDK_ENOTFOUND)
			continue; /* removed while listing */
		if (src) {
			rc = src;
			break;
		}
		rc = ctx->host->dir_add(out, name,
					cst.mode & GO_MODE_DIR ? CSDK_ENTRY_DIRECTORY
					: cst.mode & GO_MODE_OTHER ? CSDK_ENTRY_OTHER : CSDK_ENTRY_FILE,
					cst.size, cst.mtime_ms);
	}
	free(cap.data);
	free(cmd);
	free(abs);
	return rc;
}
