/* The /etc of bubblewrap sandboxes: STATE/etc/GEN, built from the host's
 * /etc without what is not world-readable, without the credential files,
 * and with a passwd, group, hosts, hostname and nsswitch.conf of its own.
 * GEN is a hash of the host's /etc directories, so a changed /etc gets a new
 * generation while sandboxes keep the one recorded at their create. */
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

#define HOST_ETC "/etc"
/* bumped when what a generation holds changes */
#define ETC_FORMAT 2

/* Never copied, whatever their mode; passwd, group, hosts, hostname and
 * nsswitch.conf are written instead. */
static const char *const etc_skip[] = {
	"shadow", "shadow-", "gshadow", "gshadow-", "passwd", "passwd-", "group", "group-",
	"sudoers", "sudoers.d", "subuid", "subuid-", "subgid", "subgid-", ".pwd.lock",
	"hosts", "hostname", "nsswitch.conf", "security/opasswd", "ssl/private", NULL
};

static int skipped(const char *rel)
{
	size_t i;

	for (i = 0; etc_skip[i]; i++)
		if (!strcmp(rel, etc_skip[i]))
			return 1;
	return !strncmp(rel, "ssh/ssh_host_", 13) && !strstr(rel + 13, ".pub");
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

/* The directories of /etc, "." first, as paths relative to it. */
static void list_dirs(int dfd, const char *rel, int depth, struct localp_strv *out)
{
	struct dirent *de;
	DIR *d;
	int fd;

	localp_strv_push(out, *rel ? rel : ".");
	if (depth > 16 || (fd = dup(dfd)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	rewinddir(d); /* a dup shares the offset of an earlier walk */
	while ((de = readdir(d))) {
		char path[4096];
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if ((sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
			list_dirs(sub, path, depth + 1, out);
			close(sub);
		}
	}
	closedir(d);
}

/* Every directory's identity and times: a file added, removed or renamed
 * (how package managers and editors replace files) changes its directory's
 * mtime, and a directory added or removed changes its parent's. So a list
 * of the directories, checked with stat alone, tells whether /etc changed. */
static uint64_t hash_dirs(int etc, char *const *dirs, size_t n)
{
	unsigned ids[3] = { ETC_FORMAT, LOCALP_INSIDE_UID, LOCALP_INSIDE_UID };
	uint64_t h = fnv(14695981039346656037ull, ids, sizeof(ids));
	size_t i;

	for (i = 0; i < n; i++) {
		struct stat st;

		h = fnv(h, dirs[i], strlen(dirs[i]) + 1);
		if (fstatat(etc, dirs[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			h = fnv(h, "-", 1);
			continue;
		}
		h = fnv(h, &st.st_ino, sizeof(st.st_ino));
		h = fnv(h, &st.st_mode, sizeof(st.st_mode));
		h = fnv(h, &st.st_mtim, sizeof(st.st_mtim));
		h = fnv(h, &st.st_ctim, sizeof(st.st_ctim));
	}
	return h;
}

/* STATE/etc/dirs: "GEN\n" then the directories it was hashed over, one a line. */
static int current_gen(int edfd, int etc, char *gen, size_t genlen)
{
	struct localp_strv dirs = { 0 };
	char *text = NULL, *line, *save = NULL;
	struct stat st;
	int fd, ok = 0;

	if ((fd = openat(edfd, "dirs", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && st.st_size < (1 << 20) && (text = malloc((size_t)st.st_size + 1)) &&
	    read(fd, text, (size_t)st.st_size) == st.st_size) {
		text[st.st_size] = '\0';
		for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			localp_strv_push(&dirs, line);
		if (!dirs.failed && dirs.n > 1 && strlen(dirs.v[0]) == LOCALP_ETC_GEN_LEN) {
			snprintf(gen, genlen, "etc-%016llx", (unsigned long long)hash_dirs(etc, dirs.v + 1, dirs.n - 1));
			ok = !strcmp(gen, dirs.v[0]) && fstatat(edfd, gen, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
		}
	}
	free(text);
	close(fd);
	localp_strv_free(&dirs);
	return ok;
}

static void save_dirs(int edfd, const char *gen, const struct localp_strv *dirs)
{
	char err[CSDKC_ERR_MAX], *text;
	size_t len = strlen(gen) + 1, i, at;

	for (i = 0; i < dirs->n; i++)
		len += strlen(dirs->v[i]) + 1;
	if (!(text = malloc(len + 1)))
		return;
	at = (size_t)sprintf(text, "%s\n", gen);
	for (i = 0; i < dirs->n; i++)
		at += (size_t)sprintf(text + at, "%s\n", dirs->v[i]);
	csdkc_file_write_atomic(edfd, "dirs", text, at, err, sizeof(err));
	free(text);
}

/* Copies, never hard links: a link would share the host's inode, so a file
 * made secret later (chmod, then new content) would be read through it. What
 * is checked is the opened file, not the name, so a swap between the check
 * and the copy cannot bring a secret in. */
static int copy_file(int sdfd, int ddfd, const char *name)
{
	char buf[65536];
	struct stat st;
	ssize_t n;
	int in, out, rc = 0;

	if ((in = openat(sdfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return 0; /* vanished or unreadable: not in the copy */
	if (fstat(in, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & S_IROTH)) {
		close(in);
		return 0;
	}
	if ((out = openat(ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0755)) < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			rc = -1;
			break;
		}
	close(in);
	if (close(out) < 0 || n < 0)
		rc = -1;
	return rc;
}

static int copy_etc(int sdfd, int ddfd, const char *rel, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (depth > 16 || (fd = dup(sdfd)) < 0)
		return -1;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while (!rc && (de = readdir(d))) {
		char path[4096];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		if (skipped(path) || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int s2, d2;

			if ((s2 = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				continue;
			if (fstat(s2, &st) < 0 || (st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH)) {
				close(s2);
				continue;
			}
			if (mkdirat(ddfd, de->d_name, 0755) < 0 ||
			    (d2 = openat(ddfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				rc = -1;
			else {
				rc = copy_etc(s2, d2, path, depth + 1);
				close(d2);
			}
			close(s2);
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(dirfd(d), ddfd, de->d_name);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t k = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);

			if (k < 0)
				continue;
			target[k] = '\0';
			if (symlinkat(target, ddfd, de->d_name) < 0)
				rc = -1;
		}
	}
	closedir(d);
	return rc;
}

static int write_file(int ddfd, const char *name, const char *text)
{
	size_t len = strlen(text);
	int fd = openat(ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int write_identity(int ddfd)
{
	char passwd[512], group[256];

	/* commands run as LOCALP_INSIDE_UID in a user namespace; what the host's root owns shows as nobody */
	snprintf(passwd, sizeof(passwd),
		 "sandbox:x:%d:%d:sandbox:" LOCALP_INSIDE_HOME ":/bin/sh\nroot:x:0:0:root:/root:/usr/sbin/nologin\n"
		 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		 LOCALP_INSIDE_UID, LOCALP_INSIDE_UID);
	snprintf(group, sizeof(group), "sandbox:x:%d:\nroot:x:0:\nnogroup:x:65534:\n", LOCALP_INSIDE_UID);
	if (write_file(ddfd, "passwd", passwd) < 0 || write_file(ddfd, "group", group) < 0 ||
	    write_file(ddfd, "hostname", "sandbox\n") < 0 ||
	    write_file(ddfd, "hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n") < 0 ||
	    write_file(ddfd, "nsswitch.conf",
		       "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n"
		       "protocols: files\nservices: files\nethers: files\nrpc: files\nnetgroup: files\n") < 0)
		return -1;
	return 0;
}

int localp_etc_prepare(struct localp_local *ctx, char *gen, size_t genlen)
{
	char dir[4096], tmp[64], err[CSDKC_ERR_MAX];
	struct localp_strv dirs = { 0 };
	int src, edfd = -1, tfd = -1, rc = 0;
	struct stat st;

	if ((src = open(HOST_ETC, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s: %s; the sandbox's /etc is made from it", HOST_ETC, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/etc", ctx->state_dir);
	if ((edfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s: %s; check the state directory", dir, strerror(errno));
		goto out;
	}
	if (current_gen(edfd, src, gen, genlen))
		goto out;
	list_dirs(src, "", 0, &dirs);
	if (dirs.failed) {
		rc = CSDK_ENOMEM;
		goto out;
	}
	snprintf(gen, genlen, "etc-%016llx", (unsigned long long)hash_dirs(src, dirs.v, dirs.n));
	if (fstatat(edfd, gen, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		save_dirs(edfd, gen, &dirs);
		goto out;
	}
	/* Built under a temporary name and renamed: concurrent builders each make
	 * a whole tree, the first rename wins and the others are removed. */
	memcpy(tmp, ".build-", 7);
	if (csdkc_random_hex(tmp + 7, 8) || mkdirat(edfd, tmp, 0755) < 0 ||
	    (tfd = openat(edfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    copy_etc(src, tfd, "", 0) < 0 || write_identity(tfd) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot build the sandbox /etc in %s/%s: %s; check the state directory",
				      dir, tmp, strerror(errno));
	} else if (renameat(edfd, tmp, edfd, gen) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot rename %s/%s to %s: %s; check the state directory",
				      dir, tmp, gen, strerror(errno));
	}
	if (tfd >= 0)
		close(tfd);
	if (rc || faccessat(edfd, tmp, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		csdkc_remove_tree(edfd, tmp, err, sizeof(err));
	if (!rc)
		save_dirs(edfd, gen, &dirs);
out:
	localp_strv_free(&dirs);
	if (edfd >= 0)
		close(edfd);
	close(src);
	return rc;
}
