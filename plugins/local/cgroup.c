/* pids = N: each sandbox gets a cgroup of the pids controller (cgroup v1,
 * CSDKP_CGROUP_PIDS/csdk/ID) with pids.max N. Every command joins it before
 * it executes bwrap (or the shell), so all the sandbox's processes count,
 * daemons that left their session included, and destroy kills whatever is
 * left in it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "local.h"

void csdkp_cgroup_path(const char *id, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, CSDKP_CGROUP_PIDS "/csdk/%s%s%s", id, file ? "/" : "", file ? file : "");
}

int csdkp_cgroup_create(struct csdkp_local *ctx, const char *id, uint64_t pids)
{
	char path[256], value[32];
	int fd, len, rc = 0;

	if (mkdir(CSDKP_CGROUP_PIDS "/csdk", 0755) < 0 && errno != EEXIST)
		goto fail;
	csdkp_cgroup_path(id, NULL, path, sizeof(path));
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		goto fail;
	csdkp_cgroup_path(id, "pids.max", path, sizeof(path));
	len = snprintf(value, sizeof(value), "%llu", (unsigned long long)pids);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		goto fail;
	if (write(fd, value, (size_t)len) != len)
		rc = errno;
	close(fd);
	if (!rc)
		return 0;
	errno = rc;
fail:
	rc = errno;
	csdkp_cgroup_remove(id);
	return ctx->host->error(ctx->host, CSDK_EBACKEND,
		"pids needs the cgroup v1 pids controller at " CSDKP_CGROUP_PIDS ", writable by this user (%s: %s); run as root with it mounted, or unset pids (CSDK_LOCAL_PIDS)",
		path, strerror(rc));
}

/* Kills what is left in the cgroup, then removes it (up to 3 s for the
 * processes to go). */
void csdkp_cgroup_remove(const char *id)
{
	char path[256], buf[4096];
	struct timespec pause = { 0, 20000000 };
	int tries, fd;
	ssize_t n;

	csdkp_cgroup_path(id, NULL, path, sizeof(path));
	for (tries = 0; tries < 150; tries++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return;
		if (errno != EBUSY)
			return;
		csdkp_cgroup_path(id, "cgroup.procs", buf, sizeof(buf));
		if ((fd = open(buf, O_RDONLY | O_CLOEXEC)) >= 0) {
			while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
				char *p = buf, *end;
				buf[n] = '\0';
				/* pids are whole lines: a read of a cgroup file ends at a line */
				for (long pid; (pid = strtol(p, &end, 10)) > 0; p = end)
					kill((pid_t)pid, SIGKILL);
			}
			close(fd);
		}
		nanosleep(&pause, NULL);
		csdkp_cgroup_path(id, NULL, path, sizeof(path));
	}
}
