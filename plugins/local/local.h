/* Internal interfaces of the local provider (csdk-local.so). */
#ifndef CSDK_LOCAL_H
#define CSDK_LOCAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include <csdk/plugin.h>

#include "csdkc.h"

#define LOCALP_INSIDE_HOME "/home/sandbox"
#define LOCALP_INSIDE_TMP "/tmp"
/* Gateway mode: the agent binary and its directory (STATE/sandboxes/ID/run) inside bubblewrap. */
#define LOCALP_INSIDE_AGENT "/.csdk/agent"
#define LOCALP_INSIDE_RUN "/run/csdk"
#define LOCALP_RUN_DIR "run"
/* Identity: the sandbox user's uid and gid inside bubblewrap (a user
 * namespace maps them to the host uid commands run as). As root, commands
 * drop to an unprivileged host uid (sandbox_uid, meta.json "uid"/"gid")
 * before bwrap is executed; the bind sources, which that uid may not reach
 * (a state directory under /root), are mounted first at LOCALP_STAGE in a
 * mount namespace of the command's own. */
#define LOCALP_INSIDE_UID 1000
#define LOCALP_DEFAULT_SANDBOX_UID 1879048192u
#define LOCALP_STAGE "/tmp"
#define LOCALP_STAGE_MAX 5
#define LOCALP_ID_PREFIX "local-"
#define LOCALP_ID_LEN (sizeof(LOCALP_ID_PREFIX) - 1 + 16)

enum localp_isolation { LOCALP_ISO_AUTO, LOCALP_ISO_BWRAP, LOCALP_ISO_NONE };
/* LOCALP_NET_AUTO: isolated where slirp4netns is installed, else none */
enum localp_network { LOCALP_NET_AUTO, LOCALP_NET_NONE, LOCALP_NET_ISOLATED, LOCALP_NET_HOST };

/* A pool's shape (docs/pools.md): creates with these options claim its members. */
struct localp_shape {
	char *name;              /* "default" for pool = N */
	int64_t size;
	char *template_id;       /* NULL: none */
	double cpus;             /* 0: none */
	uint64_t memory_bytes;   /* 0: none */
	int network;             /* enum localp_network, -1: the provider's */
};

#define LOCALP_POOL_WAIT_MS 30000

struct localp_local {
	const struct csdk_host *host;
	char *state_dir;         /* canonical absolute path */
	enum localp_isolation isolation;
	enum localp_network network;
	char *slirp;             /* absolute path of slirp4netns, or NULL */
	int seccomp_off;         /* seccomp = off: new sandboxes get no filter */
	void *seccomp_prog;      /* the BPF program, built once (under probe_lock) */
	size_t seccomp_len;
	int64_t timeout_ms;
	uint64_t memory, processes, cpu_time, output_limit;
	uint64_t pids;           /* pids.max of each new sandbox's cgroup, 0: none */
	uint64_t memory_max;     /* memory.limit_in_bytes likewise */
	uint64_t cpu_quota_us;   /* cpus × LOCALP_CPU_PERIOD_US, likewise */
	uint64_t disk;           /* size of each new sandbox's tmpfs, 0: none */
	uid_t sandbox_uid;       /* as root: the host uid and gid of new bubblewrap sandboxes */
	gid_t sandbox_gid;
	char *python, *node;
	char *agent;             /* csdk-agent binary, for gateway mode */
	int gateway;             /* mode = gateway: create starts the agent */
	int64_t pool;            /* pool = N: ready members kept per configuration, 0: none */
	struct localp_shape *shapes;  /* pool's and pools' shapes */
	size_t n_shapes;
	int64_t pool_wait_ms;    /* how long fill and drain wait for a refiller */
	struct csdkc_refiller refiller; /* csdk-pool-refill, with this configuration */
	char *bwrap;             /* absolute path of bwrap, or NULL */
	pthread_mutex_t probe_lock;
	int probed, bwrap_works, warned, net_warned, cgroup_warned, slirp_warned;
	char probe_error[256];
};

struct localp_sandbox {
	char id[LOCALP_ID_LEN + 1];
	char *dir;               /* STATE/sandboxes/ID */
	int agent_fresh;         /* create saw the agent listen: the first gateway_endpoint skips the probe */
	int token_pending;       /* claimed from the pool: the agent still has the member's token */
};

/* strv: a growable NULL-terminated string vector */
struct localp_strv {
	char **v;
	size_t n, cap;
	int failed;
};
void localp_strv_push(struct localp_strv *s, const char *value);
void localp_strv_pushf(struct localp_strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void localp_strv_free(struct localp_strv *s);

/* state.c */
int localp_state_prepare(struct localp_local *ctx);
int localp_lock(struct localp_local *ctx, int *fd_out);
void localp_unlock(int fd);
int localp_id_valid(const char *id);
int localp_check_id(struct localp_local *ctx, const char *id);
int localp_sandbox_open(struct localp_local *ctx, const char *id, struct localp_sandbox **out);
void localp_sandbox_free(struct localp_sandbox *sb);
int localp_meta_load(struct localp_local *ctx, const struct localp_sandbox *sb, json_t **out);
int localp_meta_save(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta);
int64_t localp_meta_int(const json_t *meta, const char *key);
const char *localp_meta_str(const json_t *meta, const char *key);
int localp_meta_expired(const json_t *meta, int64_t now);
int localp_sweep_locked(struct localp_local *ctx);
int localp_destroy_locked(struct localp_local *ctx, const char *id);
int localp_create_locked(struct localp_local *ctx, const struct csdk_create_request *opts,
			const char *ns, const char *name, struct localp_sandbox **out);
int localp_create_check(struct localp_local *ctx, const struct csdk_create_request *opts);
json_t *localp_sandbox_meta_new(struct localp_local *ctx, const char *id, const char *isolation, const char *network,
			       const char *etc, const uint64_t *limits, const struct csdk_create_request *opts, const char *ns,
			       const char *name);
int localp_destroy_dir_locked(struct localp_local *ctx, const char *dir, const char *id);

/* pool.c: warm pools (docs/pools.md). Members live in STATE/pool/SHAPE/: ID
 * when ready, .new-ID while a refiller makes them. */
#define LOCALP_MEMBER_MAKING CSDKC_POOL_MAKING
int localp_member_create(struct localp_local *ctx, const char *parent, const struct csdk_create_request *opts,
			 struct localp_sandbox **out);
/* pool and pools (the shapes), pool_wait, pool_refiller, and the configuration for the refiller */
int localp_pool_config(struct localp_local *ctx, const struct csdk_config *config, const struct csdk_config_key *keys, size_t n_keys);
void localp_pool_config_free(struct localp_local *ctx);
/* 0 with *out a claimed sandbox, 1 when the pool has none for these options; under the state lock */
int localp_pool_claim_locked(struct localp_local *ctx, const struct csdk_create_request *opts,
			    const char *ns, const char *name, int defer_token, struct localp_sandbox **out);
/* With defer_token, a gateway claim's new token: after the state lock; -1 when the member failed (destroyed). */
int localp_pool_claim_finish(struct localp_local *ctx, struct localp_sandbox *sb, const struct csdk_create_request *opts);
/* A claimed member, else a new sandbox; under the state lock. */
int localp_new_sandbox_locked(struct localp_local *ctx, const struct csdk_create_request *opts,
			     const char *ns, const char *name, int defer_token, struct localp_sandbox **out);
/* Starts a detached refiller of the shape of opts unless one runs. */
void localp_pool_kick(struct localp_local *ctx, const struct csdk_create_request *opts);
void localp_pool_etc_used(struct localp_local *ctx, json_t *used);
int localp_m_extension(void *ctx, const char *op, const char *arg, struct csdk_text *out);

/* Every command's process group (and pid namespace init under bubblewrap)
 * is a file in STATE/sandboxes/ID/procs/ while it may run; destroy kills them. */
#define LOCALP_PROCS_DIR "procs"
#define LOCALP_DESTROYED_MARK ".destroyed"
struct localp_procs {
	int dfd;                 /* procs/, -1 when closed */
	char name[48];           /* this command's record, "" when none */
};
unsigned long long localp_proc_start(pid_t pid);
int localp_procs_begin(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_procs *reg);
int localp_procs_record(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_procs *reg,
		       pid_t pgid, unsigned long long pgstart, pid_t nspid, unsigned long long nsstart);
int localp_procs_update(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_procs *reg,
		       pid_t pgid, unsigned long long pgstart, pid_t nspid, unsigned long long nsstart);
int localp_procs_destroyed(const struct localp_procs *reg, const struct localp_sandbox *sb);
void localp_procs_forget(struct localp_procs *reg);
void localp_procs_end(struct localp_procs *reg);

/* paths.c: inside paths → descriptors below the sandbox directory */
int localp_path_map(struct localp_local *ctx, const struct localp_sandbox *sb, const char *path, char **rel_out);
char *localp_path_inside(const char *rel);
int localp_root_open(struct localp_local *ctx, const struct localp_sandbox *sb, int *fd_out);
int localp_path_open(int root, const struct localp_sandbox *sb, const char *rel, int flags, int *fd_out);
int localp_path_mkdirs(int root, const struct localp_sandbox *sb, const char *rel, int *fd_out);
void localp_path_own(int root, int fd);
int localp_chown_tree(int dfd, uid_t uid, gid_t gid);

/* isolation.c */
int localp_isolation_for_create(struct localp_local *ctx, const char **out);
int localp_sandbox_ids(const json_t *meta, uid_t *uid_out, gid_t *gid_out);
int localp_drop_to(uid_t uid, gid_t gid);
int localp_bwrap_argv(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta,
		     const char *cwd_inside, const struct localp_strv *env, int info_fd,
		     const char *command, int with_agent, struct localp_strv *stage, struct localp_strv *argv);

/* etc.c: the sandbox's /etc, STATE/etc/GEN; gen gets GEN (etc- and 16 hex digits) */
#define LOCALP_ETC_GEN_LEN 20
int localp_etc_prepare(struct localp_local *ctx, char *gen, size_t genlen);

/* seccomp.c: a memfd holding the filter, at a descriptor above
 * LOCALP_SECCOMP_FD, which the child moves to LOCALP_SECCOMP_FD for bwrap */
#define LOCALP_SECCOMP_FD 4
int localp_seccomp_fd(struct localp_local *ctx, int *fd_out);
int localp_seccomp_wanted(const json_t *meta);

/* cgroup.c: pids, memory_max and cpus, cgroup v1 controller groups per sandbox */
#define LOCALP_CGROUP_ROOT "/sys/fs/cgroup"
#define LOCALP_CGROUPS 3
#define LOCALP_CGROUP_PIDS 0
#define LOCALP_CGROUP_MEMORY 1
#define LOCALP_CGROUP_CPU 2
#define LOCALP_CPU_PERIOD_US 100000
void localp_cgroup_path(int which, const char *id, const char *file, char *buf, size_t len);
int localp_cgroup_create(struct localp_local *ctx, const char *id, const uint64_t limits[LOCALP_CGROUPS]);
void localp_cgroup_remove(const char *id);
long localp_cgroup_oom_kills(const char *id);
/* pids.max of a sandbox created with no pids key, where the controller is writable */
#define LOCALP_DEFAULT_PIDS 4096
/* STATE/no-cgroups: the warning that there is no pids controller was given */
#define LOCALP_NO_CGROUPS_MARK "no-cgroups"
void localp_cgroup_limits(struct localp_local *ctx, const struct csdk_create_request *opts, uint64_t limits[LOCALP_CGROUPS]);

/* disk.c: disk, a tmpfs per sandbox under its home/ and tmp/ */
int localp_disk_allowed(struct localp_local *ctx);
int localp_disk_create(struct localp_local *ctx, const struct localp_sandbox *sb, uint64_t bytes);
void localp_disk_remove(const char *dir);
int localp_disk_check(struct localp_local *ctx, const struct localp_sandbox *sb);

/* net.c: network=isolated. bwrap waits on LOCALP_NET_BLOCK_FD until the
 * namespace is set up, and keeps LOCALP_NET_SYNC_FD open while it runs. */
#define LOCALP_NET_BLOCK_FD 5
#define LOCALP_NET_SYNC_FD 6
#define LOCALP_NET_DIR "net"
/* what an unset network gives where slirp4netns works (see BENCHMARKS.md) */
#define LOCALP_DEFAULT_ISOLATED 1
struct localp_net {
	int on;
	int block[2], sync[2];   /* above LOCALP_NET_SYNC_FD */
	pid_t slirp;             /* slirp4netns's process group, 0 before it runs */
	pid_t child;             /* slirp4netns when it is this process's child (a foreground command's), to reap */
	uid_t uid;               /* as root: the sandbox's uid and gid (meta.json), slirp4netns's */
	gid_t gid;
	struct localp_procs reg;  /* its record in procs/ */
};
void localp_net_init(struct localp_net *n);
int localp_net_prepare(struct localp_local *ctx, const struct localp_sandbox *sb, const json_t *meta, struct localp_net *n);
int localp_net_start(struct localp_local *ctx, const struct localp_sandbox *sb, struct localp_net *n, pid_t nspid, int api);
void localp_net_end(struct localp_net *n, int kill_slirp);
const char *localp_network_for_create(struct localp_local *ctx, int bubblewrap, int *rc_out);
int localp_net_url(struct localp_local *ctx, const struct localp_sandbox *sb, int port, int *host_port_out);

/* spawn.c */
int localp_run(struct localp_local *ctx, const struct localp_sandbox *sb, const char *command,
	      const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out,
	      struct csdkc_capture *capture_stderr);
/* listen_fd: the agent's socket, bound and listening, moved to LOCALP_AGENT_FD in the agent */
#define LOCALP_AGENT_FD 7
int localp_agent_launch(struct localp_local *ctx, const struct localp_sandbox *sb, int bwrap, int listen_fd);

/* agent.c: gateway mode */
int localp_agent_ensure(struct localp_local *ctx, const struct localp_sandbox *sb);
void localp_agent_stop(int sdfd, const char *dir);
int localp_m_gateway_endpoint(void *ctx, void *sandbox, struct csdk_endpoint *out);

/* methods, one file per group */
/* A sandbox just made (sb taken): its agent started in gateway mode, its id on id_out; destroyed when either fails. */
int localp_hand_out_new(struct localp_local *ctx, struct localp_sandbox *sb, struct csdk_text *id_out, void **sandbox_out);
int localp_m_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out);
int localp_m_get(void *ctx, const char *id, void **sandbox_out);
int localp_m_list(void *ctx, struct csdk_handles *out);
int localp_m_destroy(void *ctx, const char *id);
int localp_m_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out);
int localp_m_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out);
int localp_m_get_info(void *ctx, void *sandbox, struct csdk_info *out);
int localp_m_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out);
int localp_m_fs_read(void *ctx, void *sandbox, const char *path, struct csdk_sink *out);
int localp_m_fs_write(void *ctx, void *sandbox, const char *path, const void *data, size_t len);
int localp_m_fs_mkdir(void *ctx, void *sandbox, const char *path);
int localp_m_fs_readdir(void *ctx, void *sandbox, const char *path, struct csdk_dir *out);
int localp_m_fs_exists(void *ctx, void *sandbox, const char *path, int *exists_out);
int localp_m_fs_remove(void *ctx, void *sandbox, const char *path);
int localp_m_find_or_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out);
int localp_m_find(void *ctx, const char *namespace_, const char *name, struct csdk_text *id_out, void **sandbox_out);
int localp_m_extend_timeout(void *ctx, void *sandbox, int64_t duration_ms);
int localp_m_template_create(void *ctx, const struct csdk_template_request *opts, struct csdk_text *id_out);
int localp_m_template_list(void *ctx, struct csdk_items *out);
int localp_m_template_delete(void *ctx, const char *id);
int localp_list_items(struct localp_local *ctx, const char *sub, int (*valid)(const char *), const char *meta_suffix,
		     struct csdk_items *out);
int localp_template_copy_into(struct localp_local *ctx, const char *template_id, int home_fd);
int localp_template_exists(struct localp_local *ctx, const char *template_id);
int localp_m_snapshot_create(void *ctx, void *sandbox, const char *name, struct csdk_text *id_out);
int localp_m_snapshot_list(void *ctx, struct csdk_items *out);
int localp_m_snapshot_delete(void *ctx, const char *id);
int localp_snapshot_restore_into(struct localp_local *ctx, const char *snapshot_id, int home_fd);

#endif
