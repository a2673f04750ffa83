/*
 * fuzz-tar.c - the tar reader and writer of plugins/common/tar.c.
 *
 * The input is extracted below a fresh directory. Properties:
 * - nothing appears outside it: the directories around it and the current
 *   directory stay as they were;
 * - whatever was extracted (completely or up to a refused member), written
 *   back with csdkc_tar_write_tree, extracts without error to the same tree:
 *   the same names, types, permission bits, file contents and link targets.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "csdkc.h"
#include "fuzz.h"

static char *base;       /* our temporary directory */
static int base_fd = -1;
static int jail_fd = -1; /* base/jail: holds the two trees and nothing else */
static int cwd_fd = -1;  /* base/cwd: the current directory, empty */

static void die(const char *what)
{
	fprintf(stderr, "fuzz-tar: %s: %s\n", what, strerror(errno));
	abort();
}

static int count_entries(int dfd, const char *only_a, const char *only_b)
{
	int fd = dup(dfd), n = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d)
		die("cannot list a directory");
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((only_a && !strcmp(de->d_name, only_a)) || (only_b && !strcmp(de->d_name, only_b)))
			continue;
		fprintf(stderr, "fuzz-tar: unexpected entry '%s' outside the extraction directory\n", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static void remove_below(int dfd)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d)
		die("cannot list a directory to remove it");
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			int cfd;

			fchmodat(dfd, de->d_name, 0700, 0);
			cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd < 0)
				die("cannot open a directory to remove it");
			remove_below(cfd);
			close(cfd);
			if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) != 0)
				die("cannot remove a directory");
		} else if (unlinkat(dfd, de->d_name, 0) != 0) {
			die("cannot remove a file");
		}
	}
	closedir(d);
}

static void cleanup(void)
{
	if (base_fd >= 0) {
		remove_below(base_fd);
		close(base_fd);
		rmdir(base);
	}
}

/* Done at the first input, not in LLVMFuzzerInitialize: libFuzzer's fork
 * mode re-runs argv[0], which must still resolve from where it started. */
static void setup(void)
{
	const char *tmp = getenv("TMPDIR");

	umask(022);
	if (asprintf(&base, "%s/csdk-fuzz-tar-XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0 || !mkdtemp(base))
		die("cannot create the temporary directory");
	base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (base_fd < 0 || mkdirat(base_fd, "jail", 0700) != 0 || mkdirat(base_fd, "cwd", 0700) != 0)
		die("cannot set up the temporary directory");
	jail_fd = openat(base_fd, "jail", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	cwd_fd = openat(base_fd, "cwd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (jail_fd < 0 || cwd_fd < 0 || fchdir(cwd_fd) != 0)
		die("cannot enter the temporary directory");
	atexit(cleanup);
}

/* The tree is written back as a user would find it: readable directories and files. */
static void make_readable(int dfd)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!d)
		die("cannot list a directory");
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int cfd;

			fchmodat(dfd, de->d_name, (st.st_mode & 0777) | 0700, 0);
			cfd = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (cfd >= 0) {
				make_readable(cfd);
				close(cfd);
			}
		} else if (S_ISREG(st.st_mode)) {
			fchmodat(dfd, de->d_name, (st.st_mode & 0777) | 0400, 0);
		}
	}
	closedir(d);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **sorted_names(int dfd, size_t *n)
{
	int fd = dup(dfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;
	char **names = NULL;
	size_t cap = 0;

	if (!d)
		die("cannot list a directory");
	*n = 0;
	rewinddir(d);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (*n == cap) {
			names = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));
			if (!names)
				die("out of memory");
		}
		if (!(names[(*n)++] = strdup(de->d_name)))
			die("out of memory");
	}
	closedir(d);
	if (*n > 1)
		qsort(names, *n, sizeof(*names), by_name);
	return names;
}

static void same_contents(int dfd1, int dfd2, const char *name)
{
	int a = openat(dfd1, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	int b = openat(dfd2, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char x[4096], y[4096];

	FUZZ_CHECK(a >= 0 && b >= 0);
	for (;;) {
		ssize_t ra = read(a, x, sizeof(x)), rb = read(b, y, sizeof(y));

		FUZZ_CHECK(ra >= 0 && ra == rb && memcmp(x, y, (size_t)ra) == 0);
		if (ra == 0)
			break;
	}
	close(a);
	close(b);
}

static void same_tree(int dfd1, int dfd2)
{
	size_t n1, n2;
	char **a = sorted_names(dfd1, &n1), **b = sorted_names(dfd2, &n2);

	FUZZ_CHECK(n1 == n2);
	for (size_t i = 0; i < n1; i++) {
		struct stat s1, s2;

		FUZZ_CHECK(strcmp(a[i], b[i]) == 0);
		FUZZ_CHECK(fstatat(dfd1, a[i], &s1, AT_SYMLINK_NOFOLLOW) == 0);
		FUZZ_CHECK(fstatat(dfd2, b[i], &s2, AT_SYMLINK_NOFOLLOW) == 0);
		FUZZ_CHECK((s1.st_mode & S_IFMT) == (s2.st_mode & S_IFMT));
		if (S_ISDIR(s1.st_mode)) {
			int c1 = openat(dfd1, a[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int c2 = openat(dfd2, b[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			FUZZ_CHECK(c1 >= 0 && c2 >= 0);
			FUZZ_CHECK((s1.st_mode & 0777) == (s2.st_mode & 0777));
			same_tree(c1, c2);
			close(c1);
			close(c2);
		} else if (S_ISREG(s1.st_mode)) {
			FUZZ_CHECK((s1.st_mode & 0777) == (s2.st_mode & 0777));
			FUZZ_CHECK(s1.st_size == s2.st_size);
			same_contents(dfd1, dfd2, a[i]);
		} else if (S_ISLNK(s1.st_mode)) {
			char t1[4096], t2[4096];
			ssize_t k1 = readlinkat(dfd1, a[i], t1, sizeof(t1)), k2 = readlinkat(dfd2, b[i], t2, sizeof(t2));

			FUZZ_CHECK(k1 >= 0 && k1 == k2 && memcmp(t1, t2, (size_t)k1) == 0);
		} else {
			FUZZ_CHECK(!"the reader creates only directories, files and symbolic links");
		}
		free(a[i]);
		free(b[i]);
	}
	free(a);
	free(b);
}

static int memfd_with(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-tar", MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || lseek(fd, 0, SEEK_SET) != 0)
		die("cannot fill a memfd");
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CSDKC_ERR_MAX];
	int in, archive, t1, t2, rc;

	if (base_fd < 0)
		setup();
	if (mkdirat(jail_fd, "t1", 0755) != 0 || mkdirat(jail_fd, "t2", 0755) != 0)
		die("cannot create the extraction directories");
	t1 = openat(jail_fd, "t1", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	t2 = openat(jail_fd, "t2", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t1 < 0 || t2 < 0)
		die("cannot open the extraction directories");

	in = memfd_with(data, size);
	err[0] = '\0';
	rc = csdkc_tar_extract(in, t1, err, sizeof(err));
	close(in);
	FUZZ_CHECK(rc == 0 || rc == CSDK_EIO || rc == CSDK_EPERM || rc == CSDK_ENOMEM);
	FUZZ_CHECK(rc == 0 || (err[0] && !strchr(err, '\n')) || rc == CSDK_ENOMEM);
	FUZZ_CHECK(count_entries(jail_fd, "t1", "t2") == 0);
	FUZZ_CHECK(count_entries(base_fd, "jail", "cwd") == 0);
	FUZZ_CHECK(count_entries(cwd_fd, NULL, NULL) == 0);

	make_readable(t1);
	archive = memfd_create("fuzz-tar-out", MFD_CLOEXEC);
	if (archive < 0)
		die("cannot create a memfd");
	err[0] = '\0';
	rc = csdkc_tar_write_tree(archive, t1, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fuzz-tar: write_tree: %s\n", err);
	FUZZ_CHECK(rc == 0);
	if (lseek(archive, 0, SEEK_SET) != 0)
		die("cannot rewind a memfd");
	err[0] = '\0';
	rc = csdkc_tar_extract(archive, t2, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "fuzz-tar: re-extract: %s\n", err);
	FUZZ_CHECK(rc == 0);
	close(archive);
	make_readable(t2);
	same_tree(t1, t2);

	remove_below(jail_fd);
	close(t1);
	close(t2);
	return 0;
}
