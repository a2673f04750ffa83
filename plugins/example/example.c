/*
 * example.c - the smallest complete csdk provider plugin.
 *
 * This is the "Complete Example" of the ComputeSDK provider framework in C,
 * and the file to copy when writing a new plugin (docs/writing-a-plugin.md
 * walks through it). It has no backend: sandboxes are rows in a table, code
 * and commands are echoed back.
 *
 * Build it on its own with
 *   cc $(pkg-config --cflags csdk-plugin) -o csdk-example.so example.c \
 *      $(pkg-config --libs csdk-plugin) -pthread
 *
 * One deliberate change from the TypeScript example: its getById answers for
 * any id, so a create/destroy/get test could never fail. Here the context
 * remembers the sandboxes it created: get of an unknown or destroyed id is
 * CSDK_ENOTFOUND, list returns them, and destroy is idempotent.
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <csdk/plugin.h>

/* The plugin's per-sandbox handle. The host holds it between calls and gives
 * it back through release. */
struct example_sandbox {
	char id[64];
	int64_t created_ms;
	int64_t timeout_ms;
};

/* The plugin context, made by init and passed to every method. */
struct example_ctx {
	const struct csdk_host *host;
	const char *api_key; /* borrowed from the host until teardown; NULL if unset */
	pthread_mutex_t lock; /* we declare CSDK_CAP_THREAD_SAFE, so guard our state */
	unsigned long counter;
	struct example_sandbox *sandboxes;
	size_t n_sandboxes;
	size_t cap_sandboxes;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	timespec_get(&ts, TIME_UTC);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The host owns a handle once we hand it over, and releases it through
 * release(); so every handle is a copy, independent of our table. */
static int handle_new(struct example_ctx *ctx, const struct example_sandbox *sb, void **out)
{
	struct example_sandbox *copy = malloc(sizeof(*copy));

	if (!copy)
		return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory copying sandbox %s", sb->id);
	*copy = *sb;
	*out = copy;
	return 0;
}

/* Caller holds ctx->lock. */
static struct example_sandbox *find_locked(struct example_ctx *ctx, const char *id)
{
	for (size_t i = 0; i < ctx->n_sandboxes; i++)
		if (strcmp(ctx->sandboxes[i].id, id) == 0)
			return &ctx->sandboxes[i];
	return NULL;
}

/* Caller holds ctx->lock. Gives sb its id and appends it to the table. */
static int add_locked(struct example_ctx *ctx, struct example_sandbox *sb)
{
	if (ctx->n_sandboxes == ctx->cap_sandboxes) {
		size_t cap = ctx->cap_sandboxes ? 2 * ctx->cap_sandboxes : 8;
		struct example_sandbox *grown = realloc(ctx->sandboxes, cap * sizeof(*grown));

		if (!grown)
			return ctx->host->error(ctx->host, CSDK_ENOMEM, "out of memory creating a sandbox");
		ctx->sandboxes = grown;
		ctx->cap_sandboxes = cap;
	}
	snprintf(sb->id, sizeof(sb->id), "sandbox-%lld-%lu", (long long)sb->created_ms, ++ctx->counter);
	ctx->sandboxes[ctx->n_sandboxes++] = *sb;
	return 0;
}

/* Caller holds ctx->lock. Keeps the table in creation order, for list. */
static void remove_locked(struct example_ctx *ctx, const char *id)
{
	struct example_sandbox *found = find_locked(ctx, id);

	if (found) {
		size_t after = ctx->n_sandboxes - (size_t)(found - ctx->sandboxes) - 1;

		memmove(found, found + 1, after * sizeof(*found));
		ctx->n_sandboxes--;
	}
}

/* ------------------------------------------------------------- lifecycle */

static int example_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	struct example_ctx *ctx;

	/* A plugin reads a host struct only up to its struct_size; every 2.x
	 * host gives at least the 2.0 table, so this only guards against a
	 * broken host (which cannot take an error message either). */
	if (host->struct_size < CSDK_HOST_SIZE_2_0)
		return CSDK_EABI;

	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return host->error(host, CSDK_ENOMEM, "out of memory creating the provider context");
	ctx->host = host;
	/* A real provider would send this with every request to its backend. */
	ctx->api_key = host->config_get(config, "api_key");
	pthread_mutex_init(&ctx->lock, NULL);
	/* The key is declared secret: say whether it is set, never what it is. */
	host->log(host, CSDK_LOG_DEBUG, "ready (%s)", ctx->api_key ? "api_key set" : "no api_key");
	*ctx_out = ctx;
	return 0;
}

static void example_teardown(void *vctx)
{
	struct example_ctx *ctx = vctx;

	pthread_mutex_destroy(&ctx->lock);
	free(ctx->sandboxes);
	free(ctx);
}

static void example_release(void *vctx, void *sandbox)
{
	free(sandbox);
}

/* ------------------------------------------------------------ collection */

static int example_create(void *vctx, const struct csdk_create_request *opts,
			  struct csdk_text *id_out, void **sandbox_out)
{
	struct example_ctx *ctx = vctx;
	struct example_sandbox sb = { .created_ms = now_ms() };
	void *handle = NULL;
	int rc;

	/* Options come from the host: read a field only if struct_size covers it. */
	if (opts && opts->struct_size >= offsetof(struct csdk_create_request, timeout_ms) + sizeof(opts->timeout_ms))
		sb.timeout_ms = opts->timeout_ms;

	pthread_mutex_lock(&ctx->lock);
	rc = add_locked(ctx, &sb);
	pthread_mutex_unlock(&ctx->lock);
	if (rc != 0)
		return rc;

	rc = handle_new(ctx, &sb, &handle);
	if (rc == 0) {
		/* Host functions record their own error: just pass the code on. */
		rc = ctx->host->text_set(id_out, sb.id);
		if (rc != 0)
			free(handle);
	}
	if (rc != 0) {
		/* A failed create leaves nothing behind. */
		pthread_mutex_lock(&ctx->lock);
		remove_locked(ctx, sb.id);
		pthread_mutex_unlock(&ctx->lock);
		return rc;
	}
	*sandbox_out = handle;
	return 0;
}

static int example_get(void *vctx, const char *id, void **sandbox_out)
{
	struct example_ctx *ctx = vctx;
	struct example_sandbox sb;
	struct example_sandbox *found;

	pthread_mutex_lock(&ctx->lock);
	found = find_locked(ctx, id);
	if (found)
		sb = *found;
	pthread_mutex_unlock(&ctx->lock);

	/* "No such sandbox" is an answer, not a failure: no host->error. */
	if (!found)
		return CSDK_ENOTFOUND;
	return handle_new(ctx, &sb, sandbox_out);
}

static int example_list(void *vctx, struct csdk_handles *out)
{
	struct example_ctx *ctx = vctx;
	int rc = 0;

	pthread_mutex_lock(&ctx->lock);
	for (size_t i = 0; i < ctx->n_sandboxes && rc == 0; i++) {
		void *handle = NULL;

		rc = handle_new(ctx, &ctx->sandboxes[i], &handle);
		/* handles_add takes the handle only when it succeeds. */
		if (rc == 0 && (rc = ctx->host->handles_add(out, ctx->sandboxes[i].id, handle)) != 0)
			free(handle);
	}
	pthread_mutex_unlock(&ctx->lock);
	return rc;
}

/* Destroying a sandbox that is already gone succeeds. */
static int example_destroy(void *vctx, const char *id)
{
	struct example_ctx *ctx = vctx;

	pthread_mutex_lock(&ctx->lock);
	remove_locked(ctx, id);
	pthread_mutex_unlock(&ctx->lock);
	return 0;
}

/* -------------------------------------------------------------- instance */

/* Write "prefix" and "text" to stdout. A non-zero sink_write means the host
 * wants the operation stopped. */
static int echo(struct example_ctx *ctx, struct csdk_sink *out, const char *prefix, const char *text, int *exit_code_out)
{
	if (ctx->host->sink_write(out, CSDK_STREAM_STDOUT, prefix, strlen(prefix)) != 0 ||
	    ctx->host->sink_write(out, CSDK_STREAM_STDOUT, text, strlen(text)) != 0)
		return CSDK_ECANCELLED;
	*exit_code_out = 0;
	return 0;
}

static int example_run_code(void *vctx, void *sandbox, const char *code, const struct csdk_run_request *req,
			    struct csdk_sink *out, int *exit_code_out)
{
	return echo(vctx, out, "Executed: ", code, exit_code_out);
}

static int example_run_command(void *vctx, void *sandbox, const char *command, const struct csdk_run_request *opts,
			       struct csdk_sink *out, int *exit_code_out)
{
	return echo(vctx, out, "Ran: ", command, exit_code_out);
}

static int example_get_info(void *vctx, void *sandbox, struct csdk_info *out)
{
	struct example_ctx *ctx = vctx;
	const struct example_sandbox *sb = sandbox;
	int rc;

	rc = ctx->host->info_set_id(out, sb->id);
	if (rc == 0)
		rc = ctx->host->info_set_status(out, CSDK_STATUS_RUNNING);
	if (rc == 0)
		rc = ctx->host->info_set_times(out, sb->created_ms, sb->timeout_ms);
	return rc;
}

static int example_get_url(void *vctx, void *sandbox, int port, const char *protocol, struct csdk_text *out)
{
	struct example_ctx *ctx = vctx;
	char url[128];

	/* The host has checked port (1 to 65535) and protocol (a URL scheme of at most 32 bytes). */
	snprintf(url, sizeof(url), "%s://localhost:%d", protocol ? protocol : "http", port);
	return ctx->host->text_set(out, url);
}

/* ---------------------------------------------------------- descriptor */

static const struct csdk_config_key example_config_keys[] = {
	{
		.key = "api_key",
		.env = "EXAMPLE_API_KEY",
		.flags = CSDK_CONFIG_SECRET,
		.help = "API key for the backend (optional: this provider has no backend)",
	},
};

static const struct csdk_methods example_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = example_init,
	.teardown = example_teardown,
	.release = example_release,
	.create = example_create,
	.get = example_get,
	.list = example_list,
	.destroy = example_destroy,
	.run_code = example_run_code,
	.run_command = example_run_command,
	.get_info = example_get_info,
	.get_url = example_get_url,
};

/* We use nothing newer than 2.0, so we say so: every 2.x host accepts it. */
#define EXAMPLE_ABI CSDK_ABI_MAKE(2, 0)

static const struct csdk_plugin example_plugin = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = EXAMPLE_ABI,
	.modes = CSDK_MODE_DIRECT,
	.default_mode = CSDK_MODE_DIRECT,
	.capabilities = CSDK_CAP_THREAD_SAFE,
	.name = "example",
	.version = "1.0.0",
	.description = "Minimal example provider: echoes code and commands, keeps sandboxes in memory",
	.license = "MIT",
	.config_keys = example_config_keys,
	.n_config_keys = sizeof(example_config_keys) / sizeof(example_config_keys[0]),
	.config_key_size = sizeof(struct csdk_config_key),
	.methods = &example_methods,
};

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	if (CSDK_ABI_MAJOR_OF(host_abi) != CSDK_ABI_MAJOR_OF(EXAMPLE_ABI))
		return CSDK_EABI;
	*out = &example_plugin;
	return 0;
}
