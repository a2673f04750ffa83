#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "docker.h"

#define DOCKER_ABI CSDK_ABI_MAKE(2, 1)
/* The faster per command and to interactive, measured in BENCHMARKS.md. */
#define DEFAULT_MODE CSDK_MODE_DIRECT

static const struct csdk_config_key docker_config_keys[] = {
	{ .key = "host", .env = "DOCKER_HOST",
	  .help = "engine endpoint: unix:///path/to/docker.sock or tcp://host:port (default unix:///var/run/docker.sock)" },
	{ .key = "image", .env = "CSDK_DOCKER_IMAGE",
	  .help = "image for sandboxes created without a runtime (default: python_image)" },
	{ .key = "python_image", .env = "CSDK_DOCKER_PYTHON_IMAGE",
	  .help = "image for runtime python (default python:3.12-slim)" },
	{ .key = "node_image", .env = "CSDK_DOCKER_NODE_IMAGE",
	  .help = "image for runtime node (default node:20-slim)" },
	{ .key = "network", .env = "CSDK_DOCKER_NETWORK",
	  .help = "network mode of sandboxes: none, host, bridge or a network's name (default none)" },
	{ .key = "pull", .env = "CSDK_DOCKER_PULL", .type = CSDK_CONFIG_BOOL,
	  .help = "pull an image missing from the engine: true or false (default false)" },
	{ .key = "workdir", .env = "CSDK_DOCKER_WORKDIR",
	  .help = "working directory inside sandboxes (default: the image's, else /)" },
	{ .key = "ports", .env = "CSDK_DOCKER_PORTS",
	  .help = "container ports to publish on 127.0.0.1 for get_url, comma-separated, e.g. 3000,8080" },
	{ .key = "pids_limit", .env = "CSDK_DOCKER_PIDS_LIMIT", .type = CSDK_CONFIG_INT, .min = 0, .max = INT32_MAX,
	  .help = "maximum number of processes per sandbox (default 512; 0 = unlimited)" },
	{ .key = "memory", .env = "CSDK_DOCKER_MEMORY", .type = CSDK_CONFIG_SIZE, .min = 0, .max = INT64_MAX,
	  .help = "memory limit per sandbox when create gives none (bytes, or 512M, 4G; default 2G; 0 = unlimited)" },
	{ .key = "capabilities", .env = "CSDK_DOCKER_CAPABILITIES",
	  .help = "minimal (CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID NET_BIND_SERVICE) or default (the engine's set); default minimal" },
	{ .key = "no_new_privileges", .env = "CSDK_DOCKER_NO_NEW_PRIVILEGES", .type = CSDK_CONFIG_BOOL,
	  .help = "setuid and file capabilities grant nothing inside sandboxes: true or false (default true)" },
	{ .key = "read_only", .env = "CSDK_DOCKER_READ_ONLY", .type = CSDK_CONFIG_BOOL,
	  .help = "read-only root filesystem, writable /tmp only: true or false (default false)" },
	{ .key = "mode", .env = "CSDK_DOCKER_MODE",
	  .help = "direct (commands through docker exec) or gateway (through csdk-agent in each container)" },
	{ .key = "agent", .env = "CSDK_DOCKER_AGENT",
	  .help = "csdk-agent binary bind-mounted (or, over TCP, copied) into containers in gateway mode (default " DOCKERP_DEFAULT_AGENT ")" },
	{ .key = "gateway_transport", .env = "CSDK_DOCKER_GATEWAY_TRANSPORT",
	  .help = "how the host reaches csdk-agent in gateway mode: unix (bind-mounted socket, local engine), tcp (agent copied in, a TCP port) or auto (default: tcp for a tcp:// host)" },
	{ .key = "run_dir", .env = "CSDK_DOCKER_RUN_DIR",
	  .help = "directory of the agents' sockets and tokens in gateway mode (default $XDG_RUNTIME_DIR/csdk-docker, else /tmp/csdk-docker-UID)" },
	{ .key = "pool", .env = "CSDK_DOCKER_POOL", .type = CSDK_CONFIG_INT, .min = 0, .max = 1000,
	  .help = "ready containers kept per configuration and image, so create claims one instead of making it; mode=gateway with a local engine (default 0: no pool; see docs/pools.md)" },
	{ .key = "pool_wait", .env = "CSDK_DOCKER_POOL_WAIT", .type = CSDK_CONFIG_DURATION, .min = 0, .max = INT64_MAX,
	  .help = "how long pool fill and pool drain wait for a refiller that holds a pool's lock (default 30s)" },
	{ .key = "pool_refiller", .env = "CSDK_DOCKER_POOL_REFILLER",
	  .help = "the program a create runs to refill a pool (default " DOCKERP_DEFAULT_REFILLER ")" },
	{ .key = "timeout", .env = "CSDK_DOCKER_TIMEOUT", .type = CSDK_CONFIG_DURATION, .min = 0, .max = INT64_MAX,
	  .help = "default sandbox lifetime (ms, or 30s, 5m, 2h; default 30m; 0 = never expires)" },
};

static int hardening_init(struct dockerp_docker *ctx, const struct csdk_config *config)
{
	const struct csdk_host *host = ctx->host;
	const char *caps = host->config_get(config, "capabilities");
	int64_t v;

	if (caps && strcmp(caps, "minimal") && strcmp(caps, "default"))
		return host->error(host, CSDK_ECONFIG,
				   "capabilities '%s' is not minimal or default; e.g. capabilities=minimal", caps);
	ctx->minimal_caps = !caps || !strcmp(caps, "minimal");
	v = 1;
	host->config_get_int(config, "no_new_privileges", &v);
	ctx->no_new_privileges = v != 0;
	v = 0;
	host->config_get_int(config, "read_only", &v);
	ctx->read_only = v != 0;
	ctx->memory = DOCKERP_DEFAULT_MEMORY;
	host->config_get_int(config, "memory", &ctx->memory);
	return 0;
}

static int parse_ports(struct dockerp_docker *ctx, const char *s)
{
	const char *p = s;

	while (*p) {
		char *end;
		long v = strtol(p, &end, 10);
		if (end == p || v < 1 || v > 65535 || (*end && *end != ','))
			return ctx->host->error(ctx->host, CSDK_ECONFIG,
						"ports '%s' is not a comma-separated list of ports from 1 to 65535; e.g. ports=3000,8080", s);
		if (ctx->n_ports == DOCKERP_MAX_PORTS)
			return ctx->host->error(ctx->host, CSDK_ECONFIG, "ports '%s' lists more than %d ports; publish fewer",
						s, DOCKERP_MAX_PORTS);
		ctx->ports[ctx->n_ports++] = (int)v;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int gateway_init(struct dockerp_docker *ctx, const struct csdk_config *config)
{
	const struct csdk_host *host = ctx->host;
	const char *v = host->config_get(config, "mode");
	int rc;

	if (v && strcmp(v, "direct") && strcmp(v, "gateway"))
		return host->error(host, CSDK_ECONFIG, "invalid value '%s' for mode; use direct or gateway", v);
	ctx->gateway = v ? !strcmp(v, "gateway") : DEFAULT_MODE == CSDK_MODE_GATEWAY;
	ctx->agent = host->config_get(config, "agent");
	if (!ctx->agent)
		ctx->agent = DOCKERP_DEFAULT_AGENT;
	if (ctx->agent[0] != '/')
		return host->error(host, CSDK_ECONFIG, "invalid value '%s' for agent; use the absolute path of the csdk-agent binary", ctx->agent);
	if ((v = host->config_get(config, "run_dir")) && v[0] != '/')
		return host->error(host, CSDK_ECONFIG, "invalid value '%s' for run_dir; use an absolute directory path", v);
	if (v)
		ctx->run_dir = strdup(v);
	else if ((v = getenv("XDG_RUNTIME_DIR")) && v[0] == '/') {
		if (asprintf(&ctx->run_dir, "%s/csdk-docker", v) < 0)
			ctx->run_dir = NULL;
	} else if (asprintf(&ctx->run_dir, "/tmp/csdk-docker-%u", (unsigned)getuid()) < 0) {
		ctx->run_dir = NULL;
	}
	if (!ctx->run_dir)
		return host->error(host, CSDK_ENOMEM, "out of memory opening the docker provider");
	v = host->config_get(config, "gateway_transport");
	if (v && strcmp(v, "auto") && strcmp(v, "unix") && strcmp(v, "tcp"))
		return host->error(host, CSDK_ECONFIG, "invalid value '%s' for gateway_transport; use auto, unix or tcp", v);
	ctx->agent_tcp = v && strcmp(v, "auto") ? !strcmp(v, "tcp") : !ctx->ep.unix_path;
	host->config_get_int(config, "pool", &ctx->pool);
	if (ctx->pool && (!ctx->gateway || ctx->agent_tcp))
		return host->error(host, CSDK_ECONFIG,
			"pool=%lld needs mode=gateway with a local engine (gateway_transport=unix): a member is a started container whose csdk-agent waits on a socket of run_dir; set mode=gateway, or pool=0",
			(long long)ctx->pool);
	ctx->pool_wait_ms = DOCKERP_POOL_WAIT_MS;
	host->config_get_int(config, "pool_wait", &ctx->pool_wait_ms);
	if ((rc = csdkc_refiller_init(&ctx->refiller, host, "docker", "CSDK_DOCKER_POOL_REFILLER", DOCKERP_DEFAULT_REFILLER,
				      (const void *)dockerp_m_extension, config, docker_config_keys,
				      sizeof(docker_config_keys) / sizeof(docker_config_keys[0]))))
		return rc == CSDK_ENOMEM ? host->error(host, rc, "out of memory opening the docker provider") : rc;
	if (!ctx->gateway)
		return 0;
	/* the agent's socket and binary are bind-mounted: the engine must share this machine's files */
	if (!ctx->agent_tcp && !ctx->ep.unix_path)
		return host->error(host, CSDK_ECONFIG,
			"gateway_transport=unix needs the Docker engine on this machine (a unix:// host), not %s; use gateway_transport=tcp (or auto) with a remote engine",
			ctx->ep.display);
	if (ctx->agent_tcp && ctx->read_only)
		return host->error(host, CSDK_ECONFIG,
			"gateway mode over TCP copies csdk-agent into the container, which read_only=true forbids (the engine refuses archive uploads); set read_only=false or use gateway_transport=unix with a local engine");
	if (ctx->agent_tcp && !strcmp(ctx->network, "none"))
		return host->error(host, CSDK_ECONFIG,
			"gateway mode with the engine at %s reaches csdk-agent over TCP, which network=none cannot carry; set network (CSDK_DOCKER_NETWORK) to bridge (the agent's port published) or host",
			ctx->ep.display);
	return 0;
}

static int docker_init(const struct csdk_host *host, const struct csdk_config *config, void **ctx_out)
{
	struct dockerp_docker *ctx = calloc(1, sizeof(*ctx));
	const char *v;
	char err[512];
	int rc;

	if (!ctx)
		return host->error(host, CSDK_ENOMEM, "out of memory opening the docker provider");
	ctx->host = host;
	pthread_mutex_init(&ctx->lock, NULL);
	v = host->config_get(config, "host");
	if ((rc = dockerp_http_endpoint_init(&ctx->ep, v ? v : "unix:///var/run/docker.sock", err, sizeof(err)))) {
		rc = rc == CSDK_ENOMEM ? host->error(host, rc, "out of memory opening the docker provider")
				       : host->error(host, rc, "%s (config key host or DOCKER_HOST)", err);
		goto fail;
	}
	ctx->python_image = host->config_get(config, "python_image");
	if (!ctx->python_image)
		ctx->python_image = "python:3.12-slim";
	ctx->node_image = host->config_get(config, "node_image");
	if (!ctx->node_image)
		ctx->node_image = "node:20-slim";
	ctx->image = host->config_get(config, "image");
	if (!ctx->image)
		ctx->image = ctx->python_image;
	ctx->network = host->config_get(config, "network");
	if (!ctx->network)
		ctx->network = "none";
	ctx->workdir = host->config_get(config, "workdir");
	if (ctx->workdir && ctx->workdir[0] != '/') {
		rc = host->error(host, CSDK_ECONFIG, "workdir '%s' is not an absolute path; give one such as /workspace", ctx->workdir);
		goto fail;
	}
	{
		int64_t pull = 0;

		host->config_get_int(config, "pull", &pull);
		ctx->pull = pull != 0;
	}
	ctx->pids_limit = 512;
	host->config_get_int(config, "pids_limit", &ctx->pids_limit);
	if ((rc = hardening_init(ctx, config)))
		goto fail;
	ctx->timeout_ms = DOCKERP_DEFAULT_TIMEOUT_MS;
	host->config_get_int(config, "timeout", &ctx->timeout_ms);
	if ((v = host->config_get(config, "ports")) && (rc = parse_ports(ctx, v)))
		goto fail;
	if ((rc = gateway_init(ctx, config)))
		goto fail;
	*ctx_out = ctx;
	return 0;
fail:
	dockerp_http_endpoint_free(&ctx->ep);
	pthread_mutex_destroy(&ctx->lock);
	csdkc_refiller_free(&ctx->refiller);
	free(ctx->run_dir);
	free(ctx);
	return rc;
}

static void docker_teardown(void *vctx)
{
	struct dockerp_docker *ctx = vctx;

	if (!ctx)
		return;
	dockerp_http_endpoint_free(&ctx->ep);
	pthread_mutex_destroy(&ctx->lock);
	csdkc_refiller_free(&ctx->refiller);
	free(ctx->run_dir);
	free(ctx);
}

static const struct csdk_methods docker_methods = {
	.struct_size = sizeof(struct csdk_methods),
	.init = docker_init,
	.teardown = docker_teardown,
	.release = dockerp_m_release,
	.create = dockerp_m_create,
	.get = dockerp_m_get,
	.list = dockerp_m_list,
	.destroy = dockerp_m_destroy,
	.run_code = dockerp_m_run_code,
	.run_command = dockerp_m_run_command,
	.get_info = dockerp_m_get_info,
	.get_url = dockerp_m_get_url,
	.fs_read = dockerp_m_fs_read,
	.fs_write = dockerp_m_fs_write,
	.fs_mkdir = dockerp_m_fs_mkdir,
	.fs_readdir = dockerp_m_fs_readdir,
	.fs_exists = dockerp_m_fs_exists,
	.fs_remove = dockerp_m_fs_remove,
	.find_or_create = dockerp_m_find_or_create,
	.find = dockerp_m_find,
	.extend_timeout = dockerp_m_extend_timeout,
	.template_create = dockerp_m_template_create,
	.template_list = dockerp_m_template_list,
	.template_delete = dockerp_m_template_delete,
	.snapshot_create = dockerp_m_snapshot_create,
	.snapshot_list = dockerp_m_snapshot_list,
	.snapshot_delete = dockerp_m_snapshot_delete,
	.gateway_endpoint = dockerp_m_gateway_endpoint,
	.extension = dockerp_m_extension,
};

static const struct csdk_plugin docker_plugin = {
	.magic = CSDK_PLUGIN_MAGIC,
	.struct_size = sizeof(struct csdk_plugin),
	.abi_version = DOCKER_ABI,
	.modes = CSDK_MODE_DIRECT | CSDK_MODE_GATEWAY,
	.default_mode = DEFAULT_MODE,
	.capabilities = CSDK_CAP_FILESYSTEM | CSDK_CAP_NAMED | CSDK_CAP_TEMPLATES | CSDK_CAP_SNAPSHOTS |
			CSDK_CAP_STREAMING | CSDK_CAP_THREAD_SAFE | CSDK_CAP_EXEC,
	.name = "docker",
	.version = PACKAGE_VERSION,
	.description = "sandboxes as containers of a Docker Engine API (Docker or Podman)",
	.license = "MIT",
	.config_keys = docker_config_keys,
	.n_config_keys = sizeof(docker_config_keys) / sizeof(docker_config_keys[0]),
	.config_key_size = sizeof(struct csdk_config_key),
	.methods = &docker_methods,
};

CSDK_PLUGIN_EXPORT int csdk_plugin_entry(uint32_t host_abi, const struct csdk_plugin **out)
{
	if (CSDK_ABI_MAJOR_OF(host_abi) != CSDK_ABI_MAJOR_OF(DOCKER_ABI))
		return CSDK_EABI;
	*out = &docker_plugin;
	return 0;
}
