#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "csdkc.h"

static int write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode, char *err, size_t errlen)
{
	char tmp[256], hex[17];
	const char *p = data;
	int fd, e;

	if (csdkc_random_hex(hex, 8))
		return CSDK_EIO;
	snprintf(tmp, sizeof(tmp), ".%.200s.%s.tmp", name, hex);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s; check that the state directory is writable", tmp, strerror(errno));
		return CSDK_EIO;
	}
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			e = errno;
			close(fd);
			unlinkat(dirfd, tmp, 0);
			snprintf(err, errlen, "cannot write %s: %s; free some disk space", name, strerror(e));
			return CSDK_EIO;
		}
		p += w;
		len -= (size_t)w;
	}
	close(fd);
	/* No fsync: the state is a cache of live sandboxes and the rename alone
	 * keeps readers from ever seeing a half-written file. */
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		e = errno;
		unlinkat(dirfd, tmp, 0);
		snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, name, strerror(e));
		return CSDK_EIO;
	}
	return 0;
}

int csdkc_file_write_atomic(int dirfd, const char *name, const void *data, size_t len, char *err, size_t errlen)
{
	return write_atomic(dirfd, name, data, len, 0644, err, errlen);
}

int csdkc_file_write_private(int dirfd, const char *name, const void *data, size_t len, char *err, size_t errlen)
{
	return write_atomic(dirfd, name, data, len, 0600, err, errlen);
}

int csdkc_json_write_atomic(int dirfd, const char *name, const json_t *value, char *err, size_t errlen)
{
	char *s = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (!s)
		return CSDK_ENOMEM;
	rc = csdkc_file_write_atomic(dirfd, name, s, strlen(s), err, errlen);
	free(s);
	return rc;
}

int csdkc_json_read(json_t **out, int dirfd, const char *name, char *err, size_t errlen)
{
	json_error_t je;
	json_t *v;
	FILE *f;
	int fd;

	*out = NULL;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return CSDK_ENOTFOUND;
		snprintf(err, errlen, "cannot open %s: %s", name, strerror(errno));
		return CSDK_EIO;
	}
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return CSDK_ENOMEM;
	}
	v = json_loadf(f, 0, &je);
	fclose(f);
	if (!v || !json_is_object(v)) {
		json_decref(v);
		snprintf(err, errlen, "%s is not a JSON object (%s at line %d); remove the damaged file", name, v ? "not an object" : je.text, je.line);
		return CSDK_EIO;
	}
	*out = v;
	return 0;
}
