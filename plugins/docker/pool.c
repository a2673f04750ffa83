/*
 * Warm pools (docs/pools.md), gateway mode with a local engine: with
 * pool = N, RUN_DIR/pool/SHAPE/ keeps a marker per ready member, a started
 * container whose csdk-agent listens (SHAPE: a hash of the image and of
 * everything else a container is made with). create claims a member by
 * renaming its marker to RUN_DIR/claims/HEX.json (atomic across processes:
 * one rename wins), then gives its agent a new token and the envs, starts
 * its lifetime, and writes the claim record there, which stands in for the
 * labels (they cannot change after create). A detached refiller (one per
 * shape: refill.lock), the program csdk-pool-refill, makes new members.
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

#include "csdkc.h"
#include "docker.h"

#define CLAIMS "claims"
#define MAKING CSDKC_POOL_MAKING
/* a claim record still a member's this long: its claimer died between the rename and the record */
#define STALE_CLAIM_MS 60000
#define WAIT_KEY "pool_wait (CSDK_DOCKER_POOL_WAIT)"

static int hex_ok(const char *s)
{
	return strlen(s) == 16 && strspn(s, "0123456789abcdef") == 16;
}

int dockerp_pool_serves(const struct dockerp_docker *ctx, const struct csdk_create_request *opts)
{
	return ctx->pool > 0 && ctx->gateway && !ctx->agent_tcp &&
	       !(opts && (opts->snapshot_id || opts->cpus > 0 || opts->memory_bytes));
}

/* The pool directory of image in this configuration; its hash (16 hex) in shape. */
static int shape_dir(struct dockerp_docker *ctx, const char *image, char *out, size_t len, char *shape)
{
	char desc[8192], err[CSDKC_ERR_MAX];
	int rc, n;

	if ((rc = dockerp_run_dir_ready(ctx)))
		return rc;
	n = snprintf(desc, sizeof(desc), "docker 1 image=%s host=%s net=%s wd=%s pids=%lld mem=%lld caps=%d nnp=%d ro=%d agent=%s ports=",
		     image, ctx->ep.display, ctx->network, ctx->workdir ? ctx->workdir : "", (long long)ctx->pids_limit,
		     (long long)ctx->memory, ctx->minimal_caps, ctx->no_new_privileges, ctx->read_only, ctx->agent);
	for (size_t i = 0; i < ctx->n_ports && n > 0 && (size_t)n < sizeof(desc) - 8; i++)
		n += snprintf(desc + n, sizeof(desc) - (size_t)n, "%d,", ctx->ports[i]);
	if ((rc = csdkc_pool_dir(out, len, ctx->run_dir, desc, err, sizeof(err))))
		return ctx->host->error(ctx->host, rc, "%s", err);
	snprintf(shape, 17, "%s", strrchr(out, '/') + 1);
	return 0;
}

static int claims_fd(struct dockerp_docker *ctx)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/" CLAIMS, ctx->run_dir);
	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -1;
	return open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* A claim record (or the marker of a member being claimed), NULL when none. */
static json_t *read_record(struct dockerp_docker *ctx, const char *hex)
{
	char name[32], err[CSDKC_ERR_MAX];
	json_t *rec = NULL;
	int fd = claims_fd(ctx);

	snprintf(name, sizeof(name), "%s.json", hex);
	if (fd >= 0) {
		csdkc_json_read(&rec, fd, name, err, sizeof(err));
		close(fd);
	}
	return rec;
}

void dockerp_pool_forget(struct dockerp_docker *ctx, const char *hex)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/" CLAIMS "/%s.json", ctx->run_dir, hex);
	unlink(path);
}

/* The containers that carry label (KEY=VALUE), as the engine lists them. */
static int labelled(struct dockerp_docker *ctx, const char *label, json_t **out)
{
	json_t *f = json_pack("{s:[s]}", "label", label);
	char *text = f ? json_dumps(f, JSON_COMPACT) : NULL, *q = NULL, *path = NULL;
	long status;
	int rc = CSDK_ENOMEM;

	*out = NULL;
	json_decref(f);
	if (!text || dockerp_http_escape(&q, text) || asprintf(&path, "/containers/json?all=1&filters=%s", q) < 0) {
		path = NULL;
		rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory listing the pool's containers");
		goto out;
	}
	if ((rc = dockerp_call(ctx, "GET", path, NULL, &status, out)))
		goto out;
	if (status != 200 || !json_is_array(*out)) {
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "listing the pool's containers", status, *out);
		json_decref(*out);
		*out = NULL;
	}
out:
	free(text);
	free(q);
	free(path);
	return rc;
}

/* A member's container (id, or the one labelled with its agent directory), its agent directory and claim record. */
static int destroy_member(struct dockerp_docker *ctx, const char *hex, const char *id)
{
	char label[64];
	json_t *list = NULL, *c;
	size_t i;
	int rc = 0;

	if (id && id[0]) {
		rc = dockerp_remove_container(ctx, id);
	} else {
		snprintf(label, sizeof(label), DOCKERP_AGENT_LABEL "=%s", hex);
		if (!(rc = labelled(ctx, label, &list)))
			json_array_foreach(list, i, c)
				if (json_string_value(json_object_get(c, "Id")) &&
				    (rc = dockerp_remove_container(ctx, json_string_value(json_object_get(c, "Id")))))
					break;
		json_decref(list);
	}
	if (!rc)
		dockerp_agent_forget(ctx, NULL, hex);
	return rc;
}

/*
 * The member named by a marker in dirfd (ready: HEX, or being made:
 * .new-HEX), and the marker. A ready one is first renamed .new-HEX, as a
 * claim renames it: of the two, one wins, and a claimed member is left alone.
 */
static int destroy_marked(struct dockerp_docker *ctx, int dirfd, const char *marker)
{
	const char *hex = marker + (strncmp(marker, MAKING, strlen(MAKING)) ? 0 : strlen(MAKING));
	char err[CSDKC_ERR_MAX], making[32];
	json_t *m = NULL;
	int rc;

	if (!hex_ok(hex))
		return 0;
	snprintf(making, sizeof(making), MAKING "%s", hex);
	if (hex == marker && renameat2(dirfd, marker, dirfd, making, RENAME_NOREPLACE) < 0)
		return 0;
	marker = making;
	csdkc_json_read(&m, dirfd, marker, err, sizeof(err));
	if (!(rc = destroy_member(ctx, hex, json_string_value(json_object_get(m, "container")))))
		unlinkat(dirfd, marker, 0);
	json_decref(m);
	return rc ? rc : 1;
}

/* Every member of dir (ready_too), or the half-made ones a refiller that died left; how many. */
static long destroy_members(struct dockerp_docker *ctx, const char *dir, int ready_too)
{
	struct dirent *de;
	long n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if ((ready_too && hex_ok(de->d_name)) || !strncmp(de->d_name, MAKING, strlen(MAKING)))
			n += destroy_marked(ctx, dirfd(d), de->d_name) == 1;
	closedir(d);
	return n;
}

/* Claim records still a member's long after the rename: their claimer died; how many were destroyed. */
static long destroy_stale_claims(struct dockerp_docker *ctx)
{
	char hex[17];
	struct dirent *de;
	struct stat st;
	long n = 0;
	int fd = claims_fd(ctx);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d))) {
		json_t *rec;

		if (strlen(de->d_name) != 21 || strcmp(de->d_name + 16, ".json") || fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
		    (int64_t)st.st_mtime * 1000 + STALE_CLAIM_MS > csdkc_now_ms())
			continue;
		snprintf(hex, sizeof(hex), "%.16s", de->d_name);
		if (!hex_ok(hex) || !(rec = read_record(ctx, hex)))
			continue;
		if (!json_is_true(json_object_get(rec, "claimed")) &&
		    !destroy_member(ctx, hex, json_string_value(json_object_get(rec, "container"))))
			n++;
		json_decref(rec);
	}
	closedir(d);
	return n;
}

/* A container of the pool label whose marker and claim record are gone (a lost run_dir): nobody owns it. */
static int orphan(struct dockerp_docker *ctx, json_t *c)
{
	json_t *labels = json_object_get(c, "Labels"), *rec;
	const char *hex = json_string_value(json_object_get(labels, DOCKERP_AGENT_LABEL));
	const char *shape = json_string_value(json_object_get(labels, DOCKERP_POOL_LABEL));
	const char *rd = json_string_value(json_object_get(labels, DOCKERP_RUN_DIR_LABEL));
	char path[4400];

	if (!rd || strcmp(rd, ctx->run_dir) || !hex || !hex_ok(hex) || !shape || !hex_ok(shape))
		return 0;
	if ((rec = read_record(ctx, hex))) {
		json_decref(rec);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/pool/%s/%s", ctx->run_dir, shape, hex);
	if (!access(path, F_OK))
		return 0;
	snprintf(path, sizeof(path), "%s/pool/%s/" MAKING "%s", ctx->run_dir, shape, hex);
	return access(path, F_OK) < 0;
}

/*
 * Containers of the pool label of this run_dir that nobody owns, destroyed
 * (counted in *n): a refiller killed while the engine was still creating its
 * container (its marker, not yet naming it, already removed).
 */
static int destroy_orphans(struct dockerp_docker *ctx, long *n)
{
	json_t *list = NULL, *c;
	size_t i;
	int rc;

	if ((rc = labelled(ctx, DOCKERP_LABEL "=" DOCKERP_POOL_VALUE, &list)))
		return rc;
	json_array_foreach(list, i, c) {
		const char *id = json_string_value(json_object_get(c, "Id"));

		if (id && orphan(ctx, c) &&
		    !destroy_member(ctx, json_string_value(json_object_get(json_object_get(c, "Labels"), DOCKERP_AGENT_LABEL)), id))
			(*n)++;
	}
	json_decref(list);
	return 0;
}

struct making {
	int dfd;
	const char *marker;
};

/* The marker .new-HEX names the member's container as soon as it exists. */
static int record_container(struct dockerp_docker *ctx, struct dockerp_member *m)
{
	struct making *mk = m->arg;
	json_t *marker = json_pack("{s:s}", "container", m->id);
	char err[CSDKC_ERR_MAX];
	int rc = marker ? csdkc_json_write_atomic(mk->dfd, mk->marker, marker, err, sizeof(err)) : CSDK_ENOMEM;

	json_decref(marker);
	return rc ? ctx->host->error(ctx->host, rc, "cannot record pool member %s: %s", m->id, rc == CSDK_ENOMEM ? "out of memory" : err) : 0;
}

/*
 * One member: its marker .new-HEX before its container exists, naming the
 * container once it does (a refiller killed at any point leaves a marker
 * naming what to remove), then the container started, its agent
 * listening, then the rename to HEX.
 */
static int make_member(struct dockerp_docker *ctx, const char *image, const char *dir, const char *shape)
{
	char hex[17], making[32], err[CSDKC_ERR_MAX];
	struct making mk = { .marker = making };
	struct dockerp_member m = { .image = image, .hex = hex, .created = record_container, .arg = &mk };
	json_t *marker = NULL;
	int rc, dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s: %s", dir, strerror(errno));
	mk.dfd = dfd;
	if ((rc = dockerp_agent_prepare(ctx, hex, 0)))
		goto out;
	snprintf(making, sizeof(making), MAKING "%s", hex);
	if (!(marker = json_object()) ||
	    (rc = csdkc_json_write_atomic(dfd, making, marker, err, sizeof(err)))) {
		rc = ctx->host->error(ctx->host, rc ? rc : CSDK_ENOMEM, "%s", rc ? err : "out of memory");
		dockerp_agent_forget(ctx, NULL, hex);
		goto out;
	}
	m.labels = json_pack("{s:s, s:s, s:s}", DOCKERP_LABEL, DOCKERP_POOL_VALUE, DOCKERP_POOL_LABEL, shape,
			     DOCKERP_RUN_DIR_LABEL, ctx->run_dir);
	if (!m.labels)
		rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory making a pool member");
	else if (!(rc = dockerp_member_create(ctx, &m)) && renameat(dfd, making, dfd, hex) < 0)
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot mark pool member %s ready in %s: %s", hex, dir, strerror(errno));
	if (rc)
		destroy_marked(ctx, dfd, making);
out:
	json_decref(m.labels);
	json_decref(marker);
	close(dfd);
	return rc;
}

struct filling {
	struct dockerp_docker *ctx;
	const char *image, *shape;
};

/* What a killed refiller left: half-made members, then orphans and stale claims. */
static void clean_members(void *arg, const char *dir)
{
	struct filling *f = arg;

	if (destroy_members(f->ctx, dir, 0))
		destroy_orphans(f->ctx, &(long){ 0 });
	destroy_stale_claims(f->ctx);
}

static int make_one(void *arg, const char *dir)
{
	struct filling *f = arg;

	return make_member(f->ctx, f->image, dir, f->shape);
}

/* Fills dir up to pool members (csdkc_pool_refill). */
static int refill(struct dockerp_docker *ctx, const char *image, const char *dir, const char *shape, int wait)
{
	struct filling f = { ctx, image, shape };
	const struct csdkc_pool_filler filler = { ctx->host, dir, ctx->pool, ctx->pool_wait_ms, WAIT_KEY, hex_ok,
						  clean_members, make_one, &f };

	return csdkc_pool_refill(&filler, wait);
}

void dockerp_pool_kick(struct dockerp_docker *ctx, const char *image)
{
	char dir[4300], shape[17];

	if (!dockerp_pool_serves(ctx, NULL) || shape_dir(ctx, image, dir, sizeof(dir), shape) ||
	    !csdkc_pool_wants_refill(dir, hex_ok, ctx->pool))
		return;
	/* fork and exec: the caller may have threads, whose locks a forked copy would inherit held */
	csdkc_pool_spawn(&ctx->refiller, ctx->host, dir, image);
}

/* ---------------------------------------------------------- claiming */

static int rename_container(struct dockerp_docker *ctx, const char *id, const char *cname)
{
	char *q = NULL, *path = NULL, what[200];
	json_t *j = NULL;
	long status;
	int rc;

	if (dockerp_http_escape(&q, cname) || asprintf(&path, "/containers/%s/rename?name=%s", id, q) < 0) {
		free(q);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory naming a sandbox");
	}
	free(q);
	if (!(rc = dockerp_call(ctx, "POST", path, NULL, &status, &j))) {
		if (dockerp_name_taken(status, j))
			rc = ctx->host->error(ctx->host, CSDK_EEXISTS,
					      "a container named '%s' already exists in the Docker engine at %s; find it or choose another name",
					      cname, ctx->ep.display);
		else if (status >= 400) {
			snprintf(what, sizeof(what), "renaming container %.64s", id);
			rc = dockerp_engine_error(ctx, CSDK_EBACKEND, what, status, j);
		}
	}
	json_decref(j);
	free(path);
	return rc;
}

static json_t *claim_record(const char *id, int64_t created_ms, int64_t timeout_ms, const char *ns, const char *name,
			    const struct csdk_create_request *opts)
{
	json_t *rec = json_pack("{s:b, s:s, s:I, s:I, s:s, s:s, s:{}, s:[]}", "claimed", 1, "container", id,
				"created_ms", (json_int_t)created_ms, "timeout_ms", (json_int_t)timeout_ms,
				"namespace", name ? (ns ? ns : "default") : "", "name", name ? name : "", "metadata", "env");
	char *kv;

	for (size_t i = 0; rec && opts && i < opts->n_envs; i++) {
		if (!opts->envs[i].key)
			continue;
		if (asprintf(&kv, "%s=%s", opts->envs[i].key, opts->envs[i].value ? opts->envs[i].value : "") < 0)
			kv = NULL;
		if (!kv || json_array_append_new(json_object_get(rec, "env"), json_string(kv))) {
			free(kv);
			json_decref(rec);
			return NULL;
		}
		free(kv);
	}

	for (size_t i = 0; rec && opts && i < opts->n_metadata; i++)
		if (opts->metadata[i].key && opts->metadata[i].value &&
		    json_object_set_new(json_object_get(rec, "metadata"), opts->metadata[i].key, json_string(opts->metadata[i].value))) {
			json_decref(rec);
			return NULL;
		}
	return rec;
}

/*
 * The member whose marker is now claims/HEX.json: a new token and the envs
 * (POST /init), its lifetime from now, its name, then the claim record.
 * 1 when it failed (the member is destroyed: try the next), 0, or an error.
 */
static int claim_member(struct dockerp_docker *ctx, const char *hex, const char *cname, const char *ns, const char *name,
			const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	char run[4200], sock[4300], id[72], err[CSDKC_ERR_MAX], fname[32];
	json_t *marker = read_record(ctx, hex), *rec = NULL, *j = NULL;
	int64_t created_ms = csdkc_now_ms(), timeout_ms = dockerp_timeout_of(ctx, opts);
	struct dockerp_sandbox tmp = { .agent_tcp = 0 };
	int rc = 1, fd;

	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(marker, "container")) ?: "");
	json_decref(marker);
	snprintf(run, sizeof(run), "%s/%s", ctx->run_dir, hex);
	snprintf(sock, sizeof(sock), "%s/" DOCKERP_AGENT_SOCK, run);
	snprintf(tmp.agent_dir, sizeof(tmp.agent_dir), "%s", hex);
	if (!id[0] || csdkc_pool_new_token(run, sock, opts) ||
	    (timeout_ms && dockerp_agent_set_deadline(ctx, &tmp, (created_ms + timeout_ms + 999) / 1000)))
		goto out;
	if (cname && (rc = rename_container(ctx, id, cname))) {
		if (rc != CSDK_EEXISTS)
			rc = 1;
		goto out;
	}
	snprintf(fname, sizeof(fname), "%s.json", hex);
	rc = 1;
	if (!(rec = claim_record(id, created_ms, timeout_ms, ns, name, opts)) || (fd = claims_fd(ctx)) < 0)
		goto out;
	rc = csdkc_json_write_atomic(fd, fname, rec, err, sizeof(err)) ? 1 : 0;
	close(fd);
	if (rc)
		goto out;
	if ((rc = dockerp_inspect(ctx, id, &j)) || (rc = ctx->host->text_set(id_out, id)) ||
	    (rc = dockerp_handle_new(ctx, j, sandbox_out)))
		rc = rc == CSDK_ENOTFOUND ? 1 : rc;
out:
	if (rc)
		destroy_member(ctx, hex, id);
	json_decref(rec);
	json_decref(j);
	return rc;
}

int dockerp_pool_claim(struct dockerp_docker *ctx, const char *image, const char *cname, const char *ns, const char *name,
		       const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	char dir[4300], shape[17], from[4400], to[4400];
	struct dirent *de;
	int rc = 1, fd;
	DIR *d;

	if (shape_dir(ctx, image, dir, sizeof(dir), shape) || (fd = claims_fd(ctx)) < 0)
		return 1;
	close(fd);
	if (!(d = opendir(dir)))
		return 1;
	while (rc == 1 && (de = readdir(d))) {
		if (!hex_ok(de->d_name))
			continue;
		snprintf(from, sizeof(from), "%s/%s", dir, de->d_name);
		snprintf(to, sizeof(to), "%s/" CLAIMS "/%s.json", ctx->run_dir, de->d_name);
		/* the claim: of two processes renaming one marker, one wins */
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) < 0)
			continue;
		rc = claim_member(ctx, de->d_name, cname, ns, name, opts, id_out, sandbox_out);
	}
	closedir(d);
	return rc;
}

int dockerp_pool_overlay(struct dockerp_docker *ctx, json_t *inspect)
{
	const char *hex = dockerp_agent_dir_of(inspect), *k, *id = json_string_value(json_object_get(inspect, "Id"));
	json_t *labels = json_object_get(json_object_get(inspect, "Config"), "Labels"), *rec, *v;
	char buf[32];
	void *tmp;
	int bad = 0;

	if (!hex || !id || !json_is_object(labels) || !(rec = read_record(ctx, hex)))
		return CSDK_ENOTFOUND;
	if (!json_is_true(json_object_get(rec, "claimed")) ||
	    strcmp(json_string_value(json_object_get(rec, "container")) ?: "", id)) {
		json_decref(rec);
		return CSDK_ENOTFOUND;
	}
	json_object_foreach_safe(labels, tmp, k, v)
		if (!strncmp(k, DOCKERP_META_PREFIX, strlen(DOCKERP_META_PREFIX)))
			json_object_del(labels, k);
	bad |= json_object_set_new(labels, DOCKERP_LABEL, json_string("true"));
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(json_object_get(rec, "created_ms")));
	bad |= json_object_set_new(labels, "com.computesdk.created_ms", json_string(buf));
	snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(json_object_get(rec, "timeout_ms")));
	bad |= json_object_set_new(labels, "com.computesdk.timeout_ms", json_string(buf));
	bad |= json_object_set(labels, "com.computesdk.namespace", json_object_get(rec, "namespace"));
	bad |= json_object_set(labels, "com.computesdk.name", json_object_get(rec, "name"));
	json_object_foreach(json_object_get(rec, "metadata"), k, v) {
		char *key;

		if (asprintf(&key, DOCKERP_META_PREFIX "%s", k) < 0) {
			bad = 1;
			break;
		}
		bad |= json_object_set(labels, key, v);
		free(key);
	}
	bad |= json_object_set_new(inspect, DOCKERP_CLAIMED, json_true());
	if (json_array_size(json_object_get(rec, "env")))
		bad |= json_object_set(inspect, DOCKERP_CLAIM_ENV, json_object_get(rec, "env"));
	json_decref(rec);
	return bad ? CSDK_ENOMEM : 0;
}

int dockerp_pool_commit_config(struct dockerp_docker *ctx, const char *container, json_t *body)
{
	json_t *ins, *labels, *mine = json_object_get(body, "Labels"), *v;
	const char *k;
	int rc, bad = 0;

	if ((rc = dockerp_inspect(ctx, container, &ins)))
		return rc == CSDK_ENOTFOUND ? 0 : rc;
	if (json_is_true(json_object_get(ins, DOCKERP_CLAIMED))) {
		labels = json_object_get(json_object_get(ins, "Config"), "Labels");
		json_object_foreach(labels, k, v)
			if (!strncmp(k, DOCKERP_META_PREFIX, strlen(DOCKERP_META_PREFIX)))
				bad |= json_object_set(mine, k, v);
		bad |= json_object_set_new(mine, DOCKERP_POOL_LABEL, json_string(""));
		bad |= json_object_set_new(mine, DOCKERP_RUN_DIR_LABEL, json_string(""));
		if (json_object_get(ins, DOCKERP_CLAIM_ENV))
			bad |= json_object_set(body, "Env", json_object_get(ins, DOCKERP_CLAIM_ENV));
	}
	json_decref(ins);
	return bad ? ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a commit request") : 0;
}

int dockerp_pool_list_claimed(struct dockerp_docker *ctx, struct csdk_handles *out)
{
	char hex[17], path[4200];
	struct dirent *de;
	int rc = 0, fd;
	DIR *d;

	snprintf(path, sizeof(path), "%s/" CLAIMS, ctx->run_dir);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while (!rc && (de = readdir(d))) {
		json_t *rec, *ins;
		void *h;

		if (strlen(de->d_name) != 21 || strcmp(de->d_name + 16, ".json"))
			continue;
		snprintf(hex, sizeof(hex), "%.16s", de->d_name);
		if (!hex_ok(hex) || !(rec = read_record(ctx, hex)))
			continue;
		if (json_is_true(json_object_get(rec, "claimed")) &&
		    !(rc = dockerp_inspect(ctx, json_string_value(json_object_get(rec, "container")), &ins))) {
			const char *id = json_string_value(json_object_get(ins, "Id"));

			if (!(rc = dockerp_handle_new(ctx, ins, &h)) && (rc = ctx->host->handles_add(out, id, h)))
				dockerp_m_release(ctx, h);
			json_decref(ins);
		}
		if (rc == CSDK_ENOTFOUND)
			rc = 0;
		json_decref(rec);
	}
	closedir(d);
	return rc;
}

/* ---------------------------------------------------------- csdk pool */

/* One pool, the configured image's, in the form the local provider gives its shapes (csdk pool status). */
static int status_json(struct dockerp_docker *ctx, const char *dir, json_t **out)
{
	long ready, making;
	int refilling = !csdkc_pool_lock_free(dir, 0);

	ready = csdkc_pool_members(dir, hex_ok, &making);
	*out = json_pack("{s:[{s:s, s:I, s:I, s:I, s:b, s:b, s:s, s:s, s:s}]}", "shapes", "name", "default",
			 "size", (json_int_t)ctx->pool, "ready", (json_int_t)ready, "making", (json_int_t)making,
			 "refilling", refilling, "drained", csdkc_pool_drained(dir), "image", ctx->image,
			 "network", ctx->network, "dir", dir);
	return 0;
}

static long drain_members(void *ctx, const char *dir)
{
	return destroy_members(ctx, dir, 1);
}

/* Every shape's members (each shape left drained), then containers of the pool label nobody owns. */
static int drain(struct dockerp_docker *ctx, json_t **out)
{
	char err[CSDKC_ERR_MAX];
	long n = 0;
	int rc;

	if ((rc = dockerp_run_dir_ready(ctx)))
		return rc;
	if ((rc = csdkc_pool_drain(ctx->run_dir, ctx->pool_wait_ms, WAIT_KEY, drain_members, ctx, &n, err, sizeof(err))))
		return ctx->host->error(ctx->host, rc, "%s", err);
	n += destroy_stale_claims(ctx);
	if ((rc = destroy_orphans(ctx, &n)))
		return rc;
	*out = json_pack("{s:I}", "destroyed", (json_int_t)n);
	return 0;
}

/* The detached refiller's work (csdk-pool-refill): the pool of image, unless another refiller runs. */
static int refill_op(struct dockerp_docker *ctx, const char *image, json_t **out)
{
	char dir[4300], shape[17];
	int rc;

	if (!image || !*image)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "pool.refill: no image given; pass the image of the pool to refill");
	if (!dockerp_pool_serves(ctx, NULL))
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
					"pool.refill: the pool is off; set pool (CSDK_DOCKER_POOL) to the number of ready containers to keep");
	if ((rc = shape_dir(ctx, image, dir, sizeof(dir), shape)) || (rc = refill(ctx, image, dir, shape, 0)))
		return rc;
	*out = json_pack("{s:s}", "refilled", image);
	return 0;
}

static int pool_op(struct dockerp_docker *ctx, const char *op, const char *arg, json_t **out)
{
	char dir[4300], shape[17];
	int rc;

	*out = NULL;
	if (!strcmp(op, "pool.drain"))
		return drain(ctx, out);
	if (!strcmp(op, "pool.refill"))
		return refill_op(ctx, arg, out);
	if (strcmp(op, "pool.status") && strcmp(op, "pool.fill"))
		return ctx->host->error(ctx->host, CSDK_EUNSUPPORTED,
					"the docker provider has no operation '%s'; use pool.status, pool.fill, pool.drain or pool.refill", op);
	if ((rc = shape_dir(ctx, ctx->image, dir, sizeof(dir), shape)))
		return rc;
	if (!strcmp(op, "pool.fill")) {
		if (!ctx->pool)
			return ctx->host->error(ctx->host, CSDK_ECONFIG,
						"the pool is off; set pool (CSDK_DOCKER_POOL) to the number of ready containers to keep");
		csdkc_pool_set_drained(dir, 0);
		if ((rc = refill(ctx, ctx->image, dir, shape, 1)))
			return rc;
	}
	return status_json(ctx, dir, out);
}

/* The extension method (docs/plugin-abi.md, Extensions): JSON out. */
int dockerp_m_extension(void *vctx, const char *op, const char *arg, struct csdk_text *out)
{
	struct dockerp_docker *ctx = vctx;
	json_t *res = NULL;
	/* the host refuses a NULL op before calling */
	int rc = pool_op(ctx, op, arg, &res);

	return csdkc_pool_answer(ctx->host, rc, res, out);
}
