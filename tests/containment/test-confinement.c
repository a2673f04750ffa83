/*
 * What a command under bubblewrap can see and do of the host: the host's
 * secrets in /etc, /root and home directories. Each test runs in direct
 * mode (_i 0: a bubblewrap per command) and in gateway mode (_i 1: one
 * namespace per sandbox, commands through its csdk-agent).
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <glob.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "containment.h"

static const char *const modes[] = { "direct", "gateway" };

/* Gateway's agent socket must fit in 107 bytes: its state directory is short, in /tmp. */
static const char *state_dir(int i)
{
	char *d;

	if (i == 0)
		return ct_tmpdir();
	d = ct_fmt("/tmp/%s-XXXXXX", ct_marker());
	ck_assert_msg(mkdtemp(d) != NULL, "cannot make %s", d);
	return d;
}

static void state_done(const char *state, int i)
{
	if (i == 1)
		ck_assert_int_eq(system(ct_fmt("rm -rf '%s'", state)), 0);
}

/* key, value: one more configuration key, or NULL */
static csdk_provider *open_mode_with(const char *state, int i, const char *key, const char *value)
{
	const char *agent = getenv("CSDK_TEST_AGENT");

	if (i == 0)
		return ct_open(state, "bwrap", "mode", "direct", key, value, NULL);
	ck_assert_msg(agent && access(agent, X_OK) == 0, "no csdk-agent at CSDK_TEST_AGENT (%s): build agent/ first", agent ? agent : "unset");
	return ct_open(state, "bwrap", "mode", "gateway", "agent", agent, key, value, NULL);
}

/* two more keys */
static csdk_provider *open_mode_with2(const char *state, int i, const char *k1, const char *v1, const char *k2, const char *v2)
{
	const char *agent = getenv("CSDK_TEST_AGENT");

	if (i == 0)
		return ct_open(state, "bwrap", "mode", "direct", k1, v1, k2, v2, NULL);
	ck_assert_msg(agent && access(agent, X_OK) == 0, "no csdk-agent at CSDK_TEST_AGENT (%s): build agent/ first", agent ? agent : "unset");
	return ct_open(state, "bwrap", "mode", "gateway", "agent", agent, k1, v1, k2, v2, NULL);
}

static csdk_provider *open_mode(const char *state, int i)
{
	return open_mode_with(state, i, NULL, NULL);
}

static void plant(const char *path, mode_t mode, const char *content)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);

	ck_assert_msg(fd >= 0, "cannot plant %s", path);
	ck_assert_int_eq(write(fd, content, strlen(content)), (int)strlen(content));
	ck_assert_int_eq(fchmod(fd, mode), 0);
	close(fd);
}

static void remove_planted(const char *a, const char *b, const char *c, const char *inner, const char *dir)
{
	unlink(a);
	unlink(b);
	unlink(c);
	unlink(inner);
	rmdir(dir);
}

/* cat PATH inside: must fail with exactly this message. */
static void unreadable(csdk_sandbox *sb, const char *path, int i)
{
	char *out = NULL, *err = NULL;
	int code = ct_run(sb, ct_fmt("cat '%s'", path), 0, &out, &err);

	ck_assert_msg(code == 1 && !*out, "[%s] cat %s: exit %d, output '%.80s'", modes[i], path, code, out);
	ck_assert_str_eq(err, ct_fmt("cat: %s: No such file or directory\n", path));
	free(out);
	free(err);
}

START_TEST(test_no_host_secrets)
{
	const char *state = state_dir(_i), *m = ct_marker();
	const char *secret = ct_fmt("/etc/.%s-0600", m), *group = ct_fmt("/etc/.%s-0640", m),
		   *dir = ct_fmt("/etc/.%s-d", m), *inner = ct_fmt("/etc/.%s-d/f", m), *pub = ct_fmt("/etc/.%s-0644", m),
		   *key = ct_fmt("/etc/ssh/ssh_host_%s_key", m), *keypub = ct_fmt("/etc/ssh/ssh_host_%s_key.pub", m);
	const char *fixed[] = { "/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers",
				"/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ed25519_key", "/etc/ssh/ssh_host_ecdsa_key",
				"/etc/ssl/private/ssl-cert-snakeoil.key", "/etc/security/opasswd", NULL };
	int planted = geteuid() == 0, made_ssh = 0, i;
	csdk_provider *p;
	csdk_sandbox *sb;
	char *out = NULL, *err = NULL;
	glob_t g;

	/* Only root can plant in the host's /etc; the suite runs as root in CI. */
	if (planted) {
		/* a failed run of the other mode may have left them */
		remove_planted(secret, group, pub, inner, dir);
		plant(secret, 0600, "csdk-secret-0600\n");
		plant(group, 0640, "csdk-secret-0640\n");
		plant(pub, 0644, "csdk-public-0644\n");
		ck_assert_int_eq(mkdir(dir, 0700), 0);
		plant(inner, 0644, "csdk-secret-in-0700-dir\n");
		/* readable by all: the name alone keeps a host key out */
		made_ssh = mkdir("/etc/ssh", 0755) == 0;
		unlink(key);
		unlink(keypub);
		plant(key, 0644, "csdk-host-key\n");
		plant(keypub, 0644, "csdk-host-key.pub\n");
	} else {
		fprintf(stderr, "test_no_host_secrets: SKIP of the files planted in /etc: only root can plant them; the host's own secrets are still read\n");
	}
	p = open_mode(state, _i);
	sb = ct_create(p);
	for (i = 0; fixed[i]; i++)
		unreadable(sb, fixed[i], _i);
	if (glob("/etc/ssh/ssh_host_*_key", 0, NULL, &g) == 0) {
		for (size_t k = 0; k < g.gl_pathc; k++)
			unreadable(sb, g.gl_pathv[k], _i);
		globfree(&g);
	}
	if (planted) {
		unreadable(sb, secret, _i);
		unreadable(sb, group, _i);
		unreadable(sb, inner, _i);
		unreadable(sb, key, _i);
		ck_assert_int_eq(ct_run(sb, ct_fmt("cat '%s' '%s'", pub, keypub), 0, &out, NULL), 0);
		ck_assert_str_eq(out, "csdk-public-0644\ncsdk-host-key.pub\n");
		free(out);
		/* made secret in place after the copy: chmod, then new content */
		ck_assert_int_eq(chmod(pub, 0600), 0);
		ck_assert_int_eq(system(ct_fmt("echo csdk-secret-later >> '%s'", pub)), 0);
		ck_assert_int_eq(ct_run(sb, ct_fmt("cat '%s'", pub), 0, &out, NULL), 0);
		ck_assert_msg(!strcmp(out, "csdk-public-0644\n"), "[%s] a file made secret later is read inside: '%s'", modes[_i], out);
		free(out);
	}
	/* read-only, and nothing written reaches the host */
	ck_assert_int_eq(ct_run(sb, "touch /etc/passwd", 0, &out, &err), 1);
	/* as root the generation is root's, another user's inside; otherwise it is the caller's, the sandbox user's */
	ck_assert_str_eq(err, ct_fmt("touch: cannot touch '/etc/passwd': %s\n", geteuid() == 0 ? "Permission denied" : "Read-only file system"));
	free(out);
	free(err);
	ck_assert_int_eq(ct_run(sb, "awk '$5 == \"/etc\" { print substr($6, 1, 3) }' /proc/self/mountinfo", 0, &out, NULL), 0);
	ck_assert_str_eq(out, "ro,\n");
	free(out);
	ck_assert_int_eq(ct_run(sb, "ls /root", 0, &out, &err), 2);
	ck_assert_str_eq(err, "ls: cannot access '/root': No such file or directory\n");
	free(out);
	free(err);
	ck_assert_int_eq(ct_run(sb, "ls -A /home", 0, &out, NULL), 0);
	ck_assert_str_eq(out, "sandbox\n");
	free(out);
	/* the user is the sandbox's, the host's accounts are not listed */
	ck_assert_int_eq(ct_run(sb, "id -un; id -gn; echo $HOME; cut -d: -f1 /etc/passwd | tr '\\n' ' '; echo; cat /etc/hostname", 0, &out, NULL), 0);
	ck_assert_str_eq(out, "sandbox\nsandbox\n/home/sandbox\nsandbox root nobody \nsandbox\n");
	free(out);
	/* what programs need is there: TLS roots, the loader's cache, alternatives, DNS configuration */
	ck_assert_int_eq(ct_run(sb,
		"python3 -c 'import ssl; print(len(ssl.create_default_context().get_ca_certs()) > 0)' && "
		"node -e 'console.log(require(\"tls\").rootCertificates.length > 0)' && "
		"test -s /etc/ssl/certs/ca-certificates.crt && test -s /etc/ld.so.cache && test -e /etc/resolv.conf && "
		"getent hosts sandbox | cut -d' ' -f1 && echo ok", 0, &out, &err), 0);
	ck_assert_msg(!strcmp(out, "True\ntrue\n127.0.1.1\nok\n"), "[%s] programs inside: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	state_done(state, _i);
	if (planted) {
		remove_planted(secret, group, pub, inner, dir);
		unlink(key);
		unlink(keypub);
		if (made_ssh)
			rmdir("/etc/ssh");
	}
}
END_TEST

/* Owner of a file on the host, "UID:GID". */
static const char *owner(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return ct_fmt("%s: missing", path);
	return ct_fmt("%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
}

/* The Uid and Gid lines of the host's /proc/PID/status of the process whose
 * command line is cmdline (NUL-separated), waiting up to 60 s for it. */
static const char *host_ids(const char *cmdline)
{
	size_t n = strlen(cmdline) + 1 + strlen(cmdline + strlen(cmdline) + 1) + 1;

	for (int tries = 0; tries < 6000; tries++, usleep(10000)) {
		glob_t g;

		if (glob("/proc/[0-9]*/cmdline", 0, NULL, &g))
			continue;
		for (size_t k = 0; k < g.gl_pathc; k++) {
			char buf[256], line[256], *ids = ct_fmt("%s", "");
			FILE *f = fopen(g.gl_pathv[k], "re");
			size_t got = f ? fread(buf, 1, sizeof(buf), f) : 0;

			if (f)
				fclose(f);
			if (got != n || memcmp(buf, cmdline, n))
				continue;
			f = fopen(ct_fmt("%.*s/status", (int)(strlen(g.gl_pathv[k]) - 8), g.gl_pathv[k]), "re");
			while (f && fgets(line, sizeof(line), f))
				if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4))
					ids = ct_fmt("%s%s", ids, line);
			if (f)
				fclose(f);
			globfree(&g);
			return ids;
		}
		globfree(&g);
	}
	return "no such process";
}

/*
 * Commands run as the sandbox user (1000) inside and, as root, as the
 * unprivileged sandbox_uid outside: what they write is that uid's on the
 * host, and a host file of root's that a command can reach (planted in its
 * home; in the host's /usr, which every sandbox sees) is not readable.
 */
START_TEST(test_identity)
{
	const char *state = state_dir(_i), *m = ct_marker(), *dir, *want;
	const char *usr_secret = ct_fmt("/usr/local/.%s-0600", m);
	int root = geteuid() == 0;
	csdk_provider *p;
	csdk_sandbox *sb;
	char *out = NULL, *err = NULL;

	/* as under /root: the sandbox uid cannot reach the state directory itself */
	ck_assert_int_eq(chmod(state, 0700), 0);
	p = open_mode(state, _i);
	sb = ct_create(p);
	dir = ct_sandbox_dir(state, sb);
	want = root ? "1879048192:1879048192" : ct_fmt("%u:%u", (unsigned)getuid(), (unsigned)getgid());
	ck_assert_int_eq(ct_run(sb, "id -u; id -g; id -G; grep CapEff /proc/self/status", 0, &out, NULL), 0);
	ck_assert_str_eq(out, "1000\n1000\n1000\nCapEff:\t0000000000000000\n");
	free(out);
	ck_assert_int_eq(ct_run(sb, "echo x > made && mkdir -p d/e && echo y > /tmp/t && ls -ln made | cut -d' ' -f3,4", 0, &out, NULL), 0);
	ck_assert_str_eq(out, "1000 1000\n");
	free(out);
	ck_assert_str_eq(owner(ct_fmt("%s/home/made", dir)), want);
	ck_assert_str_eq(owner(ct_fmt("%s/home/d/e", dir)), want);
	ck_assert_str_eq(owner(ct_fmt("%s/tmp/t", dir)), want);
	ck_assert_str_eq(owner(ct_fmt("%s/home", dir)), want);
	/* what the host API writes is the sandbox user's too: a command can change it */
	ck_assert_int_eq(csdk_fs_write(sb, "w/x/file", "a\n", 2), 0);
	ck_assert_str_eq(owner(ct_fmt("%s/home/w/x/file", dir)), want);
	ck_assert_str_eq(owner(ct_fmt("%s/home/w", dir)), want);
	ck_assert_int_eq(ct_run(sb, "echo b >> w/x/file && rm -r w && echo ok", 0, &out, NULL), 0);
	ck_assert_str_eq(out, "ok\n");
	free(out);
	if (root) {
		int fd;

		/* a file of the host's root within reach of the command: not its own, so not readable */
		fd = open(ct_fmt("%s/home/root-secret", dir), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "csdk-root-secret\n", 17), 17);
		close(fd);
		unlink(usr_secret);
		plant(usr_secret, 0600, "csdk-usr-secret\n");
		ck_assert_int_eq(ct_run(sb, ct_fmt("cat root-secret; cat '%s'; ls -ln root-secret | cut -d' ' -f3,4", usr_secret), 0, &out, &err), 0);
		unlink(usr_secret);
		ck_assert_str_eq(out, "65534 65534\n");
		ck_assert_str_eq(err, ct_fmt("cat: root-secret: Permission denied\ncat: %s: Permission denied\n", usr_secret));
		free(out);
		free(err);
		/* the command's process, seen from the host */
		ct_background(sb, "exec sleep 3001.5");
		ck_assert_str_eq(host_ids("sleep\0003001.5"), "Uid:\t1879048192\t1879048192\t1879048192\t1879048192\n"
								    "Gid:\t1879048192\t1879048192\t1879048192\t1879048192\n");
	}
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	if (root) {
		/* sandbox_uid=nobody */
		p = open_mode_with(state, _i, "sandbox_uid", "nobody");
		sb = ct_create(p);
		ck_assert_int_eq(ct_run(sb, "echo x > made && id -u", 0, &out, NULL), 0);
		ck_assert_str_eq(out, "1000\n");
		free(out);
		ck_assert_str_eq(owner(ct_fmt("%s/home/made", ct_sandbox_dir(state, sb))), "65534:65534");
		ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
		csdk_sandbox_free(sb);
		csdk_provider_close(p);
	}
	state_done(state, _i);
}
END_TEST

START_TEST(test_sandbox_uid_bad_value)
{
	const char *bad[] = { "0", "root", "-5", "4294967295", "12x", NULL };

	for (int i = 0; bad[i]; i++) {
		struct csdk_kv kv[3] = { { "state_dir", ct_tmpdir() }, { "isolation", "bwrap" }, { "sandbox_uid", bad[i] } };
		csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
		csdk_provider *p = NULL;

		opts.config = kv;
		opts.n_config = 3;
		ck_assert_int_eq(csdk_provider_open(&p, "local", &opts), CSDK_ECONFIG);
		ck_assert_str_eq(csdk_error_last()->message,
				 ct_fmt("invalid value '%s' for sandbox_uid; use an unprivileged uid from 1 to 4294967294, or nobody", bad[i]));
	}
}
END_TEST

/* The system calls, through libc, and what each returned. */
static const char syscalls_py[] =
	"python3 - <<'EOF'\n"
	"import ctypes, os\n"
	"libc = ctypes.CDLL(None, use_errno=True)\n"
	"def show(name, rc):\n"
	"    print(name, rc, os.strerror(ctypes.get_errno()) if rc != 0 else 'ok')\n"
	"show('mount', libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))\n"
	"show('umount2', libc.umount2(b'/tmp', 2))\n"
	"show('unshare', libc.unshare(0x10000000))\n"
	"show('ptrace', libc.ptrace(0, 0, None, None))\n"
	"EOF\n";

START_TEST(test_seccomp)
{
	const char *state = state_dir(_i);
	csdk_provider *p = open_mode(state, _i), *off;
	csdk_sandbox *sb = ct_create(p), *loose;
	char *out = NULL, *err = NULL;

	ck_assert_int_eq(ct_run(sb, syscalls_py, 0, &out, &err), 0);
	ck_assert_msg(!strcmp(out, "mount -1 Operation not permitted\numount2 -1 Operation not permitted\n"
			      "unshare -1 Operation not permitted\nptrace -1 Operation not permitted\n"),
		      "[%s] system calls: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(ct_run(sb, "unshare -U true", 0, &out, &err), 1);
	ck_assert_str_eq(err, "unshare: unshare failed: Operation not permitted\n");
	free(out);
	free(err);
	/* what sandboxes do: processes, threads, pipelines, python's and node's child processes */
	ck_assert_int_eq(ct_run(sb,
		"printf 'b\\na\\n' | sort | tr -d '\\n'; echo; "
		"python3 -c 'import subprocess, threading; t = threading.Thread(target=print, args=(\"thread\",)); t.start(); t.join(); "
		"print(subprocess.run([\"echo\", \"child\"], capture_output=True, text=True).stdout, end=\"\")' && "
		"node -e 'console.log(require(\"child_process\").execSync(\"echo node-child\").toString().trim())'",
		0, &out, &err), 0);
	ck_assert_msg(!strcmp(out, "ab\nthread\nchild\nnode-child\n"), "[%s] workload: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);

	/* seccomp=off: the same calls reach the kernel (mount still fails: no capability) */
	off = open_mode_with(state, _i, "seccomp", "off");
	loose = ct_create(off);
	ck_assert_int_eq(ct_run(loose, syscalls_py, 0, &out, &err), 0);
	ck_assert_msg(!strcmp(out, "mount -1 Operation not permitted\numount2 -1 Operation not permitted\n"
			      "unshare 0 ok\nptrace 0 ok\n"),
		      "[%s] system calls with seccomp=off: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_destroy(loose), 0);
	csdk_sandbox_free(loose);
	csdk_provider_close(off);
	state_done(state, _i);
}
END_TEST

START_TEST(test_seccomp_bad_value)
{
	struct csdk_kv kv[3] = { { "state_dir", ct_tmpdir() }, { "isolation", "bwrap" }, { "seccomp", "strict" } };
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_provider *p = NULL;

	opts.config = kv;
	opts.n_config = 3;
	ck_assert_int_eq(csdk_provider_open(&p, "local", &opts), CSDK_ECONFIG);
	ck_assert_str_eq(csdk_error_last()->message, "invalid value 'strict' for seccomp; use default or off");
}
END_TEST

/* A listener on the host's 127.0.0.1 (connections wait in its backlog). */
static int host_listener(int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_msg(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 16) == 0 &&
		      getsockname(fd, (struct sockaddr *)&a, &len) == 0, "cannot listen on 127.0.0.1");
	*port = ntohs(a.sin_port);
	return fd;
}

static const char *connect_py(int port)
{
	return ct_fmt("python3 - <<'EOF'\n"
		      "import socket\n"
		      "for host, port in (('127.0.0.1', %d), ('169.254.169.254', 80)):\n"
		      "    try:\n"
		      "        socket.create_connection((host, port), timeout=3).close()\n"
		      "        print(host, 'connected')\n"
		      "    except OSError as e:\n"
		      "        print(host, e.errno)\n"
		      "EOF\n", port);
}

START_TEST(test_network)
{
	const char *state = state_dir(_i);
	csdk_provider *p = open_mode_with(state, _i, "network", "none"), *host;
	csdk_sandbox *sb = ct_create(p), *shared;
	char *out = NULL, *err = NULL, *url = NULL;
	int port, fd = host_listener(&port);

	/* none: the host's loopback listener is refused, no route anywhere else */
	ck_assert_int_eq(ct_run(sb, connect_py(port), 0, &out, &err), 0);
	ck_assert_msg(!strcmp(out, "127.0.0.1 111\n169.254.169.254 101\n"), "[%s] network none: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_get_url(&url, sb, 8080, NULL), CSDK_ENOTFOUND);
	ck_assert_str_eq(csdk_error_last()->message,
			 ct_fmt("port 8080 of sandbox %s is not reachable from the host: the sandbox has network none; create it with network=isolated or host (CSDK_LOCAL_NETWORK) to serve ports",
				csdk_sandbox_id(sb)));
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);

	/* host, opted in: the same listener is reached */
	host = open_mode_with(state, _i, "network", "host");
	shared = ct_create(host);
	ck_assert_int_eq(ct_run(shared, ct_fmt("python3 -c \"import socket; socket.create_connection(('127.0.0.1', %d), timeout=3).close(); print('connected')\"", port), 0, &out, &err), 0);
	ck_assert_msg(!strcmp(out, "connected\n"), "[%s] network host: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_get_url(&url, shared, 8080, NULL), 0);
	ck_assert_str_eq(url, "http://127.0.0.1:8080");
	csdk_free(url);
	ck_assert_int_eq(csdk_sandbox_destroy(shared), 0);
	csdk_sandbox_free(shared);
	csdk_provider_close(host);
	close(fd);
	state_done(state, _i);
}
END_TEST

/*
 * network=isolated needs a machine to reach: a network namespace of the
 * test's own (the "test host", 10.231.N.2 at the end of a veth pair whose
 * host end is 10.231.N.1) with a listener on 0.0.0.0:18080, and
 * 169.254.169.254 on its loopback, routed there from the host, standing for
 * a cloud's metadata service. Root only: it changes the host's network
 * until net_down.
 */
struct testnet {
	char ns[32], veth[16];
	int sub;
	pid_t listener;
	int lock;
};

static int sh(const char *cmd)
{
	return system(ct_fmt("%s >/dev/null 2>&1", cmd));
}

static void net_down(struct testnet *t)
{
	if (t->listener > 0) {
		kill(t->listener, SIGKILL);
		waitpid(t->listener, NULL, 0);
		t->listener = 0;
	}
	sh(ct_fmt("ip route del 169.254.169.254/32 via 10.231.%d.2", t->sub));
	sh(ct_fmt("ip link del %s", t->veth));
	sh(ct_fmt("ip netns del %s", t->ns));
	if (t->lock > 0) {
		close(t->lock);
		t->lock = -1;
	}
}

static struct testnet *net_current;

/* a failed assertion ends the test's process: the host's network is restored all the same */
static void net_down_at_exit(void)
{
	if (net_current)
		net_down(net_current);
}

static void net_up(struct testnet *t)
{
	const char *listen_py = "import socket, time\n"
				"s = socket.socket()\n"
				"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
				"s.bind(('0.0.0.0', 18080))\n"
				"s.listen(64)\n"
				"time.sleep(600)\n";

	/* the route to 169.254.169.254 is the host's: one test network at a
	 * time on the machine, whichever checkout's suite runs it */
	t->lock = open("/run/lock/csdk-test-metadata.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	ck_assert_int_ge(t->lock, 0);
	ck_assert_int_eq(flock(t->lock, LOCK_EX), 0);
	/* left by a test that was killed before its clean-up (a test timeout
	 * is a SIGKILL): the route, and the test networks of processes gone */
	sh("ip route del 169.254.169.254/32 2>/dev/null");
	sh("for ns in $(ip netns list | sed -n 's/^\\(csdk-ct-[0-9]*\\).*/\\1/p'); do p=${ns#csdk-ct-}; "
	   "kill -0 \"$p\" 2>/dev/null || { ip netns del \"$ns\"; ip link del \"ctv$((p % 100000))\"; }; done");
	net_current = t;
	atexit(net_down_at_exit);
	t->sub = 1 + getpid() % 250;
	snprintf(t->ns, sizeof(t->ns), "csdk-ct-%d", (int)getpid());
	snprintf(t->veth, sizeof(t->veth), "ctv%d", (int)getpid() % 100000);
	ck_assert_int_eq(sh(ct_fmt("ip netns add %s && ip link add %s type veth peer name %sp && ip link set %sp netns %s && "
				   "ip addr add 10.231.%d.1/24 dev %s && ip link set %s up && "
				   "ip -n %s addr add 10.231.%d.2/24 dev %sp && ip -n %s link set %sp up && ip -n %s link set lo up && "
				   "ip -n %s addr add 169.254.169.254/32 dev lo && ip route add 169.254.169.254/32 via 10.231.%d.2",
				   t->ns, t->veth, t->veth, t->veth, t->ns, t->sub, t->veth, t->veth,
				   t->ns, t->sub, t->veth, t->ns, t->veth, t->ns, t->ns, t->sub)), 0);
	t->listener = fork();
	if (t->listener == 0) {
		execlp("ip", "ip", "netns", "exec", t->ns, "python3", "-c", listen_py, (char *)NULL);
		_exit(127);
	}
	/* listening once a connection from the host succeeds */
	ck_assert_int_eq(sh(ct_fmt("python3 -c \"import socket, time\nfor i in range(600):\n"
				   "    try:\n        socket.create_connection(('10.231.%d.2', 18080), timeout=1).close(); break\n"
				   "    except OSError: time.sleep(0.1)\nelse: raise SystemExit(1)\"", t->sub)), 0);
}

/* errno, or "connected", for each HOST:PORT from inside */
static const char *probe_py(const char *targets)
{
	return ct_fmt("python3 - <<'EOF'\n"
		      "import socket\n"
		      "for t in '%s'.split():\n"
		      "    host, port = t.rsplit(':', 1)\n"
		      "    try:\n"
		      "        socket.create_connection((host, int(port)), timeout=5).close()\n"
		      "        print(t, 'connected')\n"
		      "    except OSError as e:\n"
		      "        print(t, e.errno)\n"
		      "EOF\n", targets);
}

/* Live processes of uid (zombies aside). */
static int uid_processes(unsigned uid)
{
	glob_t g;
	int n = 0;

	if (glob("/proc/[0-9]*/status", 0, NULL, &g) != 0)
		return 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		char line[256];
		int zombie = 0, mine = 0;
		FILE *f = fopen(g.gl_pathv[i], "r");

		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			if (!strncmp(line, "State:", 6) && strchr(line, 'Z'))
				zombie = 1;
			if (!strncmp(line, "Uid:", 4) && (unsigned)strtoul(line + 5, NULL, 10) == uid)
				mine = 1;
		}
		fclose(f);
		n += mine && !zombie;
	}
	globfree(&g);
	return n;
}

/* isolated, as root: the host's 127.0.0.1 (directly and through slirp's
 * 10.0.2.2), its own addresses, slirp's DNS alias and the metadata address
 * fail at once; the test host answers; network=host reaches the metadata
 * stand-in, which shows the test would see a leak; get_url forwards a
 * port; destroy leaves no slirp4netns. */
START_TEST(test_network_isolated)
{
	const char *state = state_dir(_i);
	unsigned uid = 1879048192u + 4096u + (unsigned)getpid() % 100000u;
	char *out = NULL, *err = NULL, *url = NULL;
	struct testnet t = { .listener = 0 };
	csdk_provider *p, *p2, *host;
	csdk_sandbox *sb, *other = NULL;
	int port, fd, ok;

	if (geteuid() != 0) {
		fprintf(stderr, "test_network_isolated: SKIP: needs root: it makes network namespaces, a veth pair and routes on the host for its test host and metadata address\n");
		state_done(state, _i);
		return;
	}
	fd = host_listener(&port);
	net_up(&t);
	p = open_mode_with2(state, _i, "network", "isolated", "sandbox_uid", ct_fmt("%u", uid));
	sb = ct_create(p);
	/* commands through a context of another sandbox_uid: slirp4netns runs as the sandbox's */
	ck_assert_int_eq(csdk_sandbox_get(&other, (p2 = open_mode(state, _i)), csdk_sandbox_id(sb)), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	sb = other;
	p = p2;
	ck_assert_int_eq(ct_run(sb, probe_py(ct_fmt("127.0.0.1:%d 10.0.2.2:%d 10.231.%d.1:%d 10.0.2.3:53 169.254.169.254:18080 10.231.%d.2:18080",
						   port, port, t.sub, port, t.sub)), 0, &out, &err), 0);
	ok = !strcmp(out, ct_fmt("127.0.0.1:%d 111\n10.0.2.2:%d 101\n10.231.%d.1:%d 113\n10.0.2.3:53 113\n169.254.169.254:18080 113\n10.231.%d.2:18080 connected\n",
				 port, port, t.sub, port, t.sub));
	ck_assert_msg(ok, "[%s] network isolated: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);

	/* a server started in the background is served on the host's 127.0.0.1 */
	ck_assert_int_eq(ct_run(sb, "echo isolated-page > page.txt", 0, NULL, NULL), 0);
	ct_background(sb, "exec python3 -m http.server 8000 --bind 0.0.0.0");
	ck_assert_int_eq(csdk_sandbox_get_url(&url, sb, 8000, NULL), 0);
	ck_assert_int_eq(strncmp(url, "http://127.0.0.1:", 17), 0);
	ck_assert_msg(sh(ct_fmt("python3 -c \"import time, urllib.request\nfor i in range(600):\n"
				"    try:\n        b = urllib.request.urlopen('%s/page.txt', timeout=2).read(); break\n"
				"    except OSError: time.sleep(0.1)\nelse: raise SystemExit(1)\nraise SystemExit(b != b'isolated-page\\n')\"", url)) == 0,
		      "[%s] %s/page.txt did not serve the sandbox's page", modes[_i], url);
	csdk_free(url);
	ck_assert_int_gt(uid_processes(uid), 0);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	/* slirp4netns runs as the sandbox's uid, which nothing else of this test uses */
	ck_assert_int_eq(uid_processes(uid), 0);

	/* host: the metadata stand-in answers, so the refusal above is the sandbox's */
	host = open_mode_with(state, _i, "network", "host");
	sb = ct_create(host);
	ck_assert_int_eq(ct_run(sb, probe_py("169.254.169.254:18080"), 0, &out, &err), 0);
	ck_assert_msg(!strcmp(out, "169.254.169.254:18080 connected\n"), "[%s] network host: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(host);
	net_down(&t);
	net_current = NULL;
	close(fd);
	state_done(state, _i);
}
END_TEST

/* A listener on an IPv6 address of the host (-1 when the host has no IPv6). */
static int host_listener6(const char *addr, int *port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6 };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET6, addr, &a.sin6_addr) != 1 || setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin6_port);
	return fd;
}

/* The host's global IPv6 addresses, "A:PORT" each (A in full), space-separated, from
 * /proc/net/if_inet6 (scope 00); *n gets how many. */
static const char *global_ipv6(int port, int *n)
{
	char hex[33], dev[32], line[256], *list = ct_fmt("%s", "");
	unsigned idx, plen, scope, flags;
	FILE *f = fopen("/proc/net/if_inet6", "r");

	*n = 0;
	while (f && fgets(line, sizeof(line), f)) {
		char a[40] = "";

		if (sscanf(line, "%32s %x %x %x %x %31s", hex, &idx, &plen, &scope, &flags, dev) != 6 || scope != 0)
			continue;
		for (int i = 0; i < 8; i++)
			snprintf(a + strlen(a), sizeof(a) - strlen(a), "%s%.4s", i ? ":" : "", hex + 4 * i);
		list = ct_fmt("%s%s%s:%d", list, *n ? " " : "", a, port);
		(*n)++;
	}
	if (f)
		fclose(f);
	return list;
}

/* isolated and IPv6: the sandbox's namespace has IPv6 on its loopback and
 * a link-local address on slirp4netns's tap0, which forwards no IPv6 (no
 * --enable-ipv6): the host's ::1 is the sandbox's own (ECONNREFUSED), the
 * host's global IPv6 addresses and slirp's IPv6 host alias fd00::2 have no
 * route (ENETUNREACH); network=host reaches the host's ::1, which shows
 * the test would see a leak. */
START_TEST(test_network_isolated_ipv6)
{
	const char *state = ct_tmpdir(), *globals, *want;
	char *out = NULL, *err = NULL;
	csdk_provider *p;
	csdk_sandbox *sb;
	int port, gport, fd, gfd, n;

	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		fprintf(stderr, "test_network_isolated_ipv6: SKIP: network=isolated is unavailable to uid %u: /dev/net/tun is not readable and writable by it (%s)\n",
			(unsigned)geteuid(), strerror(errno));
		return;
	}
	if ((fd = host_listener6("::1", &port)) < 0) {
		fprintf(stderr, "test_network_isolated_ipv6: SKIP: this host has no IPv6 loopback (%s)\n", strerror(errno));
		return;
	}
	gfd = host_listener6("::", &gport);
	ck_assert_int_ge(gfd, 0);
	globals = global_ipv6(gport, &n);
	p = ct_open(state, "bwrap", "network", "isolated", NULL);
	sb = ct_create(p);
	ck_assert_int_eq(ct_run(sb, probe_py(ct_fmt("::1:%d fd00::2:%d %s", port, gport, globals)), 0, &out, &err), 0);
	want = ct_fmt("::1:%d 111\nfd00::2:%d 101\n", port, gport);
	for (const char *g = globals; *g;) {
		size_t len = strcspn(g, " ");

		want = ct_fmt("%s%.*s 101\n", want, (int)len, g);
		g += len + (g[len] == ' ');
	}
	ck_assert_msg(!strcmp(out, want), "network isolated, IPv6 (%d global addresses): '%s' / '%s', expected '%s'", n, out, err, want);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);

	p = ct_open(state, "bwrap", "network", "host", NULL);
	sb = ct_create(p);
	ck_assert_int_eq(ct_run(sb, probe_py(ct_fmt("::1:%d", port)), 0, &out, &err), 0);
	ck_assert_msg(!strcmp(out, ct_fmt("::1:%d connected\n", port)), "network host, IPv6: '%s' / '%s'", out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	close(gfd);
	close(fd);
}
END_TEST

/* Without slirp4netns: isolated is one clear line; unset, none. */
START_TEST(test_network_no_slirp)
{
	const char *path = ct_fmt("%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	const char *state = ct_tmpdir();
	char *meta = NULL;
	csdk_provider *p;
	csdk_sandbox *sb = NULL;
	FILE *f;
	long n;

	/* bwrap's trial run (it runs true from PATH) is made and cached first */
	p = ct_open(state, "bwrap", "network", "none", NULL);
	sb = ct_create(p);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	sb = NULL;
	/* bwrap is found in /usr/bin without PATH, slirp4netns only in PATH */
	setenv("PATH", "/nonexistent", 1);
	p = ct_open(state, "bwrap", "network", "isolated", NULL);
	ck_assert_int_eq(csdk_sandbox_create(&sb, p, NULL), CSDK_EBACKEND);
	ck_assert_str_eq(csdk_error_last()->message,
			 "network 'isolated' needs slirp4netns (slirp4netns is not in PATH); install it (apt-get install slirp4netns) or set network to none or host (CSDK_LOCAL_NETWORK)");
	csdk_provider_close(p);
	p = ct_open(state, "bwrap", NULL);
	sb = ct_create(p);
	setenv("PATH", path, 1);
	f = fopen(ct_fmt("%s/meta.json", ct_sandbox_dir(state, sb)), "r");
	ck_assert_ptr_nonnull(f);
	meta = calloc(1, 65536);
	n = (long)fread(meta, 1, 65535, f);
	fclose(f);
	ck_assert_msg(n > 0 && strstr(meta, "\"network\":\"none\""), "meta.json: %s", meta);
	free(meta);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
}
END_TEST

/* A slirp4netns that fails: the command is not run, and the error carries
 * slirp4netns's first line and where its log is. */
START_TEST(test_network_slirp_fails)
{
	const char *path = ct_fmt("%s", getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	const char *state = ct_tmpdir(), *bin = ct_fmt("/tmp/%s-bin-XXXXXX", ct_marker());
	csdk_result *res = NULL;
	csdk_provider *p;
	csdk_sandbox *sb;
	FILE *f;

	if (access("/dev/net/tun", R_OK | W_OK) != 0) {
		fprintf(stderr, "test_network_slirp_fails: SKIP: network=isolated is unavailable to uid %u: /dev/net/tun is not readable and writable by it (%s)\n",
			(unsigned)geteuid(), strerror(errno));
		return;
	}
	ck_assert_msg(mkdtemp((char *)bin) != NULL, "cannot make %s", bin);
	ck_assert_int_eq(chmod(bin, 0755), 0);
	f = fopen(ct_fmt("%s/slirp4netns", bin), "w");
	ck_assert_ptr_nonnull(f);
	fputs("#!/bin/sh\necho 'WARNING: a warning first' >&2\necho 'fake: no network today' >&2\nexit 1\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(ct_fmt("%s/slirp4netns", bin), 0755), 0);
	setenv("PATH", ct_fmt("%s:%s", bin, path), 1);
	p = ct_open(state, "bwrap", "network", "isolated", NULL);
	setenv("PATH", path, 1);
	sb = ct_create(p);
	ck_assert_int_eq(csdk_sandbox_run_command(&res, sb, "echo ran > ran.txt", NULL), CSDK_EBACKEND);
	ck_assert_str_eq(csdk_error_last()->message,
			 ct_fmt("slirp4netns did not set up the network of sandbox %s: fake: no network today (%s/slirp4netns.log)",
				csdk_sandbox_id(sb), ct_sandbox_dir(state, sb)));
	ck_assert_int_eq(access(ct_fmt("%s/home/ran.txt", ct_sandbox_dir(state, sb)), F_OK), -1);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	ck_assert_int_eq(system(ct_fmt("rm -rf '%s'", bin)), 0);
}
END_TEST

static const char *read_file(const char *path)
{
	char buf[64] = "";
	FILE *f = fopen(path, "r");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert_msg(fgets(buf, sizeof(buf), f) != NULL, "cannot read %s", path);
	fclose(f);
	return ct_fmt("%s", buf);
}

struct said {
	pthread_mutex_t lock;
	int n;
	char first[512];
};

static void count_cgroup_warnings(enum csdk_log_level level, const char *provider, const char *message, void *userdata)
{
	struct said *sd = userdata;

	if (level != CSDK_LOG_WARN || !provider || strcmp(provider, "local") || strncmp(message, "no cgroup", 9))
		return;
	pthread_mutex_lock(&sd->lock);
	if (!sd->n++)
		snprintf(sd->first, sizeof(sd->first), "%s", message);
	pthread_mutex_unlock(&sd->lock);
}

/* Without a writable pids controller (a normal user under cgroup v1) the
 * first create of a state directory says, once, that only the rlimits
 * apply; later creates, other contexts and other processes on that state
 * directory do not say it again (STATE/no-cgroups). As root with the
 * controller: never said, and sandboxes get pids.max 4096. */
START_TEST(test_no_cgroups_said_once)
{
	const char *state = ct_tmpdir();
	struct said sd = { PTHREAD_MUTEX_INITIALIZER, 0, "" };
	int cgroups = geteuid() == 0 && access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) == 0;
	csdk_provider *p;
	csdk_sandbox *sb;
	int i, j;

	csdk_set_log_handler(count_cgroup_warnings, &sd);
	for (i = 0; i < 2; i++) {
		p = ct_open(state, "bwrap", "network", "none", NULL);
		for (j = 0; j < 2; j++) {
			sb = ct_create(p);
			if (cgroups)
				ck_assert_str_eq(read_file(ct_fmt("/sys/fs/cgroup/pids/csdk/%s/pids.max", csdk_sandbox_id(sb))), "4096\n");
			ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
			csdk_sandbox_free(sb);
		}
		csdk_provider_close(p);
	}
	csdk_set_log_handler(NULL, NULL);
	if (cgroups) {
		ck_assert_int_eq(sd.n, 0);
		ck_assert_int_eq(access(ct_fmt("%s/no-cgroups", state), F_OK), -1);
		return;
	}
	ck_assert_int_eq(sd.n, 1);
	ck_assert_str_eq(sd.first, "no cgroup v1 pids controller writable at /sys/fs/cgroup/pids: sandboxes have no process limit of their own, "
				   "only the rlimits processes, memory and cpu_time; run as root, or set processes (CSDK_LOCAL_PROCESSES)");
	ck_assert_int_eq(access(ct_fmt("%s/no-cgroups", state), F_OK), 0);
}
END_TEST

/* pids=32: forks fail with EAGAIN inside, all commands of the sandbox
 * count together, and destroy removes the cgroup. */
START_TEST(test_pids)
{
	const char *state = state_dir(_i);
	csdk_provider *p;
	csdk_sandbox *sb;
	char *out = NULL, *err = NULL, id[64];
	int n = -1, e = -1;

	if (access("/sys/fs/cgroup/pids/cgroup.procs", W_OK) != 0) {
		fprintf(stderr, "test_pids: SKIP: %s\n", ct_no_cgroup("pids"));
		state_done(state, _i);
		return;
	}
	p = open_mode_with(state, _i, "pids", "32");
	sb = ct_create(p);
	snprintf(id, sizeof(id), "%s", csdk_sandbox_id(sb));
	ck_assert_str_eq(read_file(ct_fmt("/sys/fs/cgroup/pids/csdk/%s/pids.max", id)), "32\n");
	ck_assert_int_eq(ct_run(sb,
		"python3 - <<'EOF'\n"
		"import os, time\n"
		"n = 0\n"
		"try:\n"
		"    while n < 100:\n"
		"        if os.fork() == 0:\n"
		"            time.sleep(60)\n"
		"            os._exit(0)\n"
		"        n += 1\n"
		"except BlockingIOError as e:\n"
		"    print(n, e.errno)\n"
		"EOF\n", 0, &out, &err), 0);
	ck_assert_msg(sscanf(out, "%d %d", &n, &e) == 2 && e == 11 && n >= 16 && n < 32,
		      "[%s] pids=32: '%s' / '%s'", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	ck_assert_msg(access(ct_fmt("/sys/fs/cgroup/pids/csdk/%s", id), F_OK) != 0, "the cgroup of %s outlived destroy", id);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	state_done(state, _i);
}
END_TEST

/* memory_max=64M: a 200 MiB allocation is killed by the kernel (137) and,
 * in direct mode, the plugin says why; 10 MiB works; destroy removes the cgroup. */
START_TEST(test_memory_max)
{
	const char *state = state_dir(_i);
	csdk_provider *p;
	csdk_sandbox *sb;
	char *out = NULL, *err = NULL, id[64];
	const char *note = "csdk-local: the sandbox reached memory_max (67108864 bytes); the kernel killed a process; raise memory_max (CSDK_LOCAL_MEMORY_MAX)\n";

	if (access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) != 0) {
		fprintf(stderr, "test_memory_max: SKIP: %s\n", ct_no_cgroup("memory"));
		state_done(state, _i);
		return;
	}
	p = open_mode_with(state, _i, "memory_max", "64M");
	sb = ct_create(p);
	snprintf(id, sizeof(id), "%s", csdk_sandbox_id(sb));
	ck_assert_str_eq(read_file(ct_fmt("/sys/fs/cgroup/memory/csdk/%s/memory.limit_in_bytes", id)), "67108864\n");
	ck_assert_int_eq(ct_run(sb, "python3 -c 'b = bytearray(200 << 20); print(len(b))'", 0, &out, &err), 137);
	ck_assert_str_eq(out, "");
	if (_i == 0)
		ck_assert_msg(strlen(err) >= strlen(note) && !strcmp(err + strlen(err) - strlen(note), note), "[direct] stderr: '%s'", err);
	else
		ck_assert_msg(!strstr(err, "csdk-local"), "[gateway] stderr: '%s'", err);
	free(out);
	free(err);
	ck_assert_int_eq(ct_run(sb, "python3 -c 'b = bytearray(10 << 20); print(len(b))'", 0, &out, NULL), 0);
	ck_assert_str_eq(out, "10485760\n");
	free(out);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	ck_assert_msg(access(ct_fmt("/sys/fs/cgroup/memory/csdk/%s", id), F_OK) != 0, "the memory cgroup of %s outlived destroy", id);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	state_done(state, _i);
}
END_TEST

/* cpus=0.5: a 2 s busy loop gets about 1 s of CPU. Only the upper bound is
 * asserted: a loaded machine gives less anyway. */
START_TEST(test_cpus)
{
	const char *state = state_dir(_i);
	csdk_provider *p;
	csdk_sandbox *sb;
	char *out = NULL, *err = NULL, id[64];
	double used = -1;

	if (access("/sys/fs/cgroup/cpu/cgroup.procs", W_OK) != 0) {
		fprintf(stderr, "test_cpus: SKIP: %s\n", ct_no_cgroup("cpu"));
		state_done(state, _i);
		return;
	}
	p = open_mode_with(state, _i, "cpus", "0.5");
	sb = ct_create(p);
	snprintf(id, sizeof(id), "%s", csdk_sandbox_id(sb));
	ck_assert_str_eq(read_file(ct_fmt("/sys/fs/cgroup/cpu/csdk/%s/cpu.cfs_quota_us", id)), "50000\n");
	ck_assert_str_eq(read_file(ct_fmt("/sys/fs/cgroup/cpu/csdk/%s/cpu.cfs_period_us", id)), "100000\n");
	ck_assert_int_eq(ct_run(sb,
		"python3 -c 'import os, time\n"
		"t = time.time()\n"
		"while time.time() - t < 2:\n"
		"    pass\n"
		"print(os.times().user + os.times().system)'", 0, &out, &err), 0);
	ck_assert_msg(sscanf(out, "%lf", &used) == 1 && used > 0 && used <= 1.25, "[%s] cpus=0.5: %s s of CPU in 2 s (%s)", modes[_i], out, err);
	free(out);
	free(err);
	ck_assert_int_eq(csdk_sandbox_destroy(sb), 0);
	ck_assert_msg(access(ct_fmt("/sys/fs/cgroup/cpu/csdk/%s", id), F_OK) != 0, "the cpu cgroup of %s outlived destroy", id);
	csdk_sandbox_free(sb);
	csdk_provider_close(p);
	state_done(state, _i);
}
END_TEST

START_TEST(test_cpus_bad_value)
{
	struct csdk_kv kv[3] = { { "state_dir", ct_tmpdir() }, { "isolation", "bwrap" }, { "cpus", "lots" } };
	csdk_provider_options opts = CSDK_PROVIDER_OPTIONS_INIT;
	csdk_provider *p = NULL;

	opts.config = kv;
	opts.n_config = 3;
	ck_assert_int_eq(csdk_provider_open(&p, "local", &opts), CSDK_ECONFIG);
	ck_assert_str_eq(csdk_error_last()->message, "invalid value 'lots' for cpus; use a number of CPUs from 0.01 to 1024, such as 0.5 or 2");
}
END_TEST

static Suite *confinement_suite(void)
{
	Suite *s = suite_create("containment-confinement");
	TCase *tc = tcase_create("confinement");

	tcase_add_unchecked_fixture(tc, NULL, ct_cleanup);
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_no_host_secrets, 0, 2);
	tcase_add_loop_test(tc, test_identity, 0, 2);
	tcase_add_test(tc, test_sandbox_uid_bad_value);
	tcase_add_loop_test(tc, test_seccomp, 0, 2);
	tcase_add_test(tc, test_seccomp_bad_value);
	tcase_add_loop_test(tc, test_network, 0, 2);
	tcase_add_loop_test(tc, test_network_isolated, 0, 2);
	tcase_add_test(tc, test_network_isolated_ipv6);
	tcase_add_test(tc, test_network_no_slirp);
	tcase_add_test(tc, test_network_slirp_fails);
	tcase_add_test(tc, test_no_cgroups_said_once);
	tcase_add_loop_test(tc, test_pids, 0, 2);
	tcase_add_loop_test(tc, test_memory_max, 0, 2);
	tcase_add_loop_test(tc, test_cpus, 0, 2);
	tcase_add_test(tc, test_cpus_bad_value);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr;
	int failed;

	ct_init("confinement");
	sr = srunner_create(confinement_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	ct_reap();
	return failed ? 1 : 0;
}
