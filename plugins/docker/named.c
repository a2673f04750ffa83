#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"

static void sanitise(char *dst, size_t max, const char *src)
{
	size_t j = 0;

	for (; *src && j < max; src++)
		dst[j++] = (*src >= 'a' && *src <= 'z') || (*src >= 'A' && *src <= 'Z') || (*src >= '0' && *src <= '9') ||
				   *src == '.' || *src == '-'
			   ? *src
			   : '_';
	dst[j] = '\0';
}

/* csdk-NS--NAME-HASH: readable parts sanitised to [A-Za-z0-9_.-] and cut
 * to 40 bytes, and an FNV-1a hash of the exact (namespace, name) so that
 * names that sanitise alike still get different containers. */
int dockerp_container_name(char **out, const char *ns, const char *name)
{
	char a[41], b[41];
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)ns; *p; p++)
		h = (h ^ *p) * 16777619u;
	h = (h ^ 0) * 16777619u;
	for (p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	sanitise(a, 40, ns);
	sanitise(b, 40, name);
	if (asprintf(out, "csdk-%s--%s-%08x", a, b, h) < 0) {
		*out = NULL;
		return CSDK_ENOMEM;
	}
	return 0;
}

static int find_named(struct dockerp_docker *ctx, const char *ns, const char *name, struct csdk_text *id_out,
		      void **sandbox_out, int start)
{
	json_t *j = NULL, *labels;
	const char *lns, *lname;
	char *cname;
	int rc;

	if (dockerp_container_name(&cname, ns, name))
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory naming a sandbox");
	rc = dockerp_inspect(ctx, cname, &j);
	free(cname);
	if (rc)
		return rc;
	labels = json_object_get(json_object_get(j, "Config"), "Labels");
	lns = json_string_value(json_object_get(labels, "com.computesdk.namespace"));
	lname = json_string_value(json_object_get(labels, "com.computesdk.name"));
	if (!lns || !lname || strcmp(lns, ns) || strcmp(lname, name)) {
		json_decref(j);
		return CSDK_ENOTFOUND;
	}
	/* stopped (an engine restart, docker stop): start it again; past its
	 * deadline it exits at once and is removed as expired (ENOTFOUND) */
	if (start && !json_is_true(json_object_get(json_object_get(j, "State"), "Running"))) {
		char id[sizeof(((struct dockerp_sandbox *)0)->id)];
		json_t *started = NULL;

		snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(j, "Id")) ?: "");
		json_decref(j);
		if ((rc = dockerp_start_and_wait(ctx, id, &started)))
			return rc;
		j = started;
		/* its agent starts again with the container: wait for it as create does */
		if (dockerp_agent_dir_of(j) && (rc = dockerp_agent_wait(ctx, id, dockerp_agent_dir_of(j)))) {
			json_decref(j);
			return rc;
		}
		if (dockerp_agent_tcp_of(j)) {
			char url[sizeof(((struct dockerp_sandbox *)0)->agent_url)];
			if ((rc = dockerp_agent_wait_tcp(ctx, id, j, url, sizeof(url)))) {
				json_decref(j);
				return rc;
			}
		}
	}
	if (!(rc = ctx->host->text_set(id_out, json_string_value(json_object_get(j, "Id")))))
		rc = dockerp_handle_new(ctx, j, sandbox_out);
	json_decref(j);
	return rc;
}

int dockerp_m_find(void *vctx, const char *ns, const char *name, struct csdk_text *id_out, void **sandbox_out)
{
	struct dockerp_docker *ctx = vctx;

	return find_named(ctx, ns, name, id_out, sandbox_out, 0);
}

int dockerp_m_find_or_create(void *vctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	struct dockerp_docker *ctx = vctx;
	const char *ns = opts->namespace_, *name = opts->name;
	char *cname;
	int rc;

	rc = find_named(ctx, ns, name, id_out, sandbox_out, 1);
	if (rc != CSDK_ENOTFOUND)
		return rc;
	if (dockerp_container_name(&cname, ns, name))
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory naming a sandbox");
	rc = dockerp_create_with_name(ctx, cname, ns, name, opts, id_out, sandbox_out);
	if (rc == CSDK_EEXISTS) {
		/* another caller won the race for the name: the engine's name conflict
		 * makes it atomic, but the winner's container may not be inspectable yet */
		for (int i = 0; i < 100; i++) {
			rc = find_named(ctx, ns, name, id_out, sandbox_out, 1);
			if (rc != CSDK_ENOTFOUND)
				break;
			usleep(50000);
		}
		if (rc == CSDK_ENOTFOUND)
			rc = ctx->host->error(ctx->host, CSDK_EEXISTS,
					      "container name '%s' is taken by a container that is not the csdk sandbox %s/%s; remove it or choose another name",
					      cname, ns, name);
	}
	free(cname);
	return rc;
}

/* Gateway mode: csdk-agent re-reads its deadline file within a second. */
static int extend_agent(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, int64_t duration_ms)
{
	int64_t d = 0, now = time(NULL);
	int rc;

	if ((rc = dockerp_agent_deadline(ctx, sb, &d)))
		return rc;
	/* no deadline (0) means no timeout: nothing to extend */
	if (d <= 0)
		return 0;
	return dockerp_agent_set_deadline(ctx, sb, (d < now ? now : d) + (duration_ms + 999) / 1000);
}

int dockerp_m_extend_timeout(void *vctx, void *sandbox, int64_t duration_ms)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	struct csdk_run_request ro = { .struct_size = sizeof(ro), .timeout_ms = 30000 };
	struct csdkc_capture cap = { .max = 4096 };
	char cmd[512];
	int rc, code = 0;

	/* a gateway container of an earlier version has no deadline file: its
	 * keep-alive shell keeps the deadline, as in direct mode */
	if ((sb->agent_dir[0] || sb->agent_tcp) && (rc = extend_agent(ctx, sb, duration_ms)) != CSDK_ENOTFOUND)
		return rc;
	/* no deadline (0) means no timeout: nothing to extend */
	snprintf(cmd, sizeof(cmd),
		 "f=/tmp/.csdk-deadline-$CSDK_STAMP; d=${CSDK_DEADLINE:-0}; if [ -r $f ]; then read d < $f; fi; "
		 "[ \"$d\" -gt 0 ] || exit 0; n=$(date +%%s) || exit 3; [ \"$d\" -lt \"$n\" ] && d=$n; "
		 "echo $((d + %lld)) > $f.new && mv -f $f.new $f",
		 (long long)((duration_ms + 999) / 1000));
	rc = dockerp_exec(ctx, sb, cmd, &ro, NULL, &cap, &code);
	if (!rc && code)
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot extend the timeout of sandbox %s (exit code %d: %s); the image needs date and mv",
				      sb->id, code, cap.data ? cap.data : "");
	free(cap.data);
	return rc;
}
