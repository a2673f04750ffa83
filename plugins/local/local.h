/* Internal interfaces of the local provider (csdk-local.so). */
#ifndef CSDK_LOCAL_H
#define CSDK_LOCAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>
#include <jansson.h>

#include <csdk/plugin.h>

#include "csdkp.h"

#define CSDKP_INSIDE_HOME "/home/sandbox"
#define CSDKP_INSIDE_TMP "/tmp"
/* Gateway mode: the agent binary and its directory (STATE/sandboxes/ID/run) inside bubblewrap. */
#define CSDKP_INSIDE_AGENT "/.csdk/agent"
#define CSDKP_INSIDE_RUN "/run/csdk"
#define CSDKP_RUN_DIR "run"
/* Identity: the sandbox user's uid and gid inside bubblewrap (a user
 * namespace maps them to the host uid commands run as). As root, commands
 * drop to an unprivileged host uid (sandbox_uid, meta.json "uid"/"gid")
 * before bwrap is executed; the bind sources, which that uid may not reach
 * (a state directory under /root), are mounted first at CSDKP_STAGE in a
 * mount namespace of the command's own. */
#define CSDKP_INSIDE_UID 1000
#define CSDKP_DEFAULT_SANDBOX_UID 1879048192u
#define CSDKP_STAGE "/tmp"
#define CSDKP_STAGE_MAX 5
#define CSDKP_ID_PREFIX "local-"
#define CSDKP_ID_LEN (sizeof(CSDKP_ID_PREFIX) - 1 + 16)

enum csdkp_isolation { CSDKP_ISO_AUTO, CSDKP_ISO_BWRAP, CSDKP_ISO_NONE };
/* CSDKP_NET_AUTO: isolated where slirp4netns is installed, else none */
enum csdkp_network { CSDKP_NET_AUTO, CSDKP_NET_NONE, CSDKP_NET_ISOLATED, CSDKP_NET_HOST };

struct csdkp_local {
	const struct csdk_host *host;
	char *state_dir;         /* canonical absolute path */
	enum csdkp_isolation isolation;
	enum csdkp_network network;
	char *slirp;             /* absolute path of slirp4netns, or NULL */
	int seccomp_off;         /* seccomp = off: new sandboxes get no filter */
	void *seccomp_prog;      /* the BPF program, built once (under probe_lock) */
	size_t seccomp_len;
	int64_t timeout_ms;
	uint64_t memory, processes, cpu_time, output_limit;
	uint64_t pids;           /* pids.max of each new sandbox's cgroup, 0: none */
	uint64_t memory_max;     /* memory.limit_in_bytes likewise */
	uint64_t cpu_quota_us;   /* cpus × CSDKP_CPU_PERIOD_US, likewise */
	uint64_t disk;           /* size of each new sandbox's tmpfs, 0: none */
	uid_t sandbox_uid;       /* as root: the host uid and gid of new bubblewrap sandboxes */
	gid_t sandbox_gid;
	char *python, *node;
	char *agent;             /* csdk-agent binary, for gateway mode */
	int gateway;             /* mode = gateway: create starts the agent */
	int64_t pool;            /* pool = N: ready members kept per configuration, 0: none */
	char *bwrap;             /* absolute path of bwrap, or NULL */
	pthread_mutex_t probe_lock;
	int probed, bwrap_works, warned, net_warned, cgroup_warned, slirp_warned;
	char probe_error[256];
};

struct csdkp_sandbox {
	char id[CSDKP_ID_LEN + 1];
	char *dir;               /* STATE/sandboxes/ID */
	int agent_fresh;         /* create saw the agent listen: the first gateway_endpoint skips the probe */
	int token_pending;       /* claimed from the pool: the agent still has the member's token */
};

/* strv: a growable NULL-terminated string vector */
struct csdkp_strv {
	char **v;
	size_t n, cap;
	int failed;
};
void csdkp_strv_push(struct csdkp_strv *s, const char *value);
void csdkp_strv_pushf(struct csdkp_strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void csdkp_strv_free(struct csdkp_strv *s);

/* state.c */
int csdkp_state_prepare(struct csdkp_local *ctx);
int csdkp_lock(struct csdkp_local *ctx, int *fd_out);
void csdkp_unlock(int fd);
int csdkp_id_valid(const char *id);
int csdkp_check_id(struct csdkp_local *ctx, const char *id);
int csdkp_sandbox_open(struct csdkp_local *ctx, const char *id, struct csdkp_sandbox **out);
void csdkp_sandbox_free(struct csdkp_sandbox *sb);
int csdkp_meta_load(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, json_t **out);
int csdkp_meta_save(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, const json_t *meta);
int64_t csdkp_meta_int(const json_t *meta, const char *key);
const char *csdkp_meta_str(const json_t *meta, const char *key);
int csdkp_meta_expired(const json_t *meta, int64_t now);
int csdkp_sweep_locked(struct csdkp_local *ctx);
int csdkp_destroy_locked(struct csdkp_local *ctx, const char *id);
int csdkp_create_locked(struct csdkp_local *ctx, const struct csdk_create_request *opts,
			const char *ns, const char *name, struct csdkp_sandbox **out);
int csdkp_create_check(struct csdkp_local *ctx, const struct csdk_create_request *opts);
json_t *csdkp_sandbox_meta_new(struct csdkp_local *ctx, const char *id, const char *isolation, const char *network,
			       const char *etc, const uint64_t *limits, const struct csdk_create_request *opts, const char *ns,
			       const char *name);
int csdkp_destroy_dir_locked(struct csdkp_local *ctx, const char *dir, const char *id);

/* pool.c: warm pools (docs/pools.md). Members live in STATE/pool/SHAPE/: ID
 * when ready, .new-ID while a refiller makes them. */
#define CSDKP_MEMBER_MAKING ".new-"
int csdkp_member_create(struct csdkp_local *ctx, const char *parent, struct csdkp_sandbox **out);
/* 0 with *out a claimed sandbox, 1 when the pool has none for these options; under the state lock */
int csdkp_pool_claim_locked(struct csdkp_local *ctx, const struct csdk_create_request *opts,
			    const char *ns, const char *name, int defer_token, struct csdkp_sandbox **out);
/* With defer_token, a gateway claim's new token: after the state lock; -1 when the member failed (destroyed). */
int csdkp_pool_claim_finish(struct csdkp_local *ctx, struct csdkp_sandbox *sb, const struct csdk_create_request *opts);
/* A claimed member, else a new sandbox; under the state lock. */
int csdkp_new_sandbox_locked(struct csdkp_local *ctx, const struct csdk_create_request *opts,
			     const char *ns, const char *name, int defer_token, struct csdkp_sandbox **out);
/* Starts a detached refiller unless one runs. */
void csdkp_pool_kick(struct csdkp_local *ctx);
void csdkp_pool_etc_used(struct csdkp_local *ctx, json_t *used);
CSDK_PLUGIN_EXPORT int csdk_plugin_extension(void *ctx, const char *op, const char *arg, struct csdk_text *out);

/* Every command's process group (and pid namespace init under bubblewrap)
 * is a file in STATE/sandboxes/ID/procs/ while it may run; destroy kills them. */
#define CSDKP_PROCS_DIR "procs"
#define CSDKP_DESTROYED_MARK ".destroyed"
struct csdkp_procs {
	int dfd;                 /* procs/, -1 when closed */
	char name[48];           /* this command's record, "" when none */
};
unsigned long long csdkp_proc_start(pid_t pid);
int csdkp_procs_begin(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, struct csdkp_procs *reg);
int csdkp_procs_record(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, struct csdkp_procs *reg,
		       pid_t pgid, unsigned long long pgstart, pid_t nspid, unsigned long long nsstart);
int csdkp_procs_update(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, struct csdkp_procs *reg,
		       pid_t pgid, unsigned long long pgstart, pid_t nspid, unsigned long long nsstart);
int csdkp_procs_destroyed(const struct csdkp_procs *reg, const struct csdkp_sandbox *sb);
void csdkp_procs_forget(struct csdkp_procs *reg);
void csdkp_procs_end(struct csdkp_procs *reg);

/* paths.c: inside paths → descriptors below the sandbox directory */
int csdkp_path_map(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, const char *path, char **rel_out);
char *csdkp_path_inside(const char *rel);
int csdkp_root_open(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, int *fd_out);
int csdkp_path_open(int root, const struct csdkp_sandbox *sb, const char *rel, int flags, int *fd_out);
int csdkp_path_mkdirs(int root, const struct csdkp_sandbox *sb, const char *rel, int *fd_out);
void csdkp_path_own(int root, int fd);
int csdkp_chown_tree(int dfd, uid_t uid, gid_t gid);

/* isolation.c */
int csdkp_isolation_for_create(struct csdkp_local *ctx, const char **out);
int csdkp_sandbox_ids(const json_t *meta, uid_t *uid_out, gid_t *gid_out);
int csdkp_drop_to(uid_t uid, gid_t gid);
int csdkp_bwrap_argv(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, const json_t *meta,
		     const char *cwd_inside, const struct csdkp_strv *env, int info_fd,
		     const char *command, int with_agent, struct csdkp_strv *stage, struct csdkp_strv *argv);

/* etc.c: the sandbox's /etc, STATE/etc/GEN; gen gets GEN (etc- and 16 hex digits) */
#define CSDKP_ETC_GEN_LEN 20
int csdkp_etc_prepare(struct csdkp_local *ctx, char *gen, size_t genlen);

/* seccomp.c: a memfd holding the filter, at a descriptor above
 * CSDKP_SECCOMP_FD, which the child moves to CSDKP_SECCOMP_FD for bwrap */
#define CSDKP_SECCOMP_FD 4
int csdkp_seccomp_fd(struct csdkp_local *ctx, int *fd_out);
int csdkp_seccomp_wanted(const json_t *meta);

/* cgroup.c: pids, memory_max and cpus, cgroup v1 controller groups per sandbox */
#define CSDKP_CGROUP_ROOT "/sys/fs/cgroup"
#define CSDKP_CGROUPS 3
#define CSDKP_CGROUP_PIDS 0
#define CSDKP_CGROUP_MEMORY 1
#define CSDKP_CGROUP_CPU 2
#define CSDKP_CPU_PERIOD_US 100000
void csdkp_cgroup_path(int which, const char *id, const char *file, char *buf, size_t len);
int csdkp_cgroup_create(struct csdkp_local *ctx, const char *id, const uint64_t limits[CSDKP_CGROUPS]);
void csdkp_cgroup_remove(const char *id);
long csdkp_cgroup_oom_kills(const char *id);
/* pids.max of a sandbox created with no pids key, where the controller is writable */
#define CSDKP_DEFAULT_PIDS 4096
/* STATE/no-cgroups: the warning that there is no pids controller was given */
#define CSDKP_NO_CGROUPS_MARK "no-cgroups"
void csdkp_cgroup_limits(struct csdkp_local *ctx, const struct csdk_create_request *opts, uint64_t limits[CSDKP_CGROUPS]);

/* disk.c: disk, a tmpfs per sandbox under its home/ and tmp/ */
int csdkp_disk_allowed(struct csdkp_local *ctx);
int csdkp_disk_create(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, uint64_t bytes);
void csdkp_disk_remove(const char *dir);
int csdkp_disk_check(struct csdkp_local *ctx, const struct csdkp_sandbox *sb);

/* net.c: network=isolated. bwrap waits on CSDKP_NET_BLOCK_FD until the
 * namespace is set up, and keeps CSDKP_NET_SYNC_FD open while it runs. */
#define CSDKP_NET_BLOCK_FD 5
#define CSDKP_NET_SYNC_FD 6
#define CSDKP_NET_DIR "net"
/* what an unset network gives where slirp4netns works (see BENCHMARKS.md) */
#define CSDKP_DEFAULT_ISOLATED 1
struct csdkp_net {
	int on;
	int block[2], sync[2];   /* above CSDKP_NET_SYNC_FD */
	pid_t slirp;             /* slirp4netns's process group, 0 before it runs */
	pid_t child;             /* slirp4netns when it is this process's child (a foreground command's), to reap */
	uid_t uid;               /* as root: the sandbox's uid and gid (meta.json), slirp4netns's */
	gid_t gid;
	struct csdkp_procs reg;  /* its record in procs/ */
};
void csdkp_net_init(struct csdkp_net *n);
int csdkp_net_prepare(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, const json_t *meta, struct csdkp_net *n);
int csdkp_net_start(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, struct csdkp_net *n, pid_t nspid, int api);
void csdkp_net_end(struct csdkp_net *n, int kill_slirp);
const char *csdkp_network_for_create(struct csdkp_local *ctx, int bubblewrap, int *rc_out);
int csdkp_net_url(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, int port, int *host_port_out);

/* spawn.c */
int csdkp_run(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, const char *command,
	      const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out,
	      struct csdkp_capture *capture_stderr);
int csdkp_agent_launch(struct csdkp_local *ctx, const struct csdkp_sandbox *sb, int bwrap);

/* agent.c: gateway mode */
int csdkp_agent_ensure(struct csdkp_local *ctx, const struct csdkp_sandbox *sb);
void csdkp_agent_stop(int sdfd, const char *dir);
int csdkp_m_gateway_endpoint(void *ctx, void *sandbox, struct csdk_endpoint *out);

/* methods, one file per group */
int csdkp_m_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out);
int csdkp_m_get(void *ctx, const char *id, void **sandbox_out);
int csdkp_m_list(void *ctx, struct csdk_handles *out);
int csdkp_m_destroy(void *ctx, const char *id);
int csdkp_m_run_code(void *ctx, void *sandbox, const char *code, const struct csdk_run_request *req, struct csdk_sink *out, int *exit_code_out);
int csdkp_m_run_command(void *ctx, void *sandbox, const char *command, const struct csdk_run_request *opts, struct csdk_sink *out, int *exit_code_out);
int csdkp_m_get_info(void *ctx, void *sandbox, struct csdk_info *out);
int csdkp_m_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out);
int csdkp_m_fs_read(void *ctx, void *sandbox, const char *path, struct csdk_sink *out);
int csdkp_m_fs_write(void *ctx, void *sandbox, const char *path, const void *data, size_t len);
int csdkp_m_fs_mkdir(void *ctx, void *sandbox, const char *path);
int csdkp_m_fs_readdir(void *ctx, void *sandbox, const char *path, struct csdk_dir *out);
int csdkp_m_fs_exists(void *ctx, void *sandbox, const char *path, int *exists_out);
int csdkp_m_fs_remove(void *ctx, void *sandbox, const char *path);
int csdkp_m_find_or_create(void *ctx, const struct csdk_create_request *opts, struct csdk_text *id_out, void **sandbox_out);
int csdkp_m_find(void *ctx, const char *namespace_, const char *name, struct csdk_text *id_out, void **sandbox_out);
int csdkp_m_extend_timeout(void *ctx, void *sandbox, int64_t duration_ms);
int csdkp_m_template_create(void *ctx, const struct csdk_template_request *opts, struct csdk_text *id_out);
int csdkp_m_template_list(void *ctx, struct csdk_items *out);
int csdkp_m_template_delete(void *ctx, const char *id);
int csdkp_list_items(struct csdkp_local *ctx, const char *sub, int (*valid)(const char *), const char *meta_suffix,
		     struct csdk_items *out);
int csdkp_template_copy_into(struct csdkp_local *ctx, const char *template_id, int home_fd);
int csdkp_m_snapshot_create(void *ctx, void *sandbox, const char *name, struct csdk_text *id_out);
int csdkp_m_snapshot_list(void *ctx, struct csdk_items *out);
int csdkp_m_snapshot_delete(void *ctx, const char *id);
int csdkp_snapshot_restore_into(struct csdkp_local *ctx, const char *snapshot_id, int home_fd);

#endif
