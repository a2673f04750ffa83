#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

#define DEFAULT_TIMEOUT_MS 1800000
#define DEFAULT_OUTPUT_LIMIT (64ull << 20)
/* The faster per command and to interactive, measured in BENCHMARKS.md. */
#define DEFAULT_MODE CSDK_MODE_DIRECT

static const struct csdk_config_key config_keys[] = {
	{ "state_dir", "CSDK_LOCAL_STATE_DIR", 0, CSDK_CONFIG_STRING, "directory holding sandboxes, names, templates and snapshots (default $XDG_STATE_HOME/csdk/local)", 0, 0 },
	{ "isolation", "CSDK_LOCAL_ISOLATION", 0, CSDK_CONFIG_STRING, "auto (bubblewrap when it works, else none), bwrap (require bubblewrap) or none", 0, 0 },
	{ "network", "CSDK_LOCAL_NETWORK", 0, CSDK_CONFIG_STRING, "isolated (outbound access through slirp4netns, no route to this machine or link-local addresses; the default where slirp4netns is installed), none (loopback only; the default otherwise) or host (share this machine's network, its 127.0.0.1 services and metadata address included); fixed at create", 0, 0 },
	{ "timeout", "CSDK_LOCAL_TIMEOUT", 0, CSDK_CONFIG_DURATION, "default sandbox lifetime (ms, or 30s, 5m, 2h; default 30m; 0 = never expires)", 0, INT64_MAX },
	{ "memory", "CSDK_LOCAL_MEMORY", 0, CSDK_CONFIG_SIZE, "address-space limit per command process (RLIMIT_AS; bytes, or 512M, 4G; default none)", 1, INT64_MAX },
	{ "processes", "CSDK_LOCAL_PROCESSES", 0, CSDK_CONFIG_INT, "process limit of the user running commands (RLIMIT_NPROC; default none)", 1, INT64_MAX },
	{ "cpu_time", "CSDK_LOCAL_CPU_TIME", 0, CSDK_CONFIG_INT, "CPU time limit per command process in seconds (RLIMIT_CPU; default none)", 1, INT64_MAX },
	{ "output_limit", "CSDK_LOCAL_OUTPUT_LIMIT", 0, CSDK_CONFIG_SIZE, "bytes per stream of a command, or of a background command's log, before it is killed (or 512K, 64M; default 64M)", 1, INT64_MAX },
	{ "python", "CSDK_LOCAL_PYTHON", 0, CSDK_CONFIG_STRING, "interpreter run_code uses for python (default python3)", 0, 0 },
	{ "node", "CSDK_LOCAL_NODE", 0, CSDK_CONFIG_STRING, "interpreter run_code uses for node (default node)", 0, 0 },
	{ "mode", "CSDK_LOCAL_MODE", 0, CSDK_CONFIG_STRING, "direct (a bubblewrap per command) or gateway (one namespace per sandbox, commands through its csdk-agent)", 0, 0 },
	{ "agent", "CSDK_LOCAL_AGENT", 0, CSDK_CONFIG_STRING, "csdk-agent binary run in each sandbox in gateway mode (default " LOCALP_DEFAULT_AGENT ")", 0, 0 },
	{ "pids", "CSDK_LOCAL_PIDS", 0, CSDK_CONFIG_INT, "most processes a sandbox may have at once, all its commands together (a cgroup v1 pids controller group; needs root; default 4096 as root where the controller is writable, else none); fixed at create", 1, INT64_MAX },
	{ "memory_max", "CSDK_LOCAL_MEMORY_MAX", 0, CSDK_CONFIG_SIZE, "memory of a sandbox's processes together (bytes, or 512M, 4G; a cgroup v1 memory controller group; needs root; default none, or the create option memory_bytes): past it the kernel kills a process, exit 137; fixed at create", 1, INT64_MAX },
	{ "cpus", "CSDK_LOCAL_CPUS", 0, CSDK_CONFIG_STRING, "CPUs a sandbox's processes may use together, e.g. 0.5 or 2 (a cgroup v1 cpu controller quota; needs root; default none, or the create option cpus); fixed at create", 0, 0 },
	{ "disk", "CSDK_LOCAL_DISK", 0, CSDK_CONFIG_SIZE, "most bytes a sandbox may write to its home and /tmp together (or 512M, 4G; a tmpfs of that size, in memory; needs root; default none): past it writes fail with ENOSPC; fixed at create", 1048576, INT64_MAX },
	{ "sandbox_uid", "CSDK_LOCAL_SANDBOX_UID", 0, CSDK_CONFIG_STRING, "when run as root, the unprivileged host uid (and gid) bubblewrap sandboxes' commands run as: a number from 1 to 4294967294, or nobody (default 1879048192); fixed at create", 0, 0 },
	{ "pool", "CSDK_LOCAL_POOL", 0, CSDK_CONFIG_INT, "ready sandboxes kept per configuration, so create claims one instead of making it (default 0: no pool; see docs/pools.md)", 0, 1000 },
	{ "seccomp", "CSDK_LOCAL_SECCOMP", 0, CSDK_CONFIG_STRING, "default (bubblewrap sandboxes refuse mount, ptrace, unshare, bpf, kernel modules and other system calls with EPERM) or off; fixed at create", 0, 0 },
};

static char *find_in_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *dir, *save = NULL, *found = NULL;

	if (!path || !*path)
		path = "/usr/local/bin:/usr/bin:/bin";
	if (!(copy = strdup(path)))
		return NULL;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char *cand;
		if (asprintf(&cand, "%s/%s", *dir ? dir : ".", name) < 0)
			break;
		if (cand[0] == '/' && access(cand, X_OK) == 0)
			found = cand;
		else
			free(cand);
	}
	free(copy);
	return found;
}

static void local_teardown(void *vctx)
{
	struct localp_local *ctx = vctx;

	if (!ctx)
		return;
	pthread_mutex_destroy(&ctx->probe_lock);
	free(ctx->state_dir);
	free(ctx->python);
	free(ctx->node);
	free(ctx->bwrap);
	free(ctx->slirp);
	free(ctx->agent);
	free(ctx->seccomp_prog);
	free(ctx);
}

static int bad_value(const struct csdk_host *host, const char *key, const char *value, const char *accepted)
{
	return host->error(host, CSDK_ECONFIG, "invalid value '%s' for %s; use %s", value, key, accepted);
}

static int init_state_dir(struct localp_local *ctx, const struct csdk_config *config)
{
	const struct csdk_host *host = ctx->host;
	const char *v = host->config_get(config, "state_dir");

	if (v && *v) {
		ctx->state_dir = strdup(v);
	} else if ((v = getenv("XDG_STATE_HOME")) && v[0] == '/') {
		if (asprintf(&ctx->state_dir, "%s/csdk/local", v) < 0)
			ctx->state_dir = NULL;
	} else if ((v = getenv("HOME")) && v[0] == '/') {
		if (asprintf(&ctx->state_dir, "%s/.local/state/csdk/local", v) < 0)
			ctx->state_dir = NULL;
	} else {
		return host->error(host, CSDK_ECONFIG, "no state directory: HOME is not set; set state_dir (CSDK_LOCAL_STATE_DIR)");
	}
	if (!ctx->state_dir)
		return CSDK_ENOMEM;
	if (ctx->state_dir[0] != '/')
		return bad_value(host, "state_dir", ctx->state_dir, "an absolute directory path");
	return 0;
}

/* The host uid (and gid, the same number) of root's sandboxes: never 0. */
static int init_sandbox_uid(struct localp_local *ctx, const struct csdk_config *config)
{
	const char *v = ctx->host->config_get(config, "sandbox_uid");
	unsigned long long n = LOCALP_DEFAULT_SANDBOX_UID;
	char *end;

	if (v && !strcmp(v, "nobody")) {
		n = 65534;
	} else if (v) {
		errno = 0;
		n = strtoull(v, &end, 10);
		if (end == v || *end || errno || v[0] == '-' || n == 0 || n > 4294967294ull)
			return bad_value(ctx->host, "sandbox_uid", v, "an unprivileged uid from 1 to 4294967294, or nobody");
	}
	ctx->sandbox_uid = (uid_t)n;
	ctx->sandbox_gid = (gid_t)n;
	return 0;
}

/* isolation, network, cpus, seccomp and sandbox_uid */
static int init_isolation(struct localp_local *ctx, const struct csdk_config *config)
{
	const struct csdk_host *host = ctx->host;
	const char *v = host->config_get(config, "isolation");

	if (!v || !strcmp(v, "auto"))
		ctx->isolation = LOCALP_ISO_AUTO;
	else if (!strcmp(v, "bwrap") || !strcmp(v, "bubblewrap"))
		ctx->isolation = LOCALP_ISO_BWRAP;
	else if (!strcmp(v, "none"))
		ctx->isolation = LOCALP_ISO_NONE;
	else
		return bad_value(host, "isolation", v, "auto, bwrap or none");
	v = host->config_get(config, "network");
	if (!v)
		ctx->network = LOCALP_NET_AUTO;
	else if (!strcmp(v, "none"))
		ctx->network = LOCALP_NET_NONE;
	else if (!strcmp(v, "isolated"))
		ctx->network = LOCALP_NET_ISOLATED;
	else if (!strcmp(v, "host"))
		ctx->network = LOCALP_NET_HOST;
	else
		return bad_value(host, "network", v, "isolated, none or host");
	if ((v = host->config_get(config, "cpus"))) {
		char *end;
		double cpus = strtod(v, &end);

		if (end == v || *end || !(cpus >= 0.01 && cpus <= 1024))
			return bad_value(host, "cpus", v, "a number of CPUs from 0.01 to 1024, such as 0.5 or 2");
		ctx->cpu_quota_us = (uint64_t)(cpus * LOCALP_CPU_PERIOD_US + 0.5);
	}
	v = host->config_get(config, "seccomp");
	if (v && strcmp(v, "default") && strcmp(v, "off"))
		return bad_value(host, "seccomp", v, "default or off");
	ctx->seccomp_off = v && !strcmp(v, "off");
	return init_sandbox_uid(ctx, config);
}

static void init_limits(struct localp_local *ctx, const struct csdk_config *config)
{
	static const char *const keys[] = { "memory", "processes", "cpu_time", "output_limit", "pids", "memory_max", "disk" };
	uint64_t *dst[] = { &ctx->memory, &ctx->processes, &ctx->cpu_time, &ctx->output_limit, &ctx->pids, &ctx->memory_max, &ctx->disk };
	int64_t n;

	if (ctx->host->config_get_int(config, "timeout", &n) == 0)
		ctx->timeout_ms = n;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (ctx->host->config_get_int(config, keys[i], &n) == 0)
			*dst[i] = (uint64_t)n;
}

/* python, node, mode and agent */
static int init_programs(struct localp_local *ctx, const struct csdk_config *config)
{
	const struct csdk_host *host = ctx->host;
	const char *v = host->config_get(config, "python");

	if (v && !*v)
		return bad_value(host, "python", v, "an interpreter command such as python3");
	ctx->python = strdup(v ? v : "python3");
	v = host->config_get(config, "node");
	if (v && !*v)
		return bad_value(host, "node", v, "an interpreter command such as node");
	ctx->node = strdup(v ? v : "node");
	v = host->config_get(config, "mode");
	if (v && strcmp(v, "direct") && strcmp(v, "gateway"))
		return bad_value(host, "mode", v, "direct or gateway");
	ctx->gateway = v ? !strcmp(v, "gateway") : DEFAULT_MODE == CSDK_MODE_GATEWAY;
	v = host->config_get(config, "agent");
	if (v && v[0] != '/')
		return bad_value(host, "agent", v, "the absolute path of the csdk-agent binary");
	ctx->agent = strdup(v ? v : LOCALP_DEFAULT_AGENT);
	host->config_get_int(config, "pool", &ctx->pool);
	return !ctx->python || !ctx->node || !ctx->agent ? CSDK_ENOMEM : 0;
}

static int init_bwrap(struct localp_local *ctx)
{
	if (ctx->isolation == LOCALP_ISO_NONE)
		return 0;
	ctx->slirp = find_in_path("slirp4netns");
	ctx->bwrap = find_in_path("bwrap");
	if (!ctx->bwrap && access("/usr/bin/bwrap", X_OK) == 0)
		ctx->bwrap = strdup("/usr/bin/bwrap");
	if (!ctx->bwrap && ctx->isolation == LOCALP_ISO_BWRAP)
		return ctx->host->error(ctx->host, CSDK_ECONFIG,
			"isolation 'bwrap' needs bubblewrap but 'bwrap' was not found in PATH; install bubblewrap (apt-get install bubblewrap) or set isolation to auto or none");
	return 0;
}

static int local_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	struct localp_local *ctx;
	int rc;

	*ctx_out = NULL;
	if (!host || host->struct_size < CSDK_HOST_SIZE_2_0)
		return CSDK_EABI;
	if (!(ctx = calloc(1, sizeof(*ctx))))
		return CSDK_ENOMEM;
	ctx->host = host;
	pthread_mutex_init(&ctx->probe_lock, NULL);
	ctx->timeout_ms = DEFAULT_TIMEOUT_MS;
	ctx->output_limit = DEFAULT_OUTPUT_LIMIT;
	init_limits(ctx, config);
	if ((rc = init_state_dir(ctx, config)) || (rc = init_isolation(ctx, config)) ||
	    (rc = init_programs(ctx, config)) || (rc = init_bwrap(ctx)) || (rc = localp_state_prepare(ctx))) {
		local_teardown(ctx);
		return rc;
	}
	*ctx_out = ctx;
	return 0;
}

static void local_release(void *ctx, void *sandbox)
{
	(void)ctx;
	localp_sandbox_free(sandbox);
}

static const struct csdk_methods methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = local_init,
	.teardown = local_teardown,
	.release = local_release,
	.create = localp_m_create,
	.get = localp_m_get,
	.list = localp_m_list,
	.destroy = localp_m_destroy,
	.run_code = localp_m_run_code,
	.run_command = localp_m_run_command,
	.get_info = localp_m_get_info,
	.get_url = localp_m_get_url,
	.fs_read = localp_m_fs_read,
	.fs_write = localp_m_fs_write,
	.fs_mkdir = localp_m_fs_mkdir,
	.fs_readdir = localp_m_fs_readdir,
	.fs_exists = localp_m_fs_exists,
	.fs_remove = localp_m_fs_remove,
	.find_or_create = localp_m_find_or_create,
	.find = localp_m_find,
	.extend_timeout = localp_m_extend_timeout,
	.template_create = localp_m_template_create,
	.template_list = localp_m_template_list,
	.template_delete = localp_m_template_delete,
	.snapshot_create = localp_m_snapshot_create,
	.snapshot_list = localp_m_snapshot_list,
	.snapshot_delete = localp_m_snapshot_delete,
	.gateway_endpoint = localp_m_gateway_endpoint,
	.extension = localp_m_extension,
};

static const struct csdk_plugin descriptor = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = CSDK_ABI_VERSION,
	.modes = CSDK_MODE_DIRECT | CSDK_MODE_GATEWAY,
	.default_mode = DEFAULT_MODE,
	.capabilities = CSDK_CAP_FILESYSTEM | CSDK_CAP_NAMED | CSDK_CAP_TEMPLATES | CSDK_CAP_SNAPSHOTS |
			CSDK_CAP_STREAMING | CSDK_CAP_THREAD_SAFE | CSDK_CAP_EXEC,
	.name = "local",
	.version = PACKAGE_VERSION,
	.description = "Sandboxes on this machine: directories run under bubblewrap when available",
	.license = "MIT",
	.config_keys = config_keys,
	.n_config_keys = sizeof(config_keys) / sizeof(config_keys[0]),
	.config_key_size = sizeof(struct csdk_config_key),
	.methods = &methods,
};

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	if (!out)
		return CSDK_EINVAL;
	if (CSDK_ABI_MAJOR_OF(host_abi) != CSDK_ABI_MAJOR)
		return CSDK_EABI;
	*out = &descriptor;
	return 0;
}
