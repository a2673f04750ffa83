#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csdkc.h"
#include "docker.h"

#define KIND_LABEL "com.computesdk.kind"
#define NAME_LABEL "com.computesdk.item_name"

struct pull_state {
	char error[512];
	char line[4096];
	size_t line_len;
};

static void pull_line(struct pull_state *s)
{
	json_t *j = json_loadb(s->line, s->line_len, 0, NULL);
	const char *e = json_string_value(json_object_get(j, "error"));

	if (e && !s->error[0])
		snprintf(s->error, sizeof(s->error), "%s", e);
	json_decref(j);
	s->line_len = 0;
}

static int pull_body(void *arg, const char *data, size_t len)
{
	struct pull_state *s = arg;

	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n')
			pull_line(s);
		else if (s->line_len < sizeof(s->line))
			s->line[s->line_len++] = data[i];
	}
	return 0;
}

int dockerp_pull(struct dockerp_docker *ctx, const char *image)
{
	struct pull_state s = { .line_len = 0 };
	struct dockerp_http_request req = { .method = "POST", .on_body = pull_body, .arg = &s, .timeout_ms = 30 * 60 * 1000 };
	struct dockerp_http_response resp;
	char *q = NULL, *path = NULL;
	int rc;

	if (dockerp_http_escape(&q, image) || asprintf(&path, "/images/create?fromImage=%s", q) < 0) {
		free(q);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a pull request");
	}
	free(q);
	req.path = path;
	ctx->host->log(ctx->host, CSDK_LOG_INFO, "pulling image %s", image);
	rc = dockerp_raw(ctx, &req, &resp);
	free(path);
	if (rc)
		return rc;
	if (s.line_len)
		pull_line(&s);
	if (resp.status != 200 || s.error[0])
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot pull image '%s' into the Docker engine at %s: %s; build or load it there instead",
				      image, ctx->ep.display, s.error[0] ? s.error : "the engine refused the pull");
	dockerp_http_response_free(&resp);
	return rc;
}

static void repo_part(char *dst, size_t max, const char *src)
{
	size_t j = 0;

	for (; *src && j < max; src++) {
		char c = *src;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		dst[j++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '-';
	}
	dst[j] = '\0';
	if (!j)
		snprintf(dst, max + 1, "x");
}

/* Podman's compat /commit ignores the body's Labels but applies LABEL
 * changes; it strips the outer quotes of a value and keeps the rest as is
 * (no escapes), and a newline would end the instruction. */
static int podman_label_change(char **query, const char *key, const char *value)
{
	char *v = strdup(value), *change = NULL, *q = NULL, *next = NULL;
	int rc = CSDK_ENOMEM;

	if (!v)
		return rc;
	for (char *c = v; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (asprintf(&change, "LABEL %s=\"%s\"", key, v) < 0)
		change = NULL;
	if (change && !dockerp_http_escape(&q, change) && asprintf(&next, "%s&changes=%s", *query, q) >= 0) {
		free(*query);
		*query = next;
		rc = 0;
	}
	free(q);
	free(change);
	free(v);
	return rc;
}

static int podman_label_changes(char **query, json_t *labels)
{
	const char *k;
	json_t *v;

	json_object_foreach(labels, k, v)
		if (podman_label_change(query, k, json_string_value(v) ? json_string_value(v) : ""))
			return CSDK_ENOMEM;
	return 0;
}

/* POST /commit with our labels; *id_out receives the image id (sha256:HEX,
 * which Podman answers without the prefix). The sandbox label is blanked so
 * that containers other tools make from the image are not taken for
 * sandboxes (create sets it again on ours). The entrypoint of a gateway
 * sandbox, csdk-agent, is left out: a direct-mode sandbox made from the
 * image would run its keep-alive shell as the agent's arguments. */
static int commit(struct dockerp_docker *ctx, const char *container, int agent, const char *kind, const char *name,
		  const char *repo, const char *tag, char **id_out)
{
	json_t *body = json_pack("{s:{s:s,s:s,s:s}}", "Labels", KIND_LABEL, kind, NAME_LABEL, name ? name : "",
				 DOCKERP_LABEL, "");
	char *path = NULL;
	const char *id;
	json_t *j = NULL;
	long status;
	int rc, podman = dockerp_is_podman(ctx);

	if (podman < 0) {
		json_decref(body);
		return podman;
	}
	if (body && agent && json_object_set_new(body, "Entrypoint", json_array())) {
		json_decref(body);
		body = NULL;
	}
	if (body && (rc = dockerp_pool_commit_config(ctx, container, body))) {
		json_decref(body);
		return rc;
	}
	if (!body || asprintf(&path, "/commit?container=%s&repo=%s&tag=%s", container, repo, tag) < 0)
		path = NULL;
	if (path && podman && podman_label_changes(&path, json_object_get(body, "Labels"))) {
		free(path);
		path = NULL;
	}
	if (!path) {
		json_decref(body);
		free(path);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a commit request");
	}
	rc = dockerp_call(ctx, "POST", path, body, &status, &j);
	free(path);
	json_decref(body);
	if (rc)
		return rc;
	id = json_string_value(json_object_get(j, "Id"));
	if (status == 404)
		rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", container);
	else if (status != 201 || !id)
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "committing a container", status, j);
	else if (asprintf(id_out, "%s%s", strncmp(id, "sha256:", 7) ? "sha256:" : "", id) < 0) {
		*id_out = NULL;
		rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory reading a commit answer");
	}
	json_decref(j);
	return rc;
}

/* Podman lists tags fully qualified (docker.io/library/x:t); ids are the
 * short form Docker shows and create accepts. */
static const char *familiar(const char *tag)
{
	if (tag && !strncmp(tag, "docker.io/library/", 18))
		return tag + 18;
	if (tag && !strncmp(tag, "docker.io/", 10))
		return tag + 10;
	return tag;
}

static int list_kind(struct dockerp_docker *ctx, const char *kind, int by_tag, struct csdk_items *out)
{
	char path[256];
	json_t *j = NULL, *img;
	size_t i;
	long status;
	int rc;

	/* filters={"label":["com.computesdk.kind=KIND"]} */
	snprintf(path, sizeof(path), "/images/json?filters=%%7B%%22label%%22%%3A%%5B%%22" KIND_LABEL "%%3D%s%%22%%5D%%7D", kind);
	if ((rc = dockerp_call(ctx, "GET", path, NULL, &status, &j)))
		return rc;
	if (status != 200 || !json_is_array(j)) {
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "listing images", status, j);
		json_decref(j);
		return rc;
	}
	json_array_foreach(j, i, img) {
		json_t *labels = json_object_get(img, "Labels");
		const char *k = json_string_value(json_object_get(labels, KIND_LABEL));
		const char *name = json_string_value(json_object_get(labels, NAME_LABEL));
		const char *tag = familiar(json_string_value(json_array_get(json_object_get(img, "RepoTags"), 0)));
		const char *id = by_tag && tag && strcmp(tag, "<none>:<none>") ? tag : json_string_value(json_object_get(img, "Id"));

		if (!k || strcmp(k, kind) || !id)
			continue;
		if ((rc = ctx->host->items_add(out, id, name && *name ? name : NULL,
					       (int64_t)json_integer_value(json_object_get(img, "Created")) * 1000)))
			break;
	}
	json_decref(j);
	return rc;
}

static int delete_kind(struct dockerp_docker *ctx, const char *kind, const char *id)
{
	char *q = NULL, *path = NULL;
	json_t *j = NULL;
	const char *k;
	long status;
	int rc;

	if (!id || dockerp_http_escape(&q, id) || asprintf(&path, "/images/%s/json", q) < 0) {
		free(q);
		return id ? ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building an image request")
			  : ctx->host->error(ctx->host, CSDK_EINVAL, "no %s id given; pass one from %s_list", kind, kind);
	}
	rc = dockerp_call(ctx, "GET", path, NULL, &status, &j);
	free(path);
	path = NULL;
	if (rc)
		goto out;
	k = json_string_value(json_object_get(json_object_get(json_object_get(j, "Config"), "Labels"), KIND_LABEL));
	if (status == 404 || (status == 200 && (!k || strcmp(k, kind)))) {
		rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND, "no such %s: %s; list them with %s_list", kind, id, kind);
		goto out;
	}
	if (status != 200) {
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "inspecting an image", status, j);
		goto out;
	}
	json_decref(j);
	j = NULL;
	if (asprintf(&path, "/images/%s?force=1", q) < 0) {
		path = NULL;
		rc = ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building an image request");
		goto out;
	}
	if ((rc = dockerp_call(ctx, "DELETE", path, NULL, &status, &j)))
		goto out;
	if (status == 409)
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "%s %s is in use (%s); destroy the sandboxes made from it first",
				      kind, id, dockerp_message(j));
	else if (status >= 400 && status != 404)
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "deleting an image", status, j);
out:
	json_decref(j);
	free(path);
	free(q);
	return rc;
}

int dockerp_m_snapshot_create(void *vctx, void *sandbox, const char *name, struct csdk_text *id_out)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	char tag[17], *id = NULL;
	int rc;

	csdkc_random_hex(tag, 8);
	if ((rc = commit(ctx, sb->id, sb->agent_dir[0] || sb->agent_tcp, "snapshot", name, "csdk-snapshot", tag, &id)))
		return rc;
	rc = ctx->host->text_set(id_out, id);
	free(id);
	return rc;
}

int dockerp_m_snapshot_list(void *vctx, struct csdk_items *out)
{
	return list_kind(vctx, "snapshot", 0, out);
}

int dockerp_m_snapshot_delete(void *vctx, const char *id)
{
	return delete_kind(vctx, "snapshot", id);
}

int dockerp_m_template_create(void *vctx, const struct csdk_template_request *opts, struct csdk_text *id_out)
{
	struct dockerp_docker *ctx = vctx;
	const char *name = opts ? opts->name : NULL;
	void *sandbox = opts && opts->struct_size >= offsetof(struct csdk_template_request, sandbox) + sizeof(void *) ? opts->sandbox : NULL;
	char repo[80], part[41], hex[17], *id = NULL, *ref = NULL, *tmp_id = NULL;
	int rc;

	if (!sandbox && !(opts && opts->source))
		return ctx->host->error(ctx->host, CSDK_EINVAL, "a docker template needs a source image or a sandbox; set source or sandbox");
	csdkc_random_hex(hex, 8);
	repo_part(part, 40, name && *name ? name : hex);
	snprintf(repo, sizeof(repo), "csdk-template/%s", part);
	if (sandbox) {
		struct dockerp_sandbox *sb = sandbox;
		rc = commit(ctx, sb->id, sb->agent_dir[0] || sb->agent_tcp, "template", name, repo, "latest", &id);
	} else {
		/* a created, never started container lets commit add our labels to any image */
		json_t *body = json_pack("{s:s,s:[s]}", "Image", opts->source, "Cmd", "/bin/sh"), *j = NULL;
		long status;

		if (!body)
			return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a container request");
		rc = dockerp_call(ctx, "POST", "/containers/create", body, &status, &j);
		json_decref(body);
		if (rc)
			return rc;
		if (status == 404)
			rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND,
					      "image '%s' is not present in the Docker engine at %s; build or load it there (docker build, docker load or docker import)",
					      opts->source, ctx->ep.display);
		else if (status != 201 || !json_is_string(json_object_get(j, "Id")))
			rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "creating a container for a template", status, j);
		else
			tmp_id = strdup(json_string_value(json_object_get(j, "Id")));
		json_decref(j);
		if (rc)
			return rc;
		if (!tmp_id)
			return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory creating a template");
		rc = commit(ctx, tmp_id, 0, "template", name, repo, "latest", &id);
		{
			char path[160];
			json_t *r = NULL;
			snprintf(path, sizeof(path), "/containers/%s?force=1&v=1", tmp_id);
			if (!dockerp_call(ctx, "DELETE", path, NULL, &status, &r))
				json_decref(r);
		}
		free(tmp_id);
	}
	if (rc)
		return rc;
	free(id);
	if (asprintf(&ref, "%s:latest", repo) < 0)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory naming a template");
	rc = ctx->host->text_set(id_out, ref);
	free(ref);
	return rc;
}

int dockerp_m_template_list(void *vctx, struct csdk_items *out)
{
	return list_kind(vctx, "template", 1, out);
}

int dockerp_m_template_delete(void *vctx, const char *id)
{
	return delete_kind(vctx, "template", id);
}
