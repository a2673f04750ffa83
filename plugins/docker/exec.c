#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csdkc.h"
#include "docker.h"
#include "frames.h"

/* The command runs in a child of this shell, which writes its own pid (the
 * exec's process group: the engine starts each exec in a new session) so a
 * second exec can kill the whole group when the command times out. */
static const char wrapper_script[] =
	"f=$1; { echo $$ > \"$f\"; } 2>/dev/null; /bin/sh -c \"$2\"; r=$?; rm -f \"$f\" 2>/dev/null; exit $r";
static const char killer_script[] =
	"read p < \"$1\" 2>/dev/null && kill -9 -\"$p\" 2>/dev/null; rm -f \"$1\" 2>/dev/null; :";

struct stream_state {
	struct dockerp_docker *ctx;
	struct csdk_sink *out;
	struct csdkc_capture *cap;
	struct dockerp_frames frames;
	int sink_rc;
	int malformed;
};

static int on_frame(void *arg, int stream, const char *data, size_t len)
{
	struct stream_state *s = arg;
	int rc;

	if (stream == 2 && s->cap && (rc = csdkc_capture_append(s->cap, data, len)))
		return s->sink_rc = rc;
	if (s->out && (rc = s->ctx->host->sink_write(s->out, stream == 2 ? CSDK_STREAM_STDERR : CSDK_STREAM_STDOUT, data, len)))
		return s->sink_rc = rc;
	return 0;
}

static int on_body(void *arg, const char *data, size_t len)
{
	struct stream_state *s = arg;
	int rc = dockerp_frames_feed(&s->frames, data, len, on_frame, s);

	if (rc && !s->sink_rc)
		s->malformed = 1;
	return rc;
}

static int exec_create(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, json_t *cmd, const char *cwd,
		       const struct csdk_run_request *opts, int attach, char *id_out, size_t id_len)
{
	/* a claimed pool member's envs, which its container was made without; the command's own override them */
	json_t *body = json_object(), *env = sb->env ? json_copy(sb->env) : json_array(), *j = NULL;
	char path[256], *abs = NULL;
	long status;
	int rc, bad = !body || !env || !cmd;

	for (size_t i = 0; !bad && opts && i < opts->n_envs; i++) {
		char *kv;
		if (!opts->envs[i].key)
			continue;
		if (asprintf(&kv, "%s=%s", opts->envs[i].key, opts->envs[i].value ? opts->envs[i].value : "") < 0) {
			bad = 1;
			break;
		}
		bad |= json_array_append_new(env, json_string(kv));
		free(kv);
	}
	if (cwd && !bad) {
		bad |= dockerp_abs_path(sb, cwd, &abs) != 0;
		if (!bad)
			bad |= json_object_set_new(body, "WorkingDir", json_string(abs));
	}
	if (!bad) {
		bad |= json_object_set_new(body, "AttachStdout", json_boolean(attach));
		bad |= json_object_set_new(body, "AttachStderr", json_boolean(attach));
		bad |= json_object_set(body, "Cmd", cmd);
		bad |= json_object_set(body, "Env", env);
	}
	free(abs);
	json_decref(env);
	if (bad) {
		json_decref(body);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building an exec request");
	}
	snprintf(path, sizeof(path), "/containers/%s/exec", sb->id);
	rc = dockerp_call(ctx, "POST", path, body, &status, &j);
	json_decref(body);
	if (rc)
		return rc;
	if (status == 404)
		rc = ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", sb->id);
	else if (status == 409)
		rc = ctx->host->error(ctx->host, CSDK_EBACKEND, "sandbox %s is not running (%s); create a new one",
				      sb->id, dockerp_message(j));
	else if (status != 201 || !json_is_string(json_object_get(j, "Id")))
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "creating an exec", status, j);
	else
		snprintf(id_out, id_len, "%s", json_string_value(json_object_get(j, "Id")));
	json_decref(j);
	return rc;
}

static int exec_inspect(struct dockerp_docker *ctx, const char *eid, int *running, int *exit_code)
{
	char path[160];
	json_t *j = NULL;
	long status;
	int rc;

	snprintf(path, sizeof(path), "/exec/%s/json", eid);
	if ((rc = dockerp_call(ctx, "GET", path, NULL, &status, &j)))
		return rc;
	if (status != 200) {
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "inspecting an exec", status, j);
		json_decref(j);
		return rc;
	}
	*running = json_is_true(json_object_get(j, "Running"));
	*exit_code = (int)json_integer_value(json_object_get(j, "ExitCode"));
	json_decref(j);
	return 0;
}

static int exec_start(struct dockerp_docker *ctx, const char *eid, int detach, struct stream_state *s, int64_t timeout_ms)
{
	static const char attached[] = "{\"Detach\":false,\"Tty\":false}";
	static const char detached[] = "{\"Detach\":true,\"Tty\":false}";
	struct dockerp_http_request req = { .method = "POST", .content_type = "application/json",
					  .body = detach ? detached : attached,
					  .body_len = detach ? sizeof(detached) - 1 : sizeof(attached) - 1,
					  .timeout_ms = timeout_ms };
	struct dockerp_http_response resp;
	char path[160];
	int rc;

	snprintf(path, sizeof(path), "/exec/%s/start", eid);
	req.path = path;
	if (!detach) {
		req.on_body = on_body;
		req.arg = s;
	}
	rc = dockerp_raw(ctx, &req, &resp);
	if (rc)
		return rc;
	if (resp.status >= 400) {
		json_t *j = resp.body ? json_loadb(resp.body, resp.len, 0, NULL) : NULL;
		rc = dockerp_engine_error(ctx, CSDK_EBACKEND, "starting an exec", resp.status, j);
		json_decref(j);
	}
	dockerp_http_response_free(&resp);
	return rc;
}

/* Kill the wrapper's process group until the exec reports it has ended. */
static int exec_kill(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *eid, const char *pidfile)
{
	for (int i = 0; i < 50; i++) {
		char kid[128];
		int running = 0, code = 0, rc;
		json_t *cmd;

		if ((rc = exec_inspect(ctx, eid, &running, &code)))
			return rc;
		if (!running)
			return 0;
		cmd = json_pack("[sssss]", "/bin/sh", "-c", killer_script, "csdk-kill", pidfile);
		rc = exec_create(ctx, sb, cmd, NULL, NULL, 0, kid, sizeof(kid));
		json_decref(cmd);
		if (rc || (rc = exec_start(ctx, kid, 1, NULL, 0)))
			return rc;
		usleep(100000);
	}
	return ctx->host->error(ctx->host, CSDK_EBACKEND, "a timed-out command in sandbox %s could not be killed within 5 s; destroy the sandbox", sb->id);
}

int dockerp_exec(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *command,
		      const struct csdk_run_request *opts, struct csdk_sink *out,
		      struct csdkc_capture *err_capture, int *exit_code_out)
{
	struct stream_state s = { .ctx = ctx, .out = out, .cap = err_capture };
	char eid[128], pidfile[64], hex[17];
	int64_t timeout_ms = opts ? opts->timeout_ms : 0;
	int background = opts && opts->background, rc, running = 1;
	json_t *cmd;

	*exit_code_out = -1;
	dockerp_frames_init(&s.frames);
	if (background)
		cmd = json_pack("[sss]", "/bin/sh", "-c", command);
	else {
		csdkc_random_hex(hex, 8);
		snprintf(pidfile, sizeof(pidfile), "/tmp/.csdk-exec-%s.pid", hex);
		cmd = json_pack("[ssssss]", "/bin/sh", "-c", wrapper_script, "csdk-run", pidfile, command);
	}
	rc = exec_create(ctx, sb, cmd, opts ? opts->cwd : NULL, opts, !background, eid, sizeof(eid));
	json_decref(cmd);
	if (rc)
		return rc;
	if (background) {
		if ((rc = exec_start(ctx, eid, 1, NULL, 0)))
			return rc;
		*exit_code_out = 0;
		return 0;
	}
	rc = exec_start(ctx, eid, 0, &s, timeout_ms);
	if (rc == CSDK_ETIMEOUT || rc == CSDK_ECANCELLED) {
		int krc = exec_kill(ctx, sb, eid, pidfile);
		if (krc)
			return krc;
		if (rc == CSDK_ETIMEOUT) {
			*exit_code_out = 124;
			return 0;
		}
		if (s.sink_rc == CSDK_ENOMEM)
			return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory capturing a command's output");
		if (s.malformed)
			return ctx->host->error(ctx->host, CSDK_EBACKEND,
						"Docker engine at %s sent a malformed output frame for a command in sandbox %s; check the engine's version (API 1.41 needed)",
						ctx->ep.display, sb->id);
		return ctx->host->error(ctx->host, CSDK_ECANCELLED, "command in sandbox %s was cancelled by the caller", sb->id);
	}
	if (rc)
		return rc;
	for (int i = 0; i < 100 && running; i++) {
		if ((rc = exec_inspect(ctx, eid, &running, exit_code_out)))
			return rc;
		if (running)
			usleep(20000);
	}
	if (running)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "the engine still reports a finished command in sandbox %s as running; check the engine", sb->id);
	return 0;
}

int dockerp_m_run_command(void *vctx, void *sandbox, const char *command, const struct csdk_run_request *opts,
			struct csdk_sink *out, int *exit_code_out)
{
	struct dockerp_docker *ctx = vctx;

	if (!command)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "no command given; pass a shell command to run");
	return dockerp_exec(ctx, sandbox, command, opts, out, NULL, exit_code_out);
}

int dockerp_m_run_code(void *vctx, void *sandbox, const char *code, const struct csdk_run_request *req,
		     struct csdk_sink *out, int *exit_code_out)
{
	struct dockerp_docker *ctx = vctx;
	struct dockerp_sandbox *sb = sandbox;
	struct csdkc_capture cap = { .max = 256 * 1024 };
	struct csdk_run_request ro = *req;
	char path[80], msg[CSDKC_ERR_MAX], *cmd = NULL, *q = NULL;
	int rc, python;

	*exit_code_out = -1;
	if ((rc = csdkc_code_begin("docker", req->runtime, code, &python, path, sizeof(path), msg, sizeof(msg))))
		return ctx->host->error(ctx->host, rc, "%s", msg);
	if ((rc = dockerp_put_file(ctx, sb, path, code, strlen(code))))
		return rc;
	if ((rc = csdku_shell_quote(&q, path)) ||
	    asprintf(&cmd, "%s %s; r=$?; rm -f %s; exit $r", python ? "python3" : "node", q, q) < 0) {
		free(q);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building the run_code command");
	}
	free(q);
	ro.runtime = NULL;
	rc = dockerp_exec(ctx, sb, cmd, &ro, out, ro.background ? NULL : &cap, exit_code_out);
	free(cmd);
	if (!rc && !ro.background &&
	    (rc = csdkc_code_classify(req->runtime, *exit_code_out, &cap, path, sb->id,
				      python ? "python_image" : "node_image", msg, sizeof(msg))))
		rc = ctx->host->error(ctx->host, rc, "%s", msg);
	free(cap.data);
	return rc;
}
