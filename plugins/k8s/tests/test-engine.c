/*
 * test-engine.c - the k8s plugin against a real cluster ($KUBECONFIG, a
 * private cluster started by tests/k8s/cluster.sh): create failure reasons,
 * the lifetime the cluster enforces, the find_or_create race, destroy while
 * a command streams, gateway mode over port-forward (a unix socket, no
 * connection to the pod's port, destroy while a command streams through
 * it, nothing left after teardown). Loads csdk-k8s.so through its entry point and plays the
 * host with a minimal struct csdk_host of its own.
 */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>
#include <csdk/plugin.h>

static int failures, checks;

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

static __thread char last_error[1024];
static __thread int last_code;

struct csdk_config { const char *keys[16]; const char *values[16]; int n; };
struct csdk_sink { char *data[3]; size_t len[3]; pthread_mutex_t *lock; };
struct csdk_text { char value[160]; };
struct csdk_info { char id[128]; int status; int64_t created, timeout; char meta[512]; };
struct csdk_handles { char ids[256][128]; void *h[256]; int n; };
struct csdk_endpoint { char url[256]; char token[64]; };

static void h_log(const struct csdk_host *h, enum csdk_log_level l, const char *fmt, ...)
{
	va_list ap;
	(void)h;
	(void)l;
	va_start(ap, fmt);
	fprintf(stderr, "[k8s] ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int h_error(const struct csdk_host *h, int code, const char *fmt, ...)
{
	va_list ap;
	(void)h;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	last_code = code;
	return code;
}

/* keys given to open_ctx, else the environment variable the plugin declares */
static const char *h_config_get(const struct csdk_config *c, const char *key)
{
	char env[64];
	size_t i;

	for (int k = 0; k < c->n; k++)
		if (!strcmp(c->keys[k], key))
			return c->values[k];
	if (!strcmp(key, "kubeconfig"))
		return getenv("KUBECONFIG");
	snprintf(env, sizeof(env), "CSDK_K8S_");
	for (i = 0; key[i] && i + 10 < sizeof(env); i++)
		env[9 + i] = (char)toupper((unsigned char)key[i]);
	env[9 + i] = '\0';
	return getenv(env);
}

static int h_config_get_int(const struct csdk_config *c, const char *key, int64_t *out)
{
	const char *v = h_config_get(c, key);
	char *end;
	double d;

	if (!v)
		return CSDK_ENOTFOUND;
	if (!strcmp(v, "true")) { *out = 1; return 0; }
	if (!strcmp(v, "false")) { *out = 0; return 0; }
	d = strtod(v, &end);
	if (!strcmp(end, "s"))
		d *= 1000;
	else if (!strcmp(end, "m"))
		d *= 60000;
	else if (!strcmp(end, "h"))
		d *= 3600000;
	*out = (int64_t)d;
	return 0;
}

static int h_sink_write(struct csdk_sink *s, enum csdk_stream st, const void *d, size_t n)
{
	char *p = realloc(s->data[st], s->len[st] + n + 1);
	if (!p)
		return CSDK_ENOMEM;
	memcpy(p + s->len[st], d, n);
	p[s->len[st] + n] = '\0';
	s->data[st] = p;
	/* a waiting thread reads len while a command streams */
	__atomic_store_n(&s->len[st], s->len[st] + n, __ATOMIC_RELEASE);
	return 0;
}

static int h_text_set(struct csdk_text *t, const char *v) { snprintf(t->value, sizeof(t->value), "%s", v); return 0; }
static int h_info_set_id(struct csdk_info *i, const char *id) { snprintf(i->id, sizeof(i->id), "%s", id); return 0; }
static int h_info_set_status(struct csdk_info *i, enum csdk_status s) { i->status = s; return 0; }
static int h_info_set_times(struct csdk_info *i, int64_t c, int64_t t) { i->created = c; i->timeout = t; return 0; }
static int h_info_add_metadata(struct csdk_info *i, const char *k, const char *v)
{
	size_t n = strlen(i->meta);
	snprintf(i->meta + n, sizeof(i->meta) - n, "%s=%s;", k, v);
	return 0;
}
static int h_handles_add(struct csdk_handles *l, const char *id, void *h)
{
	if (l->n == 256)
		return CSDK_ENOMEM;
	snprintf(l->ids[l->n], 128, "%s", id);
	l->h[l->n++] = h;
	return 0;
}

static int h_endpoint_set(struct csdk_endpoint *e, const char *url, const char *token)
{
	snprintf(e->url, sizeof(e->url), "%s", url);
	snprintf(e->token, sizeof(e->token), "%s", token ? token : "");
	return 0;
}

static const struct csdk_host host = {
	.struct_size = sizeof(struct csdk_host), .abi_version = CSDK_ABI_VERSION,
	.log = h_log, .error = h_error, .config_get = h_config_get, .config_get_int = h_config_get_int,
	.sink_write = h_sink_write, .text_set = h_text_set, .info_set_id = h_info_set_id,
	.info_set_status = h_info_set_status, .info_set_times = h_info_set_times,
	.info_add_metadata = h_info_add_metadata, .handles_add = h_handles_add, .endpoint_set = h_endpoint_set,
};

static const struct csdk_methods *M;

static void sink_free(struct csdk_sink *s)
{
	for (int i = 0; i < 3; i++)
		free(s->data[i]);
	memset(s, 0, sizeof(*s));
}

static void *open_ctx(const char *k1, const char *v1, const char *k2, const char *v2)
{
	static struct csdk_config cfgs[16];
	static int ncfg;
	struct csdk_config *c = &cfgs[ncfg++];
	void *ctx = NULL;

	c->n = 0;
	if (k1) { c->keys[c->n] = k1; c->values[c->n++] = v1; }
	if (k2) { c->keys[c->n] = k2; c->values[c->n++] = v2; }
	if (M->init(&host, c, &ctx))
		fprintf(stderr, "init failed: %s\n", last_error);
	return ctx;
}

static struct csdk_create_request req_init(void)
{
	struct csdk_create_request r = { .struct_size = sizeof(r) };
	return r;
}

static int count_pods(void *ctx, const char *id)
{
	struct csdk_handles *l = calloc(1, sizeof(*l));
	int n = 0;

	if (M->list(ctx, l) == 0)
		for (int i = 0; i < l->n; i++) {
			if (!id || !strcmp(l->ids[i], id))
				n++;
			M->release(ctx, l->h[i]);
		}
	free(l);
	return n;
}

/* The API server directly (CSDK_K8S_TEST_SERVER, CSDK_K8S_TEST_TOKEN from
 * run.sh), to see what the cluster did, not what the plugin says, and to
 * play the parts of the cluster this one lacks. PATH below the namespace
 * default; BODY with METHOD PATCH is a strategic merge patch. */
static int raw_call(const char *method, const char *path, const char *body, char *out, size_t outlen)
{
	const char *server = getenv("CSDK_K8S_TEST_SERVER"), *token = getenv("CSDK_K8S_TEST_TOKEN");
	char url[512], auth[256];
	struct curl_slist *hd;
	long status = 0;
	FILE *f;
	CURL *c;

	out[0] = '\0';
	if (!server || !token)
		return -1;
	snprintf(url, sizeof(url), "%s/api/v1/namespaces/default/%s", server, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hd = curl_slist_append(NULL, auth);
	hd = curl_slist_append(hd, strcmp(method, "PATCH") ? "Content-Type: application/json"
						       : "Content-Type: application/strategic-merge-patch+json");
	f = fmemopen(out, outlen, "w");
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	fclose(f);
	curl_easy_cleanup(c);
	curl_slist_free_all(hd);
	return (int)status;
}

static int raw_pod(const char *name, char *out, size_t outlen)
{
	char path[256];

	snprintf(path, sizeof(path), "pods/%s", name);
	return raw_call("GET", path, NULL, out, outlen);
}

/* ----------------------------------------------------------------- cases */

static void test_image_never(void)
{
	void *ctx = open_ctx("image", "docker.io/local/not-imported:1", "image_pull_policy", "Never");
	struct csdk_create_request r = req_init();
	struct csdk_text id = { 0 };
	void *sb = NULL;
	int before = count_pods(ctx, NULL), rc;

	/* the reason comes from the watch: a start_timeout would say "did not start within" */
	rc = M->create(ctx, &r, &id, &sb);
	CHECK(rc == CSDK_EBACKEND, "create with a missing image and Never: rc %d (%s)", rc, last_error);
	CHECK(strstr(last_error, "cannot start: ErrImageNeverPull: Container image \"docker.io/local/not-imported:1\" is not present "
				 "with pull policy of Never; import the image on the node, or set image_pull_policy to IfNotPresent") &&
	      !strchr(last_error, '\n'),
	      "the error names ErrImageNeverPull on one line: %s", last_error);
	CHECK(count_pods(ctx, NULL) == before, "the failed pod was deleted");
	M->teardown(ctx);
}

/* The test cluster has no scheduler: this thread plays it, and marks the
 * pod labelled engine-case=unschedulable PodScheduled=False, Unschedulable,
 * through pods/status as kube-scheduler does. */
static void *scheduler(void *arg)
{
	static char list[65536], answer[65536];
	char path[256], name[64];
	const char *p;

	(void)arg;
	for (int i = 0; i < 600; i++) { /* up to 60 s for the pod to appear */
		if (raw_call("GET", "pods?labelSelector=engine-case%3Dunschedulable", NULL, list, sizeof(list)) == 200 &&
		    (p = strstr(list, "\"name\":\"csdk-")) && sscanf(p + 8, "%63[^\"]", name) == 1) {
			snprintf(path, sizeof(path), "pods/%s/status", name);
			raw_call("PATCH", path,
				 "{\"status\":{\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
				 "\"reason\":\"Unschedulable\",\"message\":\"0/1 nodes are available: 1 node(s) didn't match node selector.\"}]}}",
				 answer, sizeof(answer));
			return NULL;
		}
		usleep(100000);
	}
	return NULL;
}

static void test_unschedulable(void)
{
	void *ctx = open_ctx("node_name", "", "labels", "engine-case=unschedulable");
	struct csdk_create_request r = req_init();
	struct csdk_text id = { 0 };
	void *sb = NULL;
	pthread_t t;
	int before = count_pods(ctx, NULL), rc;

	pthread_create(&t, NULL, scheduler, NULL);
	rc = M->create(ctx, &r, &id, &sb);
	pthread_join(t, NULL);
	CHECK(rc == CSDK_EBACKEND, "create of a pod no node takes: rc %d (%s)", rc, last_error);
	CHECK(strstr(last_error, "cannot start: Unschedulable: 0/1 nodes are available: 1 node(s) didn't match node selector.; "
				 "check node_selector, node_name and the cpus/memory requested") && !strchr(last_error, '\n'),
	      "the error names Unschedulable and the scheduler's message on one line: %s", last_error);
	CHECK(count_pods(ctx, NULL) == before, "the unschedulable pod was deleted");
	M->teardown(ctx);
}

static void test_out_of_cpu(void)
{
	/* the pod is bound to the node (node_name): the kubelet refuses it at admission */
	void *ctx = open_ctx(NULL, NULL, NULL, NULL);
	struct csdk_create_request r = req_init();
	struct csdk_text id = { 0 };
	void *sb = NULL;
	int before = count_pods(ctx, NULL), rc;

	r.cpus = 4096;
	rc = M->create(ctx, &r, &id, &sb);
	CHECK(rc == CSDK_EBACKEND, "create asking for 4096 cpus: rc %d (%s)", rc, last_error);
	CHECK(strstr(last_error, "cannot start: it ended (phase Failed, OutOfcpu: ") &&
	      strstr(last_error, "; request fewer cpus or less memory_bytes than a node has") && !strchr(last_error, '\n'),
	      "the error names OutOfcpu on one line: %s", last_error);
	CHECK(count_pods(ctx, NULL) == before, "the refused pod was deleted");
	M->teardown(ctx);

	/* a node selector the node (node_name) does not match */
	ctx = open_ctx("node_selector", "disk=none", NULL, NULL);
	r.cpus = 0;
	rc = M->create(ctx, &r, &id, &sb);
	CHECK(rc == CSDK_EBACKEND && strstr(last_error, "cannot start: it ended (phase Failed, NodeAffinity: ") &&
	      strstr(last_error, "; check node_selector and node_name") && !strchr(last_error, '\n'),
	      "a node_selector no node matches: rc %d (%s)", rc, last_error);
	CHECK(count_pods(ctx, NULL) == before, "the refused pod was deleted");
	M->teardown(ctx);
}

static void test_list_paging(void)
{
	/* 120 sandbox-labelled pods that no node runs (no node_name, no
	 * scheduler): objects in the API server only, so list needs two pages
	 * of limit=100 */
	static char answer[65536];
	void *ctx = open_ctx(NULL, NULL, NULL, NULL);
	int before = count_pods(ctx, NULL), made = 0, n;

	for (int i = 0; i < 120; i++) {
		char body[512];
		snprintf(body, sizeof(body),
			 "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"csdk-paging-%03d\",\"labels\":"
			 "{\"computesdk.com/sandbox\":\"true\",\"engine-case\":\"paging\"}},\"spec\":{\"containers\":"
			 "[{\"name\":\"sandbox\",\"image\":\"docker.io/local/busybox:1\"}]}}", i);
		made += raw_call("POST", "pods", body, answer, sizeof(answer)) == 201;
	}
	CHECK(made == 120, "120 pods made: %d", made);
	n = count_pods(ctx, NULL);
	CHECK(n == before + 120, "list follows continue past the first 100: %d of %d", n, before + 120);
	raw_call("DELETE", "pods?labelSelector=engine-case%3Dpaging&gracePeriodSeconds=0", NULL, answer, sizeof(answer));
	CHECK(count_pods(ctx, NULL) == before, "the paging pods were deleted");
	M->teardown(ctx);
}

/* Epoch seconds now. */
static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

/* Until the pod is gone or its JSON has want, for up to limit seconds; 1 when it is gone. */
static int wait_pod(const char *name, const char *want, int limit, char *pod, size_t podlen)
{
	for (int64_t end = now_s() + limit;; sleep(1)) {
		if (raw_pod(name, pod, podlen) <= 0)
			return 1;
		if (strstr(pod, want) || now_s() > end)
			return 0;
	}
}

static void test_lifetime(void)
{
	/* the cluster's activeDeadlineSeconds ends the pod: max_lifetime 30 s (a
	 * pod starts within it on a loaded machine, which 3 s did not allow) */
	void *ctx = open_ctx("max_lifetime", "30s", NULL, NULL);
	struct csdk_create_request r = req_init();
	struct csdk_text id = { 0 };
	struct csdk_info info = { 0 };
	void *sb = NULL, *sb2 = NULL;
	int rc;

	rc = M->create(ctx, &r, &id, &sb);
	CHECK(rc == 0, "create with max_lifetime 30s: %s", last_error);
	if (rc)
		goto out;
	CHECK(M->get_info(ctx, sb, &info) == 0 && info.timeout == 30000, "timeout_ms 30000: %lld", (long long)info.timeout);
	{
		static char pod[65536];
		/* the kubelet ends it at the deadline, on a loaded machine later */
		if (!wait_pod(id.value, "\"DeadlineExceeded\"", 150, pod, sizeof(pod)))
			CHECK(strstr(pod, "\"DeadlineExceeded\"") && strstr(pod, "\"activeDeadlineSeconds\":30"),
			      "the cluster ended the pod: activeDeadlineSeconds 30, reason DeadlineExceeded: %.300s", pod);
	}
	rc = M->get(ctx, id.value, &sb2);
	CHECK(rc == CSDK_ENOTFOUND, "after its deadline the sandbox is gone: rc %d", rc);
	if (!rc)
		M->release(ctx, sb2);
	M->release(ctx, sb);
	M->destroy(ctx, id.value);
out:
	M->teardown(ctx);

	/* extend_timeout moves the deadline the pod's PID 1 keeps: 20 s and 20
	 * more (the create and the extend fit in the first on a loaded machine,
	 * the command after the first deadline in the second) */
	ctx = open_ctx(NULL, NULL, NULL, NULL);
	r.timeout_ms = 20000;
	rc = M->create(ctx, &r, &id, &sb);
	CHECK(rc == 0, "create with timeout 20s: %s", last_error);
	if (!rc) {
		struct csdk_sink s = { 0 };
		struct csdk_run_request rr = { .struct_size = sizeof(rr) };
		int code = -1;
		CHECK(M->extend_timeout(ctx, sb, 20000) == 0, "extend_timeout: %s", last_error);
		memset(&info, 0, sizeof(info));
		CHECK(M->get_info(ctx, sb, &info) == 0 && info.created > 0, "get_info: %s", last_error);
		/* past the first deadline (whole seconds, from a creation time to the
		 * second) and PID 1's next look at it */
		while (now_s() <= (info.created + 20000 + 999) / 1000 + 2)
			sleep(1);
		rc = M->run_command(ctx, sb, "echo alive", &rr, &s, &code);
		CHECK(rc == 0 && code == 0 && s.data[1] && !strcmp(s.data[1], "alive\n"),
		      "alive after the first deadline: rc %d code %d %s", rc, code, last_error);
		sink_free(&s);
		{
			static char pod[65536];
			/* PID 1 ends it at the extended deadline, on a loaded machine later */
			if (!wait_pod(id.value, "\"phase\":\"Succeeded\"", 150, pod, sizeof(pod)))
				CHECK(strstr(pod, "\"phase\":\"Succeeded\""), "PID 1 ended the pod at the extended deadline: %.300s", pod);
		}
		rc = M->get(ctx, id.value, &sb2);
		CHECK(rc == CSDK_ENOTFOUND, "gone after the extended deadline: rc %d", rc);
		if (!rc)
			M->release(ctx, sb2);
		M->release(ctx, sb);
		M->destroy(ctx, id.value);
	}
	M->teardown(ctx);
}

static void test_resources_and_metadata(void)
{
	/* the node's own hostname label: the kubelet admits the pod */
	void *ctx = open_ctx("labels", "team=ml,tier=batch", "node_selector", "kubernetes.io/hostname=127.0.0.1");
	struct csdk_create_request r = req_init();
	struct csdk_kv md[] = { { "owner", "it's me" }, { "weird key/with.dots", "v" } };
	struct csdk_text id = { 0 };
	struct csdk_info info = { 0 };
	static char pod[65536];
	void *sb = NULL;
	int rc;

	r.cpus = 0.5;
	r.memory_bytes = 256u << 20;
	r.metadata = md;
	r.n_metadata = 2;
	rc = M->create(ctx, &r, &id, &sb);
	CHECK(rc == 0, "create with cpus, memory, metadata: %s", last_error);
	if (rc)
		goto out;
	if (raw_pod(id.value, pod, sizeof(pod)) > 0) {
		CHECK(strstr(pod, "\"limits\":{\"cpu\":\"500m\",\"memory\":\"268435456\"}") &&
		      strstr(pod, "\"requests\":{\"cpu\":\"500m\",\"memory\":\"268435456\"}"),
		      "cpus and memory_bytes as requests and limits: %.200s", strstr(pod, "\"resources\"") ? strstr(pod, "\"resources\"") : pod);
		CHECK(strstr(pod, "\"team\":\"ml\"") && strstr(pod, "\"tier\":\"batch\"") &&
		      strstr(pod, "\"computesdk.com/sandbox\":\"true\""), "extra labels and the sandbox label");
		CHECK(strstr(pod, "\"nodeSelector\":{\"kubernetes.io/hostname\":\"127.0.0.1\"}"), "the node selector");
	}
	{
		/* a background command outlives the call that started it: it waits
		 * for /tmp/bg-go, which only a later call makes (a start that waited
		 * for the command would fail after its own 30 s bound) */
		struct csdk_run_request bg = { .struct_size = sizeof(bg), .background = 1 };
		struct csdk_run_request fg = { .struct_size = sizeof(fg) };
		struct csdk_sink s = { 0 };
		int code = -1;
		rc = M->run_command(ctx, sb, "while [ ! -e /tmp/bg-go ]; do sleep 0.1; done; echo later > /tmp/bg-done", &bg, &s, &code);
		CHECK(rc == 0 && code == 0, "background start returns while the command runs: rc %d (%s)", rc, last_error);
		rc = M->run_command(ctx, sb, "test ! -e /tmp/bg-done || exit 3; touch /tmp/bg-go; i=0; while [ ! -e /tmp/bg-done ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; cat /tmp/bg-done",
				    &fg, &s, &code);
		CHECK(rc == 0 && code == 0 && s.data[1] && !strcmp(s.data[1], "later\n"), "the background command finished after the call: %s",
		      s.data[1] ? s.data[1] : last_error);
		sink_free(&s);
	}
	CHECK(M->get_info(ctx, sb, &info) == 0 && strstr(info.meta, "owner=it's me;") && strstr(info.meta, "weird key/with.dots=v;"),
	      "metadata round trips through the annotation: %s", info.meta);
	M->release(ctx, sb);
	M->destroy(ctx, id.value);
out:
	M->teardown(ctx);
}

struct racer {
	void *ctx;
	char id[160];
	int rc;
	char err[1024];
};

static void *race(void *arg)
{
	struct racer *r = arg;
	struct csdk_create_request req = req_init();
	struct csdk_text id = { 0 };
	void *sb = NULL;

	req.name = "race";
	req.namespace_ = "engine-test";
	r->rc = M->find_or_create(r->ctx, &req, &id, &sb);
	snprintf(r->id, sizeof(r->id), "%s", id.value);
	snprintf(r->err, sizeof(r->err), "%s", last_error);
	if (!r->rc)
		M->release(r->ctx, sb);
	return NULL;
}

static void test_find_or_create_race(void)
{
	void *ctx = open_ctx(NULL, NULL, NULL, NULL);
	struct racer a = { .ctx = ctx }, b = { .ctx = ctx };
	pthread_t ta, tb;

	pthread_create(&ta, NULL, race, &a);
	pthread_create(&tb, NULL, race, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK(a.rc == 0 && b.rc == 0, "both find_or_create calls succeed: %d (%s) / %d (%s)", a.rc, a.err, b.rc, b.err);
	CHECK(a.id[0] && !strcmp(a.id, b.id), "one sandbox: %s / %s", a.id, b.id);
	CHECK(count_pods(ctx, a.id) == 1, "one pod named %s", a.id);
	M->destroy(ctx, a.id);
	M->teardown(ctx);
}

struct streamer {
	void *ctx;
	void *sb;
	struct csdk_sink sink;
	int rc, code;
	char err[1024];
};

static void *stream(void *arg)
{
	struct streamer *s = arg;
	/* the timeout only bounds a plugin that missed the destroy: then exit 124, and the check fails */
	struct csdk_run_request rr = { .struct_size = sizeof(rr), .timeout_ms = 120000 };

	s->rc = M->run_command(s->ctx, s->sb, "while :; do echo tick; sleep 0.2; done", &rr, &s->sink, &s->code);
	snprintf(s->err, sizeof(s->err), "%s", last_error);
	return NULL;
}

static void test_destroy_while_streaming(void)
{
	void *ctx = open_ctx(NULL, NULL, NULL, NULL);
	struct csdk_create_request r = req_init();
	struct csdk_text id = { 0 };
	struct streamer s = { .ctx = ctx };
	char want[256];
	pthread_t t;
	int rc;

	rc = M->create(ctx, &r, &id, &s.sb);
	CHECK(rc == 0, "create: %s", last_error);
	if (rc)
		goto out;
	{
		void *bare = open_ctx("url_template", NULL, NULL, NULL);
		struct csdk_text url = { 0 };
		rc = M->get_url(bare, s.sb, 3000, NULL, &url);
		CHECK(rc == CSDK_ECONFIG && strstr(last_error, "url_template"), "get_url without url_template: %d %s", rc, last_error);
		M->teardown(bare);
	}
	pthread_create(&t, NULL, stream, &s);
	/* destroyed once ticks came through (an exec starts late on a loaded machine) */
	for (int64_t end = now_s() + 60; __atomic_load_n(&s.sink.len[1], __ATOMIC_ACQUIRE) < 10 && now_s() < end;)
		usleep(100000);
	rc = M->destroy(ctx, id.value);
	CHECK(rc == 0, "destroy while a command streams: %s", last_error);
	pthread_join(t, NULL);
	CHECK(s.sink.len[1] >= 10 && strstr(s.sink.data[1] ? s.sink.data[1] : "", "tick\n"),
	      "output streamed before the destroy: %zu bytes", s.sink.len[1]);
	snprintf(want, sizeof(want), "sandbox %s was destroyed while a command ran in it", id.value);
	CHECK(s.rc == CSDK_ENOTFOUND && !strcmp(s.err, want), "the command ends with an error: rc %d (%s)", s.rc, s.err);
	CHECK(M->destroy(ctx, id.value) == 0, "destroy again succeeds");
	M->release(ctx, s.sb);
	sink_free(&s.sink);
out:
	M->teardown(ctx);
}

/* ------------------------------------------------ gateway over port-forward */

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

/* Sockets of this process connected to a TCP port (remote side), from /proc/net/tcp{,6} and /proc/self/fd. */
static int tcp_conns_to(int port)
{
	char inodes[64][24], line[512], path[300], link[64];
	int ni = 0, n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	for (const char *const *f = (const char *const[]){ "/proc/net/tcp", "/proc/net/tcp6", NULL }; *f; f++) {
		FILE *fp = fopen(*f, "r");
		while (fp && fgets(line, sizeof(line), fp)) {
			char rem[64];
			unsigned long ino;
			unsigned rport;
			if (sscanf(line, " %*d: %*s %63s %*x %*s %*s %*s %*d %*d %lu", rem, &ino) == 2 && strchr(rem, ':') &&
			    sscanf(strchr(rem, ':') + 1, "%x", &rport) == 1 && (int)rport == port && ni < 64)
				snprintf(inodes[ni++], sizeof(inodes[0]), "socket:[%lu]", ino);
		}
		if (fp)
			fclose(fp);
	}
	while (d && (e = readdir(d))) {
		ssize_t l;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		if ((l = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[l] = '\0';
		for (int i = 0; i < ni; i++)
			n += !strcmp(link, inodes[i]);
	}
	if (d)
		closedir(d);
	return n;
}

struct gw_stream {
	const char *sock, *token;
	char out[65536];
	size_t len;
	CURLcode cc;
	int agent_port, conns_seen; /* connections of this process to the agent's port while bytes came */
};

static size_t gw_write(char *p, size_t sz, size_t n, void *arg)
{
	struct gw_stream *g = arg;
	size_t k = sz * n;

	if (k > sizeof(g->out) - 1 - g->len)
		k = sizeof(g->out) - 1 - g->len;
	memcpy(g->out + g->len, p, k);
	g->out[g->len + k] = '\0';
	__atomic_store_n(&g->len, g->len + k, __ATOMIC_RELEASE);
	g->conns_seen += tcp_conns_to(g->agent_port);
	return sz * n;
}

/* A streaming command through the agent's own API (process.Process/Start, Connect envelopes), as the host's envd client sends it. */
static void *gw_run(void *arg)
{
	static const char msg[] = "{\"process\":{\"cmd\":\"/bin/sh\",\"args\":[\"-c\",\"while :; do echo tick; sleep 0.2; done\"]}}";
	struct gw_stream *g = arg;
	char body[256], auth[128];
	struct curl_slist *hd = NULL;
	CURL *c = curl_easy_init();

	body[0] = 0;
	body[1] = body[2] = body[3] = 0;
	body[4] = (char)(sizeof(msg) - 1);
	memcpy(body + 5, msg, sizeof(msg) - 1);
	snprintf(auth, sizeof(auth), "X-Access-Token: %s", g->token);
	hd = curl_slist_append(hd, auth);
	hd = curl_slist_append(hd, "Content-Type: application/connect+json");
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, g->sock);
	curl_easy_setopt(c, CURLOPT_URL, "http://localhost/process.Process/Start");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(5 + sizeof(msg) - 1));
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, gw_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, g);
	/* bounds a plugin that missed the destroy: the check on cc then fails */
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	g->cc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	curl_slist_free_all(hd);
	return NULL;
}

static void test_gateway_portforward(void)
{
	int before = tasks();
	void *ctx = open_ctx("mode", "gateway", NULL, NULL);
	struct csdk_create_request r = req_init();
	struct csdk_text id = { 0 }, id2 = { 0 };
	struct csdk_endpoint ep = { 0 }, ep2 = { 0 };
	struct gw_stream *g = calloc(1, sizeof(*g));
	char pod[16384], dir[sizeof(ep.url)], *slash;
	const char *port;
	struct stat st;
	void *sb = NULL, *sb2 = NULL;
	pthread_t t;
	int rc, fd = -1;

	rc = M->create(ctx, &r, &id, &sb);
	CHECK(rc == 0, "create in gateway mode (the agent answers /health through port-forward): %s", last_error);
	if (rc)
		goto out;
	rc = M->gateway_endpoint(ctx, sb, &ep);
	CHECK(rc == 0 && !strncmp(ep.url, "unix:/", 6) && strlen(ep.token) == 32, "the endpoint is a unix socket: %d %s (%s)", rc,
	      ep.url, last_error);
	if (rc || strncmp(ep.url, "unix:/", 6))
		goto out;
	snprintf(dir, sizeof(dir), "%.250s", ep.url + 5);
	if ((slash = strrchr(dir, '/')))
		*slash = '\0';
	CHECK(stat(ep.url + 5, &st) == 0 && S_ISSOCK(st.st_mode), "%s is a socket", ep.url + 5);
	CHECK(stat(dir, &st) == 0 && (st.st_mode & 0777) == 0700, "%s is private (0700): %o", dir, (unsigned)st.st_mode & 0777);
	raw_pod(id.value, pod, sizeof(pod));
	port = strstr(pod, "\"computesdk.com/agent-port\":\"");
	g->agent_port = port ? atoi(port + strlen("\"computesdk.com/agent-port\":\"")) : 0;
	CHECK(g->agent_port > 0 && strstr(pod, "--listen 127.0.0.1:"), "the agent listens on 127.0.0.1 only (port %d)", g->agent_port);

	/* a command streams through the socket; then destroy */
	g->sock = ep.url + 5;
	g->token = ep.token;
	pthread_create(&t, NULL, gw_run, g);
	/* destroyed once a tick came through (the stream starts late on a loaded machine) */
	for (int64_t end = now_s() + 60;
	     !memmem(g->out, __atomic_load_n(&g->len, __ATOMIC_ACQUIRE), "dGljawo=", 8) && now_s() < end;)
		usleep(100000);
	rc = M->destroy(ctx, id.value);
	CHECK(rc == 0, "destroy while a gateway command streams: %s", last_error);
	pthread_join(t, NULL);
	/* "tick\n" is dGljawo= in the events' base64 */
	CHECK(memmem(g->out, g->len, "dGljawo=", 8) != NULL, "output streamed through port-forward before the destroy: %zu bytes", g->len);
	CHECK(g->cc != CURLE_OPERATION_TIMEDOUT, "the stream ends with the destroy: curl %d (%s)", g->cc, curl_easy_strerror(g->cc));
	CHECK(g->conns_seen == 0, "no connection of this process to the agent's port %d while it streamed (%d seen)", g->agent_port,
	      g->conns_seen);
	CHECK(stat(ep.url + 5, &st) != 0, "destroy removes the sandbox's socket %s", ep.url + 5);
	M->release(ctx, sb);
	sb = NULL;

	/* teardown with a connection open: it ends, and nothing is left */
	rc = M->create(ctx, &r, &id2, &sb2);
	CHECK(rc == 0, "create a second gateway sandbox: %s", last_error);
	if (!rc && M->gateway_endpoint(ctx, sb2, &ep2) == 0 && !strncmp(ep2.url, "unix:", 5)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", ep2.url + 5);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "connect to %s", ep2.url + 5);
		sleep(1);
	}
	if (!rc)
		M->destroy(ctx, id2.value);
	if (sb2)
		M->release(ctx, sb2);
out:
	if (sb)
		M->release(ctx, sb);
	M->teardown(ctx);
	if (fd >= 0) {
		char c;
		CHECK(recv(fd, &c, 1, 0) == 0, "an open connection is closed by teardown");
		close(fd);
	}
	if (ep.url[0])
		CHECK(stat(dir, &st) != 0, "teardown removes %s", dir);
	CHECK(tasks() == before, "teardown joins every thread: %d before, %d after", before, tasks());
	free(g);
}

int main(void)
{
	const struct csdk_plugin *p = NULL;
	void *so;
	int (*entry)(uint32_t, const struct csdk_plugin **);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	so = dlopen(K8S_PLUGIN_PATH, RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		fprintf(stderr, "cannot load %s: %s\n", K8S_PLUGIN_PATH, dlerror());
		return 99;
	}
	*(void **)&entry = dlsym(so, "csdk_plugin_entry");
	if (!entry || entry(CSDK_ABI_VERSION, &p) || !p) {
		fprintf(stderr, "no descriptor\n");
		return 99;
	}
	M = p->methods;
	CHECK(!strcmp(p->name, "k8s") && (p->capabilities & CSDK_CAP_FS_OVER_COMMANDS) && (p->capabilities & CSDK_CAP_NAMED),
	      "descriptor");
	if (!getenv("KUBECONFIG")) {
		fprintf(stderr, "SKIP: the engine cases need KUBECONFIG of a cluster (run through tests/k8s/run.sh)\n");
		if (getenv("CSDK_TEST_REQUIRE_K8S") && !strcmp(getenv("CSDK_TEST_REQUIRE_K8S"), "1"))
			return 99;
		return failures ? 1 : 77;
	}
	test_image_never();
	test_unschedulable();
	test_out_of_cpu();
	test_list_paging();
	test_resources_and_metadata();
	test_find_or_create_race();
	test_destroy_while_streaming();
	test_gateway_portforward();
	test_lifetime();
	printf("%d checks, %d failed\n", checks, failures);
	return failures ? 1 : 0;
}
