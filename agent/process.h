/* Processes started for clients: table, spawning, output fan-out, reaping. */
#ifndef AGENT_PROCESS_H
#define AGENT_PROCESS_H

#include <jansson.h>
#include <stddef.h>

#include "agent.h"
#include "request.h"

/* One encoded ProcessEvent message, shared by the streams that carry it. */
struct agent_msg {
	int refs;
	int droppable;
	size_t len;
	char data[];
};

struct agent_sub;

int agent_proc_start(struct agent_start_req *req, long long timeout_ms,
		     struct agent_sub **sub, struct agent_err *err);
int agent_proc_connect(const struct agent_selector *sel, struct agent_sub **sub,
		       struct agent_err *err);
/* 1: *m is the next message; 0: nothing within wait_ms; -1: the stream is over. */
int agent_sub_next(struct agent_sub *s, long long wait_ms, struct agent_msg **m);
/* Output read from the process's pipes by the caller itself, as whole frames
 * into out (*used bytes, at most max), waiting up to wait_ms for some; only
 * while s is its process's single stream and the reader thread lent it the
 * pipes (asked for here). 0, or -1 when s does not hold them: agent_sub_next
 * then has the output. Not thread-safe per stream. */
int agent_sub_read_direct(struct agent_sub *s, char *out, size_t max, long long wait_ms, size_t *used);
void agent_sub_close(struct agent_sub *s);
void agent_msg_release(struct agent_msg *m);

json_t *agent_proc_list(void);
int agent_proc_signal(const struct agent_selector *sel, int signo, struct agent_err *err);
int agent_proc_input(const struct agent_selector *sel, const unsigned char *data, size_t len,
		     struct agent_err *err);
int agent_proc_close_stdin(const struct agent_selector *sel, struct agent_err *err);
int agent_proc_lookup(const struct agent_selector *sel, struct agent_err *err);

/* Reaps every child that has exited; called on SIGCHLD. */
void agent_proc_reap(void);
/* SIGTERM to every process started, then SIGKILL after grace_ms. */
void agent_proc_terminate_all(int pid1, long long grace_ms);
const char *agent_signal_name(int sig);

#endif
