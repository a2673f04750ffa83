#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "csdkc.h"

int64_t csdkc_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int csdkc_random_hex(char *out, size_t nbytes)
{
	unsigned char b[64];
	size_t got = 0, i;

	if (nbytes > sizeof(b))
		return CSDK_EINVAL;
	while (got < nbytes) {
		ssize_t r = getrandom(b + got, nbytes - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return CSDK_EIO;
		}
		got += (size_t)r;
	}
	for (i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	return 0;
}

static int remove_below(int dfd, const char *where, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	int rc = 0;

	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return CSDK_ENOMEM;
	}
	while ((de = readdir(d))) {
		const char *n = de->d_name;
		int cfd;

		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (unlinkat(dirfd(d), n, 0) == 0)
			continue;
		if (errno != EISDIR && errno != EPERM) {
			if (errno == ENOENT)
				continue;
			snprintf(err, errlen, "cannot remove %s/%s: %s", where, n, strerror(errno));
			rc = CSDK_EIO;
			break;
		}
		cfd = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (cfd < 0) {
			snprintf(err, errlen, "cannot open %s/%s: %s", where, n, strerror(errno));
			rc = CSDK_EIO;
			break;
		}
		/* Read-only directories made inside the sandbox must still go. */
		fchmod(cfd, 0700);
		rc = remove_below(cfd, where, err, errlen);
		if (rc)
			break;
		if (unlinkat(dirfd(d), n, AT_REMOVEDIR) < 0 && errno != ENOENT) {
			snprintf(err, errlen, "cannot remove %s/%s: %s", where, n, strerror(errno));
			rc = CSDK_EIO;
			break;
		}
	}
	closedir(d);
	return rc;
}

int csdkc_remove_tree(int dirfd, const char *name, char *err, size_t errlen)
{
	int fd, rc;

	if (unlinkat(dirfd, name, 0) == 0)
		return 0;
	if (errno == ENOENT) {
		snprintf(err, errlen, "no such file or directory: %s", name);
		return CSDK_ENOTFOUND;
	}
	if (errno != EISDIR && errno != EPERM) {
		snprintf(err, errlen, "cannot remove %s: %s", name, strerror(errno));
		return CSDK_EIO;
	}
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", name, strerror(errno));
		return CSDK_EIO;
	}
	fchmod(fd, 0700);
	rc = remove_below(fd, name, err, errlen);
	if (rc)
		return rc;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove %s: %s", name, strerror(errno));
		return CSDK_EIO;
	}
	return 0;
}

static int copy_file(int dfd, int sfd, const char *n, const struct stat *st, char *err, size_t errlen)
{
	int in, out, rc = 0;
	char buf[65536];

	in = openat(sfd, n, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "cannot open %s for copying: %s", n, strerror(errno));
		return CSDK_EIO;
	}
	unlinkat(dfd, n, 0);
	out = openat(dfd, n, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 0777);
	if (out < 0) {
		snprintf(err, errlen, "cannot create %s: %s", n, strerror(errno));
		close(in);
		return CSDK_EIO;
	}
	for (;;) {
		ssize_t r = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);
		if (r == 0)
			break;
		if (r > 0)
			continue;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
			snprintf(err, errlen, "cannot copy %s: %s", n, strerror(errno));
			rc = CSDK_EIO;
			break;
		}
		for (;;) {
			ssize_t k = read(in, buf, sizeof(buf)), off = 0;
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0) {
				if (k < 0) {
					snprintf(err, errlen, "cannot read %s: %s", n, strerror(errno));
					rc = CSDK_EIO;
				}
				break;
			}
			while (off < k) {
				ssize_t w = write(out, buf + off, (size_t)(k - off));
				if (w < 0) {
					if (errno == EINTR)
						continue;
					snprintf(err, errlen, "cannot write %s: %s", n, strerror(errno));
					rc = CSDK_EIO;
					break;
				}
				off += w;
			}
			if (rc)
				break;
		}
		break;
	}
	fchmod(out, st->st_mode & 0777);
	close(in);
	close(out);
	return rc;
}

int csdkc_copy_tree(int dst_dirfd, int src_dirfd, char *err, size_t errlen)
{
	DIR *d;
	struct dirent *de;
	int rc = 0, sfd = dup(src_dirfd);

	if (sfd < 0)
		return CSDK_EIO;
	lseek(sfd, 0, SEEK_SET);
	d = fdopendir(sfd);
	if (!d) {
		close(sfd);
		return CSDK_ENOMEM;
	}
	rewinddir(d);
	while (!rc && (de = readdir(d))) {
		const char *n = de->d_name;
		struct stat st;

		if (!strcmp(n, ".") || !strcmp(n, ".."))
			continue;
		if (fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISREG(st.st_mode)) {
			rc = copy_file(dst_dirfd, dirfd(d), n, &st, err, errlen);
		} else if (S_ISDIR(st.st_mode)) {
			int s2, d2;

			if (mkdirat(dst_dirfd, n, 0755) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "cannot create directory %s: %s", n, strerror(errno));
				rc = CSDK_EIO;
				break;
			}
			s2 = openat(dirfd(d), n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			d2 = openat(dst_dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (s2 < 0 || d2 < 0) {
				snprintf(err, errlen, "cannot open directory %s: %s", n, strerror(errno));
				rc = CSDK_EIO;
			} else {
				rc = csdkc_copy_tree(d2, s2, err, errlen);
				fchmod(d2, st.st_mode & 0777);
			}
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t k = readlinkat(dirfd(d), n, target, sizeof(target) - 1);

			if (k < 0)
				continue;
			target[k] = '\0';
			unlinkat(dst_dirfd, n, 0);
			if (symlinkat(target, dst_dirfd, n) < 0) {
				snprintf(err, errlen, "cannot create symbolic link %s: %s", n, strerror(errno));
				rc = CSDK_EIO;
			}
		}
	}
	closedir(d);
	return rc;
}
