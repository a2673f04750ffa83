/* Request messages decoded from protobuf JSON, with no I/O. */
#ifndef AGENT_REQUEST_H
#define AGENT_REQUEST_H

#include <jansson.h>
#include <stdint.h>

#include "agent.h"

struct agent_selector {
	int by_tag;
	uint32_t pid;
	char *tag;
};

struct agent_start_req {
	char *cmd;
	char **argv;   /* cmd, args..., NULL */
	size_t nargs;
	char **envs;   /* "K=V", NULL-terminated */
	size_t nenvs;
	char *cwd;
	char *tag;
	int want_stdin;
	int pty;
	json_t *config; /* ProcessConfig echoed by List */
};

/* Each returns 0, or -1 with err set (invalid_argument). */
json_t *agent_parse_object(const char *buf, size_t len, struct agent_err *err);
int agent_parse_start(json_t *msg, struct agent_start_req *out, struct agent_err *err);
void agent_start_req_free(struct agent_start_req *r);
int agent_parse_selector(json_t *msg, struct agent_selector *out, struct agent_err *err);
void agent_selector_free(struct agent_selector *s);
int agent_parse_signal(json_t *msg, int *signo, struct agent_err *err);
int agent_parse_input(json_t *msg, unsigned char **data, size_t *len, struct agent_err *err);
int agent_parse_string(json_t *msg, const char *key, char **out, struct agent_err *err);
int agent_parse_uint32(json_t *msg, const char *key, uint32_t *out, struct agent_err *err);
int agent_parse_bool(json_t *msg, const char *key, int *out, struct agent_err *err);

/* Absolute, cleaned path: relative to base, "~" is home. NULL when too long. */
char *agent_path_resolve(const char *path, const char *base, const char *home);

#endif
