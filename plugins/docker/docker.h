/*
 * docker.h - internals of the docker provider plugin (csdk-docker.so):
 * sandboxes are containers of a Docker Engine API (Docker or Podman),
 * reached over a unix socket or TCP with the pinned /v1.41 prefix.
 */
#ifndef DOCKERP_H
#define DOCKERP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <csdk/plugin.h>

#include "csdkc.h"
#include "http.h"

#define DOCKERP_API "/v1.41"
#define DOCKERP_LABEL "com.computesdk.sandbox"
#define DOCKERP_META_PREFIX "com.computesdk.meta."
#define DOCKERP_MAX_PORTS 32
/* exit code of the keep-alive process (direct mode) or of csdk-agent
 * (gateway mode) at its deadline: the sandbox expired */
#define DOCKERP_EXPIRED 124
#define DOCKERP_DEFAULT_TIMEOUT_MS 1800000
/* how long drain waits for a refiller that holds a pool's lock */
#define DOCKERP_POOL_WAIT_MS 30000
#define DOCKERP_DEFAULT_MEMORY (2LL << 30)
/* gateway mode: the label naming the sandbox's directory below run_dir */
#define DOCKERP_AGENT_LABEL "com.computesdk.agent_dir"
#define DOCKERP_INSIDE_AGENT "/.csdk/agent"
/* the agent's socket directory, run_dir/HEX/sock, bound read-write; the
 * token and deadline the host writes, run_dir/HEX, bound read-only */
#define DOCKERP_INSIDE_RUN "/run/csdk"
#define DOCKERP_INSIDE_HOSTFILES "/run/csdk-host"
#define DOCKERP_AGENT_SOCK "sock/agent.sock"
/* gateway over TCP: the label marking such a sandbox, the agent's port in
 * the container when published, and its token (copied in with the agent) */
#define DOCKERP_AGENT_TCP_LABEL "com.computesdk.agent"
#define DOCKERP_AGENT_PORT 49983
#define DOCKERP_INSIDE_TOKEN "/.csdk/token"
#define DOCKERP_INSIDE_DEADLINE "/.csdk/deadline"
/* pool = N: a member carries DOCKERP_LABEL=pool (no list or get sees it),
 * the hash of its configuration and the run_dir that holds its markers */
#define DOCKERP_POOL_VALUE "pool"
#define DOCKERP_POOL_LABEL "com.computesdk.pool"
#define DOCKERP_RUN_DIR_LABEL "com.computesdk.run_dir"
/* in a claimed member's inspect: the create's envs, which docker exec adds */
#define DOCKERP_CLAIM_ENV "CsdkClaimEnv"
#define DOCKERP_CLAIMED "CsdkClaimed"

struct dockerp_docker {
	const struct csdk_host *host;
	struct dockerp_http_endpoint ep;
	const char *image;
	const char *python_image;
	const char *node_image;
	const char *network;
	const char *workdir;
	int pull;
	int64_t pids_limit;
	int64_t memory;            /* bytes per sandbox without a create hint; 0 = none */
	int minimal_caps;          /* capabilities = minimal: DOCKERP_CAPS only */
	int no_new_privileges;
	int read_only;             /* read-only root filesystem, a tmpfs on /tmp */
	int64_t timeout_ms; /* lifetime of sandboxes created without one; 0 = none */
	int ports[DOCKERP_MAX_PORTS];
	size_t n_ports;
	pthread_mutex_t lock;
	int gateway;            /* mode = gateway: csdk-agent runs in each container */
	const char *agent;      /* its binary on this machine */
	char *run_dir;          /* RUN_DIR/HEX per sandbox: the agent's socket and token */
	int agent_tcp;          /* the agent is copied in and reached over TCP (a remote engine) */
	int64_t pool;           /* pool = N: ready members kept per configuration, 0: none */
	int64_t pool_wait_ms;   /* how long drain waits for a refiller */
	struct csdkc_refiller refiller; /* csdk-pool-refill, with this configuration */
	int checked; /* the endpoint answered /_ping as an engine */
	int podman;  /* its /_ping carried Libpod-Api-Version */
};

/* A native handle: a container known to carry the csdk label. */
struct dockerp_sandbox {
	char id[72];
	char *workdir;
	char agent_dir[24];     /* gateway mode: its directory below run_dir, "" when none */
	int agent_tcp;          /* its agent is reached over TCP */
	int agent_port;         /* published port of the agent on the engine's host; 0: from its log */
	char agent_since[32];   /* the end of its previous run, for the logs API */
	char agent_url[300];    /* cached endpoint (under ctx->lock), "" until known */
	char agent_token[40];
	json_t *env;            /* a claimed pool member: the create's envs ("K=V"), for docker exec; or NULL */
};

/* engine.c */

/** One engine call with an optional JSON body; the JSON answer (if any) in *json_out. */
int dockerp_call(struct dockerp_docker *ctx, const char *method, const char *path, json_t *body,
		      long *status_out, json_t **json_out);
/** A raw call (bodies, streams, headers); path excludes the API prefix. */
int dockerp_raw(struct dockerp_docker *ctx, struct dockerp_http_request *req, struct dockerp_http_response *resp);
/** 1 when the engine is Podman (whose compat API differs in places), 0 for Docker, or a negative error. */
int dockerp_is_podman(struct dockerp_docker *ctx);
/** The answer says the container name is taken: Docker's 409, or Podman's 500 with that cause. */
int dockerp_name_taken(long status, json_t *answer);
/** Report a 4xx/5xx answer: "Docker engine at EP: WHAT failed (HTTP N): MESSAGE". */
int dockerp_engine_error(struct dockerp_docker *ctx, int code, const char *what, long status, json_t *answer);
const char *dockerp_message(json_t *answer);

/* containers.c */
/** A pool member to make: a container like a sandbox's, with labels over the sandbox's. */
struct dockerp_member {
	const char *image;
	const char *hex;        /* its agent directory below run_dir, prepared */
	json_t *labels;
	char id[72];            /* out: the container */
	/* called once the container exists, before it starts (id set): records it; non-zero removes it */
	int (*created)(struct dockerp_docker *ctx, struct dockerp_member *member);
	void *arg;
};
/** Create, start and wait for a member's agent; on failure nothing of the container is left. */
int dockerp_member_create(struct dockerp_docker *ctx, struct dockerp_member *member);
/** Stop and remove a container (404 and 409 are success: gone or going). */
int dockerp_remove_container(struct dockerp_docker *ctx, const char *id);
/** A create's lifetime in ms (its own, else the timeout key), 0: none. */
int64_t dockerp_timeout_of(const struct dockerp_docker *ctx, const struct csdk_create_request *o);
int dockerp_handle_new(struct dockerp_docker *ctx, json_t *inspect, void **out);
/** Inspect a sandbox: CSDK_ENOTFOUND if absent, not ours, or expired (then it is removed). */
int dockerp_inspect(struct dockerp_docker *ctx, const char *id, json_t **out);
/** dockerp_inspect, and with members an unclaimed pool member of this run_dir too. */
int dockerp_inspect_as(struct dockerp_docker *ctx, const char *id, int members, json_t **out);
/** Start a created or stopped container and wait until it runs; its inspect in *inspect_out. */
int dockerp_start_and_wait(struct dockerp_docker *ctx, const char *id, json_t **inspect_out);
int dockerp_abs_path(struct dockerp_sandbox *sb, const char *path, char **out);
int dockerp_create_with_name(struct dockerp_docker *ctx, const char *cname, const char *ns, const char *name,
				  const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out);
int dockerp_m_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out);
int dockerp_m_get(void *ctx, const char *id, void **sandbox_out);
int dockerp_m_list(void *ctx, struct csdk_handles *out);
int dockerp_m_destroy(void *ctx, const char *id);
int dockerp_m_get_info(void *ctx, void *sandbox, struct csdk_info *out);
int dockerp_m_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out);
void dockerp_m_release(void *ctx, void *sandbox);

/* agent.c: gateway mode */
/** Make run_dir/HEX with a token and the deadline (epoch seconds, 0: none) for a new sandbox (hex out: 17 bytes). */
int dockerp_agent_prepare(struct dockerp_docker *ctx, char *hex, int64_t deadline);
/** Make run_dir (0700) and check that it is this user's alone. */
int dockerp_run_dir_ready(struct dockerp_docker *ctx);
/** The agent's command line (Entrypoint): listening on listen, its token and deadline files in dir. */
json_t *dockerp_agent_entrypoint(const char *listen, const char *dir);
/** The sandbox's deadline (epoch seconds, 0: none), from its agent's deadline file;
 * CSDK_ENOTFOUND, no error set, when there is none (a container of an earlier
 * version, whose keep-alive shell keeps the deadline). */
int dockerp_agent_deadline(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, int64_t *out);
/** Move the sandbox's deadline: its agent reads the file again within a second. */
int dockerp_agent_set_deadline(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, int64_t epoch);
/** Wait until the sandbox's agent listens on its socket. */
int dockerp_agent_wait(struct dockerp_docker *ctx, const char *id, const char *hex);
/** The sandbox's directory below run_dir (its label), or NULL for a container made in direct mode. */
const char *dockerp_agent_dir_of(json_t *inspect);
/** Remove run_dir/HEX (hex from the label in inspect, or given). */
void dockerp_agent_forget(struct dockerp_docker *ctx, json_t *inspect, const char *hex);
/** TCP transport: check the agent binary and make a token (33 bytes). */
int dockerp_agent_token(struct dockerp_docker *ctx, char *token);
/** TCP transport: put the agent, its token and deadline into a created container (archive API). */
int dockerp_agent_copy(struct dockerp_docker *ctx, const char *id, const char *token, int64_t deadline);
/** TCP transport: wait until the agent of a started container listens and can be reached; its URL in url. */
int dockerp_agent_wait_tcp(struct dockerp_docker *ctx, const char *id, json_t *inspect, char *url, size_t len);
/** The end of the container's previous run (State.FinishedAt) as seconds.nanoseconds, "" when none. */
void dockerp_agent_since(json_t *inspect, char *out, size_t len);
/** 1 when the container's agent is reached over TCP (its label). */
int dockerp_agent_tcp_of(json_t *inspect);
/** TCP transport: the published agent port in inspect, 0 when none (host network: see its log). */
int dockerp_agent_published(json_t *inspect);
int dockerp_m_gateway_endpoint(void *ctx, void *sandbox, struct csdk_endpoint *out);

/* pool.c: warm pools (docs/pools.md) */
/** 1 when create with opts may claim a pool member. */
int dockerp_pool_serves(const struct dockerp_docker *ctx, const struct csdk_create_request *opts);
/** Claim a ready member of image's pool: 0 with the sandbox, 1 when none is ready, or an error (CSDK_EEXISTS: cname is taken). */
int dockerp_pool_claim(struct dockerp_docker *ctx, const char *image, const char *cname, const char *ns, const char *name,
		       const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out);
/** Start a detached refiller of image's pool when it is short and none runs. */
void dockerp_pool_kick(struct dockerp_docker *ctx, const char *image);
/** A member's inspect as a sandbox's: its claim record's labels; CSDK_ENOTFOUND when it is not claimed. */
int dockerp_pool_overlay(struct dockerp_docker *ctx, json_t *inspect);
/** A commit of a claimed member (snapshot, template): its claim's metadata labels and envs into body, the pool's labels blanked. */
int dockerp_pool_commit_config(struct dockerp_docker *ctx, const char *container, json_t *body);
/** Adds the claimed members to a list. */
int dockerp_pool_list_claimed(struct dockerp_docker *ctx, struct csdk_handles *out);
/** Remove a sandbox's claim record (destroy, expiry). */
void dockerp_pool_forget(struct dockerp_docker *ctx, const char *hex);
/** The extension method: pool.status, pool.fill, pool.drain, pool.refill (docs/plugin-abi.md, Extensions), JSON in out. */
int dockerp_m_extension(void *ctx, const char *op, const char *arg, struct csdk_text *out);

/* named.c */
int dockerp_container_name(char **out, const char *ns, const char *name);
int dockerp_m_find_or_create(void *ctx, const struct csdk_create_request *opts,
			   struct csdk_text *id_out, void **sandbox_out);
int dockerp_m_find(void *ctx, const char *ns, const char *name, struct csdk_text *id_out, void **sandbox_out);
int dockerp_m_extend_timeout(void *ctx, void *sandbox, int64_t duration_ms);

/* exec.c */

/** Run argv-less shell command in the container; *exit_code_out is the program's status. */
int dockerp_exec(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *command,
		      const struct csdk_run_request *opts, struct csdk_sink *out,
		      struct csdkc_capture *err_capture, int *exit_code_out);
int dockerp_m_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts,
			struct csdk_sink *out, int *exit_code_out);
int dockerp_m_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out,
		     int *exit_code_out);

/* archive.c: single-file tar bodies for the archive API */
int dockerp_tar_one(char **out, size_t *out_len, const char *name, const void *data, size_t len, int64_t mtime);
struct dockerp_tar_member {
	const char *name;
	char type; /* '0' file, '5' directory */
	unsigned mode;
	const void *data;
	size_t len;
	int64_t mtime;
};
int dockerp_tar_members(char **out, size_t *out_len, const struct dockerp_tar_member *m, size_t n);
/** Calls fn for each member of a tar held in memory. */
typedef int (*dockerp_tar_fn)(void *arg, const char *path, char type, uint64_t size, int64_t mtime,
				   const char *data);
int dockerp_tar_each(const char *tar, size_t len, dockerp_tar_fn fn, void *arg);

/* fs.c */
int dockerp_put_file(struct dockerp_docker *ctx, struct dockerp_sandbox *sb, const char *abs,
			  const void *data, size_t len);
int dockerp_m_fs_read(void *ctx, void *sandbox, const char *path, struct csdk_sink *out);
int dockerp_m_fs_write(void *ctx, void *sandbox, const char *path, const void *data, size_t len);
int dockerp_m_fs_mkdir(void *ctx, void *sandbox, const char *path);
int dockerp_m_fs_readdir(void *ctx, void *sandbox, const char *path, struct csdk_dir *out);
int dockerp_m_fs_exists(void *ctx, void *sandbox, const char *path, int *exists_out);
int dockerp_m_fs_remove(void *ctx, void *sandbox, const char *path);

/* images.c */
int dockerp_pull(struct dockerp_docker *ctx, const char *image);
int dockerp_m_template_create(void *ctx, const struct csdk_template_request *opts, struct csdk_text *id_out);
int dockerp_m_template_list(void *ctx, struct csdk_items *out);
int dockerp_m_template_delete(void *ctx, const char *id);
int dockerp_m_snapshot_create(void *ctx, void *sandbox, const char *name, struct csdk_text *id_out);
int dockerp_m_snapshot_list(void *ctx, struct csdk_items *out);
int dockerp_m_snapshot_delete(void *ctx, const char *id);

#endif
