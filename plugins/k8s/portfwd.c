/*
 * Gateway mode over pods/portforward, as `kubectl port-forward` does it:
 * per pod, a unix socket in a private directory (0700); each connection
 * accepted there gets a WebSocket of its own to the API server
 * (…/pods/NAME/portforward?ports=PORT, v4.channel.k8s.io), and a thread
 * pumps bytes both ways. Opening a WebSocket costs a TLS handshake and a
 * trip through the API server and the kubelet to the runtime, so each
 * listener keeps one opened ahead (the spare) for its next connection,
 * made again after each use and dropped after SPARE_MS unused (the agent
 * closes idle connections after 60 s). The host's envd client connects to the socket, so
 * it needs neither the API server's CA nor its client certificate, and
 * nothing has to reach the pod's IP.
 *
 * Threads: two per listener (accept, and the spare) and one per connection. They never
 * call host->error (not allowed off the method's thread): a failure goes to
 * host->log (debug) and stays as the listener's last error, and the envd
 * client sees its connection close.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "csdkc.h"
#include "k8s.h"
#include "wsconn.h"

#define PF_CHUNK 65536
#define SPARE_MS 50000
#define PF_PROTOCOL "v4.channel.k8s.io"

struct fwd_conn {
	struct fwd_conn *next;
	struct k8sp_fwd *fwd;
	pthread_t thread;
	char pod[64];
	int port;
	int client;          /* accepted unix connection; -1 once closed */
	curl_socket_t wsock; /* the WebSocket's socket while it is open, else CURL_SOCKET_BAD */
	int done;            /* the thread has ended: join it */
};

struct fwd_listener {
	struct fwd_listener *next;
	struct k8sp_fwd *fwd;
	pthread_t thread;
	char pod[64];
	int port;
	int fd;
	int stop;
	pthread_t spare_thread;
	pthread_cond_t spare_cv;
	int want_spare;              /* the spare thread should open one */
	int has_spare;               /* spare (and spare_pf) hold an open WebSocket */
	int64_t spare_at;            /* when it was opened */
	struct k8sp_ws spare;
	struct k8sp_pf spare_pf;
	char last_err[512]; /* why the last connection failed, for messages on the method's thread */
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct k8sp_fwd {
	struct k8sp_k8s *ctx;
	pthread_mutex_t mu;
	char dir[96]; /* private directory of the sockets, "" until the first */
	int wake[2];  /* written once at close: every thread's poll wakes */
	int stopping;
	unsigned seq;
	struct fwd_listener *listeners;
	struct fwd_conn *conns;
};

int k8sp_fwd_new(struct k8sp_k8s *ctx, struct k8sp_fwd **out)
{
	struct k8sp_fwd *f = calloc(1, sizeof(*f));

	*out = NULL;
	if (!f)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory opening the k8s provider");
	f->ctx = ctx;
	if (pipe2(f->wake, O_CLOEXEC) < 0) {
		int e = errno;
		free(f);
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot make a pipe for port-forward: %s", strerror(e));
	}
	pthread_mutex_init(&f->mu, NULL);
	*out = f;
	return 0;
}

static int send_all(int fd, const unsigned char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Frames waiting in the WebSocket (and its TLS buffers) go to the client: 0 go on, 1 the stream ended, <0 error. */
static int pump_down(struct fwd_conn *c, struct k8sp_ws *ws, struct k8sp_pf *pf, char *err, size_t errlen)
{
	struct k8sp_ws_frame f;
	const unsigned char *d;
	size_t dl;
	int r, k;

	while ((r = k8sp_ws_recv(ws, &f, 0)) == 1) {
		switch (f.opcode) {
		case K8SP_WS_PING:
			k8sp_ws_send(ws, K8SP_WS_PONG, f.payload, f.len);
			continue;
		case K8SP_WS_PONG:
			continue;
		case K8SP_WS_CLOSE:
			return 1;
		case K8SP_WS_TEXT:
			snprintf(err, errlen, "a text frame (expected binary)");
			return -1;
		}
		k = k8sp_pf_frame(pf, f.opcode, f.payload, f.len, &d, &dl);
		if (k < 0) {
			snprintf(err, errlen, "a frame outside the port-forward protocol");
			return -1;
		}
		if (k == K8SP_PF_ERROR) {
			snprintf(err, errlen, "%.*s", (int)(dl > 400 ? 400 : dl), (const char *)d);
			return -1;
		}
		if (k == K8SP_PF_DATA && send_all(c->client, d, dl))
			return 1; /* the client went away */
	}
	if (r == CSDK_EIO)
		return 1;
	if (r < 0) {
		snprintf(err, errlen, "a malformed WebSocket frame");
		return -1;
	}
	return 0;
}

/* Keep err as the last failure of pod's listener; log it (debug: create's wait for the agent fails many times). */
static void note_error(struct fwd_conn *c, const char *err)
{
	struct k8sp_fwd *fwd = c->fwd;

	fwd->ctx->host->log(fwd->ctx->host, CSDK_LOG_DEBUG, "port-forward to port %d of pod %s: %s", c->port, c->pod, err);
	pthread_mutex_lock(&fwd->mu);
	for (struct fwd_listener *l = fwd->listeners; l; l = l->next)
		if (!strcmp(l->pod, c->pod) && l->port == c->port)
			snprintf(l->last_err, sizeof(l->last_err), "%s", err);
	pthread_mutex_unlock(&fwd->mu);
}

int k8sp_fwd_last_error(struct k8sp_fwd *fwd, const char *pod, int port, char *out, size_t len)
{
	int found = 0;

	out[0] = '\0';
	pthread_mutex_lock(&fwd->mu);
	for (struct fwd_listener *l = fwd->listeners; l; l = l->next)
		if (!strcmp(l->pod, pod) && l->port == port && l->last_err[0]) {
			snprintf(out, len, "%s", l->last_err);
			found = 1;
		}
	pthread_mutex_unlock(&fwd->mu);
	return found;
}

static void pump(struct fwd_conn *c, struct k8sp_ws *ws, struct k8sp_pf *pf)
{
	unsigned char *buf = malloc(PF_CHUNK + 1);
	char err[512] = "";
	int r = 0;

	while (buf && r == 0) {
		struct pollfd p[3] = { { .fd = c->client, .events = POLLIN }, { .fd = ws->sock, .events = POLLIN },
				       { .fd = c->fwd->wake[0], .events = POLLIN } };
		if ((r = pump_down(c, ws, pf, err, sizeof(err))))
			break;
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[2].revents)
			break;
		if (p[0].revents) {
			ssize_t n = recv(c->client, buf + 1, PF_CHUNK, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break; /* v4 cannot half-close: the client's end ends the stream */
			buf[0] = K8SP_PF_DATA;
			if (k8sp_ws_send(ws, K8SP_WS_BINARY, buf, (size_t)n + 1)) {
				snprintf(err, sizeof(err), "the WebSocket closed while sending");
				r = -1;
			}
		}
	}
	if (r < 0)
		note_error(c, err);
	else
		k8sp_ws_send(ws, K8SP_WS_CLOSE, "\x03\xe8", 2);
	free(buf);
}

static void pf_path(struct k8sp_k8s *ctx, char *out, size_t len, const char *pod, int port)
{
	snprintf(out, len, "/api/v1/namespaces/%s/pods/%s/portforward?ports=%d", ctx->namespace_, pod, port);
}

/* The listener's spare, if it has one still open and clean (nothing but the ports came yet); asks for the next. */
static int take_spare(struct fwd_conn *c, struct k8sp_ws *ws, struct k8sp_pf *pf)
{
	struct k8sp_fwd *fwd = c->fwd;
	struct fwd_listener *l;
	struct k8sp_ws_frame f;
	const unsigned char *d;
	size_t dl;
	int got = 0, r;

	pthread_mutex_lock(&fwd->mu);
	for (l = fwd->listeners; l; l = l->next)
		if (!strcmp(l->pod, c->pod) && l->port == c->port)
			break;
	if (l && !l->stop) {
		if (l->has_spare) {
			*ws = l->spare;
			*pf = l->spare_pf;
			l->has_spare = 0;
			got = 1;
		}
		l->want_spare = 1;
		pthread_cond_signal(&l->spare_cv);
	}
	pthread_mutex_unlock(&fwd->mu);
	if (!got)
		return 0;
	while ((r = k8sp_ws_recv(ws, &f, 0)) == 1)
		if ((f.opcode != K8SP_WS_BINARY && f.opcode != K8SP_WS_CONT) ||
		    k8sp_pf_frame(pf, f.opcode, f.payload, f.len, &d, &dl) != K8SP_PF_NONE)
			break;
	if (r == 0)
		return 1;
	k8sp_ws_close(ws);
	*pf = (struct k8sp_pf){ .port = (uint16_t)c->port, .channel = -1 };
	return 0;
}

static void *conn_main(void *arg)
{
	struct fwd_conn *c = arg;
	struct k8sp_fwd *fwd = c->fwd;
	struct k8sp_k8s *ctx = fwd->ctx;
	struct k8sp_pf pf = { .port = (uint16_t)c->port, .channel = -1 };
	struct k8sp_ws ws;
	char path[384], err[1024] = "";
	int rc = 0;

	if (!take_spare(c, &ws, &pf)) {
		pf_path(ctx, path, sizeof(path), c->pod, c->port);
		/* tests/k8s/run.sh counts these lines */
		ctx->host->log(ctx->host, CSDK_LOG_DEBUG, "pods/portforward WebSocket to port %d of pod %s", c->port, c->pod);
		rc = k8sp_ws_open_err(ctx, &ws, path, PF_PROTOCOL, NULL, err, sizeof(err));
	}
	if (rc) {
		note_error(c, err);
	} else {
		pthread_mutex_lock(&fwd->mu);
		c->wsock = fwd->stopping ? CURL_SOCKET_BAD : ws.sock;
		pthread_mutex_unlock(&fwd->mu);
		if (c->wsock != CURL_SOCKET_BAD)
			pump(c, &ws, &pf);
	}
	pthread_mutex_lock(&fwd->mu);
	c->wsock = CURL_SOCKET_BAD;
	close(c->client);
	c->client = -1;
	c->done = 1;
	pthread_mutex_unlock(&fwd->mu);
	if (!rc)
		k8sp_ws_close(&ws);
	return NULL;
}

/* Keeps l's spare: opens one when asked, drops it after SPARE_MS unused. */
static void *spare_main(void *arg)
{
	struct fwd_listener *l = arg;
	struct k8sp_fwd *fwd = l->fwd;
	struct k8sp_k8s *ctx = fwd->ctx;
	char path[384], err[1024];

	pf_path(ctx, path, sizeof(path), l->pod, l->port);
	pthread_mutex_lock(&fwd->mu);
	while (!l->stop) {
		struct k8sp_ws ws;
		int rc;
		if (l->has_spare && csdkc_now_ms() - l->spare_at >= SPARE_MS) {
			ws = l->spare;
			l->has_spare = 0;
			pthread_mutex_unlock(&fwd->mu);
			k8sp_ws_close(&ws);
			pthread_mutex_lock(&fwd->mu);
			continue;
		}
		if (l->has_spare || !l->want_spare) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += l->has_spare ? 5 : 3600;
			pthread_cond_timedwait(&l->spare_cv, &fwd->mu, &ts);
			continue;
		}
		l->want_spare = 0;
		pthread_mutex_unlock(&fwd->mu);
		ctx->host->log(ctx->host, CSDK_LOG_DEBUG, "pods/portforward WebSocket to port %d of pod %s (spare)", l->port, l->pod);
		rc = k8sp_ws_open_err(ctx, &ws, path, PF_PROTOCOL, NULL, err, sizeof(err));
		if (rc)
			ctx->host->log(ctx->host, CSDK_LOG_DEBUG, "port-forward to port %d of pod %s: %s", l->port, l->pod, err);
		pthread_mutex_lock(&fwd->mu);
		if (!rc && !l->stop && !l->has_spare) {
			l->spare = ws;
			l->spare_pf = (struct k8sp_pf){ .port = (uint16_t)l->port, .channel = -1 };
			l->spare_at = csdkc_now_ms();
			l->has_spare = 1;
		} else if (!rc) {
			pthread_mutex_unlock(&fwd->mu);
			k8sp_ws_close(&ws);
			pthread_mutex_lock(&fwd->mu);
		}
	}
	pthread_mutex_unlock(&fwd->mu);
	return NULL;
}

/* Join the connection threads that have ended; with all set, every one (after close woke them). Under mu. */
static void reap(struct k8sp_fwd *fwd, int all)
{
	struct fwd_conn **pp = &fwd->conns, *c;

	while ((c = *pp)) {
		if (!c->done && !all) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		pthread_mutex_unlock(&fwd->mu);
		pthread_join(c->thread, NULL);
		pthread_mutex_lock(&fwd->mu);
		free(c);
	}
}

static void *listener_main(void *arg)
{
	struct fwd_listener *l = arg;
	struct k8sp_fwd *fwd = l->fwd;

	for (;;) {
		struct pollfd p[2] = { { .fd = l->fd, .events = POLLIN }, { .fd = fwd->wake[0], .events = POLLIN } };
		struct fwd_conn *c;
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents || __atomic_load_n(&l->stop, __ATOMIC_ACQUIRE))
			break;
		if (!(p[0].revents & POLLIN)) {
			if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL))
				break;
			continue;
		}
		if ((fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
				continue;
			break;
		}
		pthread_mutex_lock(&fwd->mu);
		reap(fwd, 0);
		if (fwd->stopping || !(c = calloc(1, sizeof(*c)))) {
			pthread_mutex_unlock(&fwd->mu);
			close(fd);
			continue;
		}
		c->fwd = fwd;
		c->client = fd;
		c->wsock = CURL_SOCKET_BAD;
		c->port = l->port;
		snprintf(c->pod, sizeof(c->pod), "%s", l->pod);
		if (pthread_create(&c->thread, NULL, conn_main, c)) {
			free(c);
			close(fd);
		} else {
			c->next = fwd->conns;
			fwd->conns = c;
		}
		pthread_mutex_unlock(&fwd->mu);
	}
	return NULL;
}

/* A new listener's socket at l->path; under mu. */
static int listen_at(struct k8sp_fwd *fwd, struct fwd_listener *l, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *base;

	if (!fwd->dir[0]) {
		base = getenv("XDG_RUNTIME_DIR");
		if (!base || base[0] != '/' || strlen(base) > 40)
			base = "/tmp";
		snprintf(fwd->dir, sizeof(fwd->dir), "%s/csdk-k8s-XXXXXX", base);
		if (!mkdtemp(fwd->dir)) { /* mode 0700 */
			snprintf(err, errlen, "cannot make a private directory %s for port-forward sockets: %s", fwd->dir, strerror(errno));
			fwd->dir[0] = '\0';
			return CSDK_EIO;
		}
	}
	snprintf(l->path, sizeof(l->path), "%s/%u.sock", fwd->dir, fwd->seq++);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", l->path);
	if ((l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 || bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(l->fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on %s for port-forward: %s", l->path, strerror(errno));
		if (l->fd >= 0)
			close(l->fd);
		unlink(l->path);
		return CSDK_EIO;
	}
	return 0;
}

int k8sp_fwd_path(struct k8sp_fwd *fwd, const char *pod, int port, char *out, size_t len)
{
	struct k8sp_k8s *ctx = fwd->ctx;
	struct fwd_listener *l;
	char err[512];
	int rc = 0;

	pthread_mutex_lock(&fwd->mu);
	for (l = fwd->listeners; l; l = l->next)
		if (!strcmp(l->pod, pod) && l->port == port)
			break;
	if (!l) {
		if (!(l = calloc(1, sizeof(*l)))) {
			pthread_mutex_unlock(&fwd->mu);
			return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory starting a port-forward");
		}
		l->fwd = fwd;
		l->port = port;
		snprintf(l->pod, sizeof(l->pod), "%s", pod);
		if ((rc = listen_at(fwd, l, err, sizeof(err))) == 0) {
			pthread_condattr_t ca;
			pthread_condattr_init(&ca);
			pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
			pthread_cond_init(&l->spare_cv, &ca);
			pthread_condattr_destroy(&ca);
			l->want_spare = 1;
			if (pthread_create(&l->thread, NULL, listener_main, l)) {
				rc = CSDK_ENOMEM;
			} else if (pthread_create(&l->spare_thread, NULL, spare_main, l)) {
				__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE);
				shutdown(l->fd, SHUT_RDWR);
				pthread_mutex_unlock(&fwd->mu);
				pthread_join(l->thread, NULL);
				pthread_mutex_lock(&fwd->mu);
				rc = CSDK_ENOMEM;
			}
			if (rc) {
				snprintf(err, sizeof(err), "cannot start a port-forward thread");
				pthread_cond_destroy(&l->spare_cv);
				close(l->fd);
				unlink(l->path);
			}
		}
		if (rc) {
			free(l);
			pthread_mutex_unlock(&fwd->mu);
			return ctx->host->error(ctx->host, rc, "%s", err);
		}
		l->next = fwd->listeners;
		fwd->listeners = l;
	}
	snprintf(out, len, "unix:%s", l->path);
	pthread_mutex_unlock(&fwd->mu);
	return 0;
}

static void listener_stop(struct k8sp_fwd *fwd, struct fwd_listener *l)
{
	__atomic_store_n(&l->stop, 1, __ATOMIC_RELEASE); /* its accept thread reads it without mu */
	shutdown(l->fd, SHUT_RDWR); /* wakes its poll */
	pthread_cond_signal(&l->spare_cv);
	pthread_mutex_unlock(&fwd->mu);
	pthread_join(l->thread, NULL);
	pthread_join(l->spare_thread, NULL);
	pthread_mutex_lock(&fwd->mu);
	if (l->has_spare)
		k8sp_ws_close(&l->spare);
	pthread_cond_destroy(&l->spare_cv);
	close(l->fd);
	unlink(l->path);
	free(l);
}

void k8sp_fwd_forget(struct k8sp_fwd *fwd, const char *pod)
{
	struct fwd_listener **pp, *l;

	if (!fwd)
		return;
	pthread_mutex_lock(&fwd->mu);
	for (pp = &fwd->listeners; (l = *pp);) {
		if (strcmp(l->pod, pod)) {
			pp = &l->next;
			continue;
		}
		*pp = l->next;
		/* listener_stop lets go of mu: another forget may have freed what pp points into */
		listener_stop(fwd, l);
		pp = &fwd->listeners;
	}
	for (struct fwd_conn *c = fwd->conns; c; c = c->next)
		if (!strcmp(c->pod, pod) && c->client >= 0)
			shutdown(c->client, SHUT_RDWR);
	pthread_mutex_unlock(&fwd->mu);
}

void k8sp_fwd_free(struct k8sp_fwd *fwd)
{
	if (!fwd)
		return;
	pthread_mutex_lock(&fwd->mu);
	fwd->stopping = 1;
	while (write(fwd->wake[1], "x", 1) < 0 && errno == EINTR)
		;
	for (struct fwd_conn *c = fwd->conns; c; c = c->next) {
		/* a thread blocked in a send wakes too; the sockets stay open until it closes them */
		if (c->client >= 0)
			shutdown(c->client, SHUT_RDWR);
		if (c->wsock != CURL_SOCKET_BAD)
			shutdown(c->wsock, SHUT_RDWR);
	}
	while (fwd->listeners) {
		struct fwd_listener *l = fwd->listeners;
		fwd->listeners = l->next;
		listener_stop(fwd, l);
	}
	reap(fwd, 1);
	pthread_mutex_unlock(&fwd->mu);
	if (fwd->dir[0])
		rmdir(fwd->dir);
	close(fwd->wake[0]);
	close(fwd->wake[1]);
	pthread_mutex_destroy(&fwd->mu);
	free(fwd);
}
