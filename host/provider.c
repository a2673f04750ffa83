#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builders.h"
#include "config_value.h"
#include "gateway.h"
#include "error.h"
#include "global.h"
#include "log.h"
#include "provider.h"
#include "util.h"
#include "registry.h"

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static csdk_registry *default_registry;

static csdk_provider *provider_of(const struct csdk_host *host)
{
	/* host is the first member of struct csdk_provider */
	return (csdk_provider *)host;
}

char *csdkp_provider_scrub(const csdk_provider *p, const char *msg)
{
	char *out = strdup(msg);
	size_t i, k;

	for (i = 0; out && p && i < p->config.n; i++) {
		const char *secret = p->config.kv[i].value;
		size_t slen, from;
		char *hit;
		int is_secret = 0;

		for (k = 0; k < p->plugin->n_config_keys; k++)
			if (!strcmp(p->plugin->config_keys[k].key, p->config.kv[i].key))
				is_secret = (p->plugin->config_keys[k].flags & CSDK_CONFIG_SECRET) != 0;
		if (!is_secret || !secret || (slen = strlen(secret)) == 0)
			continue;
		from = 0;
		while (out && (hit = strstr(out + from, secret))) {
			size_t pre = (size_t)(hit - out);
			size_t rest = strlen(hit + slen);
			char *n = malloc(pre + 3 + rest + 1);
			if (n) {
				memcpy(n, out, pre);
				memcpy(n + pre, "***", 3);
				memcpy(n + pre + 3, hit + slen, rest + 1);
			}
			free(out);
			out = n;
			from = pre + 3;
		}
	}
	return out;
}

static void host_log(const struct csdk_host *host, enum csdk_log_level level, const char *fmt, ...)
{
	csdk_provider *p = provider_of(host);
	va_list ap;
	char *msg, *clean;

	va_start(ap, fmt);
	msg = csdkp_vprintf(fmt, ap);
	va_end(ap);
	if (!msg)
		return;
	clean = csdkp_provider_scrub(p, msg);
	csdkp_log_emit(level, p->name, clean ? clean : "(out of memory)");
	free(clean);
	free(msg);
}

static int host_error(const struct csdk_host *host, int code, const char *fmt, ...)
{
	csdk_provider *p = provider_of(host);
	va_list ap;
	char *msg, *clean;

	if (code >= 0 || code < CSDK_ERROR_MIN)
		code = CSDK_EBACKEND;
	va_start(ap, fmt);
	msg = csdkp_vprintf(fmt, ap);
	va_end(ap);
	if (!msg)
		return csdkp_error_oom();
	clean = csdkp_provider_scrub(p, msg);
	free(msg);
	if (!clean)
		return csdkp_error_oom();
	/* The last error is one line: a newline ends the plugin's message. */
	clean[strcspn(clean, "\r\n")] = '\0';
	csdkp_error_set(code, p->name, "%s", clean);
	free(clean);
	return code;
}

static const char *host_config_get(const struct csdk_config *config, const char *key)
{
	size_t i;

	if (!config || !key)
		return NULL;
	for (i = 0; i < config->n; i++)
		if (!strcmp(config->kv[i].key, key))
			return config->kv[i].value;
	return NULL;
}

static int host_config_get_int(const struct csdk_config *config, const char *key, int64_t *out)
{
	const csdk_config_key_info *k;
	const char *text;

	if (!config || !key || !out || !(k = csdkp_config_key_find(config->plugin, key)) || k->type == CSDK_CONFIG_STRING)
		return CSDK_EINVAL;
	if (!(text = host_config_get(config, key)))
		return CSDK_ENOTFOUND;
	return csdkp_config_value(out, k, text, config->plugin->name) ? CSDK_EINVAL : 0;
}

const char *csdk_provider_config(const csdk_provider *provider, const char *key)
{
	return provider ? host_config_get(&provider->config, key) : NULL;
}

static void config_clear(struct csdk_config *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		free((char *)c->kv[i].key);
		free((char *)c->kv[i].value);
	}
	free(c->kv);
	c->kv = NULL;
	c->n = 0;
}

static int config_put(struct csdk_config *c, const char *key, const char *value)
{
	struct csdk_kv *kv = realloc(c->kv, (c->n + 1) * sizeof(*kv));
	char *k, *v;

	if (!kv)
		return csdkp_error_oom();
	c->kv = kv;
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return csdkp_error_oom();
	}
	c->kv[c->n].key = k;
	c->kv[c->n].value = v;
	c->n++;
	return 0;
}

static int build_config(struct csdk_config *c, const csdk_plugin_info *plugin, const csdk_provider_options *opts)
{
	size_t i, j;
	char keys[512];

	for (i = 0; opts && i < opts->n_config; i++) {
		const struct csdk_kv *kv = &opts->config[i];
		if (!kv->key || !kv->value)
			return csdkp_error_set(CSDK_EINVAL, plugin->name, "configuration entry %zu for provider '%s' has no key or no value; give KEY=VALUE", i + 1, plugin->name);
		if (!csdkp_config_key_find(plugin, kv->key)) {
			csdkp_config_keys_text(keys, sizeof(keys), plugin);
			return csdkp_error_set(CSDK_ECONFIG, plugin->name, "unknown configuration key '%s' for provider '%s'; known keys: %s", kv->key, plugin->name, keys);
		}
		for (j = 0; j < c->n; j++)
			if (!strcmp(c->kv[j].key, kv->key))
				return csdkp_error_set(CSDK_ECONFIG, plugin->name, "configuration key '%s' for provider '%s' is given twice; give it once", kv->key, plugin->name);
		if (config_put(c, kv->key, kv->value))
			return CSDK_ENOMEM;
	}
	for (i = 0; i < plugin->n_config_keys; i++) {
		const csdk_config_key_info *k = &plugin->config_keys[i];
		const char *env;

		if (host_config_get(c, k->key))
			continue;
		if (k->env && (env = getenv(k->env)) && *env) {
			if (config_put(c, k->key, env))
				return CSDK_ENOMEM;
			continue;
		}
		if (k->flags & CSDK_CONFIG_REQUIRED) {
			if (k->help)
				return csdkp_error_set(CSDK_ECONFIG, plugin->name, "missing required configuration key '%s' for provider '%s' (%s); %s%s%spass %s=VALUE in the provider configuration",
						       k->key, plugin->name, k->help, k->env ? "set " : "", k->env ? k->env : "", k->env ? " or " : "", k->key);
			if (k->env)
				return csdkp_error_set(CSDK_ECONFIG, plugin->name, "missing required configuration key '%s' for provider '%s'; set %s or pass %s=VALUE in the provider configuration", k->key, plugin->name, k->env, k->key);
			return csdkp_error_set(CSDK_ECONFIG, plugin->name, "missing required configuration key '%s' for provider '%s'; pass %s=VALUE in the provider configuration", k->key, plugin->name, k->key);
		}
	}
	for (i = 0; i < c->n; i++) {
		const csdk_config_key_info *k = csdkp_config_key_find(plugin, c->kv[i].key);
		int64_t v;

		if (k && k->type != CSDK_CONFIG_STRING && csdkp_config_value(&v, k, c->kv[i].value, plugin->name))
			return CSDK_ECONFIG;
	}
	return 0;
}

int csdkp_default_registry_get(csdk_registry **out)
{
	int rc = 0;

	pthread_mutex_lock(&default_lock);
	if (!default_registry)
		rc = csdk_registry_new(&default_registry, NULL);
	*out = default_registry;
	pthread_mutex_unlock(&default_lock);
	return rc;
}

int csdk_provider_open(csdk_provider **out, const char *name, const csdk_provider_options *opts)
{
	csdk_provider_options o;
	csdk_registry *reg;
	const csdk_plugin_info *plugin;
	csdk_provider *p;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_provider_open: out is NULL");
	*out = NULL;
	if (!name || !*name)
		return csdkp_error_set(CSDK_EINVAL, NULL, "no provider name given; name one, e.g. 'local'");
	if ((rc = CSDKP_OPTIONS_COPY(&o, opts, "csdk_provider_options", "CSDK_PROVIDER_OPTIONS_INIT")))
		return rc;
	opts = &o;
	csdkp_global_init();
	reg = opts->registry;
	if (!reg && (rc = csdkp_default_registry_get(&reg)))
		return rc;
	if ((rc = csdkp_registry_open_name(reg, name, &plugin)))
		return rc;

	if (!(p = calloc(1, sizeof(*p))) || !(p->name = strdup(plugin->name))) {
		free(p);
		return csdkp_error_oom();
	}
	pthread_mutex_init(&p->call_lock, NULL);
	pthread_mutex_init(&p->ref_lock, NULL);
	p->refs = 1;
	p->plugin = plugin;
	p->m = &csdkp_plugin_of(plugin)->methods;
	p->thread_safe = (plugin->capabilities & CSDK_CAP_THREAD_SAFE) != 0;
	p->host.struct_size = sizeof(p->host);
	p->host.abi_version = CSDK_ABI_VERSION;
	p->host.log = host_log;
	p->host.error = host_error;
	p->host.config_get = host_config_get;
	p->host.config_get_int = host_config_get_int;
	p->config.plugin = plugin;
	csdkp_builders_install(&p->host);

	csdk_error_clear();
	if ((rc = build_config(&p->config, plugin, opts)) || (rc = csdkp_gateway_mode(&p->mode, plugin, &p->config)))
		goto fail;
	if (p->m->init) {
		csdkp_provider_enter(p, "init");
		rc = p->m->init(&p->host, &p->config, &p->ctx);
		csdkp_provider_leave(p);
		if (rc) {
			rc = csdkp_provider_result(p, "init", rc);
			goto fail;
		}
	}
	*out = p;
	return 0;
fail:
	config_clear(&p->config);
	pthread_mutex_destroy(&p->call_lock);
	pthread_mutex_destroy(&p->ref_lock);
	free(p->name);
	free(p);
	return rc;
}

void csdkp_provider_ref(csdk_provider *p)
{
	pthread_mutex_lock(&p->ref_lock);
	p->refs++;
	pthread_mutex_unlock(&p->ref_lock);
}

void csdkp_provider_unref(csdk_provider *p)
{
	int last;

	if (!p)
		return;
	pthread_mutex_lock(&p->ref_lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&p->ref_lock);
	if (!last)
		return;
	if (p->m->teardown) {
		csdkp_call_push(p->name, "teardown");
		p->m->teardown(p->ctx);
		csdkp_call_pop();
	}
	config_clear(&p->config);
	pthread_mutex_destroy(&p->call_lock);
	pthread_mutex_destroy(&p->ref_lock);
	free(p->name);
	free(p);
}

void csdk_provider_close(csdk_provider *provider)
{
	csdkp_provider_unref(provider);
}

const char *csdk_provider_name(const csdk_provider *provider)
{
	return provider ? provider->name : NULL;
}

uint32_t csdk_provider_mode(const csdk_provider *provider)
{
	return provider ? provider->mode : 0;
}

uint64_t csdk_provider_capabilities(const csdk_provider *provider)
{
	if (!provider)
		return 0;
	/* In gateway mode the sandbox's agent runs commands, streams and serves files. */
	if (provider->mode == CSDK_MODE_GATEWAY)
		return (provider->plugin->capabilities & ~CSDK_CAP_FS_OVER_COMMANDS) |
		       CSDK_CAP_FILESYSTEM | CSDK_CAP_EXEC | CSDK_CAP_STREAMING;
	return provider->plugin->capabilities;
}

const csdk_plugin_info *csdk_provider_plugin(const csdk_provider *provider)
{
	return provider ? provider->plugin : NULL;
}

/*
 * The plugin calls the calling thread is in, innermost last (a streaming
 * callback may call into another provider). Initial-exec TLS and plain
 * stores, so that a signal handler can read it (csdk_plugin_call_current).
 */
#define CALL_DEPTH 8

static __thread struct {
	const char *provider[CALL_DEPTH];
	const char *method[CALL_DEPTH];
	volatile sig_atomic_t depth;
} calls __attribute__((tls_model("initial-exec")));

void csdkp_call_push(const char *provider, const char *method)
{
	sig_atomic_t d = calls.depth;

	if (d < CALL_DEPTH) {
		calls.provider[d] = provider;
		calls.method[d] = method;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
	}
	calls.depth = d + 1;
}

void csdkp_call_pop(void)
{
	if (calls.depth > 0)
		calls.depth = calls.depth - 1;
}

int csdk_plugin_call_current(const char **provider, const char **method)
{
	sig_atomic_t d = calls.depth;

	if (d <= 0) {
		if (provider)
			*provider = NULL;
		if (method)
			*method = NULL;
		return 0;
	}
	if (d > CALL_DEPTH)
		d = CALL_DEPTH;
	if (provider)
		*provider = calls.provider[d - 1];
	if (method)
		*method = calls.method[d - 1];
	return 1;
}

/*
 * CSDK_STDOUT_CHECK (docs/loader.md): when fd 1 is a regular file, a plugin
 * call that makes it grow is reported as a warning naming the method. For
 * test harnesses (the conformance kit); stdout is flushed around each call.
 */
static int stdout_check(void)
{
	static int enabled = -1;

	if (enabled < 0) {
		const char *e = getenv("CSDK_STDOUT_CHECK");

		enabled = e && *e && strcmp(e, "0") != 0;
	}
	return enabled;
}

static off_t stdout_size(void)
{
	struct stat st;

	fflush(stdout);
	return fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size : -1;
}

static __thread off_t stdout_before[CALL_DEPTH];

void csdkp_provider_enter(csdk_provider *p, const char *method)
{
	if (!p->thread_safe)
		pthread_mutex_lock(&p->call_lock);
	csdk_error_clear();
	if (stdout_check() && calls.depth < CALL_DEPTH)
		stdout_before[calls.depth] = stdout_size();
	csdkp_call_push(p->name, method);
}

void csdkp_provider_release(csdk_provider *p, void *native)
{
	if (!native || !p->m->release)
		return;
	if (!p->thread_safe)
		pthread_mutex_lock(&p->call_lock);
	csdkp_call_push(p->name, "release");
	p->m->release(p->ctx, native);
	csdkp_call_pop();
	if (!p->thread_safe)
		pthread_mutex_unlock(&p->call_lock);
}

void csdkp_provider_leave(csdk_provider *p)
{
	csdkp_call_pop();
	if (stdout_check() && calls.depth < CALL_DEPTH) {
		off_t before = stdout_before[calls.depth], after = stdout_size();

		if (before >= 0 && after > before) {
			char *msg = csdkp_printf("provider '%s' wrote %lld bytes to standard output in %s; a plugin must not write to stdout (it belongs to the program): log through host->log",
						 p->name, (long long)(after - before), calls.method[calls.depth]);

			if (msg)
				csdkp_log_emit(CSDK_LOG_WARN, p->name, msg);
			free(msg);
		}
	}
	if (!p->thread_safe)
		pthread_mutex_unlock(&p->call_lock);
}

int csdkp_provider_result(csdk_provider *p, const char *method, int rc)
{
	const csdk_error *e;

	if (rc == 0)
		return 0;
	if (rc > 0 || rc < CSDK_ERROR_MIN)
		return csdkp_error_set(CSDK_EBACKEND, p->name, "provider '%s' returned invalid status %d from %s; the plugin must return 0 or a negative CSDK_E* code", p->name, rc, method);
	e = csdk_error_last();
	if (e->code == 0 || e->message[0] == '\0')
		return csdkp_error_set(rc, p->name, "provider '%s' failed in %s: %s", p->name, method, csdk_strerror(rc));
	if (e->code != rc)
		csdkp_error_set(rc, p->name, "%s", e->message);
	return rc;
}

int csdkp_sandbox_wrap(csdk_sandbox **out, csdk_provider *p, const char *id, void *native)
{
	csdk_sandbox *sb = calloc(1, sizeof(*sb));

	if (!sb || !(sb->id = strdup(id))) {
		free(sb);
		csdkp_provider_release(p, native);
		return csdkp_error_oom();
	}
	csdkp_provider_ref(p);
	sb->provider = p;
	sb->native = native;
	*out = sb;
	return 0;
}

int csdkp_unsupported_fs(const csdk_provider *p)
{
	return csdkp_error_set(CSDK_EUNSUPPORTED, p->name,
		"Filesystem operations are not supported by %s's sandbox environment. %s sandboxes are designed for code execution only.",
		p->name, p->name);
}

int csdkp_unsupported_named(const csdk_provider *p, const char *feature, const char *needs)
{
	return csdkp_error_set(CSDK_EUNSUPPORTED, p->name,
		"Provider '%s' does not support %s (%s); this needs a provider with %s support.",
		p->name, strcmp(feature, "extend_timeout") ? "named sandboxes" : "timeout extension", feature, needs);
}

int csdkp_unsupported_group(const csdk_provider *p, const char *group)
{
	return csdkp_error_set(CSDK_EUNSUPPORTED, p->name, "Provider '%s' does not support %s.", p->name, group);
}
