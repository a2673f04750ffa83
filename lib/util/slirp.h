#ifndef CSDKU_SLIRP_H
#define CSDKU_SLIRP_H

#include <stddef.h>
#include <sys/types.h>

/*
 * network=isolated's slirp4netns, for the local provider and the
 * benchmark's bwrap-isolated baseline alike: the namespace's descriptors,
 * slirp4netns's command line, the forked child that runs it, its ready
 * byte, and why it failed. Each caller reports errors in its own words.
 */

/* Where the child moves the descriptors slirp4netns is given. */
#define CSDKU_SLIRP_NETNS_FD 3
#define CSDKU_SLIRP_USERNS_FD 4
#define CSDKU_SLIRP_EXIT_FD 5
#define CSDKU_SLIRP_READY_FD 6
#define CSDKU_SLIRP_API_DIR_FD 7

/* fd moved to 10 or above (its copy close-on-exec) unless it is there
 * already, so that children's moves to the fixed numbers above, or to
 * bwrap's, never overwrite it; -1 stays -1; a failed move closes fd and
 * gives -1 (errno). */
int csdku_high_fd(int fd);
/* A pipe, or when sock a socket pair (written with MSG_NOSIGNAL, a reader
 * that died is an error rather than SIGPIPE), both ends at 10 or above and
 * close-on-exec: 0, or -1 (errno). */
int csdku_high_pipe(int out[2], int sock);
/* Closes the ends of p that are open (not -1) and sets both to -1. */
void csdku_close_pair(int p[2]);
/* The network namespace of process nspid (out[0]) and the user namespace
 * that owns it (out[1]), both at 10 or above and close-on-exec; path gets
 * the namespace's /proc path (room for 64 bytes), for messages. 0, or -1
 * with errno (nothing left open). */
int csdku_netns_open(int out[2], char path[64], pid_t nspid);

/* slirp4netns's command line: v[0] the program, with an API socket named
 * api in the directory on CSDKU_SLIRP_API_DIR_FD unless api is NULL. */
struct csdku_slirp_argv {
	char *v[14];            /* NULL-terminated; points into words and the arguments */
	char words[5][80];
};
/* 0, or CSDK_EINVAL when api is too long. */
int csdku_slirp_argv(struct csdku_slirp_argv *out, const char *slirp, const char *api);

/* Exit codes of csdku_slirp_child when slirp4netns did not run. */
enum { CSDKU_SLIRP_NO_TUN = 125, CSDKU_SLIRP_NO_UID, CSDKU_SLIRP_NO_EXEC };

/* What the slirp4netns child is given; all of it made before the fork. */
struct csdku_slirp_child {
	char *const *argv;      /* csdku_slirp_argv's v */
	int fds[5];             /* moved to CSDKU_SLIRP_NETNS_FD, USERNS, EXIT, READY, API_DIR; fds[4] -1 without an API socket */
	int log;                /* slirp4netns's stdout and stderr */
	const char *tag;        /* starts the line the child writes to log when it fails ("csdk-local") */
	int drop;               /* as root: a /dev/net/tun of its own, run as uid/gid */
	uid_t uid;
	gid_t gid;
};

/* In a forked child (async-signal-safe calls only; never returns): a
 * session of its own, stdin /dev/null, the descriptors moved, the others
 * closed; with drop a private mount namespace whose /dev/net/tun uid may
 * open (the host's may be 0600), then that uid; then slirp4netns. When a
 * step fails, a line "TAG: what failed" in log and a CSDKU_SLIRP_NO_* exit. */
void csdku_slirp_child(const struct csdku_slirp_child *c) __attribute__((noreturn));

/* Waits up to CSDKU_NET_WAIT_MS for slirp4netns's ready byte on fd: 0, or
 * -1 when it exited or the time ran out. */
int csdku_slirp_wait_ready(int fd);

/* Why slirp4netns did not get ready, from its log: its first line that
 * says something (not its warnings), else "it exited without a message". */
void csdku_slirp_reason(char *out, size_t len, int log);

#endif
