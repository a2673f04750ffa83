/* The e2b provider: E2B's REST API for the collection, envd for the rest (docs/e2b-provider.md). */
#ifndef CSDK_E2B_H
#define CSDK_E2B_H

#include <stdint.h>

#include <jansson.h>

#include <csdk/plugin.h>

#define E2B_ENVD_PORT 49983

struct e2b {
	const struct csdk_host *host;
	char *api_key;             /* secret */
	char *api_url;             /* without a trailing '/' */
	char *domain;
	char *sandbox_url;         /* NULL: https://49983-ID.DOMAIN */
};

/** A sandbox handle: its id, and its envd token and domain once known. */
struct e2b_sandbox {
	char *id;
	char *token;               /* secret */
	char *domain;
};

/** An answer of the API. */
struct e2b_reply {
	long status;
	json_t *body;              /* parsed JSON, or NULL */
	char *next_token;          /* X-Next-Token */
};

/**
 * METHOD api_url + path with body (NULL for none). 0 with reply filled for
 * any HTTP status (the caller judges it), or an error after host->error
 * when E2B could not be reached.
 */
int e2b_call(struct e2b *ctx, const char *method, const char *path, json_t *body, struct e2b_reply *reply);
void e2b_reply_clear(struct e2b_reply *reply);
/** The error for an unexpected status, after host->error: what, the API's message, how to fix. */
int e2b_fail(struct e2b *ctx, const struct e2b_reply *reply, const char *what);
/** "2024-01-01T00:00:00.123Z" (or with an offset) as ms since the epoch; 0 when malformed. */
int64_t e2b_parse_time(const char *s);

#endif
