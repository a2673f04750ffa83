#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "local.h"

static const char *const state_subdirs[] = { "sandboxes", "names", "templates", "snapshots", "trash", "etc", "pool", NULL };

static int mkdir_p(const char *path)
{
	char *p = strdup(path), *s;

	if (!p)
		return -1;
	for (s = p + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0755) < 0 && errno != EEXIST) {
				free(p);
				return -1;
			}
			*s = '/';
		}
	}
	free(p);
	return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

int localp_state_prepare(struct localp_local *ctx)
{
	char *real, path[4096];
	int i;

	if (mkdir_p(ctx->state_dir) < 0 || !(real = realpath(ctx->state_dir, NULL)))
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"cannot create the state directory %s: %s; set state_dir (CSDK_LOCAL_STATE_DIR) to a writable directory",
			ctx->state_dir, strerror(errno));
	free(ctx->state_dir);
	ctx->state_dir = real;
	for (i = 0; state_subdirs[i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", real, state_subdirs[i]);
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return ctx->host->error(ctx->host, CSDK_ECONFIG,
				"cannot create %s: %s; set state_dir (CSDK_LOCAL_STATE_DIR) to a writable directory",
				path, strerror(errno));
	}
	return 0;
}

int localp_lock(struct localp_local *ctx, int *fd_out)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/lock", ctx->state_dir);
	/* A descriptor per call: flock locks belong to the open file, so two
	 * threads of one process exclude each other just like two processes. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open the lock file %s: %s; check the state directory's permissions", path, strerror(errno));
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return ctx->host->error(ctx->host, CSDK_EIO, "cannot lock %s: %s", path, strerror(e));
		}
	}
	*fd_out = fd;
	return 0;
}

void localp_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

int localp_id_valid(const char *id)
{
	size_t i, pl = strlen(LOCALP_ID_PREFIX);

	if (!id || strlen(id) != LOCALP_ID_LEN || strncmp(id, LOCALP_ID_PREFIX, pl))
		return 0;
	for (i = pl; i < LOCALP_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

int localp_check_id(struct localp_local *ctx, const char *id)
{
	if (localp_id_valid(id))
		return 0;
	return ctx->host->error(ctx->host, CSDK_EINVAL,
		"sandbox id '%s' is not well-formed; local sandbox ids are 'local-' followed by 16 hex digits",
		id ? id : "(null)");
}

int localp_sandbox_open(struct localp_local *ctx, const char *id, struct localp_sandbox **out)
{
	struct localp_sandbox *sb = calloc(1, sizeof(*sb));

	*out = NULL;
	if (!sb || asprintf(&sb->dir, "%s/sandboxes/%s", ctx->state_dir, id) < 0) {
		free(sb);
		return CSDK_ENOMEM;
	}
	memcpy(sb->id, id, LOCALP_ID_LEN);
	*out = sb;
	return 0;
}

void localp_sandbox_free(struct localp_sandbox *sb)
{
	if (!sb)
		return;
	free(sb->dir);
	free(sb);
}

int localp_meta_load(struct localp_local *ctx, const struct localp_sandbox *sb, json_t **out)
{
	char err[CSDKC_ERR_MAX];
	int dfd = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC), rc;

	*out = NULL;
	if (dfd < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	rc = csdkc_json_read(out, dfd, "meta.json", err, sizeof(err));
	close(dfd);
	if (rc == CSDK_ENOTFOUND)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	if (rc)
		return ctx->host->error(ctx->host, rc, "sandbox %s: %s", sb->id, err);
	return 0;
}

int localp_meta_save(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta)
{
	char err[CSDKC_ERR_MAX];
	int dfd = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC), rc;

	if (dfd < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	rc = csdkc_json_write_atomic(dfd, "meta.json", meta, err, sizeof(err));
	close(dfd);
	if (rc)
		return ctx->host->error(ctx->host, rc, "sandbox %s: %s", sb->id, err);
	return 0;
}

int64_t localp_meta_int(const json_t *meta, const char *key)
{
	return (int64_t)json_integer_value(json_object_get(meta, key));
}

const char *localp_meta_str(const json_t *meta, const char *key)
{
	return json_string_value(json_object_get(meta, key));
}

int localp_meta_expired(const json_t *meta, int64_t now)
{
	int64_t timeout = localp_meta_int(meta, "timeout_ms");

	return timeout > 0 && now >= localp_meta_int(meta, "created_ms") + timeout;
}

/* A process's start time (clock ticks since boot, /proc/PID/stat field 22),
 * 0 when there is no such process: with the pid it names one process, not
 * whatever reuses the number later. */
static unsigned long long proc_info(pid_t pid, pid_t *pgrp_out, int *zombie_out)
{
	char path[64], buf[1024], *p, *end;
	unsigned long long v = 0;
	size_t n;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "re")))
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if (!(p = strrchr(buf, ')')) || p[1] != ' ' || p[2] == '\0')
		return 0;
	p += 2;
	if (zombie_out)
		*zombie_out = *p == 'Z' || *p == 'X';
	/* p is at field 3 (state); field 5 is the process group, field 22 the start time */
	for (i = 3; i < 22 && p; i++) {
		if (i == 5 && pgrp_out)
			*pgrp_out = (pid_t)strtol(p, NULL, 10);
		if ((p = strchr(p, ' ')))
			p++;
	}
	if (p) {
		v = strtoull(p, &end, 10);
		if (end == p)
			v = 0;
	}
	return v;
}

unsigned long long localp_proc_start(pid_t pid)
{
	return proc_info(pid, NULL, NULL);
}

static int proc_alive(pid_t pid)
{
	int zombie = 0;

	return proc_info(pid, NULL, &zombie) && !zombie;
}

static int gone(struct localp_local *ctx, const struct localp_sandbox *sb)
{
	return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
}

/* Registration holds a shared flock on procs/ from before the fork until the
 * record is written; destroy takes it exclusively and leaves the
 * .destroyed mark, so every command either is in procs/ when destroy reads
 * it or is refused. */
int localp_procs_begin(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_procs *reg)
{
	int dfd, e;

	reg->name[0] = '\0';
	reg->dfd = -1;
	if ((dfd = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return gone(ctx, sb);
	reg->dfd = openat(dfd, LOCALP_PROCS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	/* made by create; sandboxes of older versions have none yet */
	if (reg->dfd < 0 && errno == ENOENT && faccessat(dfd, "meta.json", F_OK, AT_SYMLINK_NOFOLLOW) == 0 &&
	    (mkdirat(dfd, LOCALP_PROCS_DIR, 0700) == 0 || errno == EEXIST))
		reg->dfd = openat(dfd, LOCALP_PROCS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	e = errno;
	close(dfd);
	if (reg->dfd < 0)
		return e == ENOENT ? gone(ctx, sb)
			: ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s/%s: %s; check the state directory's permissions", sb->dir, LOCALP_PROCS_DIR, strerror(e));
	while (flock(reg->dfd, LOCK_SH) < 0) {
		if (errno != EINTR) {
			e = errno;
			localp_procs_end(reg);
			return ctx->host->error(ctx->host, CSDK_EIO, "cannot lock %s/%s: %s", sb->dir, LOCALP_PROCS_DIR, strerror(e));
		}
	}
	if (localp_procs_destroyed(reg, sb)) {
		localp_procs_end(reg);
		return gone(ctx, sb);
	}
	return 0;
}

/* Destroy renames the sandbox away before it locks procs/, and removes the
 * mark with the rest afterwards: either one tells. */
int localp_procs_destroyed(const struct localp_procs *reg, const struct localp_sandbox *sb)
{
	char path[4200];
	struct stat here, there;

	if (reg->dfd < 0)
		return 0;
	if (faccessat(reg->dfd, LOCALP_DESTROYED_MARK, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return 1;
	snprintf(path, sizeof(path), "%s/%s", sb->dir, LOCALP_PROCS_DIR);
	return fstat(reg->dfd, &here) < 0 || lstat(path, &there) < 0 || here.st_dev != there.st_dev || here.st_ino != there.st_ino;
}

int localp_procs_record(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_procs *reg,
		       pid_t pgid, unsigned long long pgstart, pid_t nspid, unsigned long long nsstart)
{
	char line[128], hex[9];
	int fd, n, e = 0;

	csdkc_random_hex(hex, 4);
	snprintf(reg->name, sizeof(reg->name), "%d-%s", (int)pgid, hex);
	n = snprintf(line, sizeof(line), "%d %llu %d %llu\n", (int)pgid, pgstart, (int)nspid, nsstart);
	fd = openat(reg->dfd, reg->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n)
		e = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	flock(reg->dfd, LOCK_UN);
	if (e) {
		unlinkat(reg->dfd, reg->name, 0);
		reg->name[0] = '\0';
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot record a process of sandbox %s in %s/%s: %s; check the state directory",
					sb->id, sb->dir, LOCALP_PROCS_DIR, strerror(e));
	}
	return 0;
}

/* The record of reg again, now with the pid namespace's init (a background command's second step). */
int localp_procs_update(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_procs *reg,
		       pid_t pgid, unsigned long long pgstart, pid_t nspid, unsigned long long nsstart)
{
	char line[128], tmp[64];
	int fd, n, e = 0;

	/* a temporary name and a rename: destroy reads either record whole (names with '.' it skips) */
	n = snprintf(line, sizeof(line), "%d %llu %d %llu\n", (int)pgid, pgstart, (int)nspid, nsstart);
	snprintf(tmp, sizeof(tmp), ".u-%s", reg->name);
	fd = openat(reg->dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || renameat(reg->dfd, tmp, reg->dfd, reg->name) < 0)
		e = errno ? errno : EIO;
	if (fd >= 0)
		close(fd);
	if (e)
		unlinkat(reg->dfd, tmp, 0);
	if (e)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot record a process of sandbox %s in %s/%s: %s; check the state directory",
					sb->id, sb->dir, LOCALP_PROCS_DIR, strerror(e));
	return 0;
}

void localp_procs_forget(struct localp_procs *reg)
{
	if (reg->dfd >= 0 && reg->name[0])
		unlinkat(reg->dfd, reg->name, 0);
	reg->name[0] = '\0';
}

void localp_procs_end(struct localp_procs *reg)
{
	if (reg->dfd >= 0) {
		flock(reg->dfd, LOCK_UN);
		close(reg->dfd);
	}
	reg->dfd = -1;
}

struct proc_rec {
	pid_t pgid, nspid;
	unsigned long long pgstart, nsstart;
	int pg_killed, ns_killed;
};

static int add_rec(struct proc_rec **recs, size_t *n, size_t *cap, const struct proc_rec *r)
{
	if (*n == *cap) {
		struct proc_rec *g = realloc(*recs, (*cap = *cap ? *cap * 2 : 16) * sizeof(*g));
		if (!g)
			return -1;
		*recs = g;
	}
	(*recs)[(*n)++] = *r;
	return 0;
}

/* Whether a process other than a zombie is still in group pgid. */
static int group_alive(pid_t pgid)
{
	struct dirent *de;
	DIR *d;
	int alive = 0;

	if (kill(-pgid, 0) < 0)
		return 0;
	/* kill(2) also finds zombies that their parent has not reaped yet */
	if (!(d = opendir("/proc")))
		return 1;
	while (!alive && (de = readdir(d))) {
		char *end;
		pid_t pid = (pid_t)strtol(de->d_name, &end, 10), pgrp = 0;
		int zombie = 0;

		if (*end || pid <= 0)
			continue;
		if (proc_info(pid, &pgrp, &zombie) && !zombie && pgrp == pgid)
			alive = 1;
	}
	closedir(d);
	return alive;
}

/* One record of procs/: "PGID PGSTART NSPID NSSTART". */
static int read_rec(int pdfd, const char *name, struct proc_rec *r)
{
	char line[128];
	ssize_t k;
	int rfd;

	memset(r, 0, sizeof(*r));
	if ((rfd = openat(pdfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	k = read(rfd, line, sizeof(line) - 1);
	close(rfd);
	if (k <= 0)
		return -1;
	line[k] = '\0';
	return sscanf(line, "%d %llu %d %llu", &r->pgid, &r->pgstart, &r->nspid, &r->nsstart) == 4 ? 0 : -1;
}

static void read_procs(int pdfd, struct proc_rec **recs, size_t *n, size_t *cap)
{
	struct dirent *de;
	struct proc_rec r;
	int fd;
	DIR *d;

	if ((fd = dup(pdfd)) < 0)
		return;
	if (!(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && !read_rec(pdfd, de->d_name, &r))
			add_rec(recs, n, cap, &r);
	closedir(d);
}

/* "PGID NSPID" lines of sandboxes made before procs/ existed */
static void read_legacy_pids(int sdfd, struct proc_rec **recs, size_t *n, size_t *cap)
{
	struct proc_rec r;
	FILE *f;
	int fd;

	if ((fd = openat(sdfd, "pids", O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return;
	if (!(f = fdopen(fd, "re"))) {
		close(fd);
		return;
	}
	memset(&r, 0, sizeof(r));
	while (fscanf(f, "%d %d", &r.pgid, &r.nspid) == 2) {
		r.pgstart = r.nsstart = 0;
		add_rec(recs, n, cap, &r);
	}
	fclose(f);
}

/* procs/, locked and marked destroyed; -1 when it cannot be opened. */
static int lock_destroyed(int sdfd)
{
	int pdfd, fd;

	mkdirat(sdfd, LOCALP_PROCS_DIR, 0700);
	pdfd = openat(sdfd, LOCALP_PROCS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pdfd < 0)
		return -1;
	while (flock(pdfd, LOCK_EX) < 0 && errno == EINTR)
		;
	fd = openat(pdfd, LOCALP_DESTROYED_MARK, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	return pdfd;
}

static void kill_rec(struct proc_rec *r)
{
	int zombie = 0;
	unsigned long long now = r->nspid > 1 ? proc_info(r->nspid, NULL, &zombie) : 0;

	if (now && !zombie && (!r->nsstart || now == r->nsstart) && kill(r->nspid, SIGKILL) == 0)
		r->ns_killed = 1;
	if (r->pgid > 1) {
		now = localp_proc_start(r->pgid);
		if ((!now || !r->pgstart || now == r->pgstart) && kill(-r->pgid, SIGKILL) == 0)
			r->pg_killed = 1;
	}
}

/*
 * Kills every process group and pid namespace recorded for the sandbox whose
 * directory is sdfd, and waits (at most KILL_WAIT_MS) until none of them has a
 * live process. A group whose leader's pid now names another process (its
 * start time differs) was reused and is left alone. Commands that start
 * later are refused through the .destroyed mark.
 */
#define KILL_WAIT_MS 3000
static void kill_all(int sdfd)
{
	struct proc_rec *recs = NULL;
	size_t n = 0, cap = 0, i;
	int pdfd = lock_destroyed(sdfd);
	int64_t deadline;

	if (pdfd >= 0)
		read_procs(pdfd, &recs, &n, &cap);
	read_legacy_pids(sdfd, &recs, &n, &cap);
	for (i = 0; i < n; i++)
		kill_rec(&recs[i]);
	/* SIGKILL takes effect asynchronously, and a pid namespace goes only
	 * once its init has reaped the rest: wait so nothing outlives destroy. */
	deadline = csdkc_now_ms() + KILL_WAIT_MS;
	for (i = 0; i < n; i++) {
		while (((recs[i].ns_killed && proc_alive(recs[i].nspid)) ||
			(recs[i].pg_killed && group_alive(recs[i].pgid))) && csdkc_now_ms() < deadline)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	}
	free(recs);
	if (pdfd >= 0)
		close(pdfd);
}

static void unlink_name_if(struct localp_local *ctx, const json_t *meta, const char *id)
{
	const char *ns = localp_meta_str(meta, "namespace"), *name = localp_meta_str(meta, "name");
	char path[4096], buf[64];
	ssize_t n;
	int fd;

	if (!ns || !name)
		return;
	snprintf(path, sizeof(path), "%s/names/%s/%s", ctx->state_dir, ns, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n >= (ssize_t)LOCALP_ID_LEN && !strncmp(buf, id, LOCALP_ID_LEN))
		unlink(path);
}

/* Destroys the sandbox (or pool member) whose directory is dir: rename to trash, kill, remove. */
int localp_destroy_dir_locked(struct localp_local *ctx, const char *dir, const char *id)
{
	char trash[4096], hex[17], err[CSDKC_ERR_MAX];
	json_t *meta = NULL;
	int dfd, tfd, rc;

	dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	if (csdkc_json_read(&meta, dfd, "meta.json", err, sizeof(err)) == 0)
		unlink_name_if(ctx, meta, id);
	json_decref(meta);
	if (csdkc_random_hex(hex, 8)) {
		kill_all(dfd);
		close(dfd);
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot get random bytes: %s", strerror(errno));
	}
	/* Rename first so that the sandbox disappears at once for everyone:
	 * commands that have not registered by now cannot find it any more. */
	snprintf(trash, sizeof(trash), "%s/trash/%s-%s", ctx->state_dir, id, hex);
	rc = rename(dir, trash) < 0 ? errno : 0;
	localp_agent_stop(dfd, dir);
	kill_all(dfd);
	close(dfd);
	localp_cgroup_remove(id);
	localp_disk_remove(rc ? dir : trash);
	if (rc)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot remove sandbox %s (%s): %s", id, dir, strerror(rc));
	snprintf(trash + strlen(ctx->state_dir), sizeof(trash) - strlen(ctx->state_dir), "/trash");
	tfd = open(trash, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (tfd < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s: %s", trash, strerror(errno));
	snprintf(trash, sizeof(trash), "%s-%s", id, hex);
	rc = csdkc_remove_tree(tfd, trash, err, sizeof(err));
	close(tfd);
	if (rc && rc != CSDK_ENOTFOUND)
		return ctx->host->error(ctx->host, rc, "cannot remove the files of sandbox %s: %s", id, err);
	return 0;
}

int localp_destroy_locked(struct localp_local *ctx, const char *id)
{
	char dir[4096];

	snprintf(dir, sizeof(dir), "%s/sandboxes/%s", ctx->state_dir, id);
	return localp_destroy_dir_locked(ctx, dir, id);
}

/* What a destroy killed half-way left in trash/. */
static void empty_trash(struct localp_local *ctx)
{
	char path[4096], err[CSDKC_ERR_MAX];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/trash", ctx->state_dir);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		char id[LOCALP_ID_LEN + 1];

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/trash/%s", ctx->state_dir, de->d_name);
		localp_disk_remove(path);
		csdkc_remove_tree(dirfd(d), de->d_name, err, sizeof(err));
		/* trash/ID-HEX: a destroy killed before it removed the cgroup */
		if (strlen(de->d_name) <= LOCALP_ID_LEN || de->d_name[LOCALP_ID_LEN] != '-')
			continue;
		memcpy(id, de->d_name, LOCALP_ID_LEN);
		id[LOCALP_ID_LEN] = '\0';
		if (localp_id_valid(id))
			localp_cgroup_remove(id);
	}
	closedir(d);
}

/* Generations of the sandbox /etc that no sandbox uses, once they are old
 * enough that no create or command that just chose one can be using it. */
static void sweep_etc(struct localp_local *ctx, json_t *used)
{
	int pool_read = 0;
	char path[4096], err[CSDKC_ERR_MAX], newest[256] = "";
	time_t now = time(NULL), newest_time = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/etc", ctx->state_dir);
	if (!(d = opendir(path)))
		return;
	/* the newest stays: the next create would build it again */
	while ((de = readdir(d))) {
		struct stat st;

		if (!strncmp(de->d_name, "etc-", 4) && fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    st.st_mtime >= newest_time) {
			newest_time = st.st_mtime;
			snprintf(newest, sizeof(newest), "%s", de->d_name);
		}
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		struct stat st;

		if ((strncmp(de->d_name, "etc-", 4) && strncmp(de->d_name, ".build-", 7)) ||
		    !strcmp(de->d_name, newest) || json_object_get(used, de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || st.st_mtime > now - 600)
			continue;
		/* pool members' generations, read only when one might be removed (every create sweeps) */
		if (!pool_read++) {
			localp_pool_etc_used(ctx, used);
			if (json_object_get(used, de->d_name))
				continue;
		}
		csdkc_remove_tree(dirfd(d), de->d_name, err, sizeof(err));
	}
	closedir(d);
}

int localp_sweep_locked(struct localp_local *ctx)
{
	char path[4096], err[CSDKC_ERR_MAX];
	int64_t now = csdkc_now_ms();
	json_t *used = json_object();
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/sandboxes", ctx->state_dir);
	d = opendir(path);
	if (!d) {
		json_decref(used);
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot read %s: %s", path, strerror(errno));
	}
	while ((de = readdir(d))) {
		json_t *meta = NULL;
		int sfd;

		if (!localp_id_valid(de->d_name))
			continue;
		sfd = openat(dirfd(d), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (sfd < 0)
			continue;
		switch (csdkc_json_read(&meta, sfd, "meta.json", err, sizeof(err))) {
		case 0:
			/* claims run under this lock: a member's meta.json here is a claim killed half-way */
			if (localp_meta_expired(meta, now) || json_is_true(json_object_get(meta, "pool_member")))
				localp_destroy_locked(ctx, de->d_name);
			else if (used && localp_meta_str(meta, "etc"))
				json_object_set_new(used, localp_meta_str(meta, "etc"), json_true());
			break;
		case CSDK_ENOTFOUND:
			/* Creates run under this lock, so no meta.json means a create that was killed half-way. */
			localp_destroy_locked(ctx, de->d_name);
			break;
		default:
			break;
		}
		json_decref(meta);
		close(sfd);
	}
	closedir(d);
	empty_trash(ctx);
	/* without the list of generations in use, none is removed */
	if (used)
		sweep_etc(ctx, used);
	json_decref(used);
	return 0;
}

static int check_kvs(struct localp_local *ctx, const struct csdk_kv *kv, size_t n, const char *what, int env)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!kv[i].key || !kv[i].key[0] || !kv[i].value || (env && strchr(kv[i].key, '=')))
			return ctx->host->error(ctx->host, CSDK_EINVAL,
				"%s entry %zu ('%s') is not valid; use a non-empty key%s and a value", what, i,
				kv[i].key ? kv[i].key : "(null)", env ? " without '='" : "");
	}
	return 0;
}

static json_t *kv_object(const struct csdk_kv *kv, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; o && i < n; i++)
		json_object_set_new(o, kv[i].key, json_string(kv[i].value));
	return o;
}

/* A directory sandboxes/ID under a new random id. */
static int new_sandbox_dir(struct localp_local *ctx, char id[LOCALP_ID_LEN + 1])
{
	char path[4096];

	for (int tries = 0; tries < 8; tries++) {
		memcpy(id, LOCALP_ID_PREFIX, sizeof(LOCALP_ID_PREFIX) - 1);
		if (csdkc_random_hex(id + sizeof(LOCALP_ID_PREFIX) - 1, 8))
			return ctx->host->error(ctx->host, CSDK_EIO, "cannot get random bytes: %s", strerror(errno));
		snprintf(path, sizeof(path), "%s/sandboxes/%s", ctx->state_dir, id);
		if (mkdir(path, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return ctx->host->error(ctx->host, CSDK_EIO, "cannot create %s: %s; check the state directory", path, strerror(errno));
	}
	return ctx->host->error(ctx->host, CSDK_EIO, "cannot find a free sandbox id in %s/sandboxes", ctx->state_dir);
}

/* What meta.json records of a new sandbox. */
json_t *localp_sandbox_meta_new(struct localp_local *ctx, const char *id, const char *isolation, const char *network,
			       const char *etc, const uint64_t *limits, const struct csdk_create_request *opts, const char *ns,
			       const char *name)
{
	int64_t timeout = opts && opts->timeout_ms > 0 ? opts->timeout_ms : ctx->timeout_ms;
	json_t *meta = json_pack("{s:s, s:I, s:I, s:s, s:s, s:o, s:o}",
				 "id", id, "created_ms", (json_int_t)csdkc_now_ms(), "timeout_ms", (json_int_t)timeout,
				 "isolation", isolation, "network", network,
				 "metadata", kv_object(opts ? opts->metadata : NULL, opts ? opts->n_metadata : 0),
				 "envs", kv_object(opts ? opts->envs : NULL, opts ? opts->n_envs : 0));

	if (!meta)
		return NULL;
	if (etc[0])
		json_object_set_new(meta, "etc", json_string(etc));
	/* as root, commands of bubblewrap sandboxes run as sandbox_uid (localp_sandbox_ids) */
	if (geteuid() == 0 && !strcmp(isolation, "bubblewrap")) {
		json_object_set_new(meta, "uid", json_integer((json_int_t)ctx->sandbox_uid));
		json_object_set_new(meta, "gid", json_integer((json_int_t)ctx->sandbox_gid));
	}
	json_object_set_new(meta, "seccomp", json_string(ctx->seccomp_off ? "off" : "default"));
	if (limits[LOCALP_CGROUP_PIDS])
		json_object_set_new(meta, "pids", json_integer((json_int_t)limits[LOCALP_CGROUP_PIDS]));
	if (limits[LOCALP_CGROUP_MEMORY])
		json_object_set_new(meta, "memory_max", json_integer((json_int_t)limits[LOCALP_CGROUP_MEMORY]));
	if (limits[LOCALP_CGROUP_CPU])
		json_object_set_new(meta, "cpu_quota_us", json_integer((json_int_t)limits[LOCALP_CGROUP_CPU]));
	if (ctx->disk)
		json_object_set_new(meta, "disk", json_integer((json_int_t)ctx->disk));
	if (ns)
		json_object_set_new(meta, "namespace", json_string(ns));
	if (name)
		json_object_set_new(meta, "name", json_string(name));
	if (!opts)
		return meta;
	if (opts->template_id)
		json_object_set_new(meta, "template_id", json_string(opts->template_id));
	if (opts->snapshot_id)
		json_object_set_new(meta, "snapshot_id", json_string(opts->snapshot_id));
	if (opts->runtime)
		json_object_set_new(meta, "runtime", json_string(opts->runtime));
	if (opts->image)
		json_object_set_new(meta, "image", json_string(opts->image));
	if (opts->cpus > 0)
		json_object_set_new(meta, "cpus", json_real(opts->cpus));
	if (opts->memory_bytes)
		json_object_set_new(meta, "memory_bytes", json_integer((json_int_t)opts->memory_bytes));
	return meta;
}

/* As root, a bubblewrap sandbox's home, tmp and run/ (the agent makes its
 * socket there) are its user's, and so is what a template or snapshot put in home. */
static int own_sandbox_dir(struct localp_local *ctx, int dfd, int home)
{
	uid_t uid = ctx->sandbox_uid;
	gid_t gid = ctx->sandbox_gid;
	int rc = localp_chown_tree(home, uid, gid);

	if (!rc && (fchownat(dfd, "tmp", uid, gid, AT_SYMLINK_NOFOLLOW) < 0 || fchownat(dfd, LOCALP_RUN_DIR, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 ||
		    fchownat(dfd, LOCALP_NET_DIR, uid, gid, AT_SYMLINK_NOFOLLOW) < 0))
		rc = -errno;
	return rc;
}

/* home, tmp (on the disk's tmpfs), procs/ and run/; the cgroups; the template or snapshot in home. */
static int fill_sandbox_dir(struct localp_local *ctx, const struct localp_sandbox *sb, const struct csdk_create_request *opts,
			    const char *isolation, const uint64_t limits[LOCALP_CGROUPS])
{
	int dfd = open(sb->dir, O_PATH | O_DIRECTORY | O_CLOEXEC), home = -1, rc = 0;

	if (dfd < 0 || mkdirat(dfd, "home", 0755) < 0 || mkdirat(dfd, "tmp", 01777) < 0 || mkdirat(dfd, LOCALP_PROCS_DIR, 0700) < 0 ||
	    mkdirat(dfd, LOCALP_RUN_DIR, 0700) < 0 || mkdirat(dfd, LOCALP_NET_DIR, 0700) < 0 ||
	    (home = openat(dfd, "home", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot create the directories of sandbox %s in %s: %s", sb->id, sb->dir, strerror(errno));
		goto out;
	}
	fchmodat(dfd, "tmp", 01777, 0);
	if (ctx->disk) {
		close(home);
		home = -1;
		if ((rc = localp_disk_create(ctx, sb, ctx->disk)))
			goto out;
		if ((home = openat(dfd, "home", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
			rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot open the home of sandbox %s in %s: %s", sb->id, sb->dir, strerror(errno));
			goto out;
		}
	}
	if ((rc = localp_cgroup_create(ctx, sb->id, limits)))
		goto out;
	if (opts && opts->template_id && (rc = localp_template_copy_into(ctx, opts->template_id, home)))
		goto out;
	if (opts && opts->snapshot_id && (rc = localp_snapshot_restore_into(ctx, opts->snapshot_id, home)))
		goto out;
	if (geteuid() == 0 && !strcmp(isolation, "bubblewrap") && (rc = own_sandbox_dir(ctx, dfd, home)))
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot give the directories of sandbox %s in %s to uid %u (sandbox_uid): %s; put state_dir on a filesystem where root may change owners",
				      sb->id, sb->dir, (unsigned)ctx->sandbox_uid, strerror(-rc));
out:
	if (home >= 0)
		close(home);
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static void remove_failed_sandbox(struct localp_local *ctx, const char *id)
{
	char err[CSDKC_ERR_MAX], path[4096];
	int sfd = open(ctx->state_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	snprintf(path, sizeof(path), "%s/sandboxes/%s", ctx->state_dir, id);
	localp_disk_remove(path);
	if (sfd >= 0) {
		snprintf(path, sizeof(path), "sandboxes/%s", id);
		csdkc_remove_tree(sfd, path, err, sizeof(err));
		close(sfd);
	}
	localp_cgroup_remove(id);
}

int localp_create_check(struct localp_local *ctx, const struct csdk_create_request *opts)
{
	int rc;

	if (!opts)
		return 0;
	if ((rc = check_kvs(ctx, opts->envs, opts->n_envs, "environment variable", 1)) ||
	    (rc = check_kvs(ctx, opts->metadata, opts->n_metadata, "metadata", 0)))
		return rc;
	if (opts->timeout_ms < 0)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "timeout_ms %lld is negative; give a lifetime in milliseconds, or 0 for the default", (long long)opts->timeout_ms);
	return 0;
}

/* What every new sandbox (or pool member) needs decided first: disk allowed, isolation, network, the /etc generation. */
static int prepare_create(struct localp_local *ctx, const char **isolation, const char **network, char *etc, size_t etclen)
{
	int rc;

	if ((rc = localp_disk_allowed(ctx)) || (rc = localp_isolation_for_create(ctx, isolation)))
		return rc;
	*network = localp_network_for_create(ctx, !strcmp(*isolation, "bubblewrap"), &rc);
	if (rc)
		return rc;
	if (!strcmp(*isolation, "bubblewrap") && (rc = localp_etc_prepare(ctx, etc, etclen)))
		return rc;
	return 0;
}

/*
 * A pool member: PARENT/.new-ID made like a sandbox, its meta.json marked
 * pool_member and never expiring. The caller starts its agent and renames it ready.
 */
int localp_member_create(struct localp_local *ctx, const char *parent, const struct csdk_create_request *opts,
			 struct localp_sandbox **out)
{
	char id[LOCALP_ID_LEN + 1], etc[LOCALP_ETC_GEN_LEN + 1] = "";
	uint64_t limits[LOCALP_CGROUPS];
	struct localp_sandbox *sb = NULL;
	const char *isolation, *network;
	json_t *meta;
	int rc;

	*out = NULL;
	if ((rc = prepare_create(ctx, &isolation, &network, etc, sizeof(etc))))
		return rc;
	memcpy(id, LOCALP_ID_PREFIX, sizeof(LOCALP_ID_PREFIX) - 1);
	if (csdkc_random_hex(id + sizeof(LOCALP_ID_PREFIX) - 1, 8))
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot get random bytes: %s", strerror(errno));
	if (!(sb = calloc(1, sizeof(*sb))) || asprintf(&sb->dir, "%s/" LOCALP_MEMBER_MAKING "%s", parent, id) < 0) {
		free(sb);
		return CSDK_ENOMEM;
	}
	memcpy(sb->id, id, sizeof(id));
	if (mkdir(sb->dir, 0700) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot create %s: %s; check the state directory", sb->dir, strerror(errno));
		localp_sandbox_free(sb);
		return rc;
	}
	localp_cgroup_limits(ctx, opts, limits);
	if (!(rc = fill_sandbox_dir(ctx, sb, opts, isolation, limits))) {
		if (!(meta = localp_sandbox_meta_new(ctx, id, isolation, network, etc, limits, opts, NULL, NULL)))
			rc = CSDK_ENOMEM;
		else if (!json_object_set_new(meta, "pool_member", json_true()) &&
			 !json_object_set_new(meta, "timeout_ms", json_integer(0)))
			rc = localp_meta_save(ctx, sb, meta);
		else
			rc = CSDK_ENOMEM;
		json_decref(meta);
	}
	if (rc) {
		localp_destroy_dir_locked(ctx, sb->dir, id);
		localp_sandbox_free(sb);
		return rc;
	}
	*out = sb;
	return 0;
}

int localp_create_locked(struct localp_local *ctx, const struct csdk_create_request *opts,
			const char *ns, const char *name, struct localp_sandbox **out)
{
	char id[LOCALP_ID_LEN + 1], etc[LOCALP_ETC_GEN_LEN + 1] = "";
	uint64_t limits[LOCALP_CGROUPS];
	const char *isolation, *network;
	struct localp_sandbox *sb = NULL;
	json_t *meta;
	int rc;

	*out = NULL;
	if ((rc = localp_create_check(ctx, opts)))
		return rc;
	if ((rc = prepare_create(ctx, &isolation, &network, etc, sizeof(etc))))
		return rc;
	localp_cgroup_limits(ctx, opts, limits);
	if ((rc = new_sandbox_dir(ctx, id)))
		return rc;
	if (!(rc = localp_sandbox_open(ctx, id, &sb)) && !(rc = fill_sandbox_dir(ctx, sb, opts, isolation, limits))) {
		if (!(meta = localp_sandbox_meta_new(ctx, id, isolation, network, etc, limits, opts, ns, name)))
			rc = CSDK_ENOMEM;
		else
			rc = localp_meta_save(ctx, sb, meta);
		json_decref(meta);
	}
	if (rc) {
		localp_sandbox_free(sb);
		remove_failed_sandbox(ctx, id);
		return rc;
	}
	*out = sb;
	return 0;
}
