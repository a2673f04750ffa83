#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

#define SNAP_PREFIX "snap-"

static int snap_id_valid(const char *id)
{
	size_t i;

	if (!id || strlen(id) != 5 + 16 || strncmp(id, SNAP_PREFIX, 5))
		return 0;
	for (i = 5; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

static int open_snapshots(struct localp_local *ctx, int *fd_out)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/snapshots", ctx->state_dir);
	*fd_out = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd_out < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s: %s", path, strerror(errno));
	return 0;
}

int localp_m_snapshot_create(void *vctx, void *sandbox, const char *name, struct csdk_text *id_out)
{
	struct localp_local *ctx = vctx;
	struct localp_sandbox *sb = sandbox;
	char id[32], tarname[64], tmpname[80], metaname[64], home[4200], err[CSDKC_ERR_MAX];
	int rc, sfd = -1, hfd = -1, out = -1;
	json_t *meta;

	memcpy(id, SNAP_PREFIX, 6);
	csdkc_random_hex(id + 5, 8);
	snprintf(tarname, sizeof(tarname), "%s.tar", id);
	snprintf(tmpname, sizeof(tmpname), ".%s.tar.tmp", id);
	snprintf(metaname, sizeof(metaname), "%s.json", id);
	snprintf(home, sizeof(home), "%s/home", sb->dir);
	hfd = open(home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hfd < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	if ((rc = open_snapshots(ctx, &sfd)))
		goto out;
	out = openat(sfd, tmpname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot create snapshot %s in %s/snapshots: %s", id, ctx->state_dir, strerror(errno));
		goto out;
	}
	if ((rc = csdkc_tar_write_tree(out, hfd, err, sizeof(err)))) {
		rc = ctx->host->error(ctx->host, rc, "cannot snapshot sandbox %s: %s", sb->id, err);
		unlinkat(sfd, tmpname, 0);
		goto out;
	}
	if (renameat(sfd, tmpname, sfd, tarname) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot publish snapshot %s: %s", id, strerror(errno));
		unlinkat(sfd, tmpname, 0);
		goto out;
	}
	meta = json_pack("{s:s, s:s, s:I}", "id", id, "sandbox", sb->id, "created_ms", (json_int_t)csdkc_now_ms());
	if (name)
		json_object_set_new(meta, "name", json_string(name));
	rc = csdkc_json_write_atomic(sfd, metaname, meta, err, sizeof(err));
	json_decref(meta);
	if (rc) {
		unlinkat(sfd, tarname, 0);
		rc = ctx->host->error(ctx->host, rc, "cannot write snapshot %s: %s", id, err);
		goto out;
	}
	rc = ctx->host->text_set(id_out, id);
out:
	if (out >= 0)
		close(out);
	if (sfd >= 0)
		close(sfd);
	close(hfd);
	return rc;
}

int localp_m_snapshot_list(void *vctx, struct csdk_items *out)
{
	return localp_list_items(vctx, "snapshots", snap_id_valid, ".json", out);
}

int localp_m_snapshot_delete(void *vctx, const char *id)
{
	struct localp_local *ctx = vctx;
	char name[64];
	int rc, sfd, gone;

	if (!snap_id_valid(id))
		return ctx->host->error(ctx->host, CSDK_EINVAL, "snapshot id '%s' is not well-formed; snapshot ids are 'snap-' followed by 16 hex digits", id ? id : "(null)");
	if ((rc = open_snapshots(ctx, &sfd)))
		return rc;
	snprintf(name, sizeof(name), "%s.json", id);
	gone = unlinkat(sfd, name, 0) < 0 && errno == ENOENT;
	snprintf(name, sizeof(name), "%s.tar", id);
	gone = (unlinkat(sfd, name, 0) < 0 && errno == ENOENT) && gone;
	close(sfd);
	if (gone)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "snapshot '%s' does not exist; list snapshots to see the ids", id);
	return 0;
}

int localp_snapshot_restore_into(struct localp_local *ctx, const char *snapshot_id, int home_fd)
{
	char path[4200], err[CSDKC_ERR_MAX];
	int in, rc;

	if (!snap_id_valid(snapshot_id))
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "snapshot '%s' does not exist; list snapshots to see the ids", snapshot_id);
	snprintf(path, sizeof(path), "%s/snapshots/%s.tar", ctx->state_dir, snapshot_id);
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "snapshot '%s' does not exist; list snapshots to see the ids", snapshot_id);
	rc = csdkc_tar_extract(in, home_fd, err, sizeof(err));
	close(in);
	if (rc)
		return ctx->host->error(ctx->host, rc, "cannot restore snapshot %s: %s", snapshot_id, err);
	return 0;
}
