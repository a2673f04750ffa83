#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

/* Reads names/NS/NAME; 1 when it names a live sandbox (id in out). */
static int lookup_locked(struct localp_local *ctx, const char *ns, const char *name, char *out)
{
	char path[4200], meta[4300];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/names/%s/%s", ctx->state_dir, ns, name);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, out, LOCALP_ID_LEN + 1);
	close(fd);
	if (n < (ssize_t)LOCALP_ID_LEN)
		return 0;
	out[LOCALP_ID_LEN] = '\0';
	if (!localp_id_valid(out))
		return 0;
	snprintf(meta, sizeof(meta), "%s/sandboxes/%s/meta.json", ctx->state_dir, out);
	return access(meta, F_OK) == 0;
}

static int hand_out(struct localp_local *ctx, const char *id, struct csdk_text *id_out, void **sandbox_out)
{
	struct localp_sandbox *sb;
	int rc;

	if ((rc = localp_sandbox_open(ctx, id, &sb)))
		return rc;
	if ((rc = ctx->host->text_set(id_out, id))) {
		localp_sandbox_free(sb);
		return rc;
	}
	*sandbox_out = sb;
	return 0;
}

int localp_m_find_or_create(void *vctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb = NULL;
	char id[LOCALP_ID_LEN + 1], dir[4200], err[CSDKC_ERR_MAX];
	int rc, lock, dfd;

	const char *ns = opts->namespace_, *name = opts->name;

	*sandbox_out = NULL;
	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	localp_sweep_locked(ctx);
	if (lookup_locked(ctx, ns, name, id)) {
		localp_unlock(lock);
		return hand_out(ctx, id, id_out, sandbox_out);
	}
	if ((rc = localp_new_sandbox_locked(ctx, opts, ns, name, 0, &sb))) {
		localp_unlock(lock);
		localp_pool_kick(ctx, opts);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s/names/%s", ctx->state_dir, ns);
	if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || (dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot create %s: %s", dir, strerror(errno));
	} else {
		rc = csdkc_file_write_atomic(dfd, name, sb->id, strlen(sb->id), err, sizeof(err));
		close(dfd);
		if (rc)
			rc = ctx->host->error(ctx->host, rc, "cannot record the name %s/%s: %s", ns, name, err);
	}
	if (rc) {
		localp_destroy_locked(ctx, sb->id);
		localp_unlock(lock);
		localp_sandbox_free(sb);
		return rc;
	}
	localp_unlock(lock);
	localp_pool_kick(ctx, opts);
	return localp_hand_out_new(ctx, sb, id_out, sandbox_out);
}

int localp_m_find(void *vctx, const char *ns, const char *name, struct csdk_text *id_out, void **sandbox_out)
{
	struct localp_local *ctx = vctx;
	char id[LOCALP_ID_LEN + 1];
	int rc, lock, found;

	*sandbox_out = NULL;
	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	localp_sweep_locked(ctx);
	found = lookup_locked(ctx, ns, name, id);
	localp_unlock(lock);
	if (!found)
		return CSDK_ENOTFOUND;
	return hand_out(ctx, id, id_out, sandbox_out);
}

int localp_m_extend_timeout(void *vctx, void *sandbox, int64_t duration_ms)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb = sandbox;
	json_t *meta = NULL;
	int rc, lock;

	if ((rc = localp_lock(ctx, &lock)))
		return rc;
	if (!(rc = localp_meta_load(ctx, sb, &meta))) {
		int64_t timeout = localp_meta_int(meta, "timeout_ms") + duration_ms;
		json_object_set_new(meta, "timeout_ms", json_integer((json_int_t)timeout));
		rc = localp_meta_save(ctx, sb, meta);
	}
	localp_unlock(lock);
	json_decref(meta);
	return rc;
}
