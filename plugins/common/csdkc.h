/*
 * csdkc.h - plugin-side helpers shared by the csdk provider plugins
 * (libcsdkplugin.la, a noinst convenience library linked into each plugin).
 *
 * Every symbol is prefixed csdkc_ and stays hidden inside the plugin that
 * links it (-fvisibility=hidden). Functions return 0 or a negative CSDK_E*
 * code from csdk/plugin.h; those that take `err` write a one-line message
 * there on failure (what failed, where, how to fix it).
 */
#ifndef CSDKC_H
#define CSDKC_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define CSDKC_ERR_MAX 512

/* shellquote.c (lib/util) */
#include "shellquote.h"
#include "io.h"
#include "buf.h"

/* tar.c: ustar with GNU long names (writer), ustar/GNU/pax (reader). */

/**
 * Write the tree below dirfd (not dirfd itself) to out_fd as a tar archive:
 * directories, regular files and symbolic links, paths relative to the tree;
 * other file types are skipped. Symbolic links are never followed.
 */
int csdkc_tar_write_tree(int out_fd, int dirfd, char *err, size_t errlen);
/**
 * Extract the archive read from in_fd below dirfd. Members with an absolute
 * path or a `..` component are refused (CSDK_EPERM), as is any path that
 * would go through a symbolic link; hard links and devices are skipped.
 */
int csdkc_tar_extract(int in_fd, int dirfd, char *err, size_t errlen);

/* syntax.c (lib/util) */
#include "syntax.h"

/* statefile.c */

/** Write value as JSON to dirfd/name atomically (a temporary file, then rename). */
int csdkc_json_write_atomic(int dirfd, const char *name, const json_t *value, char *err, size_t errlen);
/** Read dirfd/name as a JSON object; CSDK_ENOTFOUND when the file is missing. */
int csdkc_json_read(json_t **out, int dirfd, const char *name, char *err, size_t errlen);
/** Write len bytes to dirfd/name atomically (mode 0644). */
int csdkc_file_write_atomic(int dirfd, const char *name, const void *data, size_t len, char *err, size_t errlen);
/** The same with mode 0600 (before the umask): for secrets only the owner may read. */
int csdkc_file_write_private(int dirfd, const char *name, const void *data, size_t len, char *err, size_t errlen);

/* fsutil.c: tree helpers that never follow symbolic links. */

/** Remove dirfd/name and everything below it; CSDK_ENOTFOUND when missing. */
int csdkc_remove_tree(int dirfd, const char *name, char *err, size_t errlen);
/** Copy the contents of the directory src_dirfd into the directory dst_dirfd. */
int csdkc_copy_tree(int dst_dirfd, int src_dirfd, char *err, size_t errlen);
/** Random lower-case hex of 2*nbytes characters into out (size >= 2*nbytes+1). */
int csdkc_random_hex(char *out, size_t nbytes);
/** Milliseconds since the Unix epoch. */
int64_t csdkc_now_ms(void);

/** The first max bytes of a stream (a command's stderr, a log), NUL-terminated. */
struct csdkc_capture {
	char *data; /**< owned; free() it */
	size_t len, cap, max;
};
/** Append what still fits under cap->max of data to cap: 0, or CSDK_ENOMEM. */
int csdkc_capture_append(struct csdkc_capture *cap, const void *data, size_t len);

/* code.c: the steps of run_code that do not depend on the backend. */

/**
 * Check a run_code request: runtime must be "python" or "node" and code
 * non-NULL (else CSDK_EINVAL and err names provider). On success
 * *python_out says which, and path receives a fresh script path in /tmp.
 */
int csdkc_code_begin(const char *provider, const char *runtime, const char *code, int *python_out,
		     char *path, size_t pathlen, char *err, size_t errlen);
/**
 * Classify a finished foreground run of the script at path from its exit
 * code and captured stderr: CSDK_ESYNTAX when the code did not compile,
 * CSDK_EUNSUPPORTED when the interpreter is missing from the sandbox's image
 * (err names image_key, the config key that chooses it), otherwise 0.
 */
int csdkc_code_classify(const char *runtime, int exit_code, const struct csdkc_capture *cap, const char *path,
			const char *sandbox, const char *image_key, char *err, size_t errlen);

/* pool.c: warm pools (docs/pools.md), the parts the providers share. */

struct csdk_host;
struct csdk_text;
struct csdk_config;
struct csdk_config_key;
struct csdk_create_request;

/**
 * The pool directory of one configuration, base/pool/HASH (made 0700),
 * HASH from desc: everything a member is made with.
 */
int csdkc_pool_dir(char *out, size_t outlen, const char *base, const char *desc, char *err, size_t errlen);
/** The refill lock of a pool directory (flock; the holder's pid written in it): its descriptor, or -1 with errno (EWOULDBLOCK: another process holds it, with nonblock). */
int csdkc_pool_lock(const char *dir, int nonblock);
/** A probe of the refill lock: 1 when no refiller holds it (tried for up to patience_ms), taking it only for a moment and writing no pid. */
int csdkc_pool_lock_free(const char *dir, int64_t patience_ms);
/** The refill lock for a refiller: as csdkc_pool_lock(dir, 1), but a lock held by a probe is waited out (csdkc_pool_lock_wait, half a second at most); -1 when another refiller holds it or the lock cannot be opened. */
int csdkc_pool_lock_refiller(const char *dir);
/** 1 when drain marked the pool: a refiller stops before its next member. */
int csdkc_pool_drained(const char *dir);
void csdkc_pool_set_drained(const char *dir, int on);
/** The prefix of a member being made (renamed to its name when ready). */
#define CSDKC_POOL_MAKING ".new-"
/** Members of a pool directory: those ready (member(name) true) returned, those being made in *making (may be NULL). */
long csdkc_pool_members(const char *dir, int (*member)(const char *name), long *making);
/** After a create: clears the drained mark; 1 when fewer than size are ready and no refiller holds the lock (start one). */
int csdkc_pool_wants_refill(const char *dir, int (*member)(const char *name), long size);
/** The program a create runs to refill a pool (csdk-pool-refill), with what it needs. */
struct csdkc_refiller {
	char *path;        /* pool_refiller, else installed, else the build tree's */
	char *provider;    /* the provider it opens */
	char *plugin_dir;  /* the directory of the calling plugin (CSDK_PLUGIN_PATH for it) */
	char **pairs;      /* "key=value" of the caller's configuration */
	size_t n_pairs;
	const char *env;   /* the environment variable of pool_refiller, for messages */
	int warned;
};
/**
 * Fills out from config: pool_refiller (env names its variable; an
 * absolute path), else, for a plugin of self (a function of it) loaded
 * from a build tree's plugins/NAME/.libs, that tree's
 * plugins/local/csdk-pool-refill, else the installed default_path; the
 * configured keys as KEY=VALUE. 0, or CSDK_ECONFIG (host->error
 * set) / CSDK_ENOMEM. Free with csdkc_refiller_free.
 */
int csdkc_refiller_init(struct csdkc_refiller *out, const struct csdk_host *host, const char *provider, const char *env,
			const char *default_path, const void *self, const struct csdk_config *config,
			const struct csdk_config_key *keys, size_t n_keys);
void csdkc_refiller_free(struct csdkc_refiller *r);
/**
 * Starts r's program detached for the pool in dir: `PATH --provider P
 * ARG KEY=VALUE...`, in a session of its own, stdin and stdout /dev/null,
 * standard error on dir/refill.log, none of the caller's other descriptors.
 * The caller forks twice and reaps the first child at once (never waits for
 * the refill); between fork and exec only async-signal-safe calls run, so
 * a threaded caller is safe. A refiller that cannot run is logged once.
 */
void csdkc_pool_spawn(struct csdkc_refiller *r, const struct csdk_host *host, const char *dir, const char *arg);
/**
 * The refill lock of dir, waiting up to wait_ms for the refiller that holds
 * it (its pid noted in the lock file): 0 with *out, CSDK_ETIMEOUT naming
 * the holder and wait_key (how to wait longer), or CSDK_EIO; err says which.
 */
int csdkc_pool_lock_wait(const char *dir, int64_t wait_ms, const char *what, const char *wait_key, int *out,
			 char *err, size_t errlen);
/** A pool for csdkc_pool_refill to fill, and the provider's part in it. */
struct csdkc_pool_filler {
	const struct csdk_host *host;
	const char *dir;                       /* the pool directory */
	long size;                             /* members to have ready */
	int64_t wait_ms;                       /* pool_wait: how long a waiting fill waits for another refiller */
	const char *wait_key;                  /* its configuration key, for the message */
	int (*member)(const char *name);       /* a ready member's name, as csdkc_pool_members */
	void (*clean)(void *ctx, const char *dir); /* under the lock, first: what a killed refiller left */
	int (*make)(void *ctx, const char *dir);   /* one member: 0, or a CSDK_E* code already reported */
	void *ctx;
};
/**
 * Fills f->dir up to f->size members, one make at a time, stopping at a
 * drained mark. Without wait it leaves (0) when another refiller holds the
 * lock; with wait it waits up to f->wait_ms (CSDK_ETIMEOUT or CSDK_EIO,
 * reported through f->host). After letting the lock go it looks again: a
 * claim that found the lock held just before is then served. Returns the
 * first failed make's code.
 */
int csdkc_pool_refill(const struct csdkc_pool_filler *f, int wait);
/**
 * Drains every pool below base (base/pool/HASH, as csdkc_pool_dir makes
 * them; none when base/pool does not exist): each is marked drained, its
 * refiller waited for as csdkc_pool_lock_wait (with wait_ms and wait_key)
 * and its members destroyed by destroy(ctx, dir), which returns how many;
 * those are added to *n. 0, or the first failure (CSDK_EIO, CSDK_ETIMEOUT)
 * said in err, the pools before it drained.
 */
int csdkc_pool_drain(const char *base, int64_t wait_ms, const char *wait_key, long (*destroy)(void *ctx, const char *dir),
		     void *ctx, long *n, char *err, size_t errlen);
/**
 * A claimed member's agent takes a new token and the create's envs (POST
 * /init, authenticated with the member's token) over the socket sock; run
 * is the directory of its token, which is replaced (mode 0600). 0, or -1.
 */
int csdkc_pool_new_token(const char *run, const char *sock, const struct csdk_create_request *opts);

/*
 * The answer of a pool extension operation: res (taken; NULL after an
 * error, or when the operation ran out of memory building it) as compact
 * JSON set on out. An operation's rc CSDK_ENOMEM, or rc 0 with no res,
 * becomes CSDK_ENOMEM with a message through host->error; any other rc is
 * returned as it is, else 0.
 */
int csdkc_pool_answer(const struct csdk_host *host, int rc, json_t *res, struct csdk_text *out);

#endif
