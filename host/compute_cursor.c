#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compute_cursor.h"
#include "log.h"
#include "util.h"

static unsigned long cursor_read(const char *path)
{
	unsigned long v = 0;
	FILE *fp = fopen(path, "r");

	if (fp) {
		if (fscanf(fp, "%lu", &v) != 1)
			v = 0;
		fclose(fp);
	}
	return v;
}

static int mkdirs_for(const char *path)
{
	char *dir = strdup(path), *p;

	if (!dir)
		return -1;
	for (p = dir + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			free(dir);
			return -1;
		}
		*p = '/';
	}
	free(dir);
	return 0;
}

/* Written to a temporary file and renamed, so a reader never sees half a number. */
static void cursor_write(const char *path, unsigned long v)
{
	char *tmp = csdkp_printf("%s.%ld.tmp", path, (long)getpid());
	FILE *fp;
	int ok;

	if (!tmp || mkdirs_for(path) < 0 || !(fp = fopen(tmp, "w"))) {
		csdkp_log_emit(CSDK_LOG_WARN, NULL, tmp ? "cannot save the round-robin cursor; check that its directory is writable" : "out of memory");
		free(tmp);
		return;
	}
	ok = fprintf(fp, "%lu\n", v) > 0;
	ok = (fclose(fp) == 0) && ok;
	if (!ok || rename(tmp, path) < 0) {
		char *msg = csdkp_printf("cannot save the round-robin cursor to %s: %s; check that its directory is writable", path, strerror(errno));
		unlink(tmp);
		csdkp_log_emit(CSDK_LOG_WARN, NULL, msg ? msg : "out of memory");
		free(msg);
	}
	free(tmp);
}

/* Held around read and write, so that separate processes take turns too; -1 when it cannot be had. */
static int cursor_lock(const char *path)
{
	char *lock = csdkp_printf("%s.lock", path);
	int fd = -1;

	if (lock && mkdirs_for(path) == 0 && (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) >= 0)
		while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
			;
	free(lock);
	return fd;
}
unsigned long csdkp_cursor_file_take(const char *path)
{
	int lock = cursor_lock(path);
	unsigned long v = cursor_read(path);

	cursor_write(path, v + 1);
	if (lock >= 0)
		close(lock);
	return v;
}
