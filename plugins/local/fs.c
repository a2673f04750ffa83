#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

struct fs_op {
	struct localp_local *ctx;
	struct localp_sandbox *sb;
	char *rel;
	int root;
};

static int op_begin(struct fs_op *op, void *ctx, void *sandbox, const char *path)
{
	int rc;

	op->ctx = ctx;
	op->sb = sandbox;
	op->rel = NULL;
	op->root = -1;
	if ((rc = localp_path_map(op->ctx, op->sb, path, &op->rel)))
		return rc;
	if ((rc = localp_root_open(op->ctx, op->sb, &op->root))) {
		free(op->rel);
		op->rel = NULL;
	}
	return rc;
}

static void op_end(struct fs_op *op)
{
	free(op->rel);
	if (op->root >= 0)
		close(op->root);
}

static int outside(struct fs_op *op, const char *path)
{
	return op->ctx->host->error(op->ctx->host, CSDK_EPERM, "path '%s' is outside the sandbox; use a path under %s or %s",
				    path, LOCALP_INSIDE_HOME, LOCALP_INSIDE_TMP);
}

static int sys_error(struct fs_op *op, int neg_errno, const char *what, const char *path)
{
	if (neg_errno == -EXDEV || neg_errno == -ELOOP)
		return outside(op, path);
	if (neg_errno == -ENOMEM)
		return CSDK_ENOMEM;
	return op->ctx->host->error(op->ctx->host, CSDK_EIO, "cannot %s '%s' in sandbox %s: %s", what, path, op->sb->id, strerror(-neg_errno));
}

static int is_area_root(const char *rel)
{
	return !strcmp(rel, "home") || !strcmp(rel, "tmp");
}

int localp_m_fs_read(void *ctx, void *sandbox, const char *path, struct csdk_sink *out)
{
	struct fs_op op;
	struct stat st;
	char buf[65536];
	int rc, fd = -1;

	if ((rc = op_begin(&op, ctx, sandbox, path)))
		return rc;
	/* Non-blocking and no controlling tty: a FIFO or device a command made must not hang or reach the host. */
	rc = localp_path_open(op.root, op.sb, op.rel, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);
	if (rc == -ENOENT || rc == -ENOTDIR)
		rc = op.ctx->host->error(op.ctx->host, CSDK_ENOTFOUND, "no such file: %s", path);
	else if (rc)
		rc = sys_error(&op, rc, "read", path);
	else if (fstat(fd, &st) < 0)
		rc = sys_error(&op, -errno, "read", path);
	else if (S_ISDIR(st.st_mode))
		rc = op.ctx->host->error(op.ctx->host, CSDK_EINVAL, "'%s' is a directory; use readdir to list it", path);
	else if (!S_ISREG(st.st_mode))
		rc = op.ctx->host->error(op.ctx->host, CSDK_EINVAL, "'%s' is not a regular file; only regular files can be read", path);
	else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
		rc = sys_error(&op, -errno, "read", path);
	while (!rc) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = sys_error(&op, -errno, "read", path);
			break;
		}
		if (n == 0)
			break;
		if (op.ctx->host->sink_write(out, CSDK_STREAM_STDOUT, buf, (size_t)n))
			rc = op.ctx->host->error(op.ctx->host, CSDK_ECANCELLED, "reading '%s' was cancelled by the caller", path);
	}
	if (fd >= 0)
		close(fd);
	op_end(&op);
	return rc;
}

static int split_parent(const char *rel, char **parent, const char **base)
{
	const char *slash = strrchr(rel, '/');

	*parent = strndup(rel, (size_t)(slash - rel));
	*base = slash + 1;
	return *parent ? 0 : CSDK_ENOMEM;
}

int localp_m_fs_write(void *ctx, void *sandbox, const char *path, const void *data, size_t len)
{
	struct fs_op op;
	const char *base, *p = data;
	char *parent = NULL, tmp[64], hex[17];
	struct stat st;
	int rc, pfd = -1, fd = -1;
	mode_t mode = 0644;

	if ((rc = op_begin(&op, ctx, sandbox, path)))
		return rc;
	if (is_area_root(op.rel)) {
		rc = op.ctx->host->error(op.ctx->host, CSDK_EINVAL, "'%s' is a directory; give a file path to write", path);
		goto out;
	}
	if ((rc = split_parent(op.rel, &parent, &base)))
		goto out;
	rc = localp_path_mkdirs(op.root, op.sb, parent, &pfd);
	if (rc == -ENOTDIR || rc == -EEXIST) {
		rc = op.ctx->host->error(op.ctx->host, CSDK_EINVAL, "cannot write '%s': a parent of it is a file; remove that file or choose another path", path);
		goto out;
	} else if (rc) {
		rc = sys_error(&op, rc, "create the directories of", path);
		goto out;
	}
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode)) {
			rc = op.ctx->host->error(op.ctx->host, CSDK_EINVAL, "'%s' is a directory; give a file path to write", path);
			goto out;
		}
		if (S_ISREG(st.st_mode))
			mode = st.st_mode & 07777;
	}
	csdkc_random_hex(hex, 8);
	snprintf(tmp, sizeof(tmp), ".csdk-write-%s", hex);
	fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		rc = sys_error(&op, -errno, "write", path);
		goto out;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			rc = sys_error(&op, -errno, "write", path);
			unlinkat(pfd, tmp, 0);
			goto out;
		}
		p += w;
		len -= (size_t)w;
	}
	localp_path_own(op.root, fd);
	fchmod(fd, mode);
	if (renameat(pfd, tmp, pfd, base) < 0) {
		rc = sys_error(&op, -errno, "write", path);
		unlinkat(pfd, tmp, 0);
	}
out:
	if (fd >= 0)
		close(fd);
	if (pfd >= 0)
		close(pfd);
	free(parent);
	op_end(&op);
	return rc;
}

int localp_m_fs_mkdir(void *ctx, void *sandbox, const char *path)
{
	struct fs_op op;
	int rc, fd = -1;

	if ((rc = op_begin(&op, ctx, sandbox, path)))
		return rc;
	rc = localp_path_mkdirs(op.root, op.sb, op.rel, &fd);
	if (rc == -ENOTDIR || rc == -EEXIST)
		rc = op.ctx->host->error(op.ctx->host, CSDK_EEXISTS, "'%s' (or one of its parents) exists and is not a directory; remove it first", path);
	else if (rc)
		rc = sys_error(&op, rc, "create directory", path);
	if (fd >= 0)
		close(fd);
	op_end(&op);
	return rc;
}

struct entry {
	char *name;
	enum csdk_entry_type type;
	uint64_t size;
	int64_t mtime;
};

static int cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

int localp_m_fs_readdir(void *ctx, void *sandbox, const char *path, struct csdk_dir *out)
{
	struct fs_op op;
	struct entry *ents = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	DIR *d = NULL;
	int rc, fd = -1;

	if ((rc = op_begin(&op, ctx, sandbox, path)))
		return rc;
	rc = localp_path_open(op.root, op.sb, op.rel, O_RDONLY | O_DIRECTORY, &fd);
	if (rc == -ENOENT)
		rc = op.ctx->host->error(op.ctx->host, CSDK_ENOTFOUND, "no such directory: %s", path);
	else if (rc == -ENOTDIR)
		rc = op.ctx->host->error(op.ctx->host, CSDK_EINVAL, "'%s' is not a directory; use read for files", path);
	else if (rc)
		rc = sys_error(&op, rc, "list", path);
	if (!rc && !(d = fdopendir(fd)))
		rc = CSDK_ENOMEM;
	while (!rc && (de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (n == cap) {
			struct entry *g = realloc(ents, (cap = cap ? cap * 2 : 64) * sizeof(*ents));
			if (!g) {
				rc = CSDK_ENOMEM;
				break;
			}
			ents = g;
		}
		if (!(ents[n].name = strdup(de->d_name))) {
			rc = CSDK_ENOMEM;
			break;
		}
		ents[n].type = S_ISDIR(st.st_mode) ? CSDK_ENTRY_DIRECTORY : S_ISREG(st.st_mode) ? CSDK_ENTRY_FILE : CSDK_ENTRY_OTHER;
		ents[n].size = (uint64_t)st.st_size;
		ents[n].mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
		n++;
	}
	if (!rc && n > 1)
		qsort(ents, n, sizeof(*ents), cmp_entry);
	for (i = 0; i < n; i++) {
		if (!rc)
			rc = op.ctx->host->dir_add(out, ents[i].name, ents[i].type, ents[i].size, ents[i].mtime);
		free(ents[i].name);
	}
	free(ents);
	if (d)
		closedir(d);
	else if (fd >= 0)
		close(fd);
	op_end(&op);
	return rc;
}

int localp_m_fs_exists(void *ctx, void *sandbox, const char *path, int *exists_out)
{
	struct fs_op op;
	int rc, fd = -1;

	*exists_out = 0;
	if ((rc = op_begin(&op, ctx, sandbox, path)))
		return rc;
	rc = localp_path_open(op.root, op.sb, op.rel, O_PATH, &fd);
	if (rc == 0) {
		*exists_out = 1;
		close(fd);
	} else if (rc == -ENOENT || rc == -ENOTDIR) {
		rc = 0;
	} else {
		rc = sys_error(&op, rc, "look up", path);
	}
	op_end(&op);
	return rc;
}

int localp_m_fs_remove(void *ctx, void *sandbox, const char *path)
{
	struct fs_op op;
	char *parent = NULL, err[CSDKC_ERR_MAX];
	const char *base;
	int rc, pfd = -1;

	if ((rc = op_begin(&op, ctx, sandbox, path)))
		return rc;
	if (is_area_root(op.rel)) {
		rc = op.ctx->host->error(op.ctx->host, CSDK_EPERM, "cannot remove '%s': it is the sandbox's %s directory; remove the files in it instead",
					 path, strcmp(op.rel, "home") ? "tmp" : "home");
		goto out;
	}
	if ((rc = split_parent(op.rel, &parent, &base)))
		goto out;
	rc = localp_path_open(op.root, op.sb, parent, O_PATH | O_DIRECTORY, &pfd);
	if (rc == -ENOENT || rc == -ENOTDIR) {
		rc = op.ctx->host->error(op.ctx->host, CSDK_ENOTFOUND, "no such file or directory: %s", path);
		goto out;
	} else if (rc) {
		rc = sys_error(&op, rc, "remove", path);
		goto out;
	}
	rc = csdkc_remove_tree(pfd, base, err, sizeof(err));
	if (rc == CSDK_ENOTFOUND)
		rc = op.ctx->host->error(op.ctx->host, CSDK_ENOTFOUND, "no such file or directory: %s", path);
	else if (rc)
		rc = op.ctx->host->error(op.ctx->host, rc, "cannot remove '%s' in sandbox %s: %s", path, op.sb->id, err);
out:
	if (pfd >= 0)
		close(pfd);
	free(parent);
	op_end(&op);
	return rc;
}
