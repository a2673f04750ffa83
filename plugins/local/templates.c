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

#define TPL_PREFIX "tpl-"

static int tpl_id_valid(const char *id)
{
	size_t i;

	if (!id || strlen(id) != 4 + 16 || strncmp(id, TPL_PREFIX, 4))
		return 0;
	for (i = 4; id[i]; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

static int open_templates(struct localp_local *ctx, int *fd_out)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/templates", ctx->state_dir);
	*fd_out = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd_out < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot open %s: %s", path, strerror(errno));
	return 0;
}

int localp_m_template_create(void *vctx, const struct csdk_template_request *opts, struct csdk_text *id_out)
{
	struct localp_local *ctx = vctx;
	char id[32], building[64], err[CSDKC_ERR_MAX];
	int rc, tfd = -1, src = -1, files = -1, bfd = -1;
	json_t *meta;

	if (!opts || (!opts->source && !opts->sandbox) || (opts->source && opts->sandbox))
		return ctx->host->error(ctx->host, CSDK_EINVAL, "a template needs exactly one of source (a directory on this machine) or sandbox (a sandbox whose home is captured)");
	if (opts->source) {
		src = open(opts->source, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (src < 0)
			return ctx->host->error(ctx->host, errno == ENOENT ? CSDK_ENOTFOUND : CSDK_EINVAL,
				"template source '%s' is not a readable directory (%s); give an existing directory", opts->source, strerror(errno));
	} else {
		const struct localp_sandbox *sb = opts->sandbox;
		char home[4200];
		snprintf(home, sizeof(home), "%s/home", sb->dir);
		src = open(home, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (src < 0)
			return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	}
	memcpy(id, TPL_PREFIX, 5);
	csdkc_random_hex(id + 4, 8);
	snprintf(building, sizeof(building), ".building-%s", id);
	if ((rc = open_templates(ctx, &tfd)))
		goto out;
	if (mkdirat(tfd, building, 0700) < 0 || (bfd = openat(tfd, building, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    mkdirat(bfd, "files", 0755) < 0 || (files = openat(bfd, "files", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot create template %s in %s/templates: %s", id, ctx->state_dir, strerror(errno));
		goto out;
	}
	if ((rc = csdkc_copy_tree(files, src, err, sizeof(err)))) {
		rc = ctx->host->error(ctx->host, rc, "cannot copy the files of template %s: %s", id, err);
		goto out;
	}
	meta = json_pack("{s:s, s:I}", "id", id, "created_ms", (json_int_t)csdkc_now_ms());
	if (opts->name)
		json_object_set_new(meta, "name", json_string(opts->name));
	if (opts->source)
		json_object_set_new(meta, "source", json_string(opts->source));
	else
		json_object_set_new(meta, "sandbox", json_string(((const struct localp_sandbox *)opts->sandbox)->id));
	rc = csdkc_json_write_atomic(bfd, "meta.json", meta, err, sizeof(err));
	json_decref(meta);
	if (rc) {
		rc = ctx->host->error(ctx->host, rc, "cannot write template %s: %s", id, err);
		goto out;
	}
	if (renameat(tfd, building, tfd, id) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot publish template %s: %s", id, strerror(errno));
		goto out;
	}
	rc = ctx->host->text_set(id_out, id);
out:
	if (rc && tfd >= 0)
		csdkc_remove_tree(tfd, building, err, sizeof(err));
	if (files >= 0)
		close(files);
	if (bfd >= 0)
		close(bfd);
	if (tfd >= 0)
		close(tfd);
	if (src >= 0)
		close(src);
	return rc;
}

struct item {
	char *id, *name;
	int64_t created;
};

static int cmp_item(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* Shared by templates and snapshots: meta files named by suffix in dir. */
int localp_list_items(struct localp_local *ctx, const char *sub, int (*valid)(const char *), const char *meta_suffix,
		      struct csdk_items *out)
{
	char path[4200], err[CSDKC_ERR_MAX];
	struct item *items = NULL;
	size_t n = 0, cap = 0, i, sl = strlen(meta_suffix);
	struct dirent *de;
	int rc = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", ctx->state_dir, sub);
	if (!(d = opendir(path)))
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot read %s: %s", path, strerror(errno));
	while (!rc && (de = readdir(d))) {
		char id[64], metaname[128];
		size_t len = strlen(de->d_name);
		json_t *meta = NULL;

		if (sl) {
			if (len <= sl || len - sl >= sizeof(id) || strcmp(de->d_name + len - sl, meta_suffix))
				continue;
			snprintf(id, sizeof(id), "%.*s", (int)(len - sl), de->d_name);
			snprintf(metaname, sizeof(metaname), "%s", de->d_name);
		} else {
			if (len >= sizeof(id))
				continue;
			snprintf(id, sizeof(id), "%s", de->d_name);
			snprintf(metaname, sizeof(metaname), "%s/meta.json", de->d_name);
		}
		if (!valid(id) || csdkc_json_read(&meta, dirfd(d), metaname, err, sizeof(err)))
			continue;
		if (n == cap) {
			struct item *g = realloc(items, (cap = cap ? cap * 2 : 16) * sizeof(*items));
			if (!g) {
				json_decref(meta);
				rc = CSDK_ENOMEM;
				break;
			}
			items = g;
		}
		items[n].id = strdup(id);
		items[n].name = localp_meta_str(meta, "name") ? strdup(localp_meta_str(meta, "name")) : NULL;
		items[n].created = localp_meta_int(meta, "created_ms");
		json_decref(meta);
		n++;
	}
	closedir(d);
	if (!rc && n > 1)
		qsort(items, n, sizeof(*items), cmp_item);
	for (i = 0; i < n; i++) {
		if (!rc)
			rc = ctx->host->items_add(out, items[i].id, items[i].name, items[i].created);
		free(items[i].id);
		free(items[i].name);
	}
	free(items);
	return rc;
}

int localp_m_template_list(void *vctx, struct csdk_items *out)
{
	return localp_list_items(vctx, "templates", tpl_id_valid, "", out);
}

int localp_m_template_delete(void *vctx, const char *id)
{
	struct localp_local *ctx = vctx;
	char err[CSDKC_ERR_MAX];
	int rc, tfd;

	if (!tpl_id_valid(id))
		return ctx->host->error(ctx->host, CSDK_EINVAL, "template id '%s' is not well-formed; template ids are 'tpl-' followed by 16 hex digits", id ? id : "(null)");
	if ((rc = open_templates(ctx, &tfd)))
		return rc;
	rc = csdkc_remove_tree(tfd, id, err, sizeof(err));
	close(tfd);
	if (rc == CSDK_ENOTFOUND)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "template '%s' does not exist; list templates to see the ids", id);
	if (rc)
		return ctx->host->error(ctx->host, rc, "cannot delete template %s: %s", id, err);
	return 0;
}

int localp_template_exists(struct localp_local *ctx, const char *template_id)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/templates/%s/files", ctx->state_dir, template_id);
	return tpl_id_valid(template_id) && access(path, F_OK) == 0;
}

int localp_template_copy_into(struct localp_local *ctx, const char *template_id, int home_fd)
{
	char path[4200], err[CSDKC_ERR_MAX];
	int src, rc;

	if (!tpl_id_valid(template_id))
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "template '%s' does not exist; list templates to see the ids", template_id);
	snprintf(path, sizeof(path), "%s/templates/%s/files", ctx->state_dir, template_id);
	src = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (src < 0)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "template '%s' does not exist; list templates to see the ids", template_id);
	rc = csdkc_copy_tree(home_fd, src, err, sizeof(err));
	close(src);
	if (rc)
		return ctx->host->error(ctx->host, rc, "cannot copy template %s into the sandbox: %s", template_id, err);
	return 0;
}
