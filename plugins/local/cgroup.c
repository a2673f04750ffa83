/* pids, memory_max and cpus: each sandbox gets a cgroup of the cgroup v1
 * pids, memory and cpu controllers (LOCALP_CGROUP_ROOT/CONTROLLER/csdk/ID)
 * with pids.max, memory.limit_in_bytes, cpu.cfs_quota_us. Every command joins them before it
 * executes bwrap (or the shell), so all the sandbox's processes count,
 * daemons that left their session included, and destroy kills whatever is
 * left in them. */
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

static const char *const controllers[LOCALP_CGROUPS] = { "pids", "memory", "cpu" };

void localp_cgroup_path(int which, const char *id, const char *file, char *buf, size_t len)
{
	snprintf(buf, len, LOCALP_CGROUP_ROOT "/%s/csdk/%s%s%s", controllers[which], id, file ? "/" : "", file ? file : "");
}

static int write_value(const char *path, uint64_t v)
{
	char value[32];
	int fd, len = snprintf(value, sizeof(value), "%llu", (unsigned long long)v), rc = 0;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
		return -1;
	if (write(fd, value, (size_t)len) != len)
		rc = errno;
	close(fd);
	errno = rc;
	return rc ? -1 : 0;
}

int localp_cgroup_create(struct localp_local *ctx, const char *id, const uint64_t limits[LOCALP_CGROUPS])
{
	static const char *const keys[LOCALP_CGROUPS] = { "pids", "memory_max", "cpus" };
	static const char *const envs[LOCALP_CGROUPS] = { "CSDK_LOCAL_PIDS", "CSDK_LOCAL_MEMORY_MAX", "CSDK_LOCAL_CPUS" };
	static const char *const files[LOCALP_CGROUPS] = { "pids.max", "memory.limit_in_bytes", "cpu.cfs_quota_us" };
	char path[256];
	int i, rc;

	for (i = 0; i < LOCALP_CGROUPS; i++) {
		if (!limits[i])
			continue;
		snprintf(path, sizeof(path), LOCALP_CGROUP_ROOT "/%s/csdk", controllers[i]);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			goto fail;
		localp_cgroup_path(i, id, NULL, path, sizeof(path));
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			goto fail;
		if (i == LOCALP_CGROUP_CPU) {
			localp_cgroup_path(i, id, "cpu.cfs_period_us", path, sizeof(path));
			if (write_value(path, LOCALP_CPU_PERIOD_US) < 0)
				goto fail;
		}
		localp_cgroup_path(i, id, files[i], path, sizeof(path));
		if (write_value(path, limits[i]) < 0)
			goto fail;
		/* swap must not extend the limit (the file exists with swap accounting) */
		localp_cgroup_path(i, id, "memory.memsw.limit_in_bytes", path, sizeof(path));
		if (i == LOCALP_CGROUP_MEMORY && access(path, W_OK) == 0)
			write_value(path, limits[i]);
	}
	return 0;
fail:
	rc = errno;
	localp_cgroup_remove(id);
	return ctx->host->error(ctx->host, CSDK_EBACKEND,
		"%s needs the cgroup v1 %s controller at " LOCALP_CGROUP_ROOT "/%s, writable by this user (%s: %s); run as root with it mounted, or unset %s (%s)",
		keys[i], controllers[i], controllers[i], path, strerror(rc), keys[i], envs[i]);
}

/* Kills what is left in each cgroup, then removes it (up to 3 s in all for
 * the processes to go). */
void localp_cgroup_remove(const char *id)
{
	struct timespec pause = { 0, 20000000 };
	char path[256], buf[4096];
	int i, tries = 0, fd;
	ssize_t n;

	for (i = 0; i < LOCALP_CGROUPS; i++) {
		for (;; tries++) {
			localp_cgroup_path(i, id, NULL, path, sizeof(path));
			if (rmdir(path) == 0 || errno != EBUSY || tries >= 150)
				break;
			localp_cgroup_path(i, id, "cgroup.procs", buf, sizeof(buf));
			if ((fd = open(buf, O_RDONLY | O_CLOEXEC)) >= 0) {
				/* a read of a cgroup file ends at a line */
				while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
					char *p = buf, *end;
					buf[n] = '\0';
					for (long pid; (pid = strtol(p, &end, 10)) > 0; p = end)
						kill((pid_t)pid, SIGKILL);
				}
				close(fd);
			}
			nanosleep(&pause, NULL);
		}
	}
}

/* memory.oom_control's oom_kill: how many processes the OOM killer ended in
 * the sandbox's memory cgroup (-1 when unknown). */
long localp_cgroup_oom_kills(const char *id)
{
	char path[256], buf[512], *p;
	long kills = -1;
	ssize_t n;
	int fd;

	localp_cgroup_path(LOCALP_CGROUP_MEMORY, id, "memory.oom_control", path, sizeof(path));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		if ((p = strstr(buf, "oom_kill ")))
			kills = strtol(p + 9, NULL, 10);
	}
	return kills;
}

static int controller_writable(int which)
{
	char path[256];

	snprintf(path, sizeof(path), LOCALP_CGROUP_ROOT "/%s/cgroup.procs", controllers[which]);
	return access(path, W_OK) == 0;
}

/* Whether STATE/no-cgroups is new: the warning below is given once per
 * state directory, not at every create of a CLI. */
static int first_time(struct localp_local *ctx)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/" LOCALP_NO_CGROUPS_MARK, ctx->state_dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return errno != EEXIST;
	close(fd);
	return 1;
}

/* The limits of a new sandbox: the configured ones; the create options'
 * hints where their controller is writable, never above the configured
 * limit; and, as root, LOCALP_DEFAULT_PIDS when pids is not set, so a fork
 * bomb is bounded. Without the pids controller, said once per state
 * directory: commands have only the rlimits (processes, memory, cpu_time). */
void localp_cgroup_limits(struct localp_local *ctx, const struct csdk_create_request *opts, uint64_t limits[LOCALP_CGROUPS])
{
	limits[LOCALP_CGROUP_PIDS] = ctx->pids;
	limits[LOCALP_CGROUP_MEMORY] = ctx->memory_max;
	limits[LOCALP_CGROUP_CPU] = ctx->cpu_quota_us;
	if (opts && opts->memory_bytes && controller_writable(LOCALP_CGROUP_MEMORY) &&
	    (!limits[LOCALP_CGROUP_MEMORY] || opts->memory_bytes < limits[LOCALP_CGROUP_MEMORY]))
		limits[LOCALP_CGROUP_MEMORY] = opts->memory_bytes;
	if (opts && opts->cpus > 0 && controller_writable(LOCALP_CGROUP_CPU)) {
		/* the kernel's smallest quota is 1 ms */
		uint64_t quota = opts->cpus >= 1024 ? 1024ull * LOCALP_CPU_PERIOD_US : (uint64_t)(opts->cpus * LOCALP_CPU_PERIOD_US + 0.5);

		if (quota < 1000)
			quota = 1000;
		if (!limits[LOCALP_CGROUP_CPU] || quota < limits[LOCALP_CGROUP_CPU])
			limits[LOCALP_CGROUP_CPU] = quota;
	}
	if (limits[LOCALP_CGROUP_PIDS])
		return;
	if (geteuid() == 0 && controller_writable(LOCALP_CGROUP_PIDS)) {
		limits[LOCALP_CGROUP_PIDS] = LOCALP_DEFAULT_PIDS;
	} else {
		int warn;

		pthread_mutex_lock(&ctx->probe_lock);
		warn = !ctx->cgroup_warned;
		ctx->cgroup_warned = 1;
		pthread_mutex_unlock(&ctx->probe_lock);
		if (warn && first_time(ctx))
			ctx->host->log(ctx->host, CSDK_LOG_WARN,
				"no cgroup v1 pids controller writable at " LOCALP_CGROUP_ROOT "/pids: sandboxes have no process limit of their own, only the rlimits processes, memory and cpu_time; run as root, or set processes (CSDK_LOCAL_PROCESSES)");
	}
}
