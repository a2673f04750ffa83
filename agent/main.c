/* csdk-agent: E2B envd protocol inside a sandbox. */
#include "config.h"

#include <linux/close_range.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "process.h"

struct agent_config agent_cfg = {
	.listen = "0.0.0.0:49983",
	.max_body = 4u << 20,
	.max_upload = 1u << 30,
	.max_buffer = 1u << 20,
	.max_conns = 512,
	.max_procs = 1024,
	.idle_timeout = 60,
};

static const char *agent_unix_path;
static unsigned agent_listen_fd = ~0u;

long long agent_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void agent_usage(FILE *f)
{
	fputs("Usage: csdk-agent [OPTION]...\n"
	      "Serve E2B's envd protocol (processes, filesystem, /files) inside a sandbox.\n\n"
	      "  --listen ADDR          HOST:PORT, [IPV6]:PORT or unix:PATH (default 0.0.0.0:49983)\n"
	      "  --listen-fd N          serve the listening socket inherited as descriptor N\n"
	      "                         (bound by a supervisor) instead of binding ADDR; a\n"
	      "                         unix:PATH ADDR is still removed at exit\n"
	      "  --token-file PATH      require this access token (X-Access-Token); the\n"
	      "                         CSDK_AGENT_TOKEN environment variable otherwise\n"
	      "  --workdir DIR          base of relative paths (default: the current directory)\n"
	      "  --max-body BYTES       largest RPC request body (default 4194304)\n"
	      "  --max-upload BYTES     largest POST /files body (default 1073741824)\n"
	      "  --max-buffer BYTES     output kept per process with no client, and per\n"
	      "                         stream, oldest dropped first (default 1048576)\n"
	      "  --max-connections N    concurrent connections (default 512)\n"
	      "  --max-processes N      processes tracked at once (default 1024)\n"
	      "  --idle-timeout SECS    close connections idle this long (default 60)\n"
	      "  --deadline-file PATH   exit with status 124, every process killed, once the\n"
	      "                         clock reaches the epoch (seconds, then a newline) in\n"
	      "                         PATH; re-read every second; 0: no deadline\n"
	      "  --verbose              log HTTP server errors to stderr\n"
	      "  --help, --version\n", f);
}

static int agent_size_arg(const char *opt, const char *v, size_t min, size_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > (1ull << 40)) {
		fprintf(stderr, "csdk-agent: %s: invalid value '%s'\n", opt, v);
		return -1;
	}
	*out = (size_t)n;
	return 0;
}

static int agent_uint_arg(const char *opt, const char *v, unsigned min, unsigned max, unsigned *out)
{
	size_t n;

	if (agent_size_arg(opt, v, min, &n) < 0)
		return -1;
	if (n > max) {
		fprintf(stderr, "csdk-agent: %s: at most %u\n", opt, max);
		return -1;
	}
	*out = (unsigned)n;
	return 0;
}

enum { O_LISTEN = 1, O_LISTEN_FD, O_TOKEN, O_WORKDIR, O_BODY, O_UPLOAD, O_BUFFER, O_CONNS, O_PROCS, O_IDLE,
       O_DEADLINE, O_VERBOSE, O_HELP, O_VERSION };

static const struct option agent_opts[] = {
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "listen-fd", required_argument, NULL, O_LISTEN_FD },
	{ "token-file", required_argument, NULL, O_TOKEN },
	{ "workdir", required_argument, NULL, O_WORKDIR },
	{ "max-body", required_argument, NULL, O_BODY },
	{ "max-upload", required_argument, NULL, O_UPLOAD },
	{ "max-buffer", required_argument, NULL, O_BUFFER },
	{ "max-connections", required_argument, NULL, O_CONNS },
	{ "max-processes", required_argument, NULL, O_PROCS },
	{ "idle-timeout", required_argument, NULL, O_IDLE },
	{ "deadline-file", required_argument, NULL, O_DEADLINE },
	{ "verbose", no_argument, NULL, O_VERBOSE },
	{ "help", no_argument, NULL, O_HELP },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 },
};

static int agent_option(int o, const char *arg, const char **token_file)
{
	switch (o) {
	case O_LISTEN: agent_cfg.listen = arg; return 0;
	case O_LISTEN_FD: return agent_uint_arg("--listen-fd", arg, 0, 65535, &agent_listen_fd);
	case O_TOKEN: *token_file = arg; return 0;
	case O_WORKDIR: agent_cfg.workdir = arg; return 0;
	case O_BODY: return agent_size_arg("--max-body", arg, 64, &agent_cfg.max_body);
	case O_UPLOAD: return agent_size_arg("--max-upload", arg, 1, &agent_cfg.max_upload);
	case O_BUFFER: return agent_size_arg("--max-buffer", arg, 1024, &agent_cfg.max_buffer);
	case O_CONNS: return agent_uint_arg("--max-connections", arg, 1, 65536, &agent_cfg.max_conns);
	case O_PROCS: return agent_uint_arg("--max-processes", arg, 1, 65536, &agent_cfg.max_procs);
	case O_IDLE: return agent_uint_arg("--idle-timeout", arg, 1, 86400, &agent_cfg.idle_timeout);
	case O_DEADLINE: agent_cfg.deadline_file = arg; return 0;
	case O_VERBOSE: agent_cfg.verbose = 1; return 0;
	case O_HELP: agent_usage(stdout); exit(0);
	case O_VERSION: printf("csdk-agent %s\n", PACKAGE_VERSION); exit(0);
	default:
		fputs("Try 'csdk-agent --help'.\n", stderr);
		return -1;
	}
}

static int agent_parse_args(int argc, char **argv, const char **token_file)
{
	int o;

	opterr = 1;
	while ((o = getopt_long(argc, argv, "", agent_opts, NULL)) != -1)
		if (agent_option(o, optarg, token_file) < 0)
			return -1;
	if (optind < argc) {
		fprintf(stderr, "csdk-agent: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (agent_cfg.workdir && agent_cfg.workdir[0] != '/') {
		fprintf(stderr, "csdk-agent: --workdir: must be an absolute path\n");
		return -1;
	}
	return 0;
}

/* The socket is bound under a temporary name and renamed into place once it
 * listens: a client that sees PATH can connect, never gets ECONNREFUSED. */
static int agent_listen_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, n, bound = 0;

	if (strlen(path) >= sizeof sa.sun_path) {
		fprintf(stderr, "csdk-agent: --listen: socket path too long\n");
		return -1;
	}
	if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "csdk-agent: cannot listen on unix:%s: it exists and is not a socket\n", path);
		return -1;
	}
	n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s.%ld.new", path, (long)getpid());
	if (n < 0 || (size_t)n >= sizeof sa.sun_path)
		strcpy(sa.sun_path, path);
	if (lstat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(sa.sun_path);
	if (!strcmp(sa.sun_path, path) || (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || !(bound = bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0) || listen(fd, 256) < 0 ||
	    (strcmp(sa.sun_path, path) && rename(sa.sun_path, path) < 0)) {
		fprintf(stderr, "csdk-agent: cannot listen on unix:%s: %s\n", path, strerror(errno));
		if (bound)
			unlink(sa.sun_path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	agent_unix_path = path;
	printf("csdk-agent: listening on unix:%s\n", path);
	return fd;
}

static int agent_split_hostport(const char *addr, char *host, size_t n, unsigned *port)
{
	const char *colon = strrchr(addr, ':'), *h = addr;
	size_t hl;
	char *end;
	unsigned long p;

	if (!colon)
		return -1;
	hl = (size_t)(colon - addr);
	if (addr[0] == '[' && hl >= 2 && addr[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= n)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p > 65535)
		return -1;
	*port = (unsigned)p;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (!*host)
		strcpy(host, "0.0.0.0");
	return 0;
}

static void agent_print_bound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	getsockname(fd, (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
		port = ntohs(s6->sin6_port);
		printf("csdk-agent: listening on [%s]:%u\n", host, port);
		return;
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
	port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	printf("csdk-agent: listening on %s:%u\n", host, port);
}

static int agent_listen_tcp(const char *addr)
{
	char host[128];
	unsigned port;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr *sa = (struct sockaddr *)&s4;
	socklen_t len = sizeof s4;
	int fd, one = 1;

	if (agent_split_hostport(addr, host, sizeof host, &port) < 0) {
		fprintf(stderr, "csdk-agent: --listen: expected HOST:PORT or unix:PATH, got '%s'\n", addr);
		return -1;
	}
	s4.sin_port = s6.sin6_port = htons((uint16_t)port);
	if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
		sa = (struct sockaddr *)&s6;
		len = sizeof s6;
	} else if (inet_pton(AF_INET, host, &s4.sin_addr) != 1) {
		fprintf(stderr, "csdk-agent: --listen: '%s' is not an IP address\n", host);
		return -1;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fd < 0 || bind(fd, sa, len) < 0 || listen(fd, 256) < 0) {
		fprintf(stderr, "csdk-agent: cannot listen on %s: %s\n", addr, strerror(errno));
		return -1;
	}
	agent_print_bound(fd);
	return fd;
}

/* Socket activation: the supervisor bound and listens, so clients may
 * connect before the agent runs; their connections wait in the backlog.
 * The descriptor is closed on exec: no command inherits it. */
static int agent_listen_inherited(int fd, const char *addr)
{
	int listening = 0, type = 0, err = 0;
	socklen_t len = sizeof listening, tlen = sizeof type;
	struct sockaddr_storage ss;
	socklen_t slen = sizeof ss;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0)
		err = errno;
	if (err || !listening || type != SOCK_STREAM) {
		fprintf(stderr, "csdk-agent: --listen-fd %d: %s; pass a stream socket that is bound and listening\n",
			fd, err ? strerror(err) : "not a listening stream socket");
		return -1;
	}
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	if (!strncmp(addr, "unix:", 5)) {
		agent_unix_path = addr + 5;
		printf("csdk-agent: listening on %s\n", addr);
	} else if (getsockname(fd, (struct sockaddr *)&ss, &slen) == 0 && ss.ss_family == AF_UNIX) {
		printf("csdk-agent: listening on unix:%s\n", ((struct sockaddr_un *)&ss)->sun_path);
	} else {
		agent_print_bound(fd);
	}
	return fd;
}

static void agent_no_op(int sig)
{
}

/* Every signal is taken by sigwaitinfo() here, so no handler runs in another
 * thread. The handlers never run: they only keep PID 1's default of ignoring
 * signals it has no handler for out of the way. */
static void agent_block_signals(sigset_t *set)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	struct sigaction sa = { .sa_handler = agent_no_op };

	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void agent_shutdown(int sig)
{
	agent_stopping = 1;
	agent_proc_terminate_all(getpid() == 1, 5000);
	if (agent_unix_path)
		unlink(agent_unix_path);
	if (agent_cfg.verbose)
		fprintf(stderr, "csdk-agent: stopped by signal %d\n", sig);
	fflush(NULL);
	_exit(0);
}

/* The deadline in the file: epoch seconds, digits then a newline (a file
 * half written, or missing, leaves it as it was); 0 is none. */
static long long agent_deadline = 0;
static long long agent_deadline_read_ms = -1;

static void agent_read_deadline(void)
{
	char buf[32];
	long long v = 0;
	ssize_t n;
	int fd, i;

	agent_deadline_read_ms = agent_now_ms();
	fd = open(agent_cfg.deadline_file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	for (i = 0; i < n && i < 19 && buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (buf[i] - '0');
	if (i > 0 && i < n && buf[i] == '\n')
		agent_deadline = v;
}

/* 1 when the deadline has passed: everything is killed, the exit status is 124. */
static int agent_expired(void)
{
	if (!agent_cfg.deadline_file)
		return 0;
	if (agent_deadline_read_ms < 0 || agent_now_ms() - agent_deadline_read_ms >= 1000)
		agent_read_deadline();
	return agent_deadline > 0 && (long long)time(NULL) >= agent_deadline;
}

static void agent_expire(void)
{
	agent_stopping = 1;
	fprintf(stderr, "csdk-agent: deadline %lld passed\n", agent_deadline);
	agent_proc_terminate_all(getpid() == 1, 0);
	if (agent_unix_path)
		unlink(agent_unix_path);
	fflush(NULL);
	_exit(124);
}

static void agent_signal_loop(const sigset_t *set)
{
	struct timespec second = { 1, 0 };
	siginfo_t si;

	for (;;) {
		int sig = agent_cfg.deadline_file ? sigtimedwait(set, &si, &second) : sigwaitinfo(set, &si);
		if (sig == SIGCHLD)
			agent_proc_reap();
		else if (sig > 0)
			agent_shutdown(sig);
		if (agent_expired())
			agent_expire();
	}
}

/*
 * No command inherits what the supervisor passed on (bwrap's --sync-fd stays
 * open in the agent for as long as it runs), and no process of the sandbox,
 * though of the agent's uid, can read its memory (the token) or open its
 * descriptors (its log) through /proc.
 */
static void agent_seal(void)
{
	prctl(PR_SET_DUMPABLE, 0);
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		for (int fd = 3; fd < 1024; fd++)
			fcntl(fd, F_SETFD, FD_CLOEXEC);
}

int main(int argc, char **argv)
{
	const char *token_file = NULL;
	struct MHD_Daemon *d;
	sigset_t set;
	int fd;

	agent_seal();
	if (agent_parse_args(argc, argv, &token_file) < 0 || agent_auth_load(token_file) < 0)
		return 2;
	if (agent_cfg.deadline_file && agent_expired()) {
		fprintf(stderr, "csdk-agent: deadline %lld passed\n", agent_deadline);
		return 124;
	}
	agent_block_signals(&set);
	if (getpid() != 1)
		prctl(PR_SET_CHILD_SUBREAPER, 1);
	if (agent_listen_fd != ~0u)
		fd = agent_listen_inherited((int)agent_listen_fd, agent_cfg.listen);
	else if (strncmp(agent_cfg.listen, "unix:", 5) == 0)
		fd = agent_listen_unix(agent_cfg.listen + 5);
	else
		fd = agent_listen_tcp(agent_cfg.listen);
	if (fd < 0)
		return 1;
	d = agent_http_start(fd);
	if (!d) {
		fprintf(stderr, "csdk-agent: cannot start the HTTP server\n");
		return 1;
	}
	if (!agent_auth_enabled())
		fprintf(stderr, "csdk-agent: no access token configured: every client is trusted\n");
	fflush(stdout);
	agent_signal_loop(&set);
	return 0;
}
