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
#define ETC_FORMAT 1

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

/* Every directory's identity and times: a file added, removed or renamed
 * (how package managers and editors replace files) changes its directory. */
static uint64_t hash_dirs(uint64_t h, int dfd, int depth)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd;

	if (fstat(dfd, &st) < 0)
		return h;
	h = fnv(h, &st.st_ino, sizeof(st.st_ino));
	h = fnv(h, &st.st_mode, sizeof(st.st_mode));
	h = fnv(h, &st.st_mtim, sizeof(st.st_mtim));
	h = fnv(h, &st.st_ctim, sizeof(st.st_ctim));
	if (depth > 16 || (fd = dup(dfd)) < 0)
		return h;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return h;
	}
	rewinddir(d); /* a dup shares the offset of an earlier walk */
	while ((de = readdir(d))) {
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		h = fnv(h, de->d_name, strlen(de->d_name) + 1);
		sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sub >= 0) {
			h = hash_dirs(h, sub, depth + 1);
			close(sub);
		}
	}
	closedir(d);
	return h;
}

static int copy_file(int sdfd, int ddfd, const char *name, const struct stat *st)
{
	char buf[65536];
	ssize_t n;
	int in, out, rc = 0;

	if ((in = openat(sdfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) < 0)
		return 0; /* vanished or unreadable: not in the copy */
	if ((out = openat(ddfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st->st_mode & 0755)) < 0) {
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

/* Hard links where the state directory shares the host's filesystem (and
 * the kernel's protected_hardlinks allows), copies elsewhere. */
static int copy_etc(int sdfd, int ddfd, const char *rel, int depth, int *nolink)
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

			if ((st.st_mode & (S_IROTH | S_IXOTH)) != (S_IROTH | S_IXOTH))
				continue;
			if (mkdirat(ddfd, de->d_name, 0755) < 0)
				rc = -1;
			else if ((s2 = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				continue;
			else {
				if ((d2 = openat(ddfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
					rc = -1;
				else {
					rc = copy_etc(s2, d2, path, depth + 1, nolink);
					close(d2);
				}
				close(s2);
			}
		} else if (S_ISREG(st.st_mode)) {
			if (!(st.st_mode & S_IROTH))
				continue;
			if (!*nolink && linkat(dirfd(d), de->d_name, ddfd, de->d_name, 0) == 0)
				continue;
			*nolink = 1;
			rc = copy_file(dirfd(d), ddfd, de->d_name, &st);
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
	unsigned uid = (unsigned)geteuid(), gid = (unsigned)getegid();
	char passwd[512], group[256];

	/* The sandbox user first, so uid 0 (no user namespace) is "sandbox" too. */
	snprintf(passwd, sizeof(passwd),
		 "sandbox:x:%u:%u:sandbox:" CSDKP_INSIDE_HOME ":/bin/sh\n%s"
		 "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
		 uid, gid, uid ? "root:x:0:0:root:/root:/usr/sbin/nologin\n" : "");
	snprintf(group, sizeof(group), "sandbox:x:%u:\n%snogroup:x:65534:\n", gid, gid ? "root:x:0:\n" : "");
	if (write_file(ddfd, "passwd", passwd) < 0 || write_file(ddfd, "group", group) < 0 ||
	    write_file(ddfd, "hostname", "sandbox\n") < 0 ||
	    write_file(ddfd, "hosts", "127.0.0.1\tlocalhost\n127.0.1.1\tsandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n") < 0 ||
	    write_file(ddfd, "nsswitch.conf",
		       "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\n"
		       "protocols: files\nservices: files\nethers: files\nrpc: files\nnetgroup: files\n") < 0)
		return -1;
	return 0;
}

int csdkp_etc_prepare(struct csdkp_local *ctx, char *gen, size_t genlen)
{
	char dir[4096], tmp[64], err[CSDKP_ERR_MAX];
	uint64_t h = 14695981039346656037ull;
	int src, edfd = -1, tfd = -1, nolink = 0, rc = 0;
	unsigned ids[3] = { ETC_FORMAT, (unsigned)geteuid(), (unsigned)getegid() };
	struct stat st;

	if ((src = open(HOST_ETC, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s: %s; the sandbox's /etc is made from it", HOST_ETC, strerror(errno));
	h = fnv(h, ids, sizeof(ids));
	h = hash_dirs(h, src, 0);
	snprintf(gen, genlen, "etc-%016llx", (unsigned long long)h);
	snprintf(dir, sizeof(dir), "%s/etc", ctx->state_dir);
	if ((edfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s: %s; check the state directory", dir, strerror(errno));
		goto out;
	}
	if (fstatat(edfd, gen, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
		goto out;
	/* Built under a temporary name and renamed: concurrent builders each make
	 * a whole tree, the first rename wins and the others are removed. */
	memcpy(tmp, ".build-", 7);
	if (csdkp_random_hex(tmp + 7, 8) || mkdirat(edfd, tmp, 0755) < 0 ||
	    (tfd = openat(edfd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    copy_etc(src, tfd, "", 0, &nolink) < 0 || write_identity(tfd) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot build the sandbox /etc in %s/%s: %s; check the state directory",
				      dir, tmp, strerror(errno));
	} else if (renameat(edfd, tmp, edfd, gen) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot rename %s/%s to %s: %s; check the state directory",
				      dir, tmp, gen, strerror(errno));
	}
	if (tfd >= 0)
		close(tfd);
	if (rc || faccessat(edfd, tmp, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		csdkp_remove_tree(edfd, tmp, err, sizeof(err));
out:
	if (edfd >= 0)
		close(edfd);
	close(src);
	return rc;
}
