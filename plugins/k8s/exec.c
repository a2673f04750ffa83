#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "csdkc.h"
#include "k8s.h"
#include "wsconn.h"

#define PROTOCOLS "v5.channel.k8s.io, v4.channel.k8s.io"

/* The command runs in a session of its own whose id lands in the pid file,
 * so that a second exec can kill the whole process group on a timeout. */
static const char wrapper_script[] =
	"f=$1; if command -v setsid >/dev/null 2>&1; then "
	"setsid sh -c 'echo $$ > \"$0\"; exec sh -c \"$1\"' \"$f\" \"$2\"; "
	"else sh -c 'echo $$ > \"$0\"; exec sh -c \"$1\"' \"$f\" \"$2\"; fi; r=$?; rm -f \"$f\"; exit $r";
static const char killer_script[] =
	"for i in 1 2 3 4 5 6 7 8 9 10; do if read p < \"$1\" 2>/dev/null; then "
	"kill -9 -\"$p\" 2>/dev/null || kill -9 \"$p\" 2>/dev/null; rm -f \"$1\"; exit 0; fi; sleep 0.1; done; :";
static const char background_script[] =
	"if command -v setsid >/dev/null 2>&1; then nohup setsid sh -c \"$1\" >/dev/null 2>&1 </dev/null & "
	"else nohup sh -c \"$1\" >/dev/null 2>&1 </dev/null & fi";

struct exec_args {
	const char *argv[6];
	int argc;
	const void *stdin_data;
	size_t stdin_len;
	int64_t timeout_ms;
};

static int exec_path(struct k8sp_k8s *ctx, const char *pod, const struct exec_args *a, char **out)
{
	char base[256];
	size_t len, cap;
	char *p;

	k8sp_pod_path(base, sizeof(base), ctx, pod);
	cap = strlen(base) + 128;
	for (int i = 0; i < a->argc; i++)
		cap += strlen(a->argv[i]) * 3 + 16;
	if (!(p = malloc(cap)))
		return CSDK_ENOMEM;
	len = (size_t)snprintf(p, cap, "%s/exec?container=%s&stdout=true&stderr=true%s", base, K8SP_CONTAINER,
			       a->stdin_data ? "&stdin=true" : "");
	for (int i = 0; i < a->argc; i++) {
		char *e = NULL;
		if (k8sp_escape(&e, a->argv[i])) {
			free(p);
			return CSDK_ENOMEM;
		}
		len += (size_t)snprintf(p + len, cap - len, "&command=%s", e);
		free(e);
	}
	*out = p;
	return 0;
}

/* The state of one exec's output stream. */
struct exec_stream {
	struct k8sp_k8s *ctx;
	const char *pod;
	struct csdk_sink *out;
	struct csdkc_capture *cap;
	int *exit_code, *sink_rc;
	int channel, got_status, reported;
};

static int exec_send_stdin(struct k8sp_k8s *ctx, struct k8sp_ws *ws, const struct exec_args *a, const char *pod)
{
	unsigned char *m = malloc(a->stdin_len + 1);
	int rc;

	if (!m)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory sending stdin");
	m[0] = K8SP_CH_STDIN;
	memcpy(m + 1, a->stdin_data, a->stdin_len);
	rc = a->stdin_len ? k8sp_ws_send(ws, K8SP_WS_BINARY, m, a->stdin_len + 1) : 0;
	free(m);
	if (!rc && ws->v5) {
		/* v5 only: close our end of stdin so the command sees EOF */
		static const unsigned char close_stdin[2] = { K8SP_CH_CLOSE, K8SP_CH_STDIN };
		rc = k8sp_ws_send(ws, K8SP_WS_BINARY, close_stdin, sizeof(close_stdin));
	}
	if (rc)
		return ctx->host->error(ctx->host, CSDK_EIO, "sending stdin to sandbox %s failed: the connection closed", pod);
	return 0;
}

/* One data frame: 0 to read on, or why the stream stops. */
static int exec_frame(struct exec_stream *s, const struct k8sp_ws_frame *f)
{
	size_t off = 0;
	char msg[512];
	int rc;

	if (f->opcode != K8SP_WS_CONT) {
		if (!f->len)
			return 0;
		s->channel = f->payload[0];
		off = 1;
	}
	if (f->len <= off)
		return 0;
	if (s->channel == K8SP_CH_STDOUT || s->channel == K8SP_CH_STDERR) {
		int is_err = s->channel == K8SP_CH_STDERR;

		if (is_err && s->cap && (rc = csdkc_capture_append(s->cap, f->payload + off, f->len - off))) {
			*s->sink_rc = rc;
			return CSDK_ECANCELLED;
		}
		if (s->out && (*s->sink_rc = s->ctx->host->sink_write(s->out, is_err ? CSDK_STREAM_STDERR : CSDK_STREAM_STDOUT,
								       f->payload + off, f->len - off)))
			return CSDK_ECANCELLED;
	} else if (s->channel == K8SP_CH_ERROR) {
		s->got_status = 1;
		if (k8sp_status_exit((const char *)f->payload + off, f->len - off, s->exit_code, msg, sizeof(msg))) {
			s->reported = 1;
			return s->ctx->host->error(s->ctx->host, CSDK_EBACKEND, "a command in sandbox %s could not run: %s", s->pod, msg);
		}
	}
	return 0;
}

/* Read frames until the stream ends or the deadline (0: none) passes: why it ended. */
static int exec_pump(struct k8sp_ws *ws, struct exec_stream *s, int64_t deadline)
{
	struct k8sp_ws_frame f;
	int rc;

	for (;;) {
		int64_t left = -1;

		if (deadline && (left = deadline - csdkc_now_ms()) <= 0)
			return CSDK_ETIMEOUT;
		rc = k8sp_ws_recv(ws, &f, left);
		if (rc == 0)
			continue;
		if (rc < 0)
			return rc;
		if (f.opcode == K8SP_WS_PING)
			k8sp_ws_send(ws, K8SP_WS_PONG, f.payload, f.len);
		else if (f.opcode == K8SP_WS_CLOSE)
			return CSDK_EIO;
		else if (f.opcode != K8SP_WS_PONG && (rc = exec_frame(s, &f)))
			return rc;
	}
}

/* What the end of a stream (rc from exec_pump) means for the command. */
static int exec_end(struct k8sp_k8s *ctx, const char *pod, int rc, const struct exec_stream *s)
{
	if (rc == CSDK_EIO && s->got_status && *s->exit_code != 137 && *s->exit_code != 143)
		return 0;
	if (rc == CSDK_EIO) {
		/* no status, or killed: was the sandbox destroyed under the command? */
		json_t *p = NULL;
		int g = k8sp_get_pod(ctx, pod, &p);
		json_decref(p);
		if (g == CSDK_ENOTFOUND)
			return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s was destroyed while a command ran in it", pod);
		if (s->got_status)
			return 0;
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "the exec stream of a command in sandbox %s ended without an exit status; check the kubelet", pod);
	}
	if (rc == CSDK_EBACKEND)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "kube-apiserver at %s sent a malformed WebSocket frame for sandbox %s", ctx->creds.server, pod);
	return rc;
}

/*
 * One exec over WebSocket. Returns 0 with *exit_code set, CSDK_ETIMEOUT when
 * timeout_ms passed, CSDK_ECANCELLED when the sink asked to stop (*sink_rc
 * then holds its answer), or another code after host->error.
 */
static int exec_ws(struct k8sp_k8s *ctx, const char *pod, const struct exec_args *a, struct csdk_sink *out,
		   struct csdkc_capture *cap, int *exit_code, int *sink_rc)
{
	struct exec_stream s = { .ctx = ctx, .pod = pod, .out = out, .cap = cap, .exit_code = exit_code,
				 .sink_rc = sink_rc, .channel = -1 };
	struct k8sp_ws ws;
	char *path = NULL;
	int64_t deadline = a->timeout_ms > 0 ? csdkc_now_ms() + a->timeout_ms : 0;
	int rc;

	*exit_code = -1;
	if (exec_path(ctx, pod, a, &path))
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building an exec request");
	/* tests/k8s/run.sh counts these lines: gateway-mode commands must not make any */
	ctx->host->log(ctx->host, CSDK_LOG_DEBUG, "pods/exec WebSocket to pod %s", pod);
	rc = k8sp_ws_open(ctx, &ws, path, PROTOCOLS, NULL);
	free(path);
	if (rc == CSDK_ENOTFOUND)
		return ctx->host->error(ctx->host, CSDK_ENOTFOUND, "sandbox %s no longer exists; create a new one", pod);
	if (rc)
		return rc;
	if (a->stdin_data && (rc = exec_send_stdin(ctx, &ws, a, pod))) {
		k8sp_ws_close(&ws);
		return rc;
	}
	rc = exec_pump(&ws, &s, deadline);
	k8sp_ws_close(&ws);
	return s.reported ? rc : exec_end(ctx, pod, rc, &s);
}

static int kill_group(struct k8sp_k8s *ctx, const char *pod, const char *pidfile)
{
	struct exec_args k = { .argv = { "sh", "-c", killer_script, "csdk-kill", pidfile }, .argc = 5, .timeout_ms = 15000 };
	int code, sink_rc = 0;

	return exec_ws(ctx, pod, &k, NULL, NULL, &code, &sink_rc);
}

static int build_inner(const char *command, const struct csdk_run_request *req, char **out)
{
	char *s = NULL;
	int rc = 0;

	*out = NULL;
	if (!req || (!req->cwd && !req->n_envs))
		return (*out = strdup(command)) ? 0 : CSDK_ENOMEM;
	if (req->cwd) {
		char *t;
		if ((rc = csdku_shell_append(&s, "cd")) || (rc = csdku_shell_append(&s, req->cwd)))
			goto out;
		if (!(t = realloc(s, strlen(s) + 4))) {
			rc = CSDK_ENOMEM;
			goto out;
		}
		s = strcat(t, " &&");
	}
	if (req->n_envs) {
		if ((rc = csdku_shell_append(&s, "env")))
			goto out;
		for (size_t i = 0; i < req->n_envs; i++) {
			char *kv;
			if (!req->envs[i].key)
				continue;
			if (asprintf(&kv, "%s=%s", req->envs[i].key, req->envs[i].value ? req->envs[i].value : "") < 0) {
				rc = CSDK_ENOMEM;
				goto out;
			}
			rc = csdku_shell_append(&s, kv);
			free(kv);
			if (rc)
				goto out;
		}
	}
	if ((rc = csdku_shell_append(&s, "sh")) || (rc = csdku_shell_append(&s, "-c")) || (rc = csdku_shell_append(&s, command)))
		goto out;
	*out = s;
	return 0;
out:
	free(s);
	return rc ? rc : CSDK_ENOMEM;
}

int k8sp_exec(struct k8sp_k8s *ctx, struct k8sp_sandbox *sb, const char *command,
		   const struct csdk_run_request *req, struct csdk_sink *out, struct csdkc_capture *err_capture,
		   int *exit_code_out)
{
	struct exec_args a = { .argc = 0 };
	char *inner = NULL, pidfile[64], hex[17];
	int rc, sink_rc = 0;

	*exit_code_out = -1;
	if (build_inner(command, req, &inner))
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building a command");
	if (req && req->background) {
		a = (struct exec_args){ .argv = { "sh", "-c", background_script, "csdk-bg", inner }, .argc = 5, .timeout_ms = 30000 };
		rc = exec_ws(ctx, sb->name, &a, NULL, NULL, exit_code_out, &sink_rc);
		free(inner);
		if (rc == CSDK_ETIMEOUT)
			return ctx->host->error(ctx->host, rc, "starting a background command in sandbox %s took over 30 s; check the kubelet", sb->name);
		if (!rc)
			*exit_code_out = 0;
		return rc;
	}
	csdkc_random_hex(hex, 8);
	snprintf(pidfile, sizeof(pidfile), "/tmp/.csdk-exec-%s.pid", hex);
	a = (struct exec_args){ .argv = { "sh", "-c", wrapper_script, "csdk-run", pidfile, inner }, .argc = 6,
				.timeout_ms = req ? req->timeout_ms : 0 };
	rc = exec_ws(ctx, sb->name, &a, out, err_capture, exit_code_out, &sink_rc);
	free(inner);
	if (rc == CSDK_ETIMEOUT || rc == CSDK_ECANCELLED) {
		int krc = kill_group(ctx, sb->name, pidfile);
		if (krc && krc != CSDK_ENOTFOUND)
			return krc;
		if (rc == CSDK_ETIMEOUT) {
			*exit_code_out = 124;
			return 0;
		}
		if (sink_rc == CSDK_ENOMEM)
			return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory capturing a command's output");
		return ctx->host->error(ctx->host, CSDK_ECANCELLED, "command in sandbox %s was cancelled by the caller", sb->name);
	}
	return rc;
}

int k8sp_m_run_command(void *vctx, void *sandbox, const char *command, const struct csdk_run_request *req,
			struct csdk_sink *out, int *exit_code_out)
{
	struct k8sp_k8s *ctx = vctx;

	if (!command)
		return ctx->host->error(ctx->host, CSDK_EINVAL, "no command given; pass a shell command to run");
	return k8sp_exec(ctx, sandbox, command, req, out, NULL, exit_code_out);
}

int k8sp_m_run_code(void *vctx, void *sandbox, const char *code, const struct csdk_run_request *req,
		     struct csdk_sink *out, int *exit_code_out)
{
	struct k8sp_k8s *ctx = vctx;
	struct k8sp_sandbox *sb = sandbox;
	struct csdkc_capture cap = { .max = 256 * 1024 };
	struct csdk_run_request ro = *req;
	char path[80], msg[CSDKC_ERR_MAX], *cmd = NULL, *b64;
	int rc, python;

	*exit_code_out = -1;
	if ((rc = csdkc_code_begin("k8s", req->runtime, code, &python, path, sizeof(path), msg, sizeof(msg))))
		return ctx->host->error(ctx->host, rc, "%s", msg);
	/* v4 has no stdin half-close: the code travels in the command, base64 so any byte is safe */
	if (!(b64 = csdku_b64_encode(code, strlen(code))) ||
	    asprintf(&cmd, "echo '%s' | base64 -d > %s && %s %s; r=$?; rm -f %s; exit $r", b64, path,
		     python ? "python3" : "node", path, path) < 0) {
		free(b64);
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory building the run_code command");
	}
	free(b64);
	ro.runtime = NULL;
	rc = k8sp_exec(ctx, sb, cmd, &ro, out, ro.background ? NULL : &cap, exit_code_out);
	free(cmd);
	if (!rc && !ro.background &&
	    (rc = csdkc_code_classify(req->runtime, *exit_code_out, &cap, path, sb->name, "image", msg, sizeof(msg))))
		rc = ctx->host->error(ctx->host, rc, "%s", msg);
	free(cap.data);
	return rc;
}

int k8sp_exec_argv(struct k8sp_k8s *ctx, const char *pod, const char *const *argv, int argc, const void *in,
			size_t in_len, int64_t timeout_ms, struct csdk_sink *out, int *exit_code_out)
{
	struct exec_args a = { .argc = argc > 6 ? 6 : argc, .stdin_data = in, .stdin_len = in_len, .timeout_ms = timeout_ms };
	int sink_rc = 0;

	for (int i = 0; i < a.argc; i++)
		a.argv[i] = argv[i];
	return exec_ws(ctx, pod, &a, out, NULL, exit_code_out, &sink_rc);
}
