/*
 * test-agent.c - gateway mode without a cluster: the agent's URL and token
 * read back from a pod (IPv4, IPv6, the spec's last CSDK_AGENT_TOKEN wins as
 * in Kubernetes), direct-mode pods have none, and gateway_endpoint refuses them;
 * the transport a pod was made for; the port-forward sockets with an API
 * server that cannot be reached: a private directory, the connection
 * closed, the reason kept, nothing left after close (files, threads);
 * an API server whose answer or watch event passes the plugin's limit.
 */
#include "config.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k8s.h"

static int failures, checks;
static char last_error[1024];

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		checks++;                                                     \
		if (!(cond)) {                                                \
			failures++;                                           \
			fprintf(stderr, "%s:%d: FAIL: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                         \
			fputc('\n', stderr);                                  \
		}                                                             \
	} while (0)

static int h_error(const struct csdk_host *h, int code, const char *fmt, ...)
{
	va_list ap;
	(void)h;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return code;
}

static void h_log(const struct csdk_host *h, enum csdk_log_level l, const char *fmt, ...)
{
	(void)h;
	(void)l;
	(void)fmt;
}

static char endpoint[256];

static int h_endpoint_set(struct csdk_endpoint *e, const char *url, const char *token)
{
	(void)e;
	(void)token;
	snprintf(endpoint, sizeof(endpoint), "%s", url);
	return 0;
}

static json_t *pod_t(const char *ip, const char *port, const char *env, const char *transport)
{
	char text[1024];

	snprintf(text, sizeof(text),
		 "{\"metadata\":{\"name\":\"csdk-1\",\"annotations\":{%s%s%s%s%s%s}},\"status\":{\"podIP\":\"%s\"},"
		 "\"spec\":{\"containers\":[{\"name\":\"sandbox\",\"env\":[%s]}]}}",
		 port ? "\"computesdk.com/agent-port\":\"" : "", port ? port : "", port ? "\"" : "",
		 transport ? ",\"computesdk.com/agent-transport\":\"" : "", transport ? transport : "", transport ? "\"" : "", ip, env);
	return json_loads(text, 0, NULL);
}

static json_t *pod(const char *ip, const char *port, const char *env)
{
	return pod_t(ip, port, env, NULL);
}

static int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* Port-forward with an API server that refuses connections (port 1 of 127.0.0.1). */
static void test_fwd(const struct csdk_host *host)
{
	struct k8sp_k8s ctx = { .host = host, .namespace_ = "default", .gateway = 1 };
	struct k8sp_sandbox sb;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[256], why[600], c;
	struct stat st;
	int before = tasks(), fd, rc;
	json_t *p;

	ctx.creds.server = "https://127.0.0.1:1";
	snprintf(ctx.creds.source, sizeof(ctx.creds.source), "a test");
	CHECK(k8sp_fwd_new(&ctx, &ctx.fwd) == 0, "fwd_new: %s", last_error);
	memset(&sb, 0, sizeof(sb));
	snprintf(sb.name, sizeof(sb.name), "csdk-1");
	p = pod_t("10.1.2.3", "49983", "{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"t0k\"}", "portforward");
	k8sp_agent_from_pod(&sb, p);
	json_decref(p);
	CHECK(sb.agent_port == 49983 && !sb.agent_pod_ip, "a port-forward pod: port %d, pod-ip %d", sb.agent_port, sb.agent_pod_ip);
	rc = k8sp_m_gateway_endpoint(&ctx, &sb, NULL);
	CHECK(rc == 0 && !strncmp(endpoint, "unix:/", 6), "the endpoint is a unix socket: %d %s (%s)", rc, endpoint, last_error);
	snprintf(dir, sizeof(dir), "%.200s", endpoint + 5);
	if (strrchr(dir, '/'))
		*strrchr(dir, '/') = '\0';
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "%s is private: %o", dir, (unsigned)st.st_mode & 0777);
	CHECK(stat(endpoint + 5, &st) == 0 && S_ISSOCK(st.st_mode), "%s is a socket", endpoint + 5);
	/* the same pod and port: the same socket */
	{
		char again[256];
		snprintf(again, sizeof(again), "%s", endpoint);
		CHECK(k8sp_m_gateway_endpoint(&ctx, &sb, NULL) == 0 && !strcmp(again, endpoint), "one socket per pod: %s", endpoint);
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", endpoint + 5);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect");
	CHECK(recv(fd, &c, 1, 0) == 0, "the connection closes when the API server cannot be reached");
	close(fd);
	CHECK(k8sp_fwd_last_error(ctx.fwd, "csdk-1", 49983, why, sizeof(why)) &&
	      strstr(why, "kube-apiserver at https://127.0.0.1:1 (from a test) cannot be reached for port-forward"),
	      "the reason is kept: %s", why);
	/* a connection left open: close ends it */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect again");
	k8sp_fwd_free(ctx.fwd);
	ctx.fwd = NULL;
	CHECK(recv(fd, &c, 1, 0) <= 0, "closed by fwd_free");
	close(fd);
	CHECK(stat(dir, &st) != 0, "fwd_free removes %s", dir);
	CHECK(tasks() == before, "fwd_free joins every thread: %d before, %d after", before, tasks());

	/* a pod made for the other transport */
	ctx.pod_ip = 1;
	rc = k8sp_m_gateway_endpoint(&ctx, &sb, NULL);
	CHECK(rc == CSDK_EUNSUPPORTED && !strcmp(last_error, "sandbox csdk-1 was created with gateway_transport=portforward, whose agent "
							    "cannot be reached through the pod's IP; use gateway_transport=portforward"),
	      "a port-forward pod with pod-ip: %s", last_error);
}

/* A one-request HTTP server on 127.0.0.1 that answers 200 with n bytes of 'x'. */
static pid_t serve_bytes(size_t n, int *port_out)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	pid_t pid;

	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 1) ||
	    getsockname(lfd, (struct sockaddr *)&a, &alen))
		return -1;
	*port_out = ntohs(a.sin_port);
	if ((pid = fork()) == 0) {
		static char chunk[65536];
		char req[4096], head[128];
		int fd = accept(lfd, NULL, NULL);

		memset(chunk, 'x', sizeof(chunk));
		if (fd < 0 || recv(fd, req, sizeof(req), 0) <= 0)
			_exit(1);
		snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n", n);
		if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0)
			_exit(1);
		for (size_t sent = 0; sent < n; sent += sizeof(chunk))
			if (send(fd, chunk, n - sent < sizeof(chunk) ? n - sent : sizeof(chunk), MSG_NOSIGNAL) < 0)
				_exit(0); /* the client hung up: expected */
		_exit(0);
	}
	close(lfd);
	return pid;
}

static int never_called(void *arg, const char *type, json_t *object)
{
	(void)type;
	(void)object;
	++*(int *)arg;
	return 0;
}

static void test_limits(const struct csdk_host *host)
{
	struct k8sp_k8s ctx = { .host = host, .namespace_ = "default" };
	char server[64], want[256];
	json_t *j = NULL;
	long status;
	int port, rc, events = 0;
	pid_t pid;

	snprintf(ctx.creds.source, sizeof(ctx.creds.source), "a test");
	ctx.creds.server = server;
	pid = serve_bytes((16u << 20) + 1, &port);
	CHECK(pid > 0, "the test server starts");
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", port);
	rc = k8sp_call(&ctx, "GET", "/api/v1/namespaces/default/pods", NULL, NULL, 0, &status, &j);
	snprintf(want, sizeof(want), "kube-apiserver at %s answered GET /api/v1/namespaces/default/pods with more than 16 MiB; "
		 "check the cluster", server);
	CHECK(rc == CSDK_EBACKEND && !j && !strcmp(last_error, want), "an answer over 16 MiB: %d %s", rc, last_error);
	waitpid(pid, NULL, 0);
	pid = serve_bytes((4u << 20) + 1, &port);
	snprintf(server, sizeof(server), "http://127.0.0.1:%d", port);
	rc = k8sp_watch(&ctx, "/api/v1/pods?watch=1", 0, never_called, &events);
	snprintf(want, sizeof(want), "kube-apiserver at %s sent a watch event over 4 MiB for /api/v1/pods?watch=1; check the cluster",
		 server);
	CHECK(rc == CSDK_EBACKEND && !events && !strcmp(last_error, want), "a watch event over 4 MiB: %d %s", rc, last_error);
	waitpid(pid, NULL, 0);
}

int main(void)
{
	static const struct csdk_host host = { .struct_size = sizeof(host), .error = h_error, .log = h_log,
					       .endpoint_set = h_endpoint_set };
	struct k8sp_k8s ctx = { .host = &host, .namespace_ = "default" };
	struct k8sp_sandbox sb;
	json_t *p;

	curl_global_init(CURL_GLOBAL_DEFAULT); /* as the plugin's init does: before threads */
	memset(&sb, 0, sizeof(sb));
	snprintf(sb.name, sizeof(sb.name), "csdk-1");
	p = pod("10.1.2.3", "49983", "{\"name\":\"A\",\"value\":\"b\"},{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"0123abcd\"}");
	k8sp_agent_from_pod(&sb, p);
	CHECK(!strcmp(sb.agent_url, "http://10.1.2.3:49983"), "IPv4 URL: %s", sb.agent_url);
	CHECK(!strcmp(sb.token, "0123abcd"), "token: %s", sb.token);
	CHECK(sb.agent_pod_ip, "a pod without agent-transport listens on its IP");
	ctx.gateway = 1;
	CHECK(k8sp_m_gateway_endpoint(&ctx, &sb, NULL) == CSDK_EUNSUPPORTED &&
	      !strcmp(last_error, "sandbox csdk-1 was created with gateway_transport=pod-ip, whose agent cannot be reached through "
				  "port-forward; use gateway_transport=pod-ip"),
	      "a pod-ip pod through port-forward: %s", last_error);
	ctx.pod_ip = 1;
	CHECK(k8sp_m_gateway_endpoint(&ctx, &sb, NULL) == 0 && !strcmp(endpoint, "http://10.1.2.3:49983"), "pod-ip endpoint: %s",
	      endpoint);
	ctx.pod_ip = ctx.gateway = 0;
	json_decref(p);

	p = pod("fd00::5", "20001", "{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"user\"},{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"ours\"}");
	k8sp_agent_from_pod(&sb, p);
	CHECK(!strcmp(sb.agent_url, "http://[fd00::5]:20001"), "IPv6 URL: %s", sb.agent_url);
	CHECK(!strcmp(sb.token, "ours"), "the last token wins: %s", sb.token);
	json_decref(p);

	p = pod("10.1.2.3", "49983x", "");
	k8sp_agent_from_pod(&sb, p);
	CHECK(!sb.agent_url[0] && !sb.token[0], "a bad port gives no agent: %s", sb.agent_url);
	json_decref(p);

	p = pod("10.1.2.3", NULL, "{\"name\":\"CSDK_AGENT_TOKEN\",\"value\":\"x\"}");
	k8sp_agent_from_pod(&sb, p);
	CHECK(!sb.agent_url[0], "a direct-mode pod has no agent: %s", sb.agent_url);
	CHECK(k8sp_m_gateway_endpoint(&ctx, &sb, NULL) == CSDK_EUNSUPPORTED && strstr(last_error, "mode=gateway"),
	      "gateway_endpoint on a direct-mode pod: %s", last_error);
	ctx.gateway = 1;
	CHECK(k8sp_agent_wait(&ctx, &sb) == CSDK_EUNSUPPORTED && strstr(last_error, "direct mode"),
	      "agent_wait on a direct-mode pod: %s", last_error);
	json_decref(p);
	test_fwd(&host);
	test_limits(&host);

	printf("%d checks, %d failed\n", checks, failures);
	return failures != 0;
}
