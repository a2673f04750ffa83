#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

static int engine_unreachable(struct dockerp_docker *ctx, const char *reason)
{
	return ctx->host->error(ctx->host, CSDK_EIO,
				"cannot connect to the Docker engine at %s: %s; start dockerd (or 'podman system service') there, "
				"or point DOCKER_HOST (config key host) at a running engine",
				ctx->ep.display, reason);
}

static int not_an_engine(struct dockerp_docker *ctx, const char *what)
{
	return ctx->host->error(ctx->host, CSDK_EBACKEND,
				"the service at %s is not a Docker engine (%s); point DOCKER_HOST (config key host) at a Docker or Podman API socket",
				ctx->ep.display, what);
}

/* One /_ping per context: an endpoint that answers something else is not
 * an engine, and every later error would only be confusing. */
static int check_engine(struct dockerp_docker *ctx)
{
	struct dockerp_http_request req = { .method = "GET", .path = "/_ping", .capture_header = "Libpod-Api-Version", .timeout_ms = 15000 };
	struct dockerp_http_response resp;
	char err[512] = "";
	int rc, checked;

	pthread_mutex_lock(&ctx->lock);
	checked = ctx->checked;
	pthread_mutex_unlock(&ctx->lock);
	if (checked)
		return 0;
	rc = dockerp_http_do(&ctx->ep, &req, &resp, err, sizeof(err));
	if (rc == CSDK_EIO)
		return engine_unreachable(ctx, err);
	if (rc == CSDK_ETIMEOUT)
		return not_an_engine(ctx, "no answer to GET /_ping within 15 s");
	if (rc == CSDK_ENOMEM)
		return ctx->host->error(ctx->host, rc, "out of memory talking to %s", ctx->ep.display);
	if (rc)
		return not_an_engine(ctx, "its answer to GET /_ping is not HTTP");
	if (resp.status != 200 || resp.len < 2 || strncmp(resp.body, "OK", 2)) {
		char what[128];
		snprintf(what, sizeof(what), "GET /_ping answered HTTP %ld without OK", resp.status);
		dockerp_http_response_free(&resp);
		return not_an_engine(ctx, what);
	}
	pthread_mutex_lock(&ctx->lock);
	ctx->podman = resp.header != NULL;
	ctx->checked = 1;
	pthread_mutex_unlock(&ctx->lock);
	dockerp_http_response_free(&resp);
	return 0;
}

int dockerp_is_podman(struct dockerp_docker *ctx)
{
	int rc, podman;

	if ((rc = check_engine(ctx)))
		return rc;
	pthread_mutex_lock(&ctx->lock);
	podman = ctx->podman;
	pthread_mutex_unlock(&ctx->lock);
	return podman;
}

int dockerp_name_taken(long status, json_t *answer)
{
	const char *cause = json_string_value(json_object_get(answer, "cause"));

	return status == 409 || (status == 500 && cause && !strcmp(cause, "that name is already in use"));
}

int dockerp_raw(struct dockerp_docker *ctx, struct dockerp_http_request *req, struct dockerp_http_response *resp)
{
	struct dockerp_http_request r = *req;
	char err[512] = "", *path;
	int rc;

	memset(resp, 0, sizeof(*resp));
	if ((rc = check_engine(ctx)))
		return rc;
	if (asprintf(&path, DOCKERP_API "%s", req->path) < 0)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory calling the Docker engine");
	r.path = path;
	rc = dockerp_http_do(&ctx->ep, &r, resp, err, sizeof(err));
	free(path);
	switch (rc) {
	case 0:
	case CSDK_ECANCELLED:
	case CSDK_ETIMEOUT:
		return rc;
	case CSDK_EIO:
		return engine_unreachable(ctx, err);
	case CSDK_ENOMEM:
		return ctx->host->error(ctx->host, rc, "out of memory calling the Docker engine at %s", ctx->ep.display);
	default:
		return ctx->host->error(ctx->host, rc, "Docker engine at %s: %s; check that the endpoint is a Docker or Podman API socket",
					ctx->ep.display, err);
	}
}

int dockerp_call(struct dockerp_docker *ctx, const char *method, const char *path, json_t *body,
		      long *status_out, json_t **json_out)
{
	struct dockerp_http_request req = { .method = method, .path = path, .timeout_ms = 120000 };
	struct dockerp_http_response resp;
	char *text = NULL;
	int rc;

	if (json_out)
		*json_out = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory encoding a Docker engine request");
		req.content_type = "application/json";
		req.body = text;
		req.body_len = strlen(text);
	}
	rc = dockerp_raw(ctx, &req, &resp);
	free(text);
	if (rc == CSDK_ETIMEOUT)
		return ctx->host->error(ctx->host, rc, "Docker engine at %s: %s %s got no answer within %lld s; check the engine's log",
					ctx->ep.display, method, path, (long long)(req.timeout_ms / 1000));
	if (rc)
		return rc;
	*status_out = resp.status;
	if (json_out && resp.len) {
		json_error_t jerr;
		*json_out = json_loadb(resp.body, resp.len, 0, &jerr);
		if (!*json_out && resp.status < 400) {
			dockerp_http_response_free(&resp);
			return ctx->host->error(ctx->host, CSDK_EBACKEND,
						"Docker engine at %s: %s %s answered HTTP %ld with a body that is not JSON (%s); check that the endpoint is a Docker or Podman API socket",
						ctx->ep.display, method, path, *status_out, jerr.text);
		}
		if (!*json_out) {
			/* an error answer that is not JSON: keep its text as the message */
			size_t n = resp.len;
			while (n && (resp.body[n - 1] == '\n' || resp.body[n - 1] == '\r'))
				n--;
			*json_out = json_pack("{s:s%}", "message", resp.body, n);
		}
	}
	dockerp_http_response_free(&resp);
	return 0;
}

const char *dockerp_message(json_t *answer)
{
	const char *m = json_string_value(json_object_get(answer, "message"));
	return m ? m : "(no message)";
}

int dockerp_engine_error(struct dockerp_docker *ctx, int code, const char *what, long status, json_t *answer)
{
	return ctx->host->error(ctx->host, code, "Docker engine at %s: %s failed (HTTP %ld): %s", ctx->ep.display, what,
				status, dockerp_message(answer));
}
