/* csdk-agent: shared declarations. */
#ifndef AGENT_H
#define AGENT_H

#include <stddef.h>
#include <stdint.h>

/* A Connect error: code is one of the Connect code strings. */
struct agent_err {
	const char *code;
	char msg[512];
};

void agent_err_set(struct agent_err *err, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct agent_config {
	const char *listen;
	const char *workdir;
	size_t max_body;        /* RPC request bodies */
	size_t max_upload;      /* POST /files bodies */
	size_t max_buffer;      /* output kept per process or per stream */
	unsigned max_conns;
	unsigned max_procs;
	unsigned idle_timeout;  /* seconds */
	const char *deadline_file; /* epoch seconds of the end of the sandbox's life */
	int verbose;
};

extern struct agent_config agent_cfg;

long long agent_now_ms(void);

/* The variables of the last POST /init, "K=V", NULL-terminated (or NULL):
 * every later process gets them after the agent's own, before the request's. */
const char *const *agent_init_envs(void);

#endif
