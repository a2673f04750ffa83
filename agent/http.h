/* The HTTP server: routing, bodies, limits, replies. */
#ifndef AGENT_HTTP_H
#define AGENT_HTTP_H

#include <jansson.h>
#include <microhttpd.h>

#include "agent.h"

struct MHD_Daemon *agent_http_start(int listen_fd);

/* Each consumes body (may be NULL). */
enum MHD_Result agent_reply_json(struct MHD_Connection *c, unsigned status, json_t *body);
enum MHD_Result agent_reply_connect_error(struct MHD_Connection *c, const struct agent_err *err);
/* The envd REST error shape {"code":N,"message":"..."}. */
enum MHD_Result agent_reply_rest_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A complete stream that carries only its end frame (err NULL: success). */
struct MHD_Response *agent_stream_end_response(const struct agent_err *err);
/* One framed message appended to *buf; the end frame when end is set. */
int agent_frame_append(unsigned char **buf, size_t *len, unsigned flags, const char *json, size_t n);
char *agent_end_frame_json(const struct agent_err *err);

/* Services. */
typedef json_t *(*agent_unary_fn)(json_t *msg, struct agent_err *err);
typedef struct MHD_Response *(*agent_stream_fn)(struct MHD_Connection *c, json_t *msg);

json_t *agent_svc_list(json_t *msg, struct agent_err *err);
json_t *agent_svc_send_input(json_t *msg, struct agent_err *err);
json_t *agent_svc_send_signal(json_t *msg, struct agent_err *err);
json_t *agent_svc_close_stdin(json_t *msg, struct agent_err *err);
json_t *agent_svc_update(json_t *msg, struct agent_err *err);
struct MHD_Response *agent_svc_start(struct MHD_Connection *c, json_t *msg);
struct MHD_Response *agent_svc_connect(struct MHD_Connection *c, json_t *msg);

json_t *agent_fs_stat(json_t *msg, struct agent_err *err);
json_t *agent_fs_list_dir(json_t *msg, struct agent_err *err);
json_t *agent_fs_make_dir(json_t *msg, struct agent_err *err);
json_t *agent_fs_move(json_t *msg, struct agent_err *err);
json_t *agent_fs_remove(json_t *msg, struct agent_err *err);
char *agent_fs_resolve(const char *path);
json_t *agent_entry_info(const char *path, struct agent_err *err);
int agent_fs_mkdirs(const char *path, struct agent_err *err);

/* GET and POST /files. *state lives from the first call to agent_files_done. */
enum MHD_Result agent_files_handle(struct MHD_Connection *c, const char *method, void **state,
				   const char *upload, size_t *upload_size);
void agent_files_done(void *state);

int agent_auth_load(const char *file);
int agent_auth_ok(struct MHD_Connection *c);
int agent_auth_enabled(void);
/* POST /init: a new access token (non-empty). */
int agent_auth_set(const char *token);

/* POST /init {accessToken?, envVars?}: init.c. */
enum MHD_Result agent_init_handle(struct MHD_Connection *c, const char *body, size_t len);

extern _Atomic int agent_stopping;

#endif
