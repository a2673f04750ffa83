#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "csdkc.h"
#include "docker.h"
#include "rfc3339.h"

/* Direct mode: keeps the container alive until stopped or past its deadline
 * (epoch seconds in CSDK_DEADLINE, moved by extend_timeout through a file
 * named after CSDK_STAMP, so a snapshot's copy of it never applies to a new
 * sandbox). Past the deadline it exits with DOCKERP_EXPIRED, which
 * marks the container as expired. With HostConfig.Init the init process
 * forwards SIGTERM here, so stop is quick. In gateway mode csdk-agent is
 * PID 1 instead, and keeps the deadline itself (agent.c). */
static const char keepalive_script[] =
	"trap 'exit 0' TERM INT; d=${CSDK_DEADLINE:-0}; f=/tmp/.csdk-deadline-$CSDK_STAMP; "
	"while :; do "
	"if [ -r $f ]; then read d < $f; fi; "
	"if [ \"$d\" -gt 0 ]; then [ \"$(date +%s)\" -ge \"$d\" ] && exit 124; sleep 1 & else sleep 3600 & fi; "
	"wait $!; done";

static int id_ok(const char *id)
{
	size_t n = 0;

	if (!id || !*id)
		return 0;
	for (; id[n]; n++)
		if (!((id[n] >= 'a' && id[n] <= 'z') || (id[n] >= 'A' && id[n] <= 'Z') || (id[n] >= '0' && id[n] <= '9') ||
		      id[n] == '_' || id[n] == '.' || id[n] == '-'))
			return 0;
	return n < 128;
}

/* A pool member is ours once claimed: its claim record then stands in for the labels it was made with. */
static int is_ours(struct dockerp_docker *ctx, json_t *inspect, int members)
{
	json_t *labels = json_object_get(json_object_get(inspect, "Config"), "Labels");
	const char *v = json_string_value(json_object_get(labels, DOCKERP_LABEL));
	const char *rd = json_string_value(json_object_get(labels, DOCKERP_RUN_DIR_LABEL));

	if (v && !strcmp(v, DOCKERP_POOL_VALUE))
		return dockerp_pool_overlay(ctx, inspect) == 0 || (members && rd && !strcmp(rd, ctx->run_dir));
	return v && !strcmp(v, "true");
}

/* The keep-alive process ended at the deadline: the sandbox has expired. */
static int expired(json_t *inspect)
{
	json_t *state = json_object_get(inspect, "State");

	return !json_is_true(json_object_get(state, "Running")) &&
	       json_integer_value(json_object_get(state, "ExitCode")) == DOCKERP_EXPIRED;
}

#define remove_container dockerp_remove_container

/* METHOD /containers/ID<suffix> */
static int container_call(struct dockerp_docker *ctx, const char *method, const char *id, const char *suffix,
			  long *status_out, json_t **out)
{
	char path[256];

	snprintf(path, sizeof(path), "/containers/%s%s", id, suffix);
	return dockerp_call(ctx, method, path, NULL, status_out, out);
}

/* The engine's refusal while `doing` (e.g. "starting") container id. */
static int container_error(struct dockerp_docker *ctx, const char *doing, const char *id, long status, json_t *answer)
{
	char what[200];

	snprintf(what, sizeof(what), "%s container %s", doing, id);
	return dockerp_engine_error(ctx, CSDK_EBACKEND, what, status, answer);
}

int dockerp_inspect(struct dockerp_docker *ctx, const char *id, json_t **out)
{
	return dockerp_inspect_as(ctx, id, 0, out);
}

int dockerp_inspect_as(struct dockerp_docker *ctx, const char *id, int members, json_t **out)
{
	long status;
	json_t *j = NULL;
	int rc;

	*out = NULL;
	if (!id_ok(id))
		return CSDK_ENOTFOUND;
	if ((rc = container_call(ctx, "GET", id, "/json", &status, &j)))
		return rc;
	if (status == 404) {
		json_decref(j);
		return CSDK_ENOTFOUND;
	}
	if (status != 200 || !json_is_object(j)) {
		rc = container_error(ctx, "inspecting", id, status, j);
		json_decref(j);
		return rc;
	}
	if (!is_ours(ctx, j, members)) {
		json_decref(j);
		return CSDK_ENOTFOUND;
	}
	/* like the local provider's sweep: an expired sandbox is gone */
	if (expired(j)) {
		rc = remove_container(ctx, json_string_value(json_object_get(j, "Id")) ?: id);
		if (!rc)
			dockerp_agent_forget(ctx, j, NULL);
		json_decref(j);
		return rc ? rc : CSDK_ENOTFOUND;
	}
	*out = j;
	return 0;
}

int dockerp_handle_new(struct dockerp_docker *ctx, json_t *inspect, void **out)
{
	struct dockerp_sandbox *sb = calloc(1, sizeof(*sb));
	const char *id = json_string_value(json_object_get(inspect, "Id"));
	const char *wd = json_string_value(json_object_get(json_object_get(inspect, "Config"), "WorkingDir"));

	if (!sb)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory making a sandbox handle");
	const char *hex = dockerp_agent_dir_of(inspect);

	snprintf(sb->id, sizeof(sb->id), "%s", id ? id : "");
	if (hex)
		snprintf(sb->agent_dir, sizeof(sb->agent_dir), "%s", hex);
	sb->agent_tcp = dockerp_agent_tcp_of(inspect);
	if (sb->agent_tcp) {
		sb->agent_port = dockerp_agent_published(inspect);
		dockerp_agent_since(inspect, sb->agent_since, sizeof(sb->agent_since));
	}
	sb->env = json_incref(json_object_get(inspect, DOCKERP_CLAIM_ENV));
	sb->workdir = strdup(wd && wd[0] == '/' ? wd : "/");
	if (!sb->workdir) {
		json_decref(sb->env);
		free(sb);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory making a sandbox handle");
	}
	*out = sb;
	return 0;
}

void dockerp_m_release(void *vctx, void *sandbox)
{
	struct dockerp_sandbox *sb = sandbox;

	(void)vctx;
	json_decref(sb->env);
	free(sb->workdir);
	free(sb);
}

int dockerp_abs_path(struct dockerp_sandbox *sb, const char *path, char **out)
{
	size_t wl = strlen(sb->workdir);

	if (path[0] == '/')
		*out = strdup(path);
	else if (asprintf(out, "%s%s%s", sb->workdir, wl && sb->workdir[wl - 1] == '/' ? "" : "/", path) < 0)
		*out = NULL;
	return *out ? 0 : CSDK_ENOMEM;
}

/* Engine defaults minus what a sandbox never needs: MKNOD, NET_RAW,
 * SETPCAP, SETFCAP, SYS_CHROOT, AUDIT_WRITE. Package managers keep working. */
static const char *const minimal_caps[] = {
	"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "NET_BIND_SERVICE",
};

static int add_hardening(const struct dockerp_docker *ctx, json_t *hc)
{
	int bad = 0;

	if (ctx->minimal_caps) {
		json_t *add = json_array();

		for (size_t i = 0; i < sizeof minimal_caps / sizeof minimal_caps[0]; i++)
			bad |= json_array_append_new(add, json_string(minimal_caps[i]));
		bad |= json_object_set_new(hc, "CapDrop", json_pack("[s]", "ALL"));
		bad |= json_object_set_new(hc, "CapAdd", add);
	}
	if (ctx->no_new_privileges)
		bad |= json_object_set_new(hc, "SecurityOpt", json_pack("[s]", "no-new-privileges"));
	if (ctx->read_only) {
		bad |= json_object_set_new(hc, "ReadonlyRootfs", json_true());
		bad |= json_object_set_new(hc, "Tmpfs", json_pack("{s:s}", "/tmp", "rw,nosuid,nodev,size=256m"));
	}
	return bad ? -1 : 0;
}

static int add_label(json_t *labels, const char *k, const char *v)
{
	return json_object_set_new(labels, k, json_string(v)) ? CSDK_ENOMEM : 0;
}

/* Ports are published on loopback, where get_url's 127.0.0.1 reaches them;
 * on a remote engine's host loopback is out of reach, so there on all
 * interfaces, and get_url names that host. */
static const char *publish_ip(const struct dockerp_docker *ctx)
{
	const char *h = ctx->ep.host;

	if (!h || !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "::1") || !strcmp(h, "[::1]"))
		return "127.0.0.1";
	return "";
}

/* Gateway mode: csdk-agent is the entrypoint, PID 1 (no docker-init: it
 * reaps and passes SIGTERM on itself), with no arguments from the image's Cmd. */
static int set_agent_entrypoint(json_t *b, json_t *hc, const char *listen, const char *dir)
{
	json_t *argv = dockerp_agent_entrypoint(listen, dir);

	if (!argv)
		return 1;
	return json_object_set_new(b, "Entrypoint", argv) | json_object_set_new(b, "Cmd", json_array()) |
	       json_object_set_new(hc, "Init", json_false());
}

/* Gateway mode: the agent and the sandbox's directory of run_dir,
 * bind-mounted: its sock/ read-write for the agent's socket, the rest (token,
 * deadline) read-only. */
static int add_agent(struct dockerp_docker *ctx, json_t *b, json_t *hc, json_t *labels, const char *hex)
{
	char *bind_agent = NULL, *bind_run = NULL, *bind_host = NULL;
	int bad;

	bad = asprintf(&bind_agent, "%s:" DOCKERP_INSIDE_AGENT ":ro", ctx->agent) < 0 ||
	      asprintf(&bind_run, "%s/%s/sock:" DOCKERP_INSIDE_RUN, ctx->run_dir, hex) < 0 ||
	      asprintf(&bind_host, "%s/%s:" DOCKERP_INSIDE_HOSTFILES ":ro", ctx->run_dir, hex) < 0;
	if (!bad) {
		bad |= set_agent_entrypoint(b, hc, "unix:" DOCKERP_INSIDE_RUN "/agent.sock", DOCKERP_INSIDE_HOSTFILES);
		bad |= json_object_set_new(hc, "Binds", json_pack("[sss]", bind_agent, bind_run, bind_host));
		bad |= add_label(labels, DOCKERP_AGENT_LABEL, hex);
	}
	free(bind_agent);
	free(bind_run);
	free(bind_host);
	return bad;
}

/* Gateway mode over TCP: the agent, copied in before start, listens on a
 * port of the engine's host (network host: loopback for a local engine) or
 * on DOCKERP_AGENT_PORT, published like the ports key. */
static int add_agent_tcp(struct dockerp_docker *ctx, json_t *b, json_t *hc, json_t *labels)
{
	char listen[64], key[32];
	int bad, host_net = !strcmp(ctx->network, "host");

	if (host_net)
		snprintf(listen, sizeof(listen), "%s:0", *publish_ip(ctx) ? publish_ip(ctx) : "0.0.0.0");
	else
		snprintf(listen, sizeof(listen), "0.0.0.0:%d", DOCKERP_AGENT_PORT);
	bad = set_agent_entrypoint(b, hc, listen, "/.csdk");
	bad |= add_label(labels, DOCKERP_AGENT_TCP_LABEL, "tcp");
	if (!host_net) {
		json_t *exposed = json_object_get(b, "ExposedPorts"), *bind = json_object_get(hc, "PortBindings");
		if (!exposed) {
			bad |= json_object_set_new(b, "ExposedPorts", exposed = json_object());
			bad |= json_object_set_new(hc, "PortBindings", bind = json_object());
		}
		snprintf(key, sizeof(key), "%d/tcp", DOCKERP_AGENT_PORT);
		bad |= json_object_set_new(exposed, key, json_object());
		bad |= json_object_set_new(bind, key, json_pack("[{s:s,s:s}]", "HostIp", publish_ip(ctx), "HostPort", ""));
	}
	return bad;
}

int64_t dockerp_timeout_of(const struct dockerp_docker *ctx, const struct csdk_create_request *o)
{
	int64_t t = o && o->timeout_ms ? o->timeout_ms : ctx->timeout_ms;

	return t > 0 ? t : 0;
}

/* The deadline in epoch seconds (rounded up), 0 for none. */
static int64_t deadline_of(const struct dockerp_docker *ctx, const struct csdk_create_request *o, int64_t created_ms)
{
	return dockerp_timeout_of(ctx, o) ? (created_ms + dockerp_timeout_of(ctx, o) + 999) / 1000 : 0;
}

/* Always set: an image committed from a sandbox carries the old sandbox's values. */
static int body_labels(struct dockerp_docker *ctx, const struct csdk_create_request *o, const char *ns, const char *name,
		       int64_t created_ms, json_t *labels)
{
	char buf[64];
	int bad = 0;

	bad |= add_label(labels, DOCKERP_LABEL, "true");
	snprintf(buf, sizeof(buf), "%lld", (long long)created_ms);
	bad |= add_label(labels, "com.computesdk.created_ms", buf);
	snprintf(buf, sizeof(buf), "%lld", (long long)dockerp_timeout_of(ctx, o));
	bad |= add_label(labels, "com.computesdk.timeout_ms", buf);
	bad |= add_label(labels, "com.computesdk.namespace", name ? (ns ? ns : "default") : "");
	bad |= add_label(labels, "com.computesdk.name", name ? name : "");
	for (size_t i = 0; o && i < o->n_metadata; i++) {
		char *k;
		if (!o->metadata[i].key || !o->metadata[i].value)
			continue;
		if (asprintf(&k, DOCKERP_META_PREFIX "%s", o->metadata[i].key) < 0)
			return 1;
		bad |= add_label(labels, k, o->metadata[i].value);
		free(k);
	}
	return bad;
}

static int body_env(struct dockerp_docker *ctx, const struct csdk_create_request *o, int64_t created_ms, json_t *env)
{
	char buf[64];
	int bad = 0;

	snprintf(buf, sizeof(buf), "CSDK_DEADLINE=%lld", (long long)deadline_of(ctx, o, created_ms));
	bad |= json_array_append_new(env, json_string(buf));
	memcpy(buf, "CSDK_STAMP=", 11);
	csdkc_random_hex(buf + 11, 8);
	bad |= json_array_append_new(env, json_string(buf));
	for (size_t i = 0; o && i < o->n_envs; i++) {
		char *kv;
		if (!o->envs[i].key || asprintf(&kv, "%s=%s", o->envs[i].key, o->envs[i].value ? o->envs[i].value : "") < 0)
			continue;
		bad |= json_array_append_new(env, json_string(kv));
		free(kv);
	}
	return bad;
}

static int body_ports(struct dockerp_docker *ctx, json_t *b, json_t *hc)
{
	json_t *exposed = json_object(), *bind = json_object();
	char buf[64];
	int bad = 0;

	for (size_t i = 0; i < ctx->n_ports; i++) {
		snprintf(buf, sizeof(buf), "%d/tcp", ctx->ports[i]);
		bad |= json_object_set_new(exposed, buf, json_object());
		bad |= json_object_set_new(bind, buf, json_pack("[{s:s,s:s}]", "HostIp", publish_ip(ctx), "HostPort", ""));
	}
	bad |= json_object_set_new(b, "ExposedPorts", exposed);
	bad |= json_object_set_new(hc, "PortBindings", bind);
	return bad;
}

static int body_resources(struct dockerp_docker *ctx, const struct csdk_create_request *o, json_t *b, json_t *hc)
{
	int bad = 0;

	bad |= json_object_set_new(hc, "Init", json_true());
	bad |= json_object_set_new(hc, "NetworkMode", json_string(ctx->network));
	/* the same loopback-only namespace, without the engine's network set-up
	 * for the "none" network: container start takes half the time */
	if (!strcmp(ctx->network, "none"))
		bad |= json_object_set_new(b, "NetworkDisabled", json_true());
	if (ctx->pids_limit > 0)
		bad |= json_object_set_new(hc, "PidsLimit", json_integer(ctx->pids_limit));
	if ((o && o->memory_bytes) || ctx->memory)
		bad |= json_object_set_new(hc, "Memory", json_integer(o && o->memory_bytes ? (json_int_t)o->memory_bytes
										     : (json_int_t)ctx->memory));
	bad |= add_hardening(ctx, hc);
	if (o && o->cpus > 0)
		bad |= json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)(o->cpus * 1e9)));
	if (ctx->n_ports && strcmp(ctx->network, "none") && strcmp(ctx->network, "host"))
		bad |= body_ports(ctx, b, hc);
	return bad;
}

static json_t *create_body(struct dockerp_docker *ctx, const struct csdk_create_request *o, const char *image,
			   const char *ns, const char *name, int64_t created_ms, const char *agent_hex, json_t *member)
{
	json_t *b = json_object(), *labels = json_object(), *env = json_array(), *hc = json_object();
	int bad = !b || !labels || !env || !hc;

	if (bad)
		goto out;
	bad |= body_labels(ctx, o, ns, name, created_ms, labels);
	bad |= body_env(ctx, o, created_ms, env);
	bad |= json_object_set_new(b, "Image", json_string(image));
	bad |= json_object_set_new(b, "Cmd", json_pack("[sss]", "/bin/sh", "-c", keepalive_script));
	bad |= json_object_set_new(b, "Env", json_incref(env));
	bad |= json_object_set_new(b, "Labels", json_incref(labels));
	if (ctx->workdir)
		bad |= json_object_set_new(b, "WorkingDir", json_string(ctx->workdir));
	bad |= body_resources(ctx, o, b, hc);
	if (agent_hex && ctx->agent_tcp)
		bad |= add_agent_tcp(ctx, b, hc, labels);
	else if (agent_hex)
		bad |= add_agent(ctx, b, hc, labels, agent_hex);
	if (member)
		bad |= json_object_update(labels, member);
	bad |= json_object_set_new(b, "HostConfig", json_incref(hc));
out:
	json_decref(labels);
	json_decref(env);
	json_decref(hc);
	if (bad) {
		json_decref(b);
		return NULL;
	}
	return b;
}

static const char *choose_image(struct dockerp_docker *ctx, const struct csdk_create_request *o, const char **kind)
{
	*kind = "image";
	if (o && o->snapshot_id) {
		*kind = "snapshot";
		return o->snapshot_id;
	}
	if (o && o->template_id) {
		*kind = "template";
		return o->template_id;
	}
	if (o && o->image)
		return o->image;
	if (o && o->runtime && !strcmp(o->runtime, "python"))
		return ctx->python_image;
	if (o && o->runtime && !strcmp(o->runtime, "node"))
		return ctx->node_image;
	return ctx->image;
}

int dockerp_remove_container(struct dockerp_docker *ctx, const char *id)
{
	long status;
	json_t *j = NULL;
	int rc;

	if ((rc = container_call(ctx, "POST", id, "/stop?t=2", &status, &j)))
		return rc;
	json_decref(j);
	j = NULL;
	if ((rc = container_call(ctx, "DELETE", id, "?force=1&v=1", &status, &j)))
		return rc;
	/* 404: already gone; 409: another destroy is removing it */
	if (status >= 400 && status != 404 && status != 409)
		rc = container_error(ctx, "removing", id, status, j);
	json_decref(j);
	return rc;
}

int dockerp_start_and_wait(struct dockerp_docker *ctx, const char *id, json_t **inspect_out)
{
	long status;
	json_t *j = NULL;
	int rc;

	if ((rc = container_call(ctx, "POST", id, "/start", &status, &j)))
		return rc;
	/* 304: already running */
	if (status >= 400)
		rc = container_error(ctx, "starting", id, status, j);
	json_decref(j);
	if (rc)
		return rc;
	for (int i = 0; i < 200; i++) {
		json_t *state;
		const char *st;
		if ((rc = dockerp_inspect_as(ctx, id, 1, &j)))
			return rc == CSDK_ENOTFOUND ? ctx->host->error(ctx->host, CSDK_ENOTFOUND,
								       "container %s expired or was removed while starting; create a new sandbox", id)
						    : rc;
		state = json_object_get(j, "State");
		if (json_is_true(json_object_get(state, "Running"))) {
			*inspect_out = j;
			return 0;
		}
		st = json_string_value(json_object_get(state, "Status")) ?: "";
		if (!strcmp(st, "exited") || !strcmp(st, "dead")) {
			const char *err = json_string_value(json_object_get(state, "Error")) ?: "";
			long long code = json_integer_value(json_object_get(state, "ExitCode"));
			if (dockerp_agent_dir_of(j) || dockerp_agent_tcp_of(j))
				rc = ctx->host->error(ctx->host, CSDK_EBACKEND,
					"csdk-agent in container %s exited with status %lld before it listened%s%s; see 'docker logs %s', and check agent (CSDK_DOCKER_AGENT): a static csdk-agent for the engine's architecture",
					id, code, err[0] ? ": " : "", err, id);
			else
				rc = ctx->host->error(ctx->host, CSDK_EBACKEND,
					"container %s exited right after starting (exit code %lld%s%s); the image needs /bin/sh and sleep",
					id, code, err[0] ? ": " : "", err);
			json_decref(j);
			return rc;
		}
		json_decref(j);
		usleep(50000);
	}
	return ctx->host->error(ctx->host, CSDK_ETIMEOUT, "container %s did not reach running within 10 s; check the engine's log", id);
}

/* /containers/create, with ?name=cname when there is one */
static int create_path(struct dockerp_docker *ctx, const char *cname, char **out)
{
	char *q = NULL;
	int rc;

	*out = NULL;
	if (cname && (rc = dockerp_http_escape(&q, cname)))
		return ctx->host->error(ctx->host, rc, "out of memory building a container request");
	if (asprintf(out, "/containers/create%s%s", q ? "?name=" : "", q ? q : "") < 0)
		*out = NULL;
	free(q);
	if (!*out)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a container request");
	return 0;
}

/* The engine's answer to a create: the new container's id (in answer), or the error. */
static int create_answer(struct dockerp_docker *ctx, long status, json_t *answer, const char *kind, const char *image,
			 const char *cname, const char **id_out)
{
	char what[300];

	if (status == 404 && !strcmp(kind, "image"))
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND,
					"image '%s' is not present in the Docker engine at %s; build or load it there "
					"(docker build, docker load or docker import), or set pull=true (CSDK_DOCKER_PULL) to pull it from its registry",
					image, ctx->ep.display);
	if (status == 404)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "%s '%s' does not exist in the Docker engine at %s; list them with %s_list",
					kind, image, ctx->ep.display, kind);
	if (dockerp_name_taken(status, answer))
		return ctx->host->error(ctx->host, CSDK_EEXISTS, "a container named '%s' already exists in the Docker engine at %s; find it or choose another name",
					cname ? cname : "", ctx->ep.display);
	if (status == 201 && (*id_out = json_string_value(json_object_get(answer, "Id"))))
		return 0;
	snprintf(what, sizeof(what), "creating a container from image '%s'", image);
	return dockerp_engine_error(ctx, CSDK_EBACKEND, what, status, answer);
}

/* Pulls a missing image once when pull is on. */
static int post_create(struct dockerp_docker *ctx, const char *path, json_t *body, const char *kind, const char *image,
		       const char *cname, json_t **answer_out, const char **id_out)
{
	long status;
	int rc, pulled = 0;

	for (;;) {
		if ((rc = dockerp_call(ctx, "POST", path, body, &status, answer_out)))
			return rc;
		if (status != 404 || strcmp(kind, "image") || !ctx->pull || pulled)
			break;
		json_decref(*answer_out);
		*answer_out = NULL;
		pulled = 1;
		if ((rc = dockerp_pull(ctx, image)))
			return rc;
	}
	return create_answer(ctx, status, *answer_out, kind, image, cname, id_out);
}

/* Starts the created container and waits for its agent; on failure the container is removed. */
static int start_created(struct dockerp_docker *ctx, const char *id, struct dockerp_member *member, const char *token,
			 const char *hex, int64_t deadline, json_t **inspect_out, char *url, size_t urllen)
{
	int rc;

	if (member) {
		snprintf(member->id, sizeof(member->id), "%s", id);
		if (member->created && (rc = member->created(ctx, member)))
			goto fail;
	}
	if ((token[0] && (rc = dockerp_agent_copy(ctx, id, token, deadline))) ||
	    (rc = dockerp_start_and_wait(ctx, id, inspect_out)) ||
	    (token[0] && (rc = dockerp_agent_wait_tcp(ctx, id, *inspect_out, url, urllen))) ||
	    (hex[0] && (rc = dockerp_agent_wait(ctx, id, hex))))
		goto fail;
	return 0;
fail:
	remove_container(ctx, id);
	return rc;
}

/* The caller's handle on a started sandbox; on failure the container is removed. */
static int hand_out(struct dockerp_docker *ctx, const char *id, json_t *inspect, const char *token, const char *url,
		    struct csdk_text *id_out, void **sandbox_out)
{
	struct dockerp_sandbox *sb;
	int rc;

	if ((rc = ctx->host->text_set(id_out, id)) || (rc = dockerp_handle_new(ctx, inspect, sandbox_out))) {
		remove_container(ctx, id);
		return rc;
	}
	if (token[0]) {
		sb = *sandbox_out;
		snprintf(sb->agent_url, sizeof(sb->agent_url), "%s", url);
		snprintf(sb->agent_token, sizeof(sb->agent_token), "%s", token);
	}
	return 0;
}

/* A sandbox, or with member a pool member (its agent directory prepared by the caller; its id out). */
static int create_container(struct dockerp_docker *ctx, const char *cname, const char *ns, const char *name,
			    const struct csdk_create_request *opts, struct dockerp_member *member,
			    struct csdk_text *id_out, void **sandbox_out)
{
	const char *kind, *image = member ? member->image : choose_image(ctx, opts, &kind);
	char *path = NULL;
	json_t *body, *j = NULL, *inspect = NULL;
	const char *id = NULL;
	char hex[17] = "", token[33] = "", url[sizeof(((struct dockerp_sandbox *)0)->agent_url)] = "";
	int64_t created_ms = csdkc_now_ms(), deadline = deadline_of(ctx, opts, created_ms);
	int rc;

	if (ctx->gateway && ctx->agent_tcp && (rc = dockerp_agent_token(ctx, token)))
		return rc;
	if (member) {
		kind = "image";
		snprintf(hex, sizeof(hex), "%s", member->hex);
	} else if (ctx->gateway && !ctx->agent_tcp && (rc = dockerp_agent_prepare(ctx, hex, deadline))) {
		return rc;
	}
	body = create_body(ctx, opts, image, ns, name, created_ms, ctx->gateway ? hex : NULL, member ? member->labels : NULL);
	if (!body) {
		dockerp_agent_forget(ctx, NULL, hex);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a container request");
	}
	if ((rc = create_path(ctx, cname, &path)) ||
	    (rc = post_create(ctx, path, body, kind, image, cname, &j, &id)) ||
	    (rc = start_created(ctx, id, member, token, hex, deadline, &inspect, url, sizeof(url))))
		goto out;
	if (!member)
		rc = hand_out(ctx, id, inspect, token, url, id_out, sandbox_out);
out:
	if (rc && hex[0] && !member)
		dockerp_agent_forget(ctx, NULL, hex);
	json_decref(inspect);
	json_decref(j);
	json_decref(body);
	free(path);
	return rc;
}

int dockerp_member_create(struct dockerp_docker *ctx, struct dockerp_member *member)
{
	return create_container(ctx, NULL, NULL, NULL, NULL, member, NULL, NULL);
}

int dockerp_create_with_name(struct dockerp_docker *ctx, const char *cname, const char *ns, const char *name,
			     const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	const char *kind, *image = choose_image(ctx, opts, &kind);
	int rc;

	if (dockerp_pool_serves(ctx, opts)) {
		rc = dockerp_pool_claim(ctx, image, cname, ns, name, opts, id_out, sandbox_out);
		dockerp_pool_kick(ctx, image);
		if (rc != 1)
			return rc;
	}
	return create_container(ctx, cname, ns, name, opts, NULL, id_out, sandbox_out);
}

int dockerp_m_create(void *vctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out)
{
	struct dockerp_docker *ctx = vctx;

	if (opts && opts->name)
		return dockerp_m_find_or_create(ctx, opts, id_out, sandbox_out);
	return dockerp_create_with_name(ctx, NULL, NULL, NULL, opts, id_out, sandbox_out);
}

int dockerp_m_get(void *vctx, const char *id, void **sandbox_out)
{
	struct dockerp_docker *ctx = vctx;
	json_t *j;
	int rc;

	if ((rc = dockerp_inspect(ctx, id, &j)))
		return rc;
	rc = dockerp_handle_new(ctx, j, sandbox_out);
	json_decref(j);
	return rc;
}

int dockerp_m_list(void *vctx, struct csdk_handles *out)
{
	struct dockerp_docker *ctx = vctx;
	/* filters={"label":["com.computesdk.sandbox=true"]} */
	static const char path[] = "/containers/json?all=1&filters=%7B%22label%22%3A%5B%22" DOCKERP_LABEL "%3Dtrue%22%5D%7D";
	json_t *j = NULL, *c;
	size_t i;
	long status;
	int rc;

	if ((rc = dockerp_call(ctx, "GET", path, NULL, &status, &j)))
		return rc;
	if (status != 200 || !json_is_array(j)) {
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "listing containers", status, j);
		json_decref(j);
		return rc;
	}
	json_array_foreach(j, i, c) {
		const char *id = json_string_value(json_object_get(c, "Id"));
		json_t *ins;
		void *h;

		/* the filter is the engine's; the label check in inspect is ours */
		rc = dockerp_inspect(ctx, id, &ins);
		if (rc == CSDK_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc)
			break;
		rc = dockerp_handle_new(ctx, ins, &h);
		json_decref(ins);
		if (rc)
			break;
		if ((rc = ctx->host->handles_add(out, id, h))) {
			dockerp_m_release(ctx, h);
			break;
		}
	}
	json_decref(j);
	return rc ? rc : dockerp_pool_list_claimed(ctx, out);
}

int dockerp_m_destroy(void *vctx, const char *id)
{
	struct dockerp_docker *ctx = vctx;
	json_t *j;
	int rc;

	rc = dockerp_inspect(ctx, id, &j);
	if (rc == CSDK_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (!(rc = remove_container(ctx, id)))
		dockerp_agent_forget(ctx, j, NULL);
	json_decref(j);
	return rc;
}

int dockerp_m_get_info(void *vctx, void *sandbox, struct csdk_info *out)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	const struct csdk_host *h = ctx->host;
	json_t *j, *labels, *state, *v;
	const char *k, *st, *created;
	int64_t created_ms, timeout_ms, deadline = 0;
	enum csdk_status status;
	int rc;

	if ((rc = dockerp_inspect(ctx, sb->id, &j)))
		return rc == CSDK_ENOTFOUND ? h->error(h, rc, "sandbox %s no longer exists; create a new one", sb->id) : rc;
	labels = json_object_get(json_object_get(j, "Config"), "Labels");
	state = json_object_get(j, "State");
	st = json_string_value(json_object_get(state, "Status"));
	if (json_is_true(json_object_get(state, "Running")))
		status = CSDK_STATUS_RUNNING;
	else if (st && !strcmp(st, "dead"))
		status = CSDK_STATUS_ERROR;
	else
		status = CSDK_STATUS_STOPPED;
	created = json_string_value(json_object_get(labels, "com.computesdk.created_ms"));
	created_ms = created ? strtoll(created, NULL, 10) : csdku_rfc3339_ms(json_string_value(json_object_get(j, "Created")));
	v = json_object_get(labels, "com.computesdk.timeout_ms");
	timeout_ms = json_is_string(v) ? strtoll(json_string_value(v), NULL, 10) : 0;
	/* gateway mode: the agent's deadline file, the label's value until moved */
	rc = timeout_ms > 0 && status == CSDK_STATUS_RUNNING && (sb->agent_dir[0] || sb->agent_tcp)
		     ? dockerp_agent_deadline(ctx, sb, &deadline) : CSDK_ENOTFOUND;
	if (!rc && deadline > 0 && deadline != (created_ms + timeout_ms + 999) / 1000)
		timeout_ms = deadline * 1000 - created_ms;
	if (rc && rc != CSDK_ENOTFOUND) {
		json_decref(j);
		return rc;
	}
	if (rc && timeout_ms > 0 && status == CSDK_STATUS_RUNNING) {
		/* extend_timeout moves the deadline in the container, not the label */
		struct csdk_run_request ro = { .struct_size = sizeof(ro), .timeout_ms = 10000 };
		struct csdkc_capture cap = { .max = 64 };
		int code = 0;
		if (!dockerp_exec(ctx, sb, "read d < /tmp/.csdk-deadline-$CSDK_STAMP && echo $d >&2", &ro, NULL, &cap, &code) && code == 0 && cap.len)
			timeout_ms = strtoll(cap.data, NULL, 10) * 1000 - created_ms;
		free(cap.data);
	}
	if (!(rc = h->info_set_id(out, sb->id)) && !(rc = h->info_set_status(out, status)) &&
	    !(rc = h->info_set_times(out, created_ms, timeout_ms))) {
		json_object_foreach(labels, k, v) {
			if (!strncmp(k, DOCKERP_META_PREFIX, strlen(DOCKERP_META_PREFIX)) && json_is_string(v) &&
			    (rc = h->info_add_metadata(out, k + strlen(DOCKERP_META_PREFIX), json_string_value(v))))
				break;
		}
	}
	json_decref(j);
	return rc;
}

int dockerp_m_get_url(void *vctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	const char *host = ctx->ep.host ? ctx->ep.host : "127.0.0.1", *mode, *hp = NULL;
	char key[32], url[512];
	json_t *j;
	int rc, hport = 0;

	if ((rc = dockerp_inspect(ctx, sb->id, &j)))
		return rc == CSDK_ENOTFOUND ? ctx->host->error(ctx->host, rc, "sandbox %s no longer exists; create a new one", sb->id) : rc;
	mode = json_string_value(json_object_get(json_object_get(j, "HostConfig"), "NetworkMode"));
	snprintf(key, sizeof(key), "%d/tcp", port);
	if (mode && !strcmp(mode, "host"))
		hport = port;
	else
		hp = json_string_value(json_object_get(json_array_get(json_object_get(json_object_get(json_object_get(j, "NetworkSettings"), "Ports"), key), 0), "HostPort"));
	if (hp)
		hport = atoi(hp);
	if (hport <= 0) {
		rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND,
				      "port %d of sandbox %s is not published (network mode %s); list it in the ports key (CSDK_DOCKER_PORTS) with network=bridge, or use network=host",
				      port, sb->id, mode ? mode : "unknown");
		json_decref(j);
		return rc;
	}
	json_decref(j);
	snprintf(url, sizeof(url), "%s://%s:%d", protocol ? protocol : "http", host, hport);
	return ctx->host->text_set(out, url);
}
