/*
 * Test driver for csdk-local.so: dlopens the plugin, plays the host (a real
 * struct csdk_host whose builders store what they receive) and exercises
 * every method, once with bubblewrap isolation and once without.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <csdk/plugin.h>

static int failures, checks;

#define CHECK(cond) do { __sync_fetch_and_add(&checks, 1); if (!(cond)) { __sync_fetch_and_add(&failures, 1); fprintf(stderr, "%s:%d: [%s] check failed: %s (last error %d: %s)\n", __FILE__, __LINE__, mode_name, #cond, last_code, last_msg); } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); __sync_fetch_and_add(&checks, 1); if (!a_ || !b_ || strcmp(a_, b_)) { __sync_fetch_and_add(&failures, 1); fprintf(stderr, "%s:%d: [%s] '%s' != '%s'\n", __FILE__, __LINE__, mode_name, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } } while (0)
#define CHECK_RC(expr, code) do { int rc_ = (expr); __sync_fetch_and_add(&checks, 1); if (rc_ != (code)) { __sync_fetch_and_add(&failures, 1); fprintf(stderr, "%s:%d: [%s] %s returned %d, expected %d (last error: %s)\n", __FILE__, __LINE__, mode_name, #expr, rc_, code, last_msg); } } while (0)

static const char *mode_name = "setup";
static __thread int last_code;
static __thread char last_msg[1024];
static int warnings;
static char last_warning[1024];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* ------------------------------------------------------------- the host */

struct csdk_config { const char *kv[32]; };
struct csdk_sink { char *buf[3]; size_t len[3]; int cancel; int64_t start, first_out; };
struct csdk_text { char value[512]; };
struct csdk_info { char id[64], meta[1024]; int status; int64_t created, timeout; };
struct csdk_handles { char ids[4096]; void *handles[64]; int n; };
struct csdk_dir { char entries[4096]; };
struct csdk_items { char list[4096]; };

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void h_log(const struct csdk_host *host, enum csdk_log_level level, const char *fmt, ...)
{
	va_list ap;
	(void)host;
	pthread_mutex_lock(&log_lock);
	va_start(ap, fmt);
	vsnprintf(last_warning, sizeof(last_warning), fmt, ap);
	va_end(ap);
	if (level >= CSDK_LOG_WARN)
		warnings++;
	pthread_mutex_unlock(&log_lock);
}

static int h_error(const struct csdk_host *host, int code, const char *fmt, ...)
{
	va_list ap;
	(void)host;
	va_start(ap, fmt);
	vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
	va_end(ap);
	last_code = code;
	if (strchr(last_msg, '\n')) {
		__sync_fetch_and_add(&failures, 1);
		fprintf(stderr, "error message is not one line: %s\n", last_msg);
	}
	return code;
}

static const char *h_config_get(const struct csdk_config *c, const char *key)
{
	int i;
	for (i = 0; c->kv[i]; i += 2)
		if (!strcmp(c->kv[i], key))
			return c->kv[i + 1];
	return NULL;
}

static int h_sink_write(struct csdk_sink *s, enum csdk_stream stream, const void *data, size_t len)
{
	char *g;
	if (stream != CSDK_STREAM_STDOUT && stream != CSDK_STREAM_STDERR)
		abort();
	if (stream == CSDK_STREAM_STDOUT && !s->first_out)
		s->first_out = mono_ms();
	g = realloc(s->buf[stream], s->len[stream] + len + 1);
	if (!g)
		abort();
	memcpy(g + s->len[stream], data, len);
	s->len[stream] += len;
	g[s->len[stream]] = '\0';
	s->buf[stream] = g;
	return s->cancel;
}

static int h_text_set(struct csdk_text *t, const char *v) { snprintf(t->value, sizeof(t->value), "%s", v); return 0; }
static int h_info_set_id(struct csdk_info *i, const char *id) { snprintf(i->id, sizeof(i->id), "%s", id); return 0; }
static int h_info_set_status(struct csdk_info *i, enum csdk_status s) { i->status = s; return 0; }
static int h_info_set_times(struct csdk_info *i, int64_t c, int64_t t) { i->created = c; i->timeout = t; return 0; }
static int h_info_add_metadata(struct csdk_info *i, const char *k, const char *v)
{
	size_t l = strlen(i->meta);
	snprintf(i->meta + l, sizeof(i->meta) - l, "%s=%s;", k, v);
	return 0;
}
static int h_handles_add(struct csdk_handles *h, const char *id, void *handle)
{
	size_t l = strlen(h->ids);
	snprintf(h->ids + l, sizeof(h->ids) - l, "%s;", id);
	h->handles[h->n++] = handle;
	return 0;
}
static int h_dir_add(struct csdk_dir *d, const char *name, enum csdk_entry_type type, uint64_t size, int64_t mtime)
{
	size_t l = strlen(d->entries);
	int fresh = mtime > wall_ms() - 600000 && mtime <= wall_ms() + 1000;
	snprintf(d->entries + l, sizeof(d->entries) - l, "%s:%c:%llu%s;", name, type == CSDK_ENTRY_FILE ? 'f' : type == CSDK_ENTRY_DIRECTORY ? 'd' : 'o',
		 type == CSDK_ENTRY_FILE ? (unsigned long long)size : 0ull, fresh ? "" : ":stale");
	return 0;
}
static int h_items_add(struct csdk_items *it, const char *id, const char *name, int64_t created)
{
	size_t l = strlen(it->list);
	snprintf(it->list + l, sizeof(it->list) - l, "%s:%s:%s;", id, name ? name : "-", created > 0 ? "t" : "0");
	return 0;
}
static int h_endpoint_set(struct csdk_endpoint *e, const char *u, const char *t) { (void)e; (void)u; (void)t; return CSDK_EUNSUPPORTED; }
static int h_endpoint_add_header(struct csdk_endpoint *e, const char *n, const char *v) { (void)e; (void)n; (void)v; return CSDK_EUNSUPPORTED; }

/* The plugin's descriptor, for the types of its configuration keys. */
static const struct csdk_plugin *plugin_desc;

/*
 * config_get_int as the host does it, for the values this driver gives: a
 * number with a unit of the key's type (sizes K, M, G, T; durations ms, s,
 * m, h). The host checks typed values before init, so a value the plugin
 * reads is always well-formed.
 */
static int h_config_get_int(const struct csdk_config *c, const char *key, int64_t *out)
{
	static const struct { const char *unit; int type; int64_t scale; } units[] = {
		{ "", CSDK_CONFIG_INT, 1 }, { "", CSDK_CONFIG_SIZE, 1 }, { "", CSDK_CONFIG_DURATION, 1 },
		{ "k", CSDK_CONFIG_SIZE, 1024 }, { "K", CSDK_CONFIG_SIZE, 1024 }, { "M", CSDK_CONFIG_SIZE, 1024 * 1024 },
		{ "G", CSDK_CONFIG_SIZE, INT64_C(1) << 30 }, { "T", CSDK_CONFIG_SIZE, INT64_C(1) << 40 },
		{ "ms", CSDK_CONFIG_DURATION, 1 }, { "s", CSDK_CONFIG_DURATION, 1000 },
		{ "m", CSDK_CONFIG_DURATION, 60000 }, { "h", CSDK_CONFIG_DURATION, 3600000 },
	};
	const struct csdk_config_key *k = NULL;
	const char *v;
	char *end;
	long long n;

	for (uint32_t i = 0; plugin_desc && i < plugin_desc->n_config_keys; i++) {
		const struct csdk_config_key *ki =
			(const void *)((const char *)plugin_desc->config_keys + (size_t)i * plugin_desc->config_key_size);
		if (!strcmp(ki->key, key))
			k = ki;
	}
	if (!k || k->type == CSDK_CONFIG_STRING)
		return CSDK_EINVAL;
	if (!(v = h_config_get(c, key)))
		return CSDK_ENOTFOUND;
	if (k->type == CSDK_CONFIG_BOOL) {
		*out = !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1");
		return 0;
	}
	n = strtoll(v, &end, 10);
	for (size_t i = 0; end != v && i < sizeof(units) / sizeof(units[0]); i++)
		if ((int)k->type == units[i].type && !strcmp(end, units[i].unit)) {
			*out = (int64_t)n * units[i].scale;
			return 0;
		}
	fprintf(stderr, "driver: value '%s' of %s is not one the host would pass\n", v, key);
	abort();
}

static const struct csdk_host host = {
	.struct_size = sizeof(struct csdk_host),
	.abi_version = CSDK_ABI_VERSION,
	.log = h_log,
	.error = h_error,
	.config_get = h_config_get,
	.config_get_int = h_config_get_int,
	.sink_write = h_sink_write,
	.text_set = h_text_set,
	.info_set_id = h_info_set_id,
	.info_set_status = h_info_set_status,
	.info_set_times = h_info_set_times,
	.info_add_metadata = h_info_add_metadata,
	.handles_add = h_handles_add,
	.dir_add = h_dir_add,
	.items_add = h_items_add,
	.endpoint_set = h_endpoint_set,
	.endpoint_add_header = h_endpoint_add_header,
};

static void sink_reset(struct csdk_sink *s)
{
	free(s->buf[1]);
	free(s->buf[2]);
	memset(s, 0, sizeof(*s));
	s->start = mono_ms();
}

static const char *out_of(struct csdk_sink *s) { return s->buf[1] ? s->buf[1] : ""; }
static const char *err_of(struct csdk_sink *s) { return s->buf[2] ? s->buf[2] : ""; }

/* ------------------------------------------------------------- helpers */

static const struct csdk_methods *m;
static char state_dir[256];

static void *open_ctx(const char *const *extra)
{
	struct csdk_config cfg = { { 0 } };
	void *ctx = NULL;
	int i = 0, rc;

	cfg.kv[i++] = "state_dir";
	cfg.kv[i++] = state_dir;
	while (extra && *extra)
		cfg.kv[i++] = *extra++;
	rc = m->init(&host, &cfg, &ctx);
	if (rc) {
		fprintf(stderr, "init failed: %d %s\n", rc, last_msg);
		return NULL;
	}
	return ctx;
}

/* The host always passes a request: the default one when the caller gave no options. */
static const struct csdk_run_request plain = { sizeof(plain), 0, NULL, NULL, 0, 0, NULL };

static int run(void *ctx, void *sb, const char *cmd, const struct csdk_run_request *o, struct csdk_sink *s, int *code)
{
	sink_reset(s);
	return m->run_command(ctx, sb, cmd, o ? o : &plain, s, code);
}

/* A run_code request with the runtime the host detected or was given. */
static struct csdk_run_request code_req(const char *runtime)
{
	struct csdk_run_request r = plain;

	r.runtime = runtime;
	return r;
}

/*
 * Commands whose processes the driver counts carry a number unique to this
 * run ('@' in a pattern becomes it): other test runs on the machine start
 * sleeps of their own, and counting theirs would fail these checks.
 */
static char uniq[16];

static const char *U(const char *pattern)
{
	static __thread char bufs[8][256];
	static __thread int next;
	char *b = bufs[next++ % 8];
	size_t n = 0;

	for (const char *p = pattern; *p && n + sizeof(uniq) < sizeof(bufs[0]); p++) {
		if (*p == '@') {
			memcpy(b + n, uniq, strlen(uniq));
			n += strlen(uniq);
		} else {
			b[n++] = *p;
		}
	}
	b[n] = '\0';
	return b;
}

/* Counts live (non-zombie) processes whose command line contains marker. */
static int count_procs(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d))) {
		char path[300], buf[4096], stat[512];
		ssize_t k, i;
		int fd;
		char *p;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		k = read(fd, stat, sizeof(stat) - 1);
		close(fd);
		if (k <= 0)
			continue;
		stat[k] = '\0';
		p = strrchr(stat, ')');
		if (p && (p[2] == 'Z' || p[2] == 'X'))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", de->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		k = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (k <= 0)
			continue;
		for (i = 0; i < k; i++)
			if (!buf[i])
				buf[i] = ' ';
		buf[k] = '\0';
		if (strstr(buf, marker))
			n++;
	}
	closedir(d);
	return n;
}

static int wait_procs_gone(const char *marker, int ms)
{
	int64_t until = mono_ms() + ms;
	while (count_procs(marker) > 0) {
		if (mono_ms() > until)
			return 0;
		usleep(10000);
	}
	return 1;
}

/* Records in STATE/sandboxes/ID/procs, the .destroyed mark aside. */
static int count_records(const char *id)
{
	char path[400];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/sandboxes/%s/procs", state_dir, id);
	if (!(d = opendir(path)))
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void *create_sb(void *ctx, const struct csdk_create_request *o, char *id_out);

/* network=host: get_url names the host's loopback, and the first create warns once. */
static void test_network_host(const char *const *extra)
{
	const char *kv[32];
	struct csdk_text t = { "" };
	char id[64];
	void *ctx, *sb;
	int n = 0, before = warnings;

	for (int i = 0; extra && extra[i] && extra[i + 1] && n < 28; i += 2) {
		if (!strcmp(extra[i], "network"))
			continue;
		kv[n++] = extra[i];
		kv[n++] = extra[i + 1];
	}
	kv[n++] = "network";
	kv[n++] = "host";
	kv[n] = NULL;
	ctx = open_ctx(kv);
	CHECK(ctx != NULL);
	if (!ctx)
		return;
	sb = create_sb(ctx, NULL, id);
	CHECK(sb != NULL);
	if (sb) {
		CHECK_RC(m->get_url(ctx, sb, 3000, "ws", &t), 0);
		CHECK_STR(t.value, "ws://127.0.0.1:3000");
		m->release(ctx, sb);
		CHECK_RC(m->destroy(ctx, id), 0);
	}
	sb = create_sb(ctx, NULL, id);
	CHECK(sb != NULL);
	if (sb) {
		m->release(ctx, sb);
		CHECK_RC(m->destroy(ctx, id), 0);
	}
	CHECK(warnings == before + 1);
	CHECK_STR(last_warning, "network=host: sandbox commands share this machine's network, including services on its 127.0.0.1 and the cloud metadata address 169.254.169.254; set network=isolated or none to cut them off");
	warnings = before;
	m->teardown(ctx);
}

static void *create_sb(void *ctx, const struct csdk_create_request *o, char *id_out)
{
	struct csdk_text t = { "" };
	void *sb = NULL;
	int rc = m->create(ctx, o, &t, &sb);
	if (rc) {
		fprintf(stderr, "create failed: %d %s\n", rc, last_msg);
		return NULL;
	}
	if (id_out)
		strcpy(id_out, t.value);
	return sb;
}

/* ------------------------------------------------------------- tests */

/* The numeric keys are typed: the host parses and bounds them before init. */
static void test_typed_keys(const struct csdk_plugin *desc)
{
	static const struct { const char *key; uint32_t type; int64_t min, max; } typed[] = {
		{ "state_dir", CSDK_CONFIG_STRING, 0, 0 }, { "isolation", CSDK_CONFIG_STRING, 0, 0 },
		{ "network", CSDK_CONFIG_STRING, 0, 0 }, { "timeout", CSDK_CONFIG_DURATION, 0, INT64_MAX },
		{ "memory", CSDK_CONFIG_SIZE, 1, INT64_MAX }, { "processes", CSDK_CONFIG_INT, 1, INT64_MAX },
		{ "cpu_time", CSDK_CONFIG_INT, 1, INT64_MAX }, { "output_limit", CSDK_CONFIG_SIZE, 1, INT64_MAX },
		{ "python", CSDK_CONFIG_STRING, 0, 0 }, { "node", CSDK_CONFIG_STRING, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(typed) / sizeof(typed[0]) && i < desc->n_config_keys; i++) {
		const struct csdk_config_key *k = (const void *)((const char *)desc->config_keys + i * desc->config_key_size);

		CHECK_STR(k->key, typed[i].key);
		CHECK(k->type == typed[i].type && k->min == typed[i].min && k->max == typed[i].max);
	}
}

static void test_config(void)
{
	static const struct { const char *k, *v, *msg; } bad[] = {
		{ "isolation", "sometimes", "invalid value 'sometimes' for isolation; use auto, bwrap or none" },
		{ "network", "wifi", "invalid value 'wifi' for network; use isolated, none or host" },
		{ "state_dir", "relative/dir", "invalid value 'relative/dir' for state_dir; use an absolute directory path" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct csdk_config cfg = { { "state_dir", state_dir, bad[i].k, bad[i].v, NULL } };
		void *ctx = (void *)1;
		if (!strcmp(bad[i].k, "state_dir"))
			cfg.kv[1] = bad[i].v, cfg.kv[2] = NULL;
		CHECK_RC(m->init(&host, &cfg, &ctx), CSDK_ECONFIG);
		CHECK(ctx == NULL);
		CHECK_STR(last_msg, bad[i].msg);
	}
	{
		const char *extra[] = { "memory", "512M", "output_limit", "1k", "timeout", "0", NULL };
		void *ctx = open_ctx(extra);
		CHECK(ctx != NULL);
		m->teardown(ctx);
	}
}

static void test_commands(void *ctx, void *sb, const char *id, int bwrap)
{
	struct csdk_run_request o = { sizeof(o), 0, NULL, NULL, 0, 0, NULL };
	struct csdk_sink s;
	memset(&s, 0, sizeof(s));
	struct csdk_kv envs[] = { { "BAZ", "qux" }, { "FOO", "override" } };
	char expect[600];
	int code = -5;
	int64_t t0;

	CHECK_RC(run(ctx, sb, "echo hello; echo err >&2; exit 3", &o, &s, &code), 0);
	CHECK_STR(out_of(&s), "hello\n");
	CHECK_STR(err_of(&s), "err\n");
	CHECK(code == 3);

	CHECK_RC(run(ctx, sb, "pwd; echo $HOME", &o, &s, &code), 0);
	if (bwrap)
		snprintf(expect, sizeof(expect), "/home/sandbox\n/home/sandbox\n");
	else
		snprintf(expect, sizeof(expect), "%s/sandboxes/%s/home\n%s/sandboxes/%s/home\n", state_dir, id, state_dir, id);
	CHECK_STR(out_of(&s), expect);

	CHECK_RC(run(ctx, sb, "echo \"$FOO $BAZ $LANG\"", &o, &s, &code), 0);
	snprintf(expect, sizeof(expect), "bar  %s\n", bwrap ? "C.UTF-8" : getenv("LANG") ? getenv("LANG") : "");
	CHECK_STR(out_of(&s), expect);
	o.envs = envs;
	o.n_envs = 2;
	CHECK_RC(run(ctx, sb, "echo \"$FOO $BAZ\"", &o, &s, &code), 0);
	CHECK_STR(out_of(&s), "override qux\n");
	o.envs = NULL;
	o.n_envs = 0;

	CHECK_RC(run(ctx, sb, "exit 0", &o, &s, &code), 0);
	CHECK_RC(run(ctx, sb, "no-such-command-csdk", &o, &s, &code), 0);
	CHECK(code == 127);
	CHECK_RC(run(ctx, sb, "kill -9 $$", &o, &s, &code), 0);
	CHECK(code == 137);

	/* cwd */
	CHECK_RC(run(ctx, sb, "mkdir -p sub/dir", &o, &s, &code), 0);
	o.cwd = "sub/dir";
	CHECK_RC(run(ctx, sb, "pwd", &o, &s, &code), 0);
	if (bwrap)
		CHECK_STR(out_of(&s), "/home/sandbox/sub/dir\n");
	else {
		snprintf(expect, sizeof(expect), "%s/sandboxes/%s/home/sub/dir\n", state_dir, id);
		CHECK_STR(out_of(&s), expect);
	}
	o.cwd = "/home/sandbox/missing";
	CHECK_RC(run(ctx, sb, "pwd", &o, &s, &code), CSDK_ENOTFOUND);
	snprintf(expect, sizeof(expect), "working directory '/home/sandbox/missing' does not exist in sandbox %s; create it first (mkdir) or use an existing directory", id);
	CHECK_STR(last_msg, expect);
	o.cwd = "/etc";
	CHECK_RC(run(ctx, sb, "pwd", &o, &s, &code), CSDK_EPERM);
	CHECK_STR(last_msg, "path '/etc' is outside the sandbox; use a path under /home/sandbox or /tmp");
	o.cwd = NULL;

	/* timeout: killed at the deadline, output so far kept, nothing left (the
	 * deadline leaves a loaded machine time to start the shell) */
	o.timeout_ms = 5000;
	t0 = mono_ms();
	CHECK_RC(run(ctx, sb, U("echo starting; sleep 61.25@ & sleep 60.5@"), &o, &s, &code), 0);
	CHECK(code == 124);
	CHECK_STR(out_of(&s), "starting\n");
	CHECK(mono_ms() - t0 >= 4900);
	CHECK(wait_procs_gone(U("sleep 61.25@"), 30000) && wait_procs_gone(U("sleep 60.5@"), 30000));
	o.timeout_ms = 0;

	/* the shell's exit ends the command: stragglers die with it */
	CHECK_RC(run(ctx, sb, U("sleep 62.75@ & echo done"), &o, &s, &code), 0);
	CHECK_STR(out_of(&s), "done\n");
	CHECK(code == 0);
	CHECK(wait_procs_gone(U("sleep 62.75@"), 30000));

	/* live streaming: the first line arrives a whole second before the command
	 * ends (two seconds apart: a late read of the first line leaves one) */
	CHECK_RC(run(ctx, sb, "echo a; sleep 2; echo b", &o, &s, &code), 0);
	CHECK_STR(out_of(&s), "a\nb\n");
	CHECK(s.first_out && mono_ms() - s.first_out >= 900);

	/* cancellation through the sink */
	sink_reset(&s);
	s.cancel = 1;
	CHECK_RC(m->run_command(ctx, sb, U("echo x; sleep 300.5@"), &o, &s, &code), CSDK_ECANCELLED);
	CHECK(wait_procs_gone(U("sleep 300.5@"), 60000));

	/* a finished foreground command leaves no record behind */
	CHECK(count_records(id) == 0);

	/* binary output passes unchanged */
	CHECK_RC(run(ctx, sb, "printf 'a\\000b\\377'", &o, &s, &code), 0);
	CHECK(s.len[1] == 4 && !memcmp(s.buf[1], "a\0b\377", 4));

	/* background: returns at once, survives the call, dies with destroy */
	o.background = 1;
	CHECK_RC(run(ctx, sb, U("echo bg; sleep 63.5@"), &o, &s, &code), 0);
	CHECK(code == 0);
	CHECK_STR(out_of(&s), "");
	o.background = 0;
	for (t0 = mono_ms(); count_procs(U("sleep 63.5@")) < 1 && mono_ms() - t0 < 30000;)
		usleep(10000);
	CHECK(count_procs(U("sleep 63.5@")) >= 1);
	CHECK_RC(run(ctx, sb, "cat .csdk/logs/*.log", &o, &s, &code), 0);
	CHECK_STR(out_of(&s), "bg\n");
	CHECK(count_records(id) == 1);
	sink_reset(&s);
}

struct fg_arg { void *ctx, *sb; int rc; char msg[1024]; };

static void *fg_thread(void *p)
{
	struct fg_arg *a = p;
	struct csdk_sink s;
	int code;

	memset(&s, 0, sizeof(s));
	sink_reset(&s);
	a->rc = m->run_command(a->ctx, a->sb, U("sleep 64.25@ & sleep 64.75@; echo after"), &plain, &s, &code);
	snprintf(a->msg, sizeof(a->msg), "%s", a->rc ? last_msg : "");
	sink_reset(&s);
	return NULL;
}

/* destroy from another context while a thread waits for a foreground command */
static void test_destroy_running(void *ctx, const char *const *extra)
{
	void *ctx2 = open_ctx(extra);
	struct fg_arg a = { ctx, NULL, 0, "" };
	char id[64], expect[200];
	int64_t until;
	pthread_t th;

	a.sb = create_sb(ctx, NULL, id);
	CHECK(a.sb != NULL && ctx2 != NULL);
	if (!a.sb || !ctx2)
		return;
	pthread_create(&th, NULL, fg_thread, &a);
	/* bwrap's own command line shows the command before it is recorded */
	until = mono_ms() + 30000;
	while ((count_records(id) < 1 || count_procs(U("sleep 64.75@")) < 1) && mono_ms() < until)
		usleep(10000);
	CHECK(count_records(id) == 1);
	CHECK(count_procs(U("sleep 64.75@")) >= 1);
	CHECK_RC(m->destroy(ctx2, id), 0);
	CHECK(count_procs(U("sleep 64.25@")) == 0 && count_procs(U("sleep 64.75@")) == 0);
	pthread_join(th, NULL);
	CHECK(a.rc == CSDK_ENOTFOUND);
	snprintf(expect, sizeof(expect), "sandbox %s was destroyed while the command was running; create a new one", id);
	CHECK_STR(a.msg, expect);
	m->release(ctx, a.sb);
	m->teardown(ctx2);
}

static void test_run_code(void *ctx, void *sb, const char *id, int bwrap)
{
	struct csdk_run_request py = code_req("python"), js = code_req("node"), rb = code_req("ruby");
	struct csdk_kv envs[] = { { "CSDK_CODE_VAR", "from the request" } };
	struct csdk_sink s;
	memset(&s, 0, sizeof(s));
	char expect[600];
	int code = -5;

	sink_reset(&s);
	CHECK_RC(m->run_code(ctx, sb, "print(1 + 2)", &py, &s, &code), 0);
	CHECK_STR(out_of(&s), "3\n");
	CHECK(code == 0);
	sink_reset(&s);
	CHECK_RC(m->run_code(ctx, sb, "print(", &py, &s, &code), CSDK_ESYNTAX);
	CHECK_STR(last_msg, "SyntaxError: '(' was never closed (line 1)");
	sink_reset(&s);
	CHECK_RC(m->run_code(ctx, sb, "1/0", &py, &s, &code), 0);
	CHECK(code == 1);
	CHECK(strstr(err_of(&s), "ZeroDivisionError: division by zero") != NULL);
	sink_reset(&s);
	CHECK_RC(m->run_code(ctx, sb, "raise SyntaxError('at runtime')", &py, &s, &code), 0);
	CHECK(code == 1);
	sink_reset(&s);
	CHECK_RC(m->run_code(ctx, sb, "console.log(6 * 7)", &js, &s, &code), 0);
	CHECK_STR(out_of(&s), "42\n");
	sink_reset(&s);
	CHECK_RC(m->run_code(ctx, sb, "console.log(", &js, &s, &code), CSDK_ESYNTAX);
	CHECK_STR(last_msg, "SyntaxError: Unexpected end of input (line 1)");
	sink_reset(&s);
	CHECK_RC(m->run_code(ctx, sb, "throw new SyntaxError('at runtime')", &js, &s, &code), 0);
	CHECK(code == 1);
	sink_reset(&s);
	CHECK_RC(m->run_code(ctx, sb, "print(1)", &rb, &s, &code), CSDK_EINVAL);
	CHECK_STR(last_msg, "runtime 'ruby' is not supported by the local provider; use python or node");
	sink_reset(&s);
	/* the request's cwd, envs and timeout apply to code as to commands */
	CHECK_RC(run(ctx, sb, "mkdir -p sub/dir", NULL, &s, &code), 0);
	sink_reset(&s);
	py.cwd = "sub/dir";
	py.envs = envs;
	py.n_envs = 1;
	CHECK_RC(m->run_code(ctx, sb, "import os; print(os.getcwd(), os.environ['CSDK_CODE_VAR'])", &py, &s, &code), 0);
	CHECK(code == 0);
	if (bwrap)
		snprintf(expect, sizeof(expect), "/home/sandbox/sub/dir from the request\n");
	else
		snprintf(expect, sizeof(expect), "%s/sandboxes/%s/home/sub/dir from the request\n", state_dir, id);
	CHECK_STR(out_of(&s), expect);
	sink_reset(&s);
	/* (what the code printed before the deadline depends on how fast node starts: not checked) */
	js.timeout_ms = 1000;
	CHECK_RC(m->run_code(ctx, sb, "setTimeout(() => console.log('never'), 60000)", &js, &s, &code), 0);
	CHECK(code == 124);
	CHECK(strstr(out_of(&s), "never") == NULL);
	sink_reset(&s);
	/* the code file does not linger in /tmp */
	CHECK_RC(m->run_command(ctx, sb, "ls \"$TMPDIR\" | grep -c csdk-code", &plain, &s, &code), 0);
	CHECK_STR(out_of(&s), "0\n");
	sink_reset(&s);
}

static void test_fs(void *ctx, void *sb, const char *id, int bwrap)
{
	struct csdk_run_request o = { sizeof(o), 0, NULL, NULL, 0, 0, NULL };
	struct csdk_sink s;
	memset(&s, 0, sizeof(s));
	struct csdk_dir d;
	char bin[300], expect[700], hostfile[300];
	int code, exists, i;
	FILE *f;

	for (i = 0; i < 300; i++)
		bin[i] = (char)i;
	CHECK_RC(m->fs_write(ctx, sb, "a/b/c.bin", bin, sizeof(bin)), 0);
	sink_reset(&s);
	CHECK_RC(m->fs_read(ctx, sb, "/home/sandbox/a/b/c.bin", &s), 0);
	CHECK(s.len[1] == 300 && !memcmp(s.buf[1], bin, 300));
	CHECK_RC(run(ctx, sb, "wc -c < a/b/c.bin", &o, &s, &code), 0);
	CHECK_STR(out_of(&s), "300\n");
	CHECK_RC(run(ctx, sb, "printf made > made.txt", &o, &s, &code), 0);
	sink_reset(&s);
	CHECK_RC(m->fs_read(ctx, sb, "made.txt", &s), 0);
	CHECK_STR(out_of(&s), "made");
	CHECK_RC(m->fs_write(ctx, sb, "a/empty", "", 0), 0);
	CHECK_RC(m->fs_write(ctx, sb, "made.txt", "again", 5), 0);
	sink_reset(&s);
	CHECK_RC(m->fs_read(ctx, sb, "./a/../made.txt", &s), 0);
	CHECK_STR(out_of(&s), "again");

	CHECK_RC(m->fs_mkdir(ctx, sb, "x/y/z"), 0);
	CHECK_RC(m->fs_mkdir(ctx, sb, "x/y/z"), 0);
	CHECK_RC(m->fs_mkdir(ctx, sb, "made.txt"), CSDK_EEXISTS);
	CHECK_STR(last_msg, "'made.txt' (or one of its parents) exists and is not a directory; remove it first");
	memset(&d, 0, sizeof(d));
	CHECK_RC(m->fs_readdir(ctx, sb, "a", &d), 0);
	CHECK_STR(d.entries, "b:d:0;empty:f:0;");
	memset(&d, 0, sizeof(d));
	CHECK_RC(m->fs_readdir(ctx, sb, "/home/sandbox/a/b", &d), 0);
	CHECK_STR(d.entries, "c.bin:f:300;");
	CHECK_RC(m->fs_readdir(ctx, sb, "nodir", &d), CSDK_ENOTFOUND);
	CHECK_STR(last_msg, "no such directory: nodir");
	CHECK_RC(m->fs_readdir(ctx, sb, "made.txt", &d), CSDK_EINVAL);

	CHECK_RC(m->fs_exists(ctx, sb, "a/b", &exists), 0);
	CHECK(exists == 1);
	CHECK_RC(m->fs_exists(ctx, sb, "a/b/c.bin", &exists), 0);
	CHECK(exists == 1);
	CHECK_RC(m->fs_exists(ctx, sb, "a/nope", &exists), 0);
	CHECK(exists == 0);
	CHECK_RC(m->fs_exists(ctx, sb, "made.txt/below", &exists), 0);
	CHECK(exists == 0);

	CHECK_RC(m->fs_read(ctx, sb, "nope.txt", &s), CSDK_ENOTFOUND);
	CHECK_STR(last_msg, "no such file: nope.txt");
	CHECK_RC(m->fs_read(ctx, sb, "/nonexistent/file.txt", &s), CSDK_EPERM);
	CHECK_STR(last_msg, "path '/nonexistent/file.txt' is outside the sandbox; use a path under /home/sandbox or /tmp");
	CHECK_RC(m->fs_read(ctx, sb, "../../../../etc/passwd", &s), CSDK_EPERM);
	CHECK_STR(last_msg, "path '../../../../etc/passwd' is outside the sandbox; use a path under /home/sandbox or /tmp");
	CHECK_RC(m->fs_write(ctx, sb, "/etc/csdk-evil", "x", 1), CSDK_EPERM);
	CHECK_RC(m->fs_read(ctx, sb, "a", &s), CSDK_EINVAL);
	CHECK_STR(last_msg, "'a' is a directory; use readdir to list it");

	/* symbolic links made inside the sandbox never lead out of it */
	snprintf(hostfile, sizeof(hostfile), "%s/outside.txt", state_dir);
	f = fopen(hostfile, "w");
	fputs("secret", f);
	fclose(f);
	snprintf(expect, sizeof(expect), "ln -s %s abs; ln -s ../../../../../../../../..%s rel; ln -s ../meta.json meta; ln -s / root", hostfile, hostfile);
	CHECK_RC(run(ctx, sb, expect, &o, &s, &code), 0);
	CHECK(code == 0);
	CHECK_RC(m->fs_read(ctx, sb, "abs", &s), CSDK_ENOTFOUND);
	CHECK_RC(m->fs_read(ctx, sb, "rel", &s), CSDK_ENOTFOUND);
	CHECK_RC(m->fs_read(ctx, sb, "meta", &s), CSDK_EPERM);
	CHECK_STR(last_msg, "path 'meta' is outside the sandbox; use a path under /home/sandbox or /tmp");
	CHECK_RC(m->fs_read(ctx, sb, "root/meta.json", &s), CSDK_EPERM);
	CHECK_RC(m->fs_read(ctx, sb, "root/etc/passwd", &s), CSDK_ENOTFOUND);
	CHECK_RC(m->fs_write(ctx, sb, "abs", "overwritten", 11), 0);
	CHECK_RC(m->fs_write(ctx, sb, "root/home/escape.txt", "x", 1), 0);
	sink_reset(&s);
	CHECK_RC(m->fs_read(ctx, sb, "escape.txt", &s), 0);
	CHECK_STR(out_of(&s), "x");
	sink_reset(&s);
	f = fopen(hostfile, "r");
	CHECK(f && fgets(expect, sizeof(expect), f) && !strcmp(expect, "secret"));
	fclose(f);
	unlink(hostfile);

	/* tmp maps to the sandbox's tmp */
	CHECK_RC(m->fs_write(ctx, sb, "/tmp/t.txt", "tmpdata", 7), 0);
	CHECK_RC(run(ctx, sb, "cat \"$TMPDIR/t.txt\"", &o, &s, &code), 0);
	CHECK_STR(out_of(&s), "tmpdata");
	if (!bwrap) {
		snprintf(expect, sizeof(expect), "%s/sandboxes/%s/home/made.txt", state_dir, id);
		sink_reset(&s);
		CHECK_RC(m->fs_read(ctx, sb, expect, &s), 0);
		CHECK_STR(out_of(&s), "again");
	}

	CHECK_RC(m->fs_remove(ctx, sb, "a"), 0);
	CHECK_RC(m->fs_exists(ctx, sb, "a/b/c.bin", &exists), 0);
	CHECK(exists == 0);
	CHECK_RC(m->fs_remove(ctx, sb, "a"), CSDK_ENOTFOUND);
	CHECK_STR(last_msg, "no such file or directory: a");
	CHECK_RC(m->fs_remove(ctx, sb, "root"), 0);
	CHECK_RC(m->fs_exists(ctx, sb, "made.txt", &exists), 0);
	CHECK(exists == 1);
	CHECK_RC(m->fs_remove(ctx, sb, "/home/sandbox"), CSDK_EPERM);
	CHECK_STR(last_msg, "cannot remove '/home/sandbox': it is the sandbox's home directory; remove the files in it instead");
	sink_reset(&s);
}

struct named_arg { void *ctx; char id[64]; int rc; };

/* A find_or_create request as the host makes it: name and namespace always set. */
static struct csdk_create_request named_req(const char *ns, const char *name)
{
	struct csdk_create_request r = { sizeof(r), 0, 0, NULL, NULL, name, ns, NULL, NULL, NULL, 0, NULL, 0, 0, 0 };

	return r;
}

static void *named_thread(void *p)
{
	struct named_arg *a = p;
	struct csdk_text t = { "" };
	void *sb = NULL;

	struct csdk_create_request req = named_req("team", "shared");

	a->rc = m->find_or_create(a->ctx, &req, &t, &sb);
	strcpy(a->id, t.value);
	if (sb)
		m->release(a->ctx, sb);
	return NULL;
}

static void test_named(void *ctx)
{
	struct csdk_text t = { "" };
	struct csdk_info info;
	struct named_arg args[6];
	pthread_t th[6];
	void *sb = NULL, *sb2 = NULL;
	char first[64];
	int i;
	int64_t now;

	struct csdk_create_request web = named_req("default", "web");

	/* names and namespaces are checked by the host before the plugin sees them */
	CHECK_RC(m->find(ctx, "default", "web", &t, &sb), CSDK_ENOTFOUND);
	CHECK_RC(m->find_or_create(ctx, &web, &t, &sb), 0);
	strcpy(first, t.value);
	CHECK_RC(m->find_or_create(ctx, &web, &t, &sb2), 0);
	CHECK_STR(t.value, first);
	m->release(ctx, sb2);
	CHECK_RC(m->find(ctx, "default", "web", &t, &sb2), 0);
	CHECK_STR(t.value, first);
	m->release(ctx, sb2);
	CHECK_RC(m->find(ctx, "other", "web", &t, &sb2), CSDK_ENOTFOUND);

	memset(&info, 0, sizeof(info));
	CHECK_RC(m->get_info(ctx, sb, &info), 0);
	now = info.timeout;
	CHECK_RC(m->extend_timeout(ctx, sb, 7200000), 0);
	memset(&info, 0, sizeof(info));
	CHECK_RC(m->get_info(ctx, sb, &info), 0);
	CHECK(info.timeout == now + 7200000);
	m->release(ctx, sb);
	CHECK_RC(m->destroy(ctx, first), 0);
	CHECK_RC(m->find(ctx, "default", "web", &t, &sb2), CSDK_ENOTFOUND);

	/* create with a name (the host sets one for named providers, with its namespace) is find_or_create */
	{
		struct csdk_create_request co = named_req("default", "n1");
		char second[64];

		CHECK_RC(m->create(ctx, &co, &t, &sb), 0);
		strcpy(first, t.value);
		m->release(ctx, sb);
		CHECK_RC(m->find(ctx, "default", "n1", &t, &sb2), 0);
		CHECK_STR(t.value, first);
		m->release(ctx, sb2);
		CHECK_RC(m->create(ctx, &co, &t, &sb2), 0);
		CHECK_STR(t.value, first);
		m->release(ctx, sb2);
		co.namespace_ = "team";
		CHECK_RC(m->create(ctx, &co, &t, &sb2), 0);
		CHECK(strcmp(t.value, first) != 0);
		strcpy(second, t.value);
		m->release(ctx, sb2);
		CHECK_RC(m->find(ctx, "team", "n1", &t, &sb2), 0);
		CHECK_STR(t.value, second);
		m->release(ctx, sb2);
		CHECK_RC(m->destroy(ctx, first), 0);
		CHECK_RC(m->destroy(ctx, second), 0);
		CHECK_RC(m->find(ctx, "default", "n1", &t, &sb2), CSDK_ENOTFOUND);
	}

	for (i = 0; i < 6; i++) {
		args[i].ctx = ctx;
		pthread_create(&th[i], NULL, named_thread, &args[i]);
	}
	for (i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < 6; i++) {
		CHECK(args[i].rc == 0);
		CHECK_STR(args[i].id, args[0].id);
	}
	CHECK_RC(m->destroy(ctx, args[0].id), 0);
}

static void test_templates_snapshots(void *ctx)
{
	struct csdk_create_request co = { sizeof(co), 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0, 0 };
	struct csdk_template_request to = { sizeof(to), 0, "py-base", NULL, NULL };
	struct csdk_sink s;
	memset(&s, 0, sizeof(s));
	struct csdk_items items;
	struct csdk_text t = { "" }, snap = { "" };
	char src[300], tpl[64], id[64], id2[64], expect[300];
	void *sb, *sb2;
	int code;
	FILE *f;

	snprintf(src, sizeof(src), "%s/tplsrc", state_dir);
	mkdir(src, 0755);
	snprintf(expect, sizeof(expect), "%s/tplsrc/app.py", state_dir);
	f = fopen(expect, "w");
	fputs("print('from template')\n", f);
	fclose(f);
	to.source = src;
	CHECK_RC(m->template_create(ctx, &to, &t), 0);
	strcpy(tpl, t.value);
	CHECK(!strncmp(tpl, "tpl-", 4) && strlen(tpl) == 20);
	memset(&items, 0, sizeof(items));
	CHECK_RC(m->template_list(ctx, &items), 0);
	snprintf(expect, sizeof(expect), "%s:py-base:t;", tpl);
	CHECK_STR(items.list, expect);
	co.template_id = tpl;
	sb = create_sb(ctx, &co, id);
	CHECK(sb != NULL);
	CHECK_RC(run(ctx, sb, "python3 app.py", NULL, &s, &code), 0);
	CHECK_STR(out_of(&s), "from template\n");
	co.template_id = "tpl-0000000000000000";
	CHECK_RC(m->create(ctx, &co, &t, &sb2), CSDK_ENOTFOUND);
	CHECK_STR(last_msg, "template 'tpl-0000000000000000' does not exist; list templates to see the ids");
	co.template_id = NULL;

	/* capture a sandbox's home as a template */
	CHECK_RC(m->fs_write(ctx, sb, "extra.txt", "more", 4), 0);
	to.source = NULL;
	to.name = NULL;
	to.sandbox = sb;
	CHECK_RC(m->template_create(ctx, &to, &t), 0);
	co.template_id = t.value;
	sb2 = create_sb(ctx, &co, id2);
	CHECK(sb2 != NULL);
	sink_reset(&s);
	CHECK_RC(m->fs_read(ctx, sb2, "extra.txt", &s), 0);
	CHECK_STR(out_of(&s), "more");
	m->release(ctx, sb2);
	CHECK_RC(m->destroy(ctx, id2), 0);
	CHECK_RC(m->template_delete(ctx, t.value), 0);
	CHECK_RC(m->template_delete(ctx, t.value), CSDK_ENOTFOUND);
	CHECK_RC(m->template_delete(ctx, "../x"), CSDK_EINVAL);
	CHECK_RC(m->template_delete(ctx, tpl), 0);
	co.template_id = NULL;

	/* snapshots */
	CHECK_RC(run(ctx, sb, "mkdir -p deep/er && printf 'snap\\000data' > deep/er/f.bin && ln -s deep/er/f.bin link", NULL, &s, &code), 0);
	CHECK_RC(m->snapshot_create(ctx, sb, "before", &snap), 0);
	CHECK(!strncmp(snap.value, "snap-", 5) && strlen(snap.value) == 21);
	memset(&items, 0, sizeof(items));
	CHECK_RC(m->snapshot_list(ctx, &items), 0);
	snprintf(expect, sizeof(expect), "%s:before:t;", snap.value);
	CHECK_STR(items.list, expect);
	co.snapshot_id = snap.value;
	sb2 = create_sb(ctx, &co, id2);
	CHECK(sb2 != NULL);
	CHECK_RC(run(ctx, sb2, "od -c link | head -1; cat app.py extra.txt", NULL, &s, &code), 0);
	CHECK_STR(out_of(&s), "0000000   s   n   a   p  \\0   d   a   t   a\nprint('from template')\nmore");
	m->release(ctx, sb2);
	CHECK_RC(m->destroy(ctx, id2), 0);
	co.snapshot_id = "snap-0000000000000000";
	CHECK_RC(m->create(ctx, &co, &t, &sb2), CSDK_ENOTFOUND);
	CHECK_STR(last_msg, "snapshot 'snap-0000000000000000' does not exist; list snapshots to see the ids");
	CHECK_RC(m->snapshot_delete(ctx, snap.value), 0);
	CHECK_RC(m->snapshot_delete(ctx, snap.value), CSDK_ENOTFOUND);
	memset(&items, 0, sizeof(items));
	CHECK_RC(m->snapshot_list(ctx, &items), 0);
	CHECK_STR(items.list, "");
	m->release(ctx, sb);
	CHECK_RC(m->destroy(ctx, id), 0);
	sink_reset(&s);
}

struct worker_arg { void *ctx; int ok; };

static void *worker(void *p)
{
	struct worker_arg *a = p;
	struct csdk_sink s;
	memset(&s, 0, sizeof(s));
	char id[64];
	int code = -1, i;
	void *sb = create_sb(a->ctx, NULL, id);

	a->ok = 0;
	if (!sb)
		return NULL;
	for (i = 0; i < 3; i++) {
		sink_reset(&s);
		if (m->run_command(a->ctx, sb, "echo $((6*7))", NULL, &s, &code) || code || strcmp(out_of(&s), "42\n"))
			goto out;
		if (m->fs_write(a->ctx, sb, "f.txt", id, strlen(id)))
			goto out;
		sink_reset(&s);
		if (m->fs_read(a->ctx, sb, "f.txt", &s) || strcmp(out_of(&s), id))
			goto out;
	}
	a->ok = 1;
out:
	sink_reset(&s);
	m->release(a->ctx, sb);
	if (m->destroy(a->ctx, id))
		a->ok = 0;
	return NULL;
}

static void test_mode(const char *isolation)
{
	/* network isolated is the containment suites' (tests/containment) */
	const char *extra[] = { "isolation", isolation, "network", "none", NULL };
	struct csdk_kv meta[] = { { "owner", "tests" } };
	struct csdk_kv envs[] = { { "FOO", "bar" } };
	struct csdk_create_request co = { sizeof(co), 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, meta, 1, envs, 1, 0, 0 };
	struct csdk_info info;
	struct csdk_handles hl;
	struct csdk_text t = { "" };
	struct worker_arg wa[6];
	pthread_t th[6];
	char id[64], expect[300];
	void *ctx, *ctx2, *sb, *sb2;
	int bwrap = !strcmp(isolation, "bwrap"), i;
	int64_t before = wall_ms();

	mode_name = isolation;
	ctx = open_ctx(extra);
	CHECK(ctx != NULL);
	if (!ctx)
		return;
	sb = create_sb(ctx, &co, id);
	CHECK(sb != NULL);
	if (!sb)
		return;
	CHECK(strlen(id) == 22 && !strncmp(id, "local-", 6));
	memset(&info, 0, sizeof(info));
	CHECK_RC(m->get_info(ctx, sb, &info), 0);
	CHECK_STR(info.id, id);
	CHECK(info.status == CSDK_STATUS_RUNNING);
	CHECK(info.created >= before && info.created <= wall_ms());
	CHECK(info.timeout == 1800000);
	CHECK_STR(info.meta, bwrap ? "owner=tests;isolation=bubblewrap;" : "owner=tests;isolation=none;");
	if (bwrap) {
		/* network none: no port of the sandbox is reachable */
		CHECK_RC(m->get_url(ctx, sb, 8080, NULL, &t), CSDK_ENOTFOUND);
		snprintf(expect, sizeof(expect), "port 8080 of sandbox %s is not reachable from the host: the sandbox has network none; create it with network=isolated or host (CSDK_LOCAL_NETWORK) to serve ports", id);
		CHECK_STR(last_msg, expect);
		test_network_host(extra);
	} else {
		CHECK_RC(m->get_url(ctx, sb, 8080, NULL, &t), 0);
		CHECK_STR(t.value, "http://127.0.0.1:8080");
		CHECK_RC(m->get_url(ctx, sb, 3000, "ws", &t), 0);
		CHECK_STR(t.value, "ws://127.0.0.1:3000");
	}

	test_commands(ctx, sb, id, bwrap);
	test_destroy_running(ctx, extra);
	test_run_code(ctx, sb, id, bwrap);
	test_fs(ctx, sb, id, bwrap);

	/* another context (as another process would) sees the same sandbox */
	ctx2 = open_ctx(extra);
	CHECK_RC(m->get(ctx2, id, &sb2), 0);
	if (sb2)
		m->release(ctx2, sb2);
	memset(&hl, 0, sizeof(hl));
	CHECK_RC(m->list(ctx2, &hl), 0);
	snprintf(expect, sizeof(expect), "%s;", id);
	CHECK_STR(hl.ids, expect);
	for (i = 0; i < hl.n; i++)
		m->release(ctx2, hl.handles[i]);
	CHECK_RC(m->destroy(ctx2, id), 0);
	CHECK(wait_procs_gone(U("sleep 63.5@"), 30000));
	CHECK_RC(m->destroy(ctx2, id), 0);
	CHECK_RC(m->get(ctx, id, &sb2), CSDK_ENOTFOUND);
	CHECK_RC(m->get(ctx, "../../etc", &sb2), CSDK_EINVAL);
	CHECK_STR(last_msg, "sandbox id '../../etc' is not well-formed; local sandbox ids are 'local-' followed by 16 hex digits");
	CHECK_RC(m->destroy(ctx, "local-../../xx"), CSDK_EINVAL);
	CHECK_RC(m->run_command(ctx, sb, "true", NULL, NULL, &i), CSDK_ENOTFOUND);
	CHECK(sb2 == NULL);
	m->release(ctx, sb);
	m->teardown(ctx2);

	/* lifetime expiry */
	co.timeout_ms = 300;
	sb = create_sb(ctx, &co, id);
	usleep(400000);
	memset(&info, 0, sizeof(info));
	CHECK_RC(m->get_info(ctx, sb, &info), 0);
	CHECK(info.status == CSDK_STATUS_STOPPED);
	CHECK_RC(m->get(ctx, id, &sb2), CSDK_ENOTFOUND);
	snprintf(expect, sizeof(expect), "%s/sandboxes/%s", state_dir, id);
	CHECK(access(expect, F_OK) != 0);
	m->release(ctx, sb);
	co.timeout_ms = 0;

	test_named(ctx);
	test_templates_snapshots(ctx);

	/* many threads, many sandboxes */
	for (i = 0; i < 6; i++) {
		wa[i].ctx = ctx;
		pthread_create(&th[i], NULL, worker, &wa[i]);
	}
	for (i = 0; i < 6; i++) {
		pthread_join(th[i], NULL);
		CHECK(wa[i].ok);
	}
	memset(&hl, 0, sizeof(hl));
	CHECK_RC(m->list(ctx, &hl), 0);
	CHECK_STR(hl.ids, "");
	m->teardown(ctx);
}

static void test_output_limit(void)
{
	const char *extra[] = { "isolation", "auto", "output_limit", "1000", NULL };
	struct csdk_sink s;
	memset(&s, 0, sizeof(s));
	char id[64];
	void *ctx = open_ctx(extra), *sb;
	int code;

	mode_name = "output_limit";
	sb = create_sb(ctx, NULL, id);
	CHECK_RC(run(ctx, sb, "head -c 5000 /dev/zero; sleep 30", NULL, &s, &code), CSDK_EIO);
	CHECK(s.len[1] == 1000);
	CHECK_STR(last_msg, "stdout of 'head -c 5000 /dev/zero; sleep 30' exceeded the limit of 1000 bytes; the command was killed; raise output_limit (CSDK_LOCAL_OUTPUT_LIMIT) or redirect the output to a file");
	CHECK_RC(run(ctx, sb, "head -c 1000 /dev/zero >&2", NULL, &s, &code), 0);
	CHECK(s.len[2] == 1000 && code == 0);

	/* a background command's log: the first 1000 bytes, a note, and the command is killed */
	{
		struct csdk_run_request o = { sizeof(o), 1, NULL, NULL, 0, 0, NULL };
		char expect[300];

		CHECK_RC(run(ctx, sb, "exec yes csdk-bg-flood", &o, &s, &code), 0);
		CHECK(code == 0);
		CHECK(wait_procs_gone("csdk-bg-flood", 5000));
		CHECK_RC(run(ctx, sb, "cat .csdk/logs/*.log | wc -c; yes csdk-bg-flood | head -c 1000 > $TMPDIR/e; head -c 1000 .csdk/logs/*.log | cmp - $TMPDIR/e && tail -c +1001 .csdk/logs/*.log",
			     NULL, &s, &code), 0);
		snprintf(expect, sizeof(expect), "1082\n\ncsdk-local: the output reached output_limit (1000 bytes); the command was killed\n");
		CHECK_STR(out_of(&s), expect);
	}
	sink_reset(&s);
	m->release(ctx, sb);
	CHECK_RC(m->destroy(ctx, id), 0);
	m->teardown(ctx);
}

/* bwrap that cannot work here: the reason shows in the warning, cached or not */
static void test_probe_reason(void)
{
	static const char warn[] = "bubblewrap is not usable (bwrap: fake failure for the test); sandboxes run without isolation; install bubblewrap or set isolation=none to silence this";
	char dir[300], fake[340], state2[300], cache[340], line[600], path[8192];
	const char *old_path = getenv("PATH");
	char *saved = strdup(old_path ? old_path : "/usr/bin:/bin");
	int round, before = warnings;
	FILE *f;

	mode_name = "probe";
	snprintf(dir, sizeof(dir), "%s/fakebin", state_dir);
	snprintf(fake, sizeof(fake), "%s/bwrap", dir);
	snprintf(state2, sizeof(state2), "%s/probe-state", state_dir);
	snprintf(cache, sizeof(cache), "%s/bwrap-probe", state2);
	mkdir(dir, 0755);
	/* as root the trial run executes bwrap as sandbox_uid, which must reach it */
	chmod(state_dir, 0711);
	f = fopen(fake, "w");
	fputs("#!/bin/sh\necho 'bwrap: fake failure for the test' >&2\nexit 1\n", f);
	fclose(f);
	chmod(fake, 0755);
	snprintf(path, sizeof(path), "%s:%s", dir, saved);
	setenv("PATH", path, 1);
	/* 0: probed; 1: from the cache; 2: a cache line without the reason (older versions) is probed again */
	for (round = 0; round < 3; round++) {
		struct csdk_config cfg = { { "state_dir", state2, "isolation", "auto", NULL } };
		struct csdk_text t = { "" };
		void *ctx = NULL, *sb = NULL;

		if (round == 2 && (f = fopen(cache, "r"))) {
			char *sp = fgets(line, sizeof(line), f) ? strstr(line, " fail ") : NULL;
			fclose(f);
			if (sp && (f = fopen(cache, "w"))) {
				strcpy(sp, " fail\n");
				fputs(line, f);
				fclose(f);
			}
		}
		last_warning[0] = '\0';
		CHECK_RC(m->init(&host, &cfg, &ctx), 0);
		if (!ctx)
			continue;
		CHECK_RC(m->create(ctx, NULL, &t, &sb), 0);
		CHECK_STR(last_warning, warn);
		if (sb) {
			m->release(ctx, sb);
			CHECK_RC(m->destroy(ctx, t.value), 0);
		}
		m->teardown(ctx);
		f = fopen(cache, "r");
		CHECK(f && fgets(line, sizeof(line), f) && strstr(line, " fail bwrap: fake failure for the test\n"));
		if (f)
			fclose(f);
	}
	{
		struct csdk_config cfg = { { "state_dir", state2, "isolation", "bwrap", NULL } };
		struct csdk_text t = { "" };
		void *ctx = NULL, *sb = NULL;

		CHECK_RC(m->init(&host, &cfg, &ctx), 0);
		if (ctx) {
			CHECK_RC(m->create(ctx, NULL, &t, &sb), CSDK_EBACKEND);
			CHECK_STR(last_msg, "isolation 'bwrap' is required but bubblewrap does not work here (bwrap: fake failure for the test); install bubblewrap (apt-get install bubblewrap) or set isolation to auto or none");
			m->teardown(ctx);
		}
	}
	setenv("PATH", saved, 1);
	free(saved);
	CHECK(warnings == before + 3);
	warnings = before;
}

int main(void)
{
	const char *path = getenv("CSDK_LOCAL_TEST_PLUGIN");
	const struct csdk_plugin *desc = NULL;
	csdk_plugin_entry_fn entry;
	char cmd[400];
	void *dl;

	if (!path) {
		fprintf(stderr, "set CSDK_LOCAL_TEST_PLUGIN to the path of csdk-local.so\n");
		return 99;
	}
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		fprintf(stderr, "%s\n", dlerror());
		return 99;
	}
	entry = (csdk_plugin_entry_fn)(uintptr_t)dlsym(dl, CSDK_PLUGIN_ENTRY_SYMBOL);
	CHECK(entry != NULL);
	CHECK_RC(entry(CSDK_ABI_MAKE(1, 0), &desc), CSDK_EABI);
	CHECK_RC(entry(CSDK_ABI_MAKE(3, 0), &desc), CSDK_EABI);
	CHECK_RC(entry(CSDK_ABI_VERSION, &desc), 0);
	CHECK(desc && desc->magic == CSDK_PLUGIN_MAGIC && !strcmp(desc->name, "local"));
	CHECK(desc->capabilities == (CSDK_CAP_FILESYSTEM | CSDK_CAP_NAMED | CSDK_CAP_TEMPLATES | CSDK_CAP_SNAPSHOTS | CSDK_CAP_STREAMING | CSDK_CAP_THREAD_SAFE | CSDK_CAP_EXEC));
	CHECK(desc->n_config_keys == 22);
	CHECK(desc->struct_size >= CSDK_PLUGIN_SIZE_2_0 && desc->config_key_size >= CSDK_CONFIG_KEY_SIZE_2_0);
	m = desc->methods;
	CHECK(m->struct_size >= CSDK_METHODS_SIZE_2_0);
	plugin_desc = desc;
	test_typed_keys(desc);

	snprintf(uniq, sizeof(uniq), "0%05u", (unsigned int)getpid() % 100000u);
	snprintf(state_dir, sizeof(state_dir), "/tmp/csdk-local-test-XXXXXX");
	if (!mkdtemp(state_dir))
		return 99;
	test_config();
	if (system("bwrap --ro-bind / / true 2>/dev/null") == 0)
		test_mode("bwrap");
	else
		fprintf(stderr, "bubblewrap does not work here: skipping the isolated run\n");
	test_mode("none");
	test_output_limit();
	test_probe_reason();
	CHECK(warnings == 0);

	snprintf(cmd, sizeof(cmd), "rm -rf %s", state_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", state_dir);
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
