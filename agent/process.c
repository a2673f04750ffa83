#include "config.h"

#include "process.h"

#include "base64.h"
#include "connect.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#define AGENT_CHUNK 32768
/* A pipe a stream reads a chunk at a time from is enlarged to this, while
 * few are: the kernel counts a pipe's size against its user, and past
 * fs.pipe-user-pages-soft (64 MiB) every new pipe of that user is small. */
#define AGENT_BIG_PIPE (1 << 20)
#define AGENT_BIG_PIPES 4
#define AGENT_RETAIN_MS 30000
#define AGENT_STDIN_WAIT_MS 30000

extern char **environ;

struct agent_qnode {
	struct agent_qnode *next;
	struct agent_msg *m;
};

struct agent_queue {
	struct agent_qnode *head, *tail;
	size_t bytes;
};

struct agent_proc {
	struct agent_proc *next;
	int refs;
	pid_t pid;
	char *tag;
	json_t *config;
	int stdin_fd;
	pthread_mutex_t in_lock;
	int out_fd, err_fd;
	long long deadline;
	int exited, status, finished, in_table;
	long long gone_at;
	struct agent_msg *start_msg, *end_msg;
	struct agent_queue pending;
	struct agent_sub *subs;
	/* The stream reading out_fd and err_fd itself while the reader thread waits on reader_cv. */
	struct agent_sub *direct;
	pthread_cond_t reader_cv;
	int big_out, big_err;  /* the pipe was enlarged (one of agent_big_pipes) */
};

struct agent_sub {
	struct agent_sub *next;
	struct agent_proc *p;
	struct agent_queue q;
	int eof, want_direct;
	unsigned char *buf;
	pthread_cond_t cv;
};

static pthread_mutex_t agent_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t agent_exit_cv = PTHREAD_COND_INITIALIZER;
/* Signalled when an attached stream takes output: readers wait on it while a stream is full. */
static pthread_cond_t agent_room_cv = PTHREAD_COND_INITIALIZER;
static struct agent_proc *agent_procs;
static unsigned agent_nprocs;
static int agent_big_pipes;

static struct agent_msg *agent_msg_new(const char *data, size_t len, int droppable)
{
	struct agent_msg *m = malloc(sizeof *m + len + 1);

	if (!m)
		return NULL;
	m->refs = 1;
	m->droppable = droppable;
	m->len = len;
	memcpy(m->data, data, len);
	m->data[len] = '\0';
	return m;
}

/* Called with agent_lock held or on a message no one else holds. */
static void agent_msg_unref(struct agent_msg *m)
{
	if (m && --m->refs == 0)
		free(m);
}

void agent_msg_release(struct agent_msg *m)
{
	pthread_mutex_lock(&agent_lock);
	agent_msg_unref(m);
	pthread_mutex_unlock(&agent_lock);
}

static void agent_queue_unlink(struct agent_queue *q, struct agent_qnode *prev, struct agent_qnode *n)
{
	if (prev)
		prev->next = n->next;
	else
		q->head = n->next;
	if (q->tail == n)
		q->tail = prev;
	q->bytes -= n->m->len;
	agent_msg_unref(n->m);
	free(n);
}

static void agent_queue_drop_head(struct agent_queue *q)
{
	agent_queue_unlink(q, NULL, q->head);
}

static int agent_queue_drop_oldest_output(struct agent_queue *q)
{
	struct agent_qnode *prev = NULL;

	for (struct agent_qnode *n = q->head; n; prev = n, n = n->next)
		if (n->m->droppable) {
			agent_queue_unlink(q, prev, n);
			return 1;
		}
	return 0;
}

/* Bounded: the oldest output goes first when full, and the newest chunk always
 * stays, so a queue holds at most max_buffer plus one chunk (and start/end). */
static void agent_queue_append(struct agent_queue *q, struct agent_msg *m, int bounded)
{
	struct agent_qnode *n;

	while (bounded && m->droppable && q->bytes + m->len > agent_cfg.max_buffer &&
	       agent_queue_drop_oldest_output(q))
		;
	n = malloc(sizeof *n);
	if (!n)
		return;
	n->next = NULL;
	n->m = m;
	m->refs++;
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	q->bytes += m->len;
}

static void agent_queue_push(struct agent_queue *q, struct agent_msg *m)
{
	agent_queue_append(q, m, 1);
}

static void agent_queue_clear(struct agent_queue *q)
{
	while (q->head)
		agent_queue_drop_head(q);
}

static void agent_proc_unref(struct agent_proc *p)
{
	if (--p->refs > 0)
		return;
	agent_queue_clear(&p->pending);
	agent_msg_unref(p->start_msg);
	agent_msg_unref(p->end_msg);
	if (p->stdin_fd >= 0)
		close(p->stdin_fd);
	pthread_mutex_destroy(&p->in_lock);
	pthread_cond_destroy(&p->reader_cv);
	json_decref(p->config);
	free(p->tag);
	free(p);
}

static void agent_table_remove(struct agent_proc *p)
{
	struct agent_proc **pp;

	for (pp = &agent_procs; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			p->in_table = 0;
			agent_nprocs--;
			agent_proc_unref(p);
			return;
		}
}

static void agent_table_gc(void)
{
	long long now = agent_now_ms();
	struct agent_proc *p = agent_procs, *next;

	for (; p; p = next) {
		next = p->next;
		if (p->finished && now - p->gone_at > AGENT_RETAIN_MS)
			agent_table_remove(p);
	}
}

static void agent_publish(struct agent_proc *p, struct agent_msg *m)
{
	if (!p->subs) {
		agent_queue_push(&p->pending, m);
		return;
	}
	/* An attached stream is not trimmed: the reader waits for it instead (agent_reader_wait_for_room). */
	for (struct agent_sub *s = p->subs; s; s = s->next) {
		agent_queue_append(&s->q, m, 0);
		pthread_cond_signal(&s->cv);
	}
}

static const char agent_data_head[] = "{\"event\":{\"data\":{\"", agent_data_mid[] = "\":\"",
		  agent_data_tail[] = "\"}}}";

/* The DataEvent's JSON for n bytes of output on stream, without the base64. */
static size_t agent_data_overhead(const char *stream)
{
	return sizeof agent_data_head - 1 + strlen(stream) + sizeof agent_data_mid - 1 + sizeof agent_data_tail - 1;
}

/* The DataEvent's JSON written straight where it is sent from: output is most of
 * what the agent sends. Returns its length (no NUL). */
static size_t agent_data_json(char *out, const char *stream, const unsigned char *buf, size_t n)
{
	size_t name = strlen(stream);
	char *o = out;

	memcpy(o, agent_data_head, sizeof agent_data_head - 1);
	o += sizeof agent_data_head - 1;
	memcpy(o, stream, name);
	o += name;
	memcpy(o, agent_data_mid, sizeof agent_data_mid - 1);
	o += sizeof agent_data_mid - 1;
	o += csdku_b64_encode_to(o, buf, n);
	memcpy(o, agent_data_tail, sizeof agent_data_tail - 1);
	return (size_t)(o - out) + sizeof agent_data_tail - 1;
}

static struct agent_msg *agent_data_msg(const char *stream, const unsigned char *buf, size_t n)
{
	size_t len = agent_data_overhead(stream) + CSDKU_B64_LEN(n);
	struct agent_msg *m = malloc(sizeof *m + len + 1);

	if (!m)
		return NULL;
	m->refs = 1;
	m->droppable = 1;
	m->len = agent_data_json(m->data, stream, buf, n);
	m->data[len] = '\0';
	return m;
}

/* Locked: a stream that held the pipes publishes what it read as the reader does. */
static void agent_publish_data_locked(struct agent_proc *p, const char *stream, const unsigned char *buf,
				      size_t n)
{
	struct agent_msg *m = agent_data_msg(stream, buf, n);

	if (!m)
		return;
	agent_publish(p, m);
	agent_msg_unref(m);
}

static void agent_publish_data(struct agent_proc *p, const char *stream, const unsigned char *buf,
			       size_t n)
{
	struct agent_msg *m = agent_data_msg(stream, buf, n);

	if (!m)
		return;
	pthread_mutex_lock(&agent_lock);
	agent_publish(p, m);
	agent_msg_unref(m);
	pthread_mutex_unlock(&agent_lock);
}

static const char *const agent_signames[] = {
	NULL, "hangup", "interrupt", "quit", "illegal instruction", "trace/breakpoint trap",
	"aborted", "bus error", "floating point exception", "killed", "user defined signal 1",
	"segmentation fault", "user defined signal 2", "broken pipe", "alarm clock",
	"terminated", "stack fault", "child exited", "continued", "stopped (signal)",
	"stopped", "stopped (tty input)", "stopped (tty output)", "urgent I/O condition",
	"CPU time limit exceeded", "file size limit exceeded", "virtual timer expired",
	"profiling timer expired", "window changed", "I/O possible", "power failure",
	"bad system call",
};

const char *agent_signal_name(int sig)
{
	if (sig > 0 && (size_t)sig < sizeof agent_signames / sizeof agent_signames[0])
		return agent_signames[sig];
	return NULL;
}

/* The EndEvent as Go's os.ProcessState reports it (envd's handler.Wait). */
static struct agent_msg *agent_end_msg(int status)
{
	json_t *end = json_object(), *root;
	char text[96];
	struct agent_msg *m = NULL;
	char *s;

	if (WIFEXITED(status)) {
		snprintf(text, sizeof text, "exit status %d", WEXITSTATUS(status));
		if (WEXITSTATUS(status))
			json_object_set_new(end, "exitCode", json_integer(WEXITSTATUS(status)));
		json_object_set_new(end, "exited", json_true());
	} else {
		const char *name = agent_signal_name(WTERMSIG(status));
		char num[32];
		snprintf(num, sizeof num, "signal %d", WTERMSIG(status));
		snprintf(text, sizeof text, "signal: %s%s", name ? name : num,
			 WCOREDUMP(status) ? " (core dumped)" : "");
		json_object_set_new(end, "exitCode", json_integer(-1));
	}
	json_object_set_new(end, "status", json_string(text));
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		json_object_set_new(end, "error", json_string(text));
	root = json_pack("{s:{s:o}}", "event", "end", end);
	s = root ? json_dumps(root, JSON_COMPACT) : NULL;
	if (s)
		m = agent_msg_new(s, strlen(s), 0);
	free(s);
	json_decref(root);
	return m;
}

static void agent_proc_finish(struct agent_proc *p)
{
	pthread_mutex_lock(&agent_lock);
	while (!p->exited)
		pthread_cond_wait(&agent_exit_cv, &agent_lock);
	p->end_msg = agent_end_msg(p->status);
	if (p->end_msg)
		agent_publish(p, p->end_msg);
	for (struct agent_sub *s = p->subs; s; s = s->next) {
		s->eof = 1;
		pthread_cond_signal(&s->cv);
	}
	p->finished = 1;
	p->gone_at = agent_now_ms();
	agent_proc_unref(p);
	pthread_mutex_unlock(&agent_lock);
}

static void agent_reader_kill_if_due(struct agent_proc *p, int *killed)
{
	if (*killed || !p->deadline || agent_now_ms() < p->deadline)
		return;
	kill(-p->pid, SIGKILL);
	kill(p->pid, SIGKILL);
	*killed = 1;
}

static int agent_reader_poll_ms(struct agent_proc *p, int exited, int killed)
{
	long long left;

	if (exited)
		return 200;
	if (!p->deadline || killed)
		return 500;
	left = p->deadline - agent_now_ms();
	return left < 0 ? 0 : left > 500 ? 500 : (int)left;
}

static int *agent_pipe_big(struct agent_proc *p, const int *fdp)
{
	return fdp == &p->out_fd ? &p->big_out : &p->big_err;
}

/* Closes one of the pipes: *fdp is p->out_fd or p->err_fd, read by others under agent_lock. */
static void agent_pipe_close(struct agent_proc *p, int *fdp)
{
	int fd = *fdp, *big = agent_pipe_big(p, fdp);

	pthread_mutex_lock(&agent_lock);
	*fdp = -1;
	agent_big_pipes -= *big;
	*big = 0;
	pthread_mutex_unlock(&agent_lock);
	close(fd);
}

/* A stream that read a whole chunk: a bigger pipe lets the command run on while the chunk is sent. */
static void agent_pipe_grow(struct agent_proc *p, int *fdp)
{
	int *big = agent_pipe_big(p, fdp), grow;

	pthread_mutex_lock(&agent_lock);
	grow = !*big && agent_big_pipes < AGENT_BIG_PIPES;
	if (grow) {
		*big = 1;
		agent_big_pipes++;
	}
	pthread_mutex_unlock(&agent_lock);
	if (grow && fcntl(*fdp, F_SETPIPE_SZ, AGENT_BIG_PIPE) < 0) {
		pthread_mutex_lock(&agent_lock);
		*big = 0;
		agent_big_pipes--;
		pthread_mutex_unlock(&agent_lock);
	}
}

static void agent_reader_read(struct agent_proc *p, struct pollfd *pfd, int *fdp, const char *name,
			      unsigned char *buf)
{
	ssize_t n;

	if (pfd->fd < 0 || !(pfd->revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = read(pfd->fd, buf, AGENT_CHUNK);
	if (n > 0) {
		agent_publish_data(p, name, buf, (size_t)n);
		return;
	}
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	agent_pipe_close(p, fdp);
	pfd->fd = -1;
}

/* Whether an attached stream holds a full buffer (caller holds agent_lock). */
static int agent_subs_full(const struct agent_proc *p)
{
	for (const struct agent_sub *s = p->subs; s; s = s->next)
		if (s->q.bytes >= agent_cfg.max_buffer)
			return 1;
	return 0;
}

/* While a client is attached its output is not dropped: the reader stops
 * reading, so the process blocks on its pipe as it would on a slow terminal.
 * A client that stops reading for good is cut by the idle timeout, and then
 * output is kept, bounded, for the next Connect. */
/* The CLOCK_REALTIME time wait_ms from now, for pthread_cond_timedwait. */
static void deadline_in(struct timespec *ts, long long wait_ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += wait_ms / 1000;
	ts->tv_nsec += (wait_ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static void agent_reader_wait_for_room(struct agent_proc *p, long long wait_ms)
{
	struct timespec ts;

	pthread_mutex_lock(&agent_lock);
	if (agent_subs_full(p)) {
		deadline_in(&ts, wait_ms);
		pthread_cond_timedwait(&agent_room_cv, &agent_lock, &ts);
	}
	pthread_mutex_unlock(&agent_lock);
}

/* Locked. A stream alone on its process may read the pipes itself: the
 * output then goes from the pipe into the response with one thread and one
 * copy fewer. While another stream is attached, or after the exit, the reader
 * reads them, queueing for every stream. */
static int agent_direct_ok(const struct agent_proc *p, const struct agent_sub *s)
{
	return p->subs == s && !s->next && !p->exited && (p->out_fd >= 0 || p->err_fd >= 0);
}

/* Locked. The pipes go back to the reader thread. */
static void agent_direct_end(struct agent_proc *p)
{
	p->direct = NULL;
	pthread_cond_signal(&p->reader_cv);
}

/* Lends the pipes to a stream that asked for them, once all the reader read is
 * queued (so no output is reordered), and waits for them back, still killing at
 * the deadline. The pipes the stream closed are -1 on return. */
static void agent_reader_lend(struct agent_proc *p, struct pollfd pfd[2], int *exited, int *killed)
{
	struct timespec ts;
	struct agent_sub *s;

	pthread_mutex_lock(&agent_lock);
	s = p->subs;
	if (s && s->want_direct && agent_direct_ok(p, s)) {
		p->direct = s;
		pthread_cond_signal(&s->cv);
		while (p->direct) {
			deadline_in(&ts, agent_reader_poll_ms(p, 0, *killed));
			pthread_cond_timedwait(&p->reader_cv, &agent_lock, &ts);
			pthread_mutex_unlock(&agent_lock);
			agent_reader_kill_if_due(p, killed);
			pthread_mutex_lock(&agent_lock);
		}
	}
	pfd[0].fd = p->out_fd;
	pfd[1].fd = p->err_fd;
	*exited = p->exited;
	pthread_mutex_unlock(&agent_lock);
}

/* Reads output until both pipes close, or the process exited and they went quiet
 * (a background grandchild may keep them open forever). */
static void *agent_reader(void *arg)
{
	struct agent_proc *p = arg;
	struct pollfd pfd[2] = { { .fd = p->out_fd, .events = POLLIN },
				 { .fd = p->err_fd, .events = POLLIN } };
	unsigned char *buf = malloc(AGENT_CHUNK);
	int killed = 0, exited = 0, rc;

	while (buf) {
		agent_reader_lend(p, pfd, &exited, &killed);
		if (pfd[0].fd < 0 && pfd[1].fd < 0)
			break;
		agent_reader_wait_for_room(p, 100);
		rc = poll(pfd, 2, agent_reader_poll_ms(p, exited, killed));
		agent_reader_kill_if_due(p, &killed);
		if (rc < 0 && errno != EINTR)
			break;
		if (rc == 0 && exited)
			break;
		agent_reader_read(p, &pfd[0], &p->out_fd, "stdout", buf);
		agent_reader_read(p, &pfd[1], &p->err_fd, "stderr", buf);
	}
	if (p->out_fd >= 0)
		agent_pipe_close(p, &p->out_fd);
	if (p->err_fd >= 0)
		agent_pipe_close(p, &p->err_fd);
	free(buf);
	agent_proc_finish(p);
	return NULL;
}

static int agent_env_overridden(const char *var, const char *const *envs)
{
	size_t n = strcspn(var, "=");

	if (strncmp(var, "CSDK_AGENT_TOKEN=", 17) == 0)
		return 1;
	for (size_t i = 0; envs && envs[i]; i++)
		if (strncmp(envs[i], var, n + 1) == 0)
			return 1;
	return 0;
}

/* The agent's environment, then POST /init's variables, then the request's. */
static char **agent_build_env(char **envs)
{
	const char *const *init = agent_init_envs();
	size_t n = 0, o = 0, ne = 0, ni = 0;
	char **out;
	int has_path = 0;

	while (environ && environ[n])
		n++;
	while (envs && envs[ne])
		ne++;
	while (init && init[ni])
		ni++;
	out = calloc(n + ni + ne + 2, sizeof *out);
	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!agent_env_overridden(environ[i], (const char *const *)envs) && !agent_env_overridden(environ[i], init))
			out[o++] = environ[i];
	for (size_t i = 0; i < ni; i++)
		if (!agent_env_overridden(init[i], (const char *const *)envs))
			out[o++] = (char *)init[i];
	for (size_t i = 0; i < ne; i++)
		out[o++] = envs[i];
	for (size_t i = 0; i < o; i++)
		has_path |= strncmp(out[i], "PATH=", 5) == 0;
	if (!has_path)
		out[o++] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	return out;
}

struct agent_spawn {
	int in[2], out[2], err[2], status[2];
};

static void agent_close_pair(int fd[2])
{
	for (int i = 0; i < 2; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	fd[0] = fd[1] = -1;
}

static int agent_spawn_pipes(struct agent_spawn *sp)
{
	memset(sp, -1, sizeof *sp);
	if (pipe2(sp->in, O_CLOEXEC) < 0 || pipe2(sp->out, O_CLOEXEC) < 0 ||
	    pipe2(sp->err, O_CLOEXEC) < 0 || pipe2(sp->status, O_CLOEXEC) < 0)
		return -1;
	return 0;
}

/* After fork: async-signal-safe calls only. */
static void agent_child(struct agent_spawn *sp, struct agent_start_req *r, char **envp)
{
	sigset_t none;
	int e;

	sigemptyset(&none);
	signal(SIGPIPE, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setpgid(0, 0);
	if (dup2(sp->in[0], 0) < 0 || dup2(sp->out[1], 1) < 0 || dup2(sp->err[1], 2) < 0)
		goto fail;
	if (r->cwd && chdir(r->cwd) < 0) {
		e = -errno;
		if (write(sp->status[1], &e, sizeof e) < 0)
			_exit(127);
		_exit(127);
	}
	execvpe(r->argv[0], r->argv, envp);
fail:
	e = errno;
	if (write(sp->status[1], &e, sizeof e) < 0)
		_exit(127);
	_exit(127);
}

static struct agent_proc *agent_proc_new(struct agent_start_req *r, long long timeout_ms)
{
	struct agent_proc *p = calloc(1, sizeof *p);

	if (!p)
		return NULL;
	p->stdin_fd = p->out_fd = p->err_fd = -1;
	pthread_mutex_init(&p->in_lock, NULL);
	pthread_cond_init(&p->reader_cv, NULL);
	p->config = json_incref(r->config);
	p->deadline = timeout_ms > 0 ? agent_now_ms() + timeout_ms : 0;
	if (r->tag)
		p->tag = strdup(r->tag);
	return p;
}

static int agent_spawn_check(struct agent_spawn *sp, struct agent_start_req *r, struct agent_err *err)
{
	int e = 0;
	ssize_t n;

	close(sp->status[1]);
	sp->status[1] = -1;
	do
		n = read(sp->status[0], &e, sizeof e);
	while (n < 0 && errno == EINTR);
	if (n != sizeof e)
		return 0;
	if (e < 0)
		agent_err_set(err, "invalid_argument", "error starting process: chdir %s: %s",
			      r->cwd, strerror(-e));
	else
		agent_err_set(err, "invalid_argument", "error starting process: exec %s: %s",
			      r->argv[0], strerror(e));
	return -1;
}

static int agent_start_reader(struct agent_proc *p)
{
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, agent_reader, p);
	pthread_attr_destroy(&attr);
	return rc;
}

static struct agent_sub *agent_sub_attach(struct agent_proc *p);

/* Ended processes kept for a late Connect make room for new ones. */
static void agent_table_make_room(void)
{
	struct agent_proc *p = agent_procs, *next;

	agent_table_gc();
	for (; p && agent_nprocs >= agent_cfg.max_procs; p = next) {
		next = p->next;
		if (p->finished)
			agent_table_remove(p);
	}
}

static int agent_register(struct agent_proc *p, struct agent_start_req *r, struct agent_err *err)
{
	agent_table_make_room();
	if (agent_nprocs >= agent_cfg.max_procs) {
		agent_err_set(err, "resource_exhausted", "too many processes (limit %u)",
			      agent_cfg.max_procs);
		return -1;
	}
	if (r->tag)
		for (struct agent_proc *q = agent_procs; q; q = q->next)
			if (q->tag && q->finished && strcmp(q->tag, r->tag) == 0)
				q->gone_at = -AGENT_RETAIN_MS;
	agent_table_gc();
	p->next = agent_procs;
	agent_procs = p;
	p->in_table = 1;
	p->refs++;
	agent_nprocs++;
	return 0;
}

static void agent_start_msg(struct agent_proc *p)
{
	char buf[64];
	int n = snprintf(buf, sizeof buf, "{\"event\":{\"start\":{\"pid\":%d}}}", (int)p->pid);

	p->start_msg = agent_msg_new(buf, (size_t)n, 0);
}

static int agent_fork_locked(struct agent_proc *p, struct agent_spawn *sp, struct agent_start_req *r,
			     char **envp, struct agent_err *err)
{
	pid_t pid;

	if (agent_register(p, r, err) < 0)
		return -1;
	pid = fork();
	if (pid == 0)
		agent_child(sp, r, envp);
	if (pid < 0) {
		agent_table_remove(p);
		agent_err_set(err, "resource_exhausted", "fork: %s", strerror(errno));
		return -1;
	}
	p->pid = pid;
	agent_start_msg(p);
	return 0;
}

/* exec failed: streams attached meanwhile end without an end event. */
static void agent_spawn_failed(struct agent_proc *p)
{
	pthread_mutex_lock(&agent_lock);
	p->finished = 1;
	for (struct agent_sub *s = p->subs; s; s = s->next) {
		s->eof = 1;
		pthread_cond_signal(&s->cv);
	}
	agent_table_remove(p);
	pthread_mutex_unlock(&agent_lock);
}

/* After fork: the pipes change hands, the exec is checked, the reader starts. */
static int agent_proc_run(struct agent_proc *p, struct agent_spawn *sp, struct agent_start_req *r,
			  struct agent_sub **sub, struct agent_err *err)
{
	close(sp->in[0]);
	close(sp->out[1]);
	close(sp->err[1]);
	sp->in[0] = sp->out[1] = sp->err[1] = -1;
	if (agent_spawn_check(sp, r, err) < 0) {
		agent_spawn_failed(p);
		return -1;
	}
	/* Whoever holds them reads until EAGAIN. */
	fcntl(sp->out[0], F_SETFL, O_NONBLOCK);
	fcntl(sp->err[0], F_SETFL, O_NONBLOCK);
	pthread_mutex_lock(&agent_lock);
	/* A Connect may look at them already. */
	p->out_fd = sp->out[0];
	p->err_fd = sp->err[0];
	sp->out[0] = sp->err[0] = -1;
	p->refs++;
	*sub = agent_sub_attach(p);
	pthread_mutex_unlock(&agent_lock);
	if (agent_start_reader(p) != 0) {
		/* No thread to watch it: end it here, so its stream still ends. */
		kill(-p->pid, SIGKILL);
		kill(p->pid, SIGKILL);
		agent_reader(p);
	}
	return 0;
}

int agent_proc_start(struct agent_start_req *r, long long timeout_ms, struct agent_sub **sub,
		     struct agent_err *err)
{
	struct agent_spawn sp;
	struct agent_proc *p = agent_proc_new(r, timeout_ms);
	char **envp = agent_build_env(r->envs);
	int rc = -1;

	*sub = NULL;
	memset(&sp, -1, sizeof sp);
	if (!p || !envp || agent_spawn_pipes(&sp) < 0) {
		agent_err_set(err, "resource_exhausted", "cannot start a process: %s", strerror(errno));
		goto out;
	}
	p->refs = 1;
	/* Ready before the process is visible: List, SendInput and Connect may come at once. */
	if (r->want_stdin) {
		p->stdin_fd = sp.in[1];
		sp.in[1] = -1;
		fcntl(p->stdin_fd, F_SETFL, O_NONBLOCK);
	}
	pthread_mutex_lock(&agent_lock);
	rc = agent_fork_locked(p, &sp, r, envp, err);
	pthread_mutex_unlock(&agent_lock);
	if (rc == 0)
		rc = agent_proc_run(p, &sp, r, sub, err);
out:
	if (p) {
		agent_close_pair(sp.in);
		agent_close_pair(sp.out);
		agent_close_pair(sp.err);
		agent_close_pair(sp.status);
		pthread_mutex_lock(&agent_lock);
		agent_proc_unref(p);
		pthread_mutex_unlock(&agent_lock);
	}
	free(envp);
	return rc;
}

static void agent_queue_copy(struct agent_queue *dst, struct agent_queue *src)
{
	for (struct agent_qnode *n = src->head; n; n = n->next)
		agent_queue_push(dst, n->m);
}

/* Locked. The first stream of a process takes what was buffered for nobody. */
static struct agent_sub *agent_sub_attach(struct agent_proc *p)
{
	struct agent_sub *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	pthread_cond_init(&s->cv, NULL);
	s->p = p;
	p->refs++;
	if (p->start_msg)
		agent_queue_push(&s->q, p->start_msg);
	if (!p->subs) {
		agent_queue_copy(&s->q, &p->pending);
		agent_queue_clear(&p->pending);
	}
	if (p->finished) {
		if (p->end_msg)
			agent_queue_push(&s->q, p->end_msg);
		s->eof = 1;
	}
	s->next = p->subs;
	p->subs = s;
	return s;
}

int agent_sub_next(struct agent_sub *s, long long wait_ms, struct agent_msg **m)
{
	struct timespec ts;
	int rc;

	pthread_mutex_lock(&agent_lock);
	if (!s->q.head && !s->eof && s->p->direct != s && wait_ms > 0) {
		deadline_in(&ts, wait_ms);
		pthread_cond_timedwait(&s->cv, &agent_lock, &ts);
	}
	if (s->q.head) {
		struct agent_qnode *n = s->q.head;
		s->q.head = n->next;
		if (!s->q.head)
			s->q.tail = NULL;
		s->q.bytes -= n->m->len;
		*m = n->m;
		free(n);
		rc = 1;
		pthread_cond_broadcast(&agent_room_cv);
	} else {
		rc = s->eof ? -1 : 0;
	}
	pthread_mutex_unlock(&agent_lock);
	return rc;
}

void agent_sub_close(struct agent_sub *s)
{
	struct agent_sub **pp;

	if (!s)
		return;
	pthread_mutex_lock(&agent_lock);
	for (pp = &s->p->subs; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (s->p->direct == s)
		agent_direct_end(s->p);
	/* The last stream's undelivered output waits for the next Connect. */
	if (!s->p->subs)
		for (struct agent_qnode *n = s->q.head; n; n = n->next)
			if (n->m->droppable)
				agent_queue_push(&s->p->pending, n->m);
	agent_queue_clear(&s->q);
	agent_proc_unref(s->p);
	pthread_cond_broadcast(&agent_room_cv);
	pthread_mutex_unlock(&agent_lock);
	pthread_cond_destroy(&s->cv);
	free(s->buf);
	free(s);
}

/* Raw bytes whose DataEvent frame fits in room, at most a chunk. */
static size_t agent_direct_fit(const char *stream, size_t room)
{
	size_t fixed = AGENT_ENV_HDR + agent_data_overhead(stream), n;

	if (room < fixed + 4)
		return 0;
	n = (room - fixed) / 4 * 3;
	return n < AGENT_CHUNK ? n : AGENT_CHUNK;
}

/* n bytes read from stream as a frame at out + *used; or, once another stream
 * attached, queued for all of them as the reader would, and the pipes go back
 * to the reader (-1). */
static int agent_direct_emit(struct agent_sub *s, const char *stream, size_t n, char *out, size_t *used)
{
	struct agent_proc *p = s->p;
	size_t len;
	int alone;

	pthread_mutex_lock(&agent_lock);
	alone = p->subs == s && !s->next;
	if (!alone) {
		agent_publish_data_locked(p, stream, s->buf, n);
		agent_direct_end(p);
	}
	pthread_mutex_unlock(&agent_lock);
	if (!alone)
		return -1;
	len = agent_data_json(out + *used + AGENT_ENV_HDR, stream, s->buf, n);
	agent_envelope_header((unsigned char *)out + *used, 0, len);
	*used += AGENT_ENV_HDR + len;
	return 0;
}

/* One read of a pipe the stream holds. 1: data or end of file; 0: nothing ready
 * or no room; -1: the pipes went back to the reader. */
static int agent_direct_read_one(struct agent_sub *s, int *fdp, const char *stream, char *out,
				 size_t max, size_t *used)
{
	size_t want = agent_direct_fit(stream, max - *used);
	ssize_t n;

	if (*fdp < 0 || want == 0 || (*used && want < AGENT_CHUNK / 8))
		return 0;
	n = read(*fdp, s->buf, want);
	if (n == AGENT_CHUNK && !*agent_pipe_big(s->p, fdp))
		agent_pipe_grow(s->p, fdp);
	if (n > 0)
		return agent_direct_emit(s, stream, (size_t)n, out, used) < 0 ? -1 : 1;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	agent_pipe_close(s->p, fdp);
	return 1;
}

/* Locked. Whether s holds the pipes; if not, it asks the reader for them when it may have them. */
static int agent_direct_held(struct agent_sub *s)
{
	struct agent_proc *p = s->p;

	if (p->direct == s)
		return 1;
	s->want_direct = !s->q.head && agent_direct_ok(p, s);
	return 0;
}

int agent_sub_read_direct(struct agent_sub *s, char *out, size_t max, long long wait_ms, size_t *used)
{
	struct agent_proc *p = s->p;
	struct pollfd pfd[2];
	int held, got, rc;

	*used = 0;
	pthread_mutex_lock(&agent_lock);
	held = agent_direct_held(s);
	pthread_mutex_unlock(&agent_lock);
	if (!held)
		return -1;
	if (!s->buf && !(s->buf = malloc(AGENT_CHUNK)))
		goto give_back;
	for (;;) {
		got = rc = agent_direct_read_one(s, &p->out_fd, "stdout", out, max, used);
		if (rc >= 0)
			got |= rc = agent_direct_read_one(s, &p->err_fd, "stderr", out, max, used);
		if (rc < 0)
			return 0;
		if (p->out_fd < 0 && p->err_fd < 0)
			goto give_back;
		if (got)
			continue;
		if (*used || wait_ms <= 0)
			return 0;
		pthread_mutex_lock(&agent_lock);
		held = !p->exited;
		pthread_mutex_unlock(&agent_lock);
		/* After the exit the reader ends the stream, when the pipes close or go quiet. */
		if (!held)
			goto give_back;
		pfd[0] = (struct pollfd){ .fd = p->out_fd, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = p->err_fd, .events = POLLIN };
		if (poll(pfd, 2, (int)wait_ms) <= 0)
			return 0;
		wait_ms = 0;
	}
give_back:
	pthread_mutex_lock(&agent_lock);
	if (p->direct == s)
		agent_direct_end(p);
	pthread_mutex_unlock(&agent_lock);
	return 0;
}

static struct agent_proc *agent_find(const struct agent_selector *sel, int live_only,
				     struct agent_err *err)
{
	struct agent_proc *found = NULL;

	agent_table_gc();
	for (struct agent_proc *p = agent_procs; p; p = p->next) {
		if (live_only && p->finished)
			continue;
		if (sel->by_tag ? (p->tag && strcmp(p->tag, sel->tag) == 0) : (uint32_t)p->pid == sel->pid)
			if (!found || (found->finished && !p->finished))
				found = p;
	}
	if (!found) {
		if (sel->by_tag)
			agent_err_set(err, "not_found", "process with tag %s not found", sel->tag);
		else
			agent_err_set(err, "not_found", "process with pid %u not found", sel->pid);
	}
	return found;
}

int agent_proc_connect(const struct agent_selector *sel, struct agent_sub **sub, struct agent_err *err)
{
	struct agent_proc *p;
	int rc = -1;

	*sub = NULL;
	pthread_mutex_lock(&agent_lock);
	p = agent_find(sel, 0, err);
	if (p) {
		*sub = agent_sub_attach(p);
		rc = *sub ? 0 : -1;
		if (!*sub)
			agent_err_set(err, "resource_exhausted", "out of memory");
	}
	pthread_mutex_unlock(&agent_lock);
	return rc;
}

int agent_proc_lookup(const struct agent_selector *sel, struct agent_err *err)
{
	int rc;

	pthread_mutex_lock(&agent_lock);
	rc = agent_find(sel, 1, err) ? 0 : -1;
	pthread_mutex_unlock(&agent_lock);
	return rc;
}

json_t *agent_proc_list(void)
{
	json_t *list = json_array();

	pthread_mutex_lock(&agent_lock);
	agent_table_gc();
	for (struct agent_proc *p = agent_procs; p && list; p = p->next) {
		json_t *info;
		if (p->finished)
			continue;
		info = json_pack("{s:O,s:i}", "config", p->config, "pid", (json_int_t)p->pid);
		if (info && p->tag)
			json_object_set_new(info, "tag", json_string(p->tag));
		json_array_append_new(list, info);
	}
	pthread_mutex_unlock(&agent_lock);
	return json_pack("{s:o}", "processes", list);
}

int agent_proc_signal(const struct agent_selector *sel, int signo, struct agent_err *err)
{
	struct agent_proc *p;
	int rc = -1;

	pthread_mutex_lock(&agent_lock);
	p = agent_find(sel, 1, err);
	if (p && !p->exited) {
		/* The whole group: a shell's children go with it. */
		if (kill(-p->pid, signo) < 0 && kill(p->pid, signo) < 0)
			agent_err_set(err, "internal", "error sending signal: %s", strerror(errno));
		else
			rc = 0;
	} else if (p) {
		rc = 0;
	}
	pthread_mutex_unlock(&agent_lock);
	return rc;
}

static struct agent_proc *agent_grab(const struct agent_selector *sel, struct agent_err *err)
{
	struct agent_proc *p;

	pthread_mutex_lock(&agent_lock);
	p = agent_find(sel, 1, err);
	if (p)
		p->refs++;
	pthread_mutex_unlock(&agent_lock);
	return p;
}

static void agent_release(struct agent_proc *p)
{
	pthread_mutex_lock(&agent_lock);
	agent_proc_unref(p);
	pthread_mutex_unlock(&agent_lock);
}

static int agent_write_all(int fd, const unsigned char *data, size_t len, struct agent_err *err)
{
	long long deadline = agent_now_ms() + AGENT_STDIN_WAIT_MS;

	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EAGAIN && agent_now_ms() < deadline) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			poll(&pfd, 1, 100);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		agent_err_set(err, "internal", "error writing to stdin: %s",
			      n < 0 && errno != EAGAIN ? strerror(errno) : "the process does not read it");
		return -1;
	}
	return 0;
}

int agent_proc_input(const struct agent_selector *sel, const unsigned char *data, size_t len,
		     struct agent_err *err)
{
	struct agent_proc *p = agent_grab(sel, err);
	int rc = -1;

	if (!p)
		return -1;
	pthread_mutex_lock(&p->in_lock);
	if (p->stdin_fd < 0)
		agent_err_set(err, "failed_precondition", "stdin not enabled or closed");
	else
		rc = agent_write_all(p->stdin_fd, data, len, err);
	pthread_mutex_unlock(&p->in_lock);
	agent_release(p);
	return rc;
}

int agent_proc_close_stdin(const struct agent_selector *sel, struct agent_err *err)
{
	struct agent_proc *p = agent_grab(sel, err);

	if (!p)
		return -1;
	pthread_mutex_lock(&p->in_lock);
	if (p->stdin_fd >= 0)
		close(p->stdin_fd);
	p->stdin_fd = -1;
	pthread_mutex_unlock(&p->in_lock);
	agent_release(p);
	return 0;
}

void agent_proc_reap(void)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		pthread_mutex_lock(&agent_lock);
		for (struct agent_proc *p = agent_procs; p; p = p->next)
			if (p->pid == pid && !p->exited) {
				p->exited = 1;
				p->status = status;
				pthread_cond_broadcast(&agent_exit_cv);
				break;
			}
		pthread_mutex_unlock(&agent_lock);
	}
}

static int agent_signal_all(int pid1, int sig)
{
	int live = 0;

	pthread_mutex_lock(&agent_lock);
	for (struct agent_proc *p = agent_procs; p; p = p->next)
		if (!p->exited) {
			kill(-p->pid, sig);
			kill(p->pid, sig);
			live++;
		}
	pthread_mutex_unlock(&agent_lock);
	if (pid1)
		live += kill(-1, sig) == 0;
	return live;
}

void agent_proc_terminate_all(int pid1, long long grace_ms)
{
	long long deadline = agent_now_ms() + grace_ms;

	if (!agent_signal_all(pid1, SIGTERM))
		return;
	while (agent_now_ms() < deadline) {
		agent_proc_reap();
		if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			return;
		usleep(20000);
	}
	agent_signal_all(pid1, SIGKILL);
	agent_proc_reap();
}
