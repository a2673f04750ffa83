/*
 * csdk serve: E2B's control plane and envd routing over csdk providers in
 * gateway mode (docs/serve.md). Internal to the csdk command.
 */
#ifndef CSDK_SERVE_H
#define CSDK_SERVE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <csdk/csdk.h>

#define SERVE_ENVD_PORT 49983
#define SERVE_ENVD_VERSION "0.5.7"
#define SERVE_DEFAULT_TIMEOUT_S 300
#define SERVE_MAX_ID 160
#define SERVE_TOKEN_HEX 64

struct serve_tenant {
	char *name;
	char *key;                 /* secret */
};

/** What the command line and the [serve] section set. */
struct serve_options {
	const char *listen;        /* ADDR:PORT */
	const char *domain;        /* answered as the sandboxes' domain, or NULL */
	const char *state_dir;
	int json_logs;
	int64_t max_timeout_s;
	int64_t default_timeout_s;
	size_t max_body;           /* control-plane bodies */
	int grace_s;
	int idle_timeout_s;
	struct serve_tenant *tenants;
	size_t n_tenants;
	char *templates;           /* "name=image, ..." */
};

/** A sandbox serve created or adopted: what E2B clients see of it. */
struct serve_record {
	char *id;                  /* as clients see it: PROVIDER:ID with several providers */
	char *provider;
	char *bare;                /* the provider's id */
	char *tenant;
	char *template_id;
	char token[SERVE_TOKEN_HEX + 1]; /* the envd access token clients use; secret */
	int64_t started_ms;
	int64_t end_ms;
	json_t *metadata;          /* object of strings */
	csdk_agent_endpoint *endpoint; /* cached, not persisted */
	int refs;
	int gone;
};

/** Records, persisted in STATE_DIR/sandboxes.json. */
struct serve_store {
	pthread_mutex_t lock;
	char *path;
	struct serve_record **recs;
	size_t n;
};

struct serve {
	struct serve_options opt;
	csdk_compute *compute;
	int qualify;               /* several providers: ids are PROVIDER:ID */
	struct serve_store store;
	atomic_int stopping;       /* no new requests */
	atomic_int aborting;       /* grace period over: end streams */
	pthread_mutex_t active_lock;
	pthread_cond_t active_cond;
	int active;                /* requests in progress */
};

/* ---------------------------------------------------------- parse.c (no I/O) */

/** Non-zero when id is a valid sandbox id as clients give it ([PROVIDER:]ID). */
int serve_valid_id(const char *id);
/** Percent-decode a path segment of len bytes; NULL when malformed or holding a NUL or '/'. Caller frees. */
char *serve_decode_segment(const char *s, size_t len);
/**
 * Split a raw request target ("/a/b%2Fc?x=1") into at most max decoded
 * segments (caller frees each); returns their number, or -1 for a
 * malformed path or too many segments.
 */
int serve_split_path(char **segs, int max, const char *target);
/** The envd routing of a Host header "PORT-ID.DOMAIN": 0 with *port and id filled, -1 when it is not that form. */
int serve_parse_host(const char *host, int *port, char *id, size_t id_size);

/** A POST /v2/sandboxes body, checked. */
struct serve_create_req {
	const char *template_id;   /* borrowed from root */
	int64_t timeout_s;
	json_t *metadata;          /* borrowed */
	json_t *env_vars;          /* borrowed */
	json_t *root;
};
/**
 * Parse and check a create body of len bytes. On failure returns -1 with a
 * one-line reason in err; otherwise 0 (free with serve_create_req_clear).
 */
int serve_parse_create(struct serve_create_req *out, const char *body, size_t len, int64_t default_s, int64_t max_s,
		       char *err, size_t err_size);
void serve_create_req_clear(struct serve_create_req *req);
/** {"timeout": N} bodies (timeout, connect); absent is default_s when allowed (default_s > 0). */
int serve_parse_timeout(int64_t *out, const char *body, size_t len, int64_t default_s, int64_t max_s, char *err, size_t err_size);
/**
 * The metadata filter of GET /v2/sandboxes ("k=v&k2=v2", each part
 * percent-encoded) as a JSON object; NULL and a reason when malformed.
 */
json_t *serve_parse_metadata_query(const char *q, char *err, size_t err_size);
/** Non-zero when metadata (object) holds every pair of filter. */
int serve_metadata_matches(json_t *metadata, json_t *filter);
/** The value of name in the query string of target, percent-decoded (caller frees), or NULL. */
char *serve_query_param(const char *target, const char *name);

/* ------------------------------------------------------------------ auth.c */

/** The tenant whose key equals key (constant time over all keys), or NULL. */
const struct serve_tenant *serve_auth_key(const struct serve_options *opt, const char *key);
/** Non-zero when a and b are equal; time depends on the lengths only. */
int serve_secret_equal(const char *a, const char *b);
/** A new random token of SERVE_TOKEN_HEX hex digits into out. Returns 0 or -1. */
int serve_random_token(char out[SERVE_TOKEN_HEX + 1]);

/* ----------------------------------------------------------------- store.c */

int serve_store_open(struct serve_store *st, const char *dir, char *err, size_t err_size);
void serve_store_close(struct serve_store *st);
/** Add (takes rec) and persist. */
int serve_store_add(struct serve_store *st, struct serve_record *rec);
/** The record of id with a reference (serve_record_put), or NULL. */
struct serve_record *serve_store_get(struct serve_store *st, const char *id);
void serve_record_put(struct serve_store *st, struct serve_record *rec);
/** Remove id (marks it gone) and persist. */
void serve_store_remove(struct serve_store *st, const char *id);
/** Set the end of id's lifetime and persist. */
int serve_store_set_end(struct serve_store *st, const char *id, int64_t end_ms);
/** The end of rec's lifetime (0: none), read under the store's lock. */
int64_t serve_record_end(struct serve_store *st, const struct serve_record *rec);
/** Non-zero when rec's lifetime is over. */
int serve_record_expired(struct serve_store *st, const struct serve_record *rec);
/** Ids whose lifetime ended before now_ms (caller frees each and the array). */
size_t serve_store_expired(struct serve_store *st, int64_t now_ms, char ***out);
struct serve_record *serve_record_new(void);
void serve_record_free(struct serve_record *rec);
int64_t serve_now_ms(void);

/* ------------------------------------------------------------------- api.c */

struct serve_conn;

/** A control-plane request, body complete: fills status and body of the answer. */
struct serve_answer {
	int status;
	char *body;                /* JSON text or NULL */
	char *next_token;          /* X-Next-Token */
	char *sandbox;             /* for the log */
	const char *tenant;
};
void serve_api(struct serve *srv, struct serve_answer *ans, const char *method, const char *target,
	       const char *api_key, const char *body, size_t len);
/** Set an E2B error answer {code, message}. */
void serve_api_error(struct serve_answer *ans, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** Destroy expired sandboxes; run by the reaper thread. */
void serve_reap(struct serve *srv);
/** A handle on the record's sandbox, NULL when it is gone (CSDK error set). */
int serve_record_sandbox(struct serve *srv, const struct serve_record *rec, csdk_sandbox **out);
/** The cached agent endpoint of rec (borrowed while the record is held), fetched on first use. */
int serve_record_endpoint(struct serve *srv, struct serve_record *rec, const csdk_agent_endpoint **out, char *err, size_t err_size);

/* ---------------------------------------------------------------- server.c */

/** 0 when listen is ADDRESS:PORT that resolves. */
int serve_check_listen(const char *listen);
/** Run the server until SIGTERM or SIGINT. Returns the exit status. */
int serve_run(struct serve *srv);
/** One log line per request. */
void serve_log_request(struct serve *srv, const char *method, const char *path, int status, int64_t duration_ms,
		       const char *sandbox, const char *tenant);
void serve_log(struct serve *srv, const char *level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
