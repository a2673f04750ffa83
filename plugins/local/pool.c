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

#define WAIT_KEY "pool_wait (CSDK_LOCAL_POOL_WAIT)"

/* ---------------------------------------------------------- shapes */

static void shape_request(const struct localp_shape *s, struct csdk_create_request *out)
{
	memset(out, 0, sizeof(*out));
	out->struct_size = sizeof(*out);
	out->template_id = s->template_id;
	out->cpus = s->cpus;
	out->memory_bytes = s->memory_bytes;
}

/* The shape a create with these options claims from: same template, cpus, memory and network. */
static const struct localp_shape *shape_for(const struct localp_local *ctx, const struct csdk_create_request *opts)
{
	const char *tpl = opts ? opts->template_id : NULL;

	if (opts && opts->snapshot_id)
		return NULL;
	for (size_t i = 0; i < ctx->n_shapes; i++) {
		const struct localp_shape *s = &ctx->shapes[i];

		if ((!tpl != !s->template_id) || (tpl && strcmp(tpl, s->template_id)) ||
		    (opts ? opts->cpus : 0) != s->cpus || (opts ? opts->memory_bytes : 0) != s->memory_bytes ||
		    (s->network >= 0 && s->network != (int)ctx->network))
			continue;
		return s;
	}
	return NULL;
}

static const struct localp_shape *shape_named(const struct localp_local *ctx, const char *name)
{
	for (size_t i = 0; name && i < ctx->n_shapes; i++)
		if (!strcmp(ctx->shapes[i].name, name))
			return &ctx->shapes[i];
	return NULL;
}

/*
 * The provider as a shape's members are made: ctx itself, or a copy with
 * the shape's network (its own probe lock and seccomp program; shape_ctx_done).
 */
static struct localp_local *shape_ctx(struct localp_local *ctx, const struct localp_shape *s, struct localp_local *copy)
{
	if (s->network < 0 || s->network == (int)ctx->network)
		return ctx;
	pthread_mutex_lock(&ctx->probe_lock);
	*copy = *ctx;
	pthread_mutex_unlock(&ctx->probe_lock);
	copy->network = (enum localp_network)s->network;
	/* the pool's network is its own choice: network=host's warning is for the provider's */
	copy->net_warned = 1;
	pthread_mutex_init(&copy->probe_lock, NULL);
	return copy;
}

static void shape_ctx_done(struct localp_local *ctx, struct localp_local *sctx)
{
	if (sctx == ctx)
		return;
	if (sctx->seccomp_prog != ctx->seccomp_prog)
		free(sctx->seccomp_prog);
	pthread_mutex_destroy(&sctx->probe_lock);
}

/* The pool directory of this configuration and shape: a hash of what makes members interchangeable. */
static int shape_dir(struct localp_local *ctx, const struct localp_shape *s, char *out, size_t outlen)
{
	const char *iso;
	char desc[4800], err[CSDKC_ERR_MAX];
	int rc;

	if ((rc = localp_isolation_for_create(ctx, &iso)))
		return rc;
	snprintf(desc, sizeof(desc), "1 %s net=%d seccomp=%d pids=%llu mem=%llu cpu=%llu gw=%d agent=%s as=%llu nproc=%llu cput=%llu out=%llu uid=%lu:%lu disk=%llu tpl=%s cpus=%.17g bytes=%llu",
		 iso, (int)ctx->network, ctx->seccomp_off, (unsigned long long)ctx->pids, (unsigned long long)ctx->memory_max,
		 (unsigned long long)ctx->cpu_quota_us, ctx->gateway, ctx->gateway ? ctx->agent : "",
		 (unsigned long long)ctx->memory, (unsigned long long)ctx->processes, (unsigned long long)ctx->cpu_time,
		 (unsigned long long)ctx->output_limit, (unsigned long)ctx->sandbox_uid, (unsigned long)ctx->sandbox_gid, (unsigned long long)ctx->disk,
		 s->template_id ? s->template_id : "", s->cpus, (unsigned long long)s->memory_bytes);
	if ((rc = csdkc_pool_dir(out, outlen, ctx->state_dir, desc, err, sizeof(err))))
		return ctx->host->error(ctx->host, rc, "%s", err);
	return 0;
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
 * One member: recorded (directory, meta.json, cgroups, the shape's
 * template in home) under the state lock before any of its processes
 * starts, then its agent (gateway mode under bubblewrap), then renamed ready.
 */
static int make_member(struct localp_local *ctx, const struct localp_shape *s, const char *dir)
{
	struct localp_sandbox *sb = NULL;
	struct csdk_create_request req;
	char ready[4400];
	const char *iso;
	int rc, lock;

	shape_request(s, &req);
	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	rc = localp_member_create(ctx, dir, &req, &sb);
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

struct filling {
	struct localp_local *ctx;
	const struct localp_shape *shape;
};

static void clean_members(void *arg, const char *dir)
{
	destroy_members(((struct filling *)arg)->ctx, dir, 0);
}

static int make_one(void *arg, const char *dir)
{
	struct filling *f = arg;

	return make_member(f->ctx, f->shape, dir);
}

/* Fills the shape's dir up to its size (csdkc_pool_refill), with the shape's own settings. */
static int refill(struct localp_local *ctx, const struct localp_shape *s, const char *dir, int wait)
{
	struct localp_local copy, *sctx = shape_ctx(ctx, s, &copy);
	struct filling f = { sctx, s };
	const struct csdkc_pool_filler filler = { ctx->host, dir, s->size, ctx->pool_wait_ms, WAIT_KEY, localp_id_valid,
						  clean_members, make_one, &f };
	int rc = csdkc_pool_refill(&filler, wait);

	shape_ctx_done(ctx, sctx);
	return rc;
}

void localp_pool_kick(struct localp_local *ctx, const struct csdk_create_request *opts)
{
	const struct localp_shape *s = shape_for(ctx, opts);
	char dir[4300];

	if (!s || !s->size || shape_dir(ctx, s, dir, sizeof(dir)) || !csdkc_pool_wants_refill(dir, localp_id_valid, s->size))
		return;
	/* fork and exec: the caller may have threads, whose locks a forked copy would inherit held */
	csdkc_pool_spawn(&ctx->refiller, ctx->host, dir, s->name);
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
	/* the create's options are the shape's: the member's limits */
	localp_cgroup_limits(ctx, opts, limits);
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
	const struct localp_shape *s = shape_for(ctx, opts);
	char dir[4300];
	struct dirent *de;
	int rc;
	DIR *d;

	*out = NULL;
	/* a snapshot, or options no configured shape has, make an ordinary create; so does a template deleted since */
	if (!s || !s->size || (s->template_id && !localp_template_exists(ctx, s->template_id)))
		return 1;
	if ((rc = localp_create_check(ctx, opts)))
		return rc;
	if (shape_dir(ctx, s, dir, sizeof(dir)) || !(d = opendir(dir)))
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

static json_t *shape_json(const struct localp_shape *s)
{
	static const char *const nets[] = { "auto", "none", "isolated", "host" };

	return json_pack("{s:s, s:I, s:s?, s:f, s:I, s:s}", "name", s->name, "size", (json_int_t)s->size,
			 "template", s->template_id, "cpus", s->cpus, "memory", (json_int_t)s->memory_bytes,
			 "network", s->network < 0 ? "provider" : nets[s->network]);
}

static int status_one(const struct localp_shape *s, const char *dir, json_t *shapes)
{
	json_t *st = shape_json(s), *counts;
	long ready, making;
	int refilling = !csdkc_pool_lock_free(dir, 0), rc;

	ready = csdkc_pool_members(dir, localp_id_valid, &making);
	counts = json_pack("{s:I, s:I, s:b, s:b, s:s}", "ready", (json_int_t)ready, "making", (json_int_t)making,
			   "refilling", refilling, "drained", csdkc_pool_drained(dir), "dir", dir);
	rc = !st || !counts || json_object_update(st, counts) || json_array_append(shapes, st) ? CSDK_ENOMEM : 0;
	json_decref(counts);
	json_decref(st);
	return rc;
}

/* Every configured shape: its members counted, after a fill with fill. */
static int status_or_fill(struct localp_local *ctx, int fill, json_t **out)
{
	json_t *shapes = json_array();
	char dir[4300];
	int rc = 0;

	if (!shapes)
		return CSDK_ENOMEM;
	if (fill && !ctx->n_shapes)
		rc = ctx->host->error(ctx->host, CSDK_ECONFIG,
			"no pool is configured; set pool (CSDK_LOCAL_POOL) to the number of ready sandboxes to keep, or add a [pool NAME] section to the configuration file (docs/pools.md)");
	/* a pool that cannot be filled does not keep the others from it: the first error is the answer */
	for (size_t i = 0; rc != CSDK_ENOMEM && i < ctx->n_shapes; i++) {
		const struct localp_shape *s = &ctx->shapes[i];
		struct localp_local copy, *sctx = shape_ctx(ctx, s, &copy);
		int one;

		if (!(one = shape_dir(sctx, s, dir, sizeof(dir))) && fill) {
			csdkc_pool_set_drained(dir, 0);
			one = refill(ctx, s, dir, 1);
		}
		shape_ctx_done(ctx, sctx);
		if (!one)
			one = status_one(s, dir, shapes);
		if (one && !rc)
			rc = one;
	}
	if (rc) {
		json_decref(shapes);
		return rc;
	}
	*out = json_pack("{s:o}", "shapes", shapes);
	return 0;
}

static long drain_members(void *ctx, const char *dir)
{
	return destroy_members(ctx, dir, 1);
}

/* Every shape directory's members, a refiller's half-made ones included, configured or not; each is left drained. */
static int drain(struct localp_local *ctx, json_t **out)
{
	char err[CSDKC_ERR_MAX];
	long n = 0;
	int rc;

	if ((rc = csdkc_pool_drain(ctx->state_dir, ctx->pool_wait_ms, WAIT_KEY, drain_members, ctx, &n, err, sizeof(err))))
		return ctx->host->error(ctx->host, rc, "%s", err);
	*out = json_pack("{s:I}", "destroyed", (json_int_t)n);
	return 0;
}

/* The detached refiller's work (csdk-pool-refill): one shape, unless another refiller runs. */
static int refill_op(struct localp_local *ctx, const char *name, json_t **out)
{
	const struct localp_shape *s = shape_named(ctx, name);
	struct localp_local copy, *sctx;
	char dir[4300];
	int rc;

	if (!s)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "no pool shape named '%s'; csdk pool status lists them", name ? name : "(null)");
	sctx = shape_ctx(ctx, s, &copy);
	rc = shape_dir(sctx, s, dir, sizeof(dir));
	shape_ctx_done(ctx, sctx);
	if (rc || (rc = refill(ctx, s, dir, 0)))
		return rc;
	*out = json_pack("{s:s}", "refilled", s->name);
	return 0;
}

static int pool_op(struct localp_local *ctx, const char *op, const char *arg, json_t **out)
{
	*out = NULL;
	if (!strcmp(op, "pool.drain"))
		return drain(ctx, out);
	if (!strcmp(op, "pool.status") || !strcmp(op, "pool.fill"))
		return status_or_fill(ctx, !strcmp(op, "pool.fill"), out);
	if (!strcmp(op, "pool.refill"))
		return refill_op(ctx, arg, out);
	return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
		"the local provider has no operation '%s'; use pool.status, pool.fill or pool.drain", op);
}

/* The extension method (docs/plugin-abi.md, Extensions): JSON out. */
int localp_m_extension(void *vctx, const char *op, const char *arg, struct csdk_text *out)
{
	struct localp_local *ctx = vctx;
	json_t *res = NULL;
	/* the host refuses a NULL op before calling */
	int rc = pool_op(ctx, op, arg, &res);

	return csdkc_pool_answer(ctx->host, rc, res, out);
}

/* ---------------------------------------------------------- configuration */

static int bad_shape(struct localp_local *ctx, const char *text, const char *why)
{
	return ctx->host->error(ctx->host, CSDK_ECONFIG,
		"invalid value '%s' for pools: %s; write NAME:size=N[,template=ID][,cpus=N][,memory=SIZE][,network=isolated|none|host], shapes separated by ';' (or [pool NAME] sections in the configuration file)",
		text, why);
}

static int parse_bytes(const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n = strtoull(v, &end, 10);
	int shift = 0;

	if (end == v || *v == '-')
		return -1;
	switch (*end) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	}
	if (*end || !n || n > (UINT64_MAX >> shift))
		return -1;
	*out = (uint64_t)n << shift;
	return 0;
}

static int shape_set(struct localp_shape *s, const char *key, const char *v, char *why, size_t whylen)
{
	char *end;

	if (!strcmp(key, "size")) {
		long long n = strtoll(v, &end, 10);

		if (end == v || *end || n < 1 || n > 1000)
			return snprintf(why, whylen, "pool '%s': size '%s' is not a number from 1 to 1000", s->name, v), -1;
		s->size = n;
	} else if (!strcmp(key, "template")) {
		if (!*v || s->template_id)
			return snprintf(why, whylen, "pool '%s': give one template id", s->name), -1;
		if (!(s->template_id = strdup(v)))
			return CSDK_ENOMEM;
	} else if (!strcmp(key, "cpus")) {
		s->cpus = strtod(v, &end);
		if (end == v || *end || !(s->cpus >= 0.01 && s->cpus <= 1024))
			return snprintf(why, whylen, "pool '%s': cpus '%s' is not a number of CPUs from 0.01 to 1024", s->name, v), -1;
	} else if (!strcmp(key, "memory")) {
		if (parse_bytes(v, &s->memory_bytes))
			return snprintf(why, whylen, "pool '%s': memory '%s' is not a size such as 512M or 2G", s->name, v), -1;
	} else if (!strcmp(key, "network")) {
		if (!strcmp(v, "none"))
			s->network = LOCALP_NET_NONE;
		else if (!strcmp(v, "isolated"))
			s->network = LOCALP_NET_ISOLATED;
		else if (!strcmp(v, "host"))
			s->network = LOCALP_NET_HOST;
		else
			return snprintf(why, whylen, "pool '%s': network '%s' is not isolated, none or host", s->name, v), -1;
	} else {
		return snprintf(why, whylen, "pool '%s': unknown key '%s' (keys: size, template, cpus, memory, network)", s->name, key), -1;
	}
	return 0;
}

static int same_shape(const struct localp_shape *a, const struct localp_shape *b)
{
	return !a->template_id == !b->template_id && (!a->template_id || !strcmp(a->template_id, b->template_id)) &&
	       a->cpus == b->cpus && a->memory_bytes == b->memory_bytes && a->network == b->network;
}

/* One "NAME:key=value,..." of pools into ctx->shapes. */
static int parse_shape(struct localp_local *ctx, char *spec, char *why, size_t whylen)
{
	struct localp_shape *grown, *s;
	char *colon = strchr(spec, ':'), *save = NULL, *kv;
	size_t n;
	int rc;

	if (!colon)
		return snprintf(why, whylen, "'%s' has no ':' after the pool's name", spec), -1;
	*colon = '\0';
	n = strlen(spec);
	if (!n || n > 32 || spec[0] < 'a' || spec[0] > 'z' || strspn(spec, "abcdefghijklmnopqrstuvwxyz0123456789-") != n)
		return snprintf(why, whylen, "'%s' is not a pool name (a lower-case letter, then letters, digits or '-')", spec), -1;
	if (shape_named(ctx, spec))
		return snprintf(why, whylen, "pool '%s' is given twice", spec), -1;
	if (!(grown = realloc(ctx->shapes, (ctx->n_shapes + 1) * sizeof(*grown))))
		return CSDK_ENOMEM;
	ctx->shapes = grown;
	s = memset(&grown[ctx->n_shapes++], 0, sizeof(*s));
	s->network = -1;
	if (!(s->name = strdup(spec)))
		return CSDK_ENOMEM;
	for (kv = strtok_r(colon + 1, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');

		if (!eq)
			return snprintf(why, whylen, "pool '%s': '%s' is not KEY=VALUE", s->name, kv), -1;
		*eq = '\0';
		if ((rc = shape_set(s, kv, eq + 1, why, whylen)))
			return rc;
	}
	if (!s->size)
		return snprintf(why, whylen, "pool '%s' has no size", s->name), -1;
	for (size_t i = 0; i + 1 < ctx->n_shapes; i++)
		if (same_shape(&ctx->shapes[i], s))
			return snprintf(why, whylen, "pools '%s' and '%s' have the same template, cpus, memory and network; merge them", ctx->shapes[i].name, s->name), -1;
	return 0;
}

int localp_pool_config(struct localp_local *ctx, const struct csdk_config *config, const struct csdk_config_key *keys, size_t n_keys)
{
	const char *v = ctx->host->config_get(config, "pools");
	char why[512], *copy, *save = NULL, *spec;
	int64_t n;
	int rc = 0;

	ctx->pool_wait_ms = LOCALP_POOL_WAIT_MS;
	if (!ctx->host->config_get_int(config, "pool_wait", &n))
		ctx->pool_wait_ms = n;
	if ((rc = csdkc_refiller_init(&ctx->refiller, ctx->host, "local", "CSDK_LOCAL_POOL_REFILLER", LOCALP_DEFAULT_REFILLER,
				      (const void *)localp_m_extension, config, keys, n_keys)))
		return rc;
	if (ctx->pool > 0) {
		char def[40];

		snprintf(def, sizeof(def), "default:size=%lld", (long long)ctx->pool);
		if ((rc = parse_shape(ctx, def, why, sizeof(why))))
			return rc < -1 ? rc : bad_shape(ctx, def, why);
	}
	if (!(v = ctx->host->config_get(config, "pools")) || !*v)
		return 0;
	if (!(copy = strdup(v)))
		return CSDK_ENOMEM;
	for (spec = strtok_r(copy, ";", &save); !rc && spec; spec = strtok_r(NULL, ";", &save)) {
		while (*spec == ' ')
			spec++;
		if (*spec && (rc = parse_shape(ctx, spec, why, sizeof(why))) == -1)
			rc = bad_shape(ctx, v, why);
	}
	free(copy);
	return rc;
}

void localp_pool_config_free(struct localp_local *ctx)
{
	for (size_t i = 0; i < ctx->n_shapes; i++) {
		free(ctx->shapes[i].name);
		free(ctx->shapes[i].template_id);
	}
	free(ctx->shapes);
	csdkc_refiller_free(&ctx->refiller);
}
