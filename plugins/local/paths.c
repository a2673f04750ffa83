#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "local.h"

static int has_prefix_dir(const char *path, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);

	if (strncmp(path, prefix, n) || (path[n] != '\0' && path[n] != '/'))
		return 0;
	*rest = path + n;
	return 1;
}

/* Lexical normalization of an absolute path: "." and empty components go,
 * ".." removes the previous component and stops at the root. */
static char *normalize(const char *abs)
{
	size_t len = strlen(abs);
	char *out = malloc(len + 2), *o = out;
	const char *c = abs;

	if (!out)
		return NULL;
	*o = '\0';
	while (*c) {
		const char *s;
		size_t l;

		while (*c == '/')
			c++;
		if (!*c)
			break;
		s = strchr(c, '/');
		l = s ? (size_t)(s - c) : strlen(c);
		if (l == 1 && c[0] == '.') {
		} else if (l == 2 && c[0] == '.' && c[1] == '.') {
			char *slash = strrchr(out, '/');
			if (slash) {
				*slash = '\0';
				o = slash;
			}
		} else {
			*o++ = '/';
			memcpy(o, c, l);
			o += l;
			*o = '\0';
		}
		c += l;
	}
	if (out[0] == '\0')
		strcpy(out, "/");
	return out;
}

int localp_path_map(struct localp_local *ctx, const struct localp_sandbox *sb, const char *path, char **rel_out)
{
	char *abs = NULL, *norm, host_home[4200], host_tmp[4200];
	const char *rest;
	int rc = 0;

	*rel_out = NULL;
	if (!path || !path[0])
		return ctx->host->error(ctx->host, CSDK_EINVAL, "the path is empty; give a path under %s or %s", LOCALP_INSIDE_HOME, LOCALP_INSIDE_TMP);
	snprintf(host_home, sizeof(host_home), "%s/home", sb->dir);
	snprintf(host_tmp, sizeof(host_tmp), "%s/tmp", sb->dir);
	if (path[0] != '/') {
		if (asprintf(&abs, "%s/%s", LOCALP_INSIDE_HOME, path) < 0)
			return CSDK_ENOMEM;
	} else if (has_prefix_dir(path, host_home, &rest)) {
		if (asprintf(&abs, "%s%s", LOCALP_INSIDE_HOME, rest) < 0)
			return CSDK_ENOMEM;
	} else if (has_prefix_dir(path, host_tmp, &rest)) {
		if (asprintf(&abs, "%s%s", LOCALP_INSIDE_TMP, rest) < 0)
			return CSDK_ENOMEM;
	} else if (!(abs = strdup(path))) {
		return CSDK_ENOMEM;
	}
	norm = normalize(abs);
	free(abs);
	if (!norm)
		return CSDK_ENOMEM;
	if (has_prefix_dir(norm, LOCALP_INSIDE_HOME, &rest)) {
		if (asprintf(rel_out, "home%s", rest) < 0)
			rc = CSDK_ENOMEM;
	} else if (has_prefix_dir(norm, LOCALP_INSIDE_TMP, &rest)) {
		if (asprintf(rel_out, "tmp%s", rest) < 0)
			rc = CSDK_ENOMEM;
	} else {
		rc = ctx->host->error(ctx->host, CSDK_EPERM, "path '%s' is outside the sandbox; use a path under %s or %s",
				      path, LOCALP_INSIDE_HOME, LOCALP_INSIDE_TMP);
	}
	if (rc)
		*rel_out = NULL;
	free(norm);
	return rc;
}

char *localp_path_inside(const char *rel)
{
	char *out = NULL;

	if (!strncmp(rel, "home", 4)) {
		if (asprintf(&out, "%s%s", LOCALP_INSIDE_HOME, rel + 4) < 0)
			return NULL;
	} else if (asprintf(&out, "%s%s", LOCALP_INSIDE_TMP, rel + 3) < 0) {
		return NULL;
	}
	return out;
}

int localp_root_open(struct localp_local *ctx, const struct localp_sandbox *sb, int *fd_out)
{
	int fd = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	*fd_out = fd;
	return 0;
}

/* The kernel keeps the walk inside the sandbox directory; this check keeps
 * it inside home/ and tmp/ (a symlink to ../meta.json resolves to the
 * sandbox directory itself, which commands never see). */
static int confined(int fd, const struct localp_sandbox *sb)
{
	char link[64], real[4200];
	const char *rest, *after;
	ssize_t n;
	size_t dl = strlen(sb->dir);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	if (n < 0)
		return 0;
	real[n] = '\0';
	if (strncmp(real, sb->dir, dl) || real[dl] != '/')
		return 0;
	after = real + dl;
	return has_prefix_dir(after, "/home", &rest) || has_prefix_dir(after, "/tmp", &rest);
}

int localp_path_open(int root, const struct localp_sandbox *sb, const char *rel, int flags, int *fd_out)
{
	struct open_how how = { 0 };
	long fd;

	how.flags = (uint64_t)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
	do
		fd = syscall(SYS_openat2, root, rel, &how, sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN));
	if (fd < 0)
		return -errno;
	if (!confined((int)fd, sb)) {
		close((int)fd);
		return -EXDEV;
	}
	*fd_out = (int)fd;
	return 0;
}

int localp_path_mkdirs(int root, const struct localp_sandbox *sb, const char *rel, int *fd_out)
{
	char *parent, *slash;
	int rc, pfd, made;

	rc = localp_path_open(root, sb, rel, O_PATH | O_DIRECTORY, fd_out);
	if (rc != -ENOENT)
		return rc;
	slash = strrchr(rel, '/');
	if (!slash)
		return rc;
	parent = strndup(rel, (size_t)(slash - rel));
	if (!parent)
		return -ENOMEM;
	rc = localp_path_mkdirs(root, sb, parent, &pfd);
	free(parent);
	if (rc)
		return rc;
	made = mkdirat(pfd, slash + 1, 0755) == 0;
	if (!made && errno != EEXIST) {
		rc = -errno;
		close(pfd);
		return rc;
	}
	close(pfd);
	if ((rc = localp_path_open(root, sb, rel, O_PATH | O_DIRECTORY, fd_out)) == 0 && made)
		localp_path_own(root, *fd_out);
	return rc;
}

/* As root, what the host makes in a sandbox is the sandbox user's: it gets
 * the owner of home (root in a sandbox made before sandbox_uid, and then
 * nothing changes). fd is the new file or directory (O_PATH will do). */
void localp_path_own(int root, int fd)
{
	struct stat st;

	if (geteuid() != 0 || fstatat(root, "home", &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_uid == 0)
		return;
	fchownat(fd, "", st.st_uid, st.st_gid, AT_EMPTY_PATH);
}

/* dfd and everything below it, never following a link (a template's or
 * snapshot's files copied into a new sandbox's home, before any command runs). */
int localp_chown_tree(int dfd, uid_t uid, gid_t gid)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (fchown(dfd, uid, gid) < 0 || (fd = dup(dfd)) < 0)
		return -errno;
	if (!(d = fdopendir(fd))) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rewinddir(d);
	while (!rc && (de = readdir(d))) {
		struct stat st;
		int sub;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (!S_ISDIR(st.st_mode)) {
			if (fchownat(dirfd(d), de->d_name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
				rc = -errno;
		} else if ((sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			rc = -errno;
		} else {
			rc = localp_chown_tree(sub, uid, gid);
			close(sub);
		}
	}
	closedir(d);
	return rc;
}
