/*
 * Warm pools (docs/pools.md): with pool = N, STATE/pool/SHAPE/ keeps N
 * ready sandboxes of this configuration (SHAPE: a hash of what a member is
 * made with). create claims one by renaming it into sandboxes/ under the
 * state lock and giving it a new id, token, lifetime, metadata and envs;
 * a detached refiller (one per shape: refill.lock) makes new ones.
 */
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

/* The pool directory of this configuration: a hash of what makes members interchangeable. */
static int shape_dir(struct localp_local *ctx, char *out, size_t outlen)
{
	const char *iso;
	char desc[4600], err[CSDKC_ERR_MAX];
	int rc;

	if ((rc = localp_isolation_for_create(ctx, &iso)))
		return rc;
	snprintf(desc, sizeof(desc), "1 %s net=%d seccomp=%d pids=%llu mem=%llu cpu=%llu gw=%d agent=%s as=%llu nproc=%llu cput=%llu out=%llu uid=%lu:%lu disk=%llu",
		 iso, (int)ctx->network, ctx->seccomp_off, (unsigned long long)ctx->pids, (unsigned long long)ctx->memory_max,
		 (unsigned long long)ctx->cpu_quota_us, ctx->gateway, ctx->gateway ? ctx->agent : "",
		 (unsigned long long)ctx->memory, (unsigned long long)ctx->processes, (unsigned long long)ctx->cpu_time,
		 (unsigned long long)ctx->output_limit, (unsigned long)ctx->sandbox_uid, (unsigned long)ctx->sandbox_gid, (unsigned long long)ctx->disk);
	if ((rc = csdkc_pool_dir(out, outlen, ctx->state_dir, desc, err, sizeof(err))))
		return ctx->host->error(ctx->host, rc, "%s", err);
	return 0;
}

/* Members of a shape directory: ready (ID) and being made (.new-ID). */
static void count_members(const char *dir, long *ready, long *making)
{
	struct dirent *de;
	DIR *d = opendir(dir);

	*ready = *making = 0;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (localp_id_valid(de->d_name))
			(*ready)++;
		else if (!strncmp(de->d_name, LOCALP_MEMBER_MAKING, strlen(LOCALP_MEMBER_MAKING)))
			(*making)++;
	}
	closedir(d);
}

static long ready_members(const char *dir)
{
	long ready, making;

	count_members(dir, &ready, &making);
	return ready;
}

/* Every member of dir (ready, or half made by a refiller that died), under the state lock. */
static long destroy_members(struct localp_local *ctx, const char *dir, int ready_too)
{
	char path[4400], id[LOCALP_ID_LEN + 1];
	struct dirent *de;
	long n = 0;
	int lock;
	DIR *d;

	if (localp_lock(ctx, &lock))
		return 0;
	if ((d = opendir(dir))) {
		while ((de = readdir(d))) {
			const char *name = de->d_name;
			int making = !strncmp(name, LOCALP_MEMBER_MAKING, strlen(LOCALP_MEMBER_MAKING));

			if (making)
				name += strlen(LOCALP_MEMBER_MAKING);
			if (!localp_id_valid(name) || (!making && !ready_too))
				continue;
			memcpy(id, name, sizeof(id));
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (!localp_destroy_dir_locked(ctx, path, id))
				n++;
		}
		closedir(d);
	}
	localp_unlock(lock);
	return n;
}

/*
 * One member: recorded (directory, meta.json, cgroups) under the state
 * lock before any of its processes starts, then its agent (gateway mode
 * under bubblewrap), then renamed ready.
 */
static int make_member(struct localp_local *ctx, const char *dir)
{
	struct localp_sandbox *sb = NULL;
	char ready[4400];
	const char *iso;
	int rc, lock;

	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	rc = localp_member_create(ctx, dir, &sb);
	localp_unlock(lock);
	if (rc)
		return rc;
	if (ctx->gateway && !localp_isolation_for_create(ctx, &iso) && !strcmp(iso, "bubblewrap"))
		rc = localp_agent_ensure(ctx, sb);
	snprintf(ready, sizeof(ready), "%s/%s", dir, sb->id);
	if (!rc && rename(sb->dir, ready) < 0)
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot rename %s to %s: %s", sb->dir, ready, strerror(errno));
	if (rc && !localp_lock(ctx, &lock)) {
		localp_destroy_dir_locked(ctx, sb->dir, sb->id);
		localp_unlock(lock);
	}
	localp_sandbox_free(sb);
	return rc;
}

/*
 * Fills dir up to pool members, unless another refiller holds the lock.
 * After letting the lock go it looks again: a claim that found the lock
 * held just before is then served by this refiller.
 */
static int refill(struct localp_local *ctx, const char *dir, int wait)
{
	int lock, rc = 0;

	for (;;) {
		if ((lock = csdkc_pool_lock(dir, !wait)) < 0)
			return 0;
		destroy_members(ctx, dir, 0);
		while (!rc && !csdkc_pool_drained(dir) && ready_members(dir) < ctx->pool)
			rc = make_member(ctx, dir);
		close(lock);
		if (rc || csdkc_pool_drained(dir) || ready_members(dir) >= ctx->pool)
			return rc;
	}
}

/* ---------------------------------------------------------- the detached refiller */

void localp_pool_kick(struct localp_local *ctx)
{
	struct csdk_host host;
	char dir[4300];
	int lock;

	if (!ctx->pool || shape_dir(ctx, dir, sizeof(dir)))
		return;
	csdkc_pool_set_drained(dir, 0);
	if (ready_members(dir) >= ctx->pool)
		return;
	/* a refiller that runs looks again once it lets the lock go */
	if ((lock = csdkc_pool_lock(dir, 1)) < 0)
		return;
	close(lock);
	if (csdkc_pool_detach(dir, ctx->host, &host) == 1) {
		struct localp_local child = *ctx;

		child.host = &host;
		pthread_mutex_init(&child.probe_lock, NULL);
		refill(&child, dir, 0);
		_exit(0);
	}
}

/* ---------------------------------------------------------- claiming */

/* The member's agent takes a new token, which replaces run/token. */
static int new_token(const struct localp_sandbox *sb, const struct csdk_create_request *opts)
{
	char run[4300], sock[4400];

	snprintf(run, sizeof(run), "%s/%s", sb->dir, LOCALP_RUN_DIR);
	snprintf(sock, sizeof(sock), "%s/agent.sock", run);
	return csdkc_pool_new_token(run, sock, opts);
}

/* The member's cgroups take the sandbox's id (cgroup v1 renames a group in place, its processes in it). */
static int rename_cgroups(const uint64_t *limits, const char *from, const char *to)
{
	char a[256], b[256];

	for (int i = 0; i < LOCALP_CGROUPS; i++) {
		if (!limits[i])
			continue;
		localp_cgroup_path(i, from, NULL, a, sizeof(a));
		localp_cgroup_path(i, to, NULL, b, sizeof(b));
		if (rename(a, b) < 0)
			return -1;
	}
	return 0;
}

static int claim_member(struct localp_local *ctx, const char *dir, const char *member,
			const struct csdk_create_request *opts, const char *ns, const char *name,
			int defer_token, struct localp_sandbox **out)
{
	char id[LOCALP_ID_LEN + 1], from[4400], to[4400], etc[64];
	struct localp_sandbox *sb = NULL;
	json_t *meta = NULL, *fresh = NULL;
	uint64_t limits[LOCALP_CGROUPS];
	const char *iso;
	int rc = -1, bwrap;

	memcpy(id, LOCALP_ID_PREFIX, sizeof(LOCALP_ID_PREFIX) - 1);
	if (csdkc_random_hex(id + sizeof(LOCALP_ID_PREFIX) - 1, 8))
		return -1;
	if (snprintf(from, sizeof(from), "%s/%s", dir, member) >= (int)sizeof(from))
		return -1;
	snprintf(to, sizeof(to), "%s/sandboxes/%s", ctx->state_dir, id);
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
		return -1;
	localp_cgroup_limits(ctx, NULL, limits);
	if (localp_sandbox_open(ctx, id, &sb) || rename_cgroups(limits, member, id) ||
	    localp_meta_load(ctx, sb, &meta))
		goto out;
	iso = localp_meta_str(meta, "isolation");
	bwrap = iso && !strcmp(iso, "bubblewrap");
	snprintf(etc, sizeof(etc), "%s", localp_meta_str(meta, "etc") ? localp_meta_str(meta, "etc") : "");
	/* the member's network namespace (its agent's) was set up for the network it was made with */
	if (!(fresh = localp_sandbox_meta_new(ctx, id, iso ? iso : "none", localp_meta_str(meta, "network") ? localp_meta_str(meta, "network") : "none",
					     etc, limits, opts, ns, name)) ||
	    localp_meta_save(ctx, sb, fresh))
		goto out;
	if (ctx->gateway && bwrap) {
		if (defer_token)
			sb->token_pending = 1;
		else if (new_token(sb, opts))
			goto out;
		sb->agent_fresh = 1;
	}
	rc = 0;
out:
	json_decref(meta);
	json_decref(fresh);
	if (rc) {
		/* processes first: a group still holding one cannot be removed */
		localp_destroy_dir_locked(ctx, to, id);
		localp_cgroup_remove(member);
		localp_sandbox_free(sb);
		return rc;
	}
	*out = sb;
	return 0;
}

int localp_pool_claim_locked(struct localp_local *ctx, const struct csdk_create_request *opts,
			    const char *ns, const char *name, int defer_token, struct localp_sandbox **out)
{
	char dir[4300];
	struct dirent *de;
	int rc;
	DIR *d;

	*out = NULL;
	/* the pool holds plain sandboxes of this configuration: a template or snapshot is a normal create */
	if (!ctx->pool || (opts && (opts->template_id || opts->snapshot_id || opts->cpus > 0 || opts->memory_bytes)))
		return 1;
	if ((rc = localp_create_check(ctx, opts)))
		return rc;
	if (shape_dir(ctx, dir, sizeof(dir)) || !(d = opendir(dir)))
		return 1;
	while (!*out && (de = readdir(d)))
		if (localp_id_valid(de->d_name))
			claim_member(ctx, dir, de->d_name, opts, ns, name, defer_token, out);
	closedir(d);
	return *out ? 0 : 1;
}

int localp_new_sandbox_locked(struct localp_local *ctx, const struct csdk_create_request *opts,
			     const char *ns, const char *name, int defer_token, struct localp_sandbox **out)
{
	int rc = localp_pool_claim_locked(ctx, opts, ns, name, defer_token, out);

	return rc == 1 ? localp_create_locked(ctx, opts, ns, name, out) : rc;
}

/*
 * The token exchange of a claim, outside the state lock so that claims of
 * a burst do not wait for each other's agents: nobody has the new id yet.
 * 0, or -1 with the sandbox destroyed.
 */
int localp_pool_claim_finish(struct localp_local *ctx, struct localp_sandbox *sb, const struct csdk_create_request *opts)
{
	int lock;

	if (!sb->token_pending)
		return 0;
	sb->token_pending = 0;
	if (!new_token(sb, opts))
		return 0;
	if (!localp_lock(ctx, &lock)) {
		localp_destroy_locked(ctx, sb->id);
		localp_unlock(lock);
	}
	return -1;
}

/* Generations of the sandbox /etc that members use. */
void localp_pool_etc_used(struct localp_local *ctx, json_t *used)
{
	char path[4300], err[CSDKC_ERR_MAX];
	struct dirent *de, *me;
	DIR *d, *md;

	snprintf(path, sizeof(path), "%s/pool", ctx->state_dir);
	if (!(d = opendir(path)))
		return;
	while ((de = readdir(d))) {
		int sfd;

		if (de->d_name[0] == '.' || (sfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
			continue;
		if (!(md = fdopendir(sfd))) {
			close(sfd);
			continue;
		}
		while ((me = readdir(md))) {
			json_t *meta = NULL;
			int mfd;

			if (me->d_name[0] == '.' && strncmp(me->d_name, LOCALP_MEMBER_MAKING, strlen(LOCALP_MEMBER_MAKING)))
				continue;
			if ((mfd = openat(dirfd(md), me->d_name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				continue;
			if (!csdkc_json_read(&meta, mfd, "meta.json", err, sizeof(err)) && localp_meta_str(meta, "etc"))
				json_object_set_new(used, localp_meta_str(meta, "etc"), json_true());
			json_decref(meta);
			close(mfd);
		}
		closedir(md);
	}
	closedir(d);
}

/* ---------------------------------------------------------- csdk pool */

static int status_json(struct localp_local *ctx, const char *dir, json_t **out)
{
	long ready, making;
	int lock = csdkc_pool_lock(dir, 1);

	if (lock >= 0)
		close(lock);
	count_members(dir, &ready, &making);
	*out = json_pack("{s:I, s:I, s:I, s:b, s:b, s:s}", "size", (json_int_t)ctx->pool, "ready", (json_int_t)ready,
			 "making", (json_int_t)making, "refilling", lock < 0, "drained", csdkc_pool_drained(dir), "dir", dir);
	return *out ? 0 : CSDK_ENOMEM;
}

/* Every shape's members, a refiller's half-made ones included; each shape is left drained. */
static int drain(struct localp_local *ctx, json_t **out)
{
	char path[4300], dir[4400];
	struct dirent *de;
	long n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/pool", ctx->state_dir);
	if (!(d = opendir(path)))
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot read %s: %s", path, strerror(errno));
	while ((de = readdir(d))) {
		int lock;

		if (de->d_name[0] == '.')
			continue;
		if (snprintf(dir, sizeof(dir), "%s/%s", path, de->d_name) >= (int)sizeof(dir) - 16)
			continue;
		csdkc_pool_set_drained(dir, 1);
		/* a refiller stops at the mark; its member under way is waited for */
		lock = csdkc_pool_lock(dir, 0);
		n += destroy_members(ctx, dir, 1);
		if (lock >= 0)
			close(lock);
	}
	closedir(d);
	*out = json_pack("{s:I}", "destroyed", (json_int_t)n);
	return *out ? 0 : CSDK_ENOMEM;
}

static int pool_op(struct localp_local *ctx, const char *op, json_t **out)
{
	char dir[4300];
	int rc;

	*out = NULL;
	if (!strcmp(op, "pool.drain"))
		return drain(ctx, out);
	if (strcmp(op, "pool.status") && strcmp(op, "pool.fill"))
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
			"the local provider has no operation '%s'; use pool.status, pool.fill or pool.drain", op);
	if ((rc = shape_dir(ctx, dir, sizeof(dir))))
		return rc;
	if (!strcmp(op, "pool.fill")) {
		if (!ctx->pool)
			return ctx->host->error(ctx->host, CSDK_ECONFIG, "the pool is off; set pool (CSDK_LOCAL_POOL) to the number of ready sandboxes to keep");
		csdkc_pool_set_drained(dir, 0);
		if ((rc = refill(ctx, dir, 1)))
			return rc;
	}
	return status_json(ctx, dir, out);
}

/* The extension method (docs/plugin-abi.md, Extensions): JSON out. */
int localp_m_extension(void *vctx, const char *op, const char *arg, struct csdk_text *out)
{
	struct localp_local *ctx = vctx;
	json_t *res = NULL;
	char *text;
	int rc;

	(void)arg;
	if (!op)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "no operation given; use pool.status, pool.fill or pool.drain");
	if ((rc = pool_op(ctx, op, &res)))
		return rc;
	text = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	if (!text)
		return CSDK_ENOMEM;
	rc = ctx->host->text_set(out, text);
	free(text);
	return rc;
}
