#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csdk/plugin.h>

#include "csdkc.h"

static int failures, checks;

#define CHECK(cond) do { checks++; if (!(cond)) { failures++; fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); checks++; if (!a_ || !b_ || strcmp(a_, b_)) { failures++; fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } } while (0)

static char *run_capture(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	char *buf = calloc(1, 65536);
	size_t n;

	n = fread(buf, 1, 65535, p);
	buf[n] = '\0';
	*status = pclose(p);
	return buf;
}

static void test_quote(void)
{
	static const char *const samples[] = { "plain", "a'b", "", "$(echo no) `x` \"q\" \\ *", "'''", NULL };
	char *q = NULL, *cmd, *out, *argv_buf = NULL;
	int i, st;

	csdku_shell_quote(&q, "a'b");
	CHECK_STR(q, "'a'\\''b'");
	free(q);
	for (i = 0; samples[i]; i++) {
		csdku_shell_quote(&q, samples[i]);
		if (asprintf(&cmd, "printf '%%s' %s", q) < 0)
			abort();
		out = run_capture(cmd, &st);
		CHECK_STR(out, samples[i]);
		free(out);
		free(cmd);
		free(q);
	}
	csdku_shell_append(&argv_buf, "python3");
	csdku_shell_append(&argv_buf, "/tmp/a b.py");
	CHECK_STR(argv_buf, "'python3' '/tmp/a b.py'");
	free(argv_buf);
}

static void write_file(const char *path, const char *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		abort();
	close(fd);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	if (!f)
		return NULL;
	buf = malloc(1 << 20);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void test_tar(const char *tmp)
{
	char src[512], dst[512], path[1024], arch[512], err[CSDKC_ERR_MAX], longname[300], target[300];
	char bin[3000];
	size_t i, len;
	int sfd, dfd, afd, rc, st;
	char *s, *listing, cmd[1200];

	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (char)(i * 7);
	snprintf(src, sizeof(src), "%s/src", tmp);
	snprintf(dst, sizeof(dst), "%s/dst", tmp);
	snprintf(arch, sizeof(arch), "%s/a.tar", tmp);
	mkdir(src, 0755);
	mkdir(dst, 0755);
	snprintf(path, sizeof(path), "%s/sub", src);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/sub/bin.dat", src);
	write_file(path, bin, sizeof(bin));
	snprintf(path, sizeof(path), "%s/hello.txt", src);
	write_file(path, "hello\n", 6);
	memset(longname, 'n', 150);
	longname[150] = '\0';
	snprintf(path, sizeof(path), "%s/sub/%s", src, longname);
	write_file(path, "long", 4);
	snprintf(path, sizeof(path), "%s/link", src);
	CHECK(symlink("hello.txt", path) == 0);
	memset(target, 't', 200);
	target[200] = '\0';
	snprintf(path, sizeof(path), "%s/longlink", src);
	CHECK(symlink(target, path) == 0);
	snprintf(path, sizeof(path), "%s/emptydir", src);
	mkdir(path, 0700);

	sfd = open(src, O_RDONLY | O_DIRECTORY);
	afd = open(arch, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	err[0] = '\0';
	rc = csdkc_tar_write_tree(afd, sfd, err, sizeof(err));
	CHECK(rc == 0);
	close(afd);
	close(sfd);

	/* GNU tar must read what we write. */
	snprintf(cmd, sizeof(cmd), "tar -tf %s | sort | tr '\\n' ' '", arch);
	listing = run_capture(cmd, &st);
	CHECK(st == 0);
	snprintf(path, sizeof(path), "emptydir/ hello.txt link longlink sub/ sub/bin.dat sub/%s ", longname);
	CHECK_STR(listing, path);
	free(listing);

	afd = open(arch, O_RDONLY);
	dfd = open(dst, O_RDONLY | O_DIRECTORY);
	rc = csdkc_tar_extract(afd, dfd, err, sizeof(err));
	CHECK(rc == 0);
	close(afd);
	close(dfd);
	snprintf(path, sizeof(path), "%s/sub/bin.dat", dst);
	s = slurp(path, &len);
	CHECK(s && len == sizeof(bin) && !memcmp(s, bin, len));
	free(s);
	snprintf(path, sizeof(path), "%s/sub/%s", dst, longname);
	s = slurp(path, &len);
	CHECK(s && len == 4 && !memcmp(s, "long", 4));
	free(s);
	snprintf(path, sizeof(path), "%s/longlink", dst);
	len = (size_t)readlink(path, cmd, sizeof(cmd));
	CHECK(len == 200 && !memcmp(cmd, target, 200));
	snprintf(path, sizeof(path), "%s/link", dst);
	len = (size_t)readlink(path, cmd, sizeof(cmd));
	CHECK(len == 9 && !memcmp(cmd, "hello.txt", 9));
	{
		struct stat sb;
		snprintf(path, sizeof(path), "%s/emptydir", dst);
		CHECK(stat(path, &sb) == 0 && S_ISDIR(sb.st_mode));
		snprintf(path, sizeof(path), "%s/hello.txt", dst);
		CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640);
	}

	/* Archives made by other tools: refuse escapes, accept pax and GNU long names. */
	{
		static const struct { const char *py; int rc; const char *msg; } evil[] = {
			{ "t.addfile(tarfile.TarInfo('../evil'), io.BytesIO(b''))", CSDK_EPERM,
			  "archive member '../evil' has an absolute path or a '..' component; refusing to extract it" },
			{ "t.addfile(tarfile.TarInfo('/abs'), io.BytesIO(b''))", CSDK_EPERM,
			  "archive member '/abs' has an absolute path or a '..' component; refusing to extract it" },
			{ "i=tarfile.TarInfo('l'); i.type=tarfile.SYMTYPE; i.linkname='/tmp'; t.addfile(i); t.addfile(tarfile.TarInfo('l/x'), io.BytesIO(b''))", CSDK_EPERM,
			  "archive member 'l/x' goes through a symbolic link or a file; refusing to extract it" },
			{ "i=tarfile.TarInfo('a/../../x'); t.addfile(i, io.BytesIO(b''))", CSDK_EPERM,
			  "archive member 'a/../../x' has an absolute path or a '..' component; refusing to extract it" },
		};
		for (i = 0; i < sizeof(evil) / sizeof(evil[0]); i++) {
			char edir[600];
			snprintf(cmd, sizeof(cmd), "python3 -c \"import tarfile, io; t = tarfile.open('%s/e.tar', 'w', format=tarfile.GNU_FORMAT); %s; t.close()\"", tmp, evil[i].py);
			CHECK(system(cmd) == 0);
			snprintf(edir, sizeof(edir), "%s/e%zu", tmp, i);
			mkdir(edir, 0755);
			snprintf(path, sizeof(path), "%s/e.tar", tmp);
			afd = open(path, O_RDONLY);
			dfd = open(edir, O_RDONLY | O_DIRECTORY);
			err[0] = '\0';
			rc = csdkc_tar_extract(afd, dfd, err, sizeof(err));
			CHECK(rc == evil[i].rc);
			CHECK_STR(err, evil[i].msg);
			close(afd);
			close(dfd);
		}
		snprintf(path, sizeof(path), "%s/evil", tmp);
		CHECK(access(path, F_OK) != 0);
	}
	{
		const char *fmts[] = { "PAX_FORMAT", "GNU_FORMAT" };
		for (i = 0; i < 2; i++) {
			char edir[600];
			snprintf(cmd, sizeof(cmd), "python3 -c \"import tarfile, io; t = tarfile.open('%s/p.tar', 'w', format=tarfile.%s); i = tarfile.TarInfo('d/' + 'x' * 180); i.size = 3; t.addfile(i, io.BytesIO(b'abc')); t.close()\"", tmp, fmts[i]);
			CHECK(system(cmd) == 0);
			snprintf(edir, sizeof(edir), "%s/p%zu", tmp, i);
			mkdir(edir, 0755);
			snprintf(path, sizeof(path), "%s/p.tar", tmp);
			afd = open(path, O_RDONLY);
			dfd = open(edir, O_RDONLY | O_DIRECTORY);
			CHECK(csdkc_tar_extract(afd, dfd, err, sizeof(err)) == 0);
			close(afd);
			close(dfd);
			memset(longname, 'x', 180);
			longname[180] = '\0';
			snprintf(path, sizeof(path), "%s/d/%s", edir, longname);
			s = slurp(path, &len);
			CHECK(s && len == 3 && !memcmp(s, "abc", 3));
			free(s);
		}
	}
}

struct sample { const char *runtime, *ext, *code; int syntax; const char *msg; };

static void test_syntax(const char *tmp)
{
	static const struct sample samples[] = {
		{ "python", "py", "print(\n", 1, "SyntaxError: '(' was never closed (line 1)" },
		{ "python", "py", "if True:\nprint(1)\n", 1, "IndentationError: expected an indented block after 'if' statement on line 1 (line 2)" },
		{ "python", "py", "raise SyntaxError('boom')\n", 0, NULL },
		{ "python", "py", "exec('x = (')\n", 0, NULL },
		{ "python", "py", "1/0\n", 0, NULL },
		{ "node", "js", "console.log(\n", 1, "SyntaxError: Unexpected end of input (line 2)" },
		{ "node", "js", "let a = 1;\nlet a = 2;\n", 1, "SyntaxError: Identifier 'a' has already been declared (line 2)" },
		{ "node", "js", "throw new SyntaxError('boom');\n", 0, NULL },
		{ "node", "js", "JSON.parse('{');\n", 0, NULL },
		{ "node", "js", "null.x;\n", 0, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
		char file[600], cmd[800], msg[CSDKC_ERR_MAX] = "";
		char *err;
		int st, code, got;

		snprintf(file, sizeof(file), "%s/code%zu.%s", tmp, i, samples[i].ext);
		write_file(file, samples[i].code, strlen(samples[i].code));
		snprintf(cmd, sizeof(cmd), "%s %s 2>&1 >/dev/null", !strcmp(samples[i].runtime, "python") ? "python3" : "node", file);
		err = run_capture(cmd, &st);
		code = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		got = csdku_syntax_error_classify(msg, sizeof(msg), samples[i].runtime, code, err, strlen(err), file);
		if (got != samples[i].syntax)
			fprintf(stderr, "sample %zu (%s): classified %d, stderr:\n%s\n", i, samples[i].code, got, err);
		CHECK(got == samples[i].syntax);
		if (samples[i].msg)
			CHECK_STR(msg, samples[i].msg);
		free(err);
	}
	CHECK(csdku_syntax_error_classify(NULL, 0, "python", 0, "", 0, "x") == 0);
}

static void test_json(const char *tmp)
{
	char err[CSDKC_ERR_MAX];
	json_t *v = json_pack("{s:s, s:i}", "id", "x", "n", 5), *r = NULL;
	int dfd = open(tmp, O_RDONLY | O_DIRECTORY);

	CHECK(csdkc_json_write_atomic(dfd, "state.json", v, err, sizeof(err)) == 0);
	CHECK(csdkc_json_read(&r, dfd, "state.json", err, sizeof(err)) == 0);
	CHECK(r && json_equal(r, v));
	json_decref(r);
	CHECK(csdkc_json_read(&r, dfd, "missing.json", err, sizeof(err)) == CSDK_ENOTFOUND);
	CHECK(r == NULL);
	json_decref(v);
	close(dfd);
}

/* destroy of csdkc_pool_drain: counts its calls in *ctx, the pool already marked drained; each pool had 2 members */
static long count_drained(void *ctx, const char *dir)
{
	(*(int *)ctx)++;
	CHECK(csdkc_pool_drained(dir));
	return 2;
}

static void test_pool_drain(const char *tmp)
{
	char base[200], shape[300], other[300], want[1024], err[CSDKC_ERR_MAX];
	long n = 1;
	int calls = 0, lock;

	snprintf(base, sizeof(base), "%s/drain", tmp);
	CHECK(mkdir(base, 0700) == 0);
	/* no base/pool yet: nothing to drain */
	CHECK(csdkc_pool_drain(base, 0, "pool_wait", count_drained, &calls, &n, err, sizeof(err)) == 0);
	CHECK(n == 1 && calls == 0);
	/* two pools, and an entry that is none */
	CHECK(csdkc_pool_dir(shape, sizeof(shape), base, "a", err, sizeof(err)) == 0);
	CHECK(csdkc_pool_dir(other, sizeof(other), base, "b", err, sizeof(err)) == 0);
	snprintf(want, sizeof(want), "%s/pool/not-a-shape", base);
	CHECK(mkdir(want, 0700) == 0);
	CHECK(csdkc_pool_drain(base, 0, "pool_wait", count_drained, &calls, &n, err, sizeof(err)) == 0);
	CHECK(n == 5 && calls == 2);
	CHECK(!csdkc_pool_drained(want));
	/* a pool whose refiller holds the lock past wait_ms */
	snprintf(base, sizeof(base), "%s/drain-held", tmp);
	CHECK(mkdir(base, 0700) == 0);
	CHECK(csdkc_pool_dir(shape, sizeof(shape), base, "a", err, sizeof(err)) == 0);
	CHECK((lock = csdkc_pool_lock(shape, 1)) >= 0);
	CHECK(csdkc_pool_drain(base, 0, "pool_wait", count_drained, &calls, &n, err, sizeof(err)) == CSDK_ETIMEOUT);
	snprintf(want, sizeof(want), "pool drain: the refiller of %s (pid %ld) still holds refill.lock after 0 ms; "
		 "try again, raise pool_wait, or stop it with kill %ld", shape, (long)getpid(), (long)getpid());
	CHECK_STR(err, want);
	CHECK(n == 5 && calls == 2);
	close(lock);
	/* base/pool that is no directory */
	snprintf(base, sizeof(base), "%s/drain/pool/not-a-shape", tmp);
	snprintf(want, sizeof(want), "%s/pool", base);
	CHECK(close(open(want, O_WRONLY | O_CREAT, 0600)) == 0);
	CHECK(csdkc_pool_drain(base, 0, "pool_wait", count_drained, &calls, &n, err, sizeof(err)) == CSDK_EIO);
	snprintf(want, sizeof(want), "cannot read %s/pool: Not a directory", base);
	CHECK_STR(err, want);
}

int main(void)
{
	char tmp[] = "/tmp/csdkp-test-XXXXXX", cmd[100], err[CSDKC_ERR_MAX];
	int dfd;

	if (!mkdtemp(tmp))
		return 99;
	test_quote();
	test_tar(tmp);
	test_syntax(tmp);
	test_json(tmp);
	test_pool_drain(tmp);
	dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
	CHECK(csdkc_remove_tree(dfd, tmp + 5, err, sizeof(err)) == 0);
	CHECK(csdkc_remove_tree(dfd, tmp + 5, err, sizeof(err)) == CSDK_ENOTFOUND);
	close(dfd);
	snprintf(cmd, sizeof(cmd), "test ! -e %s", tmp);
	CHECK(system(cmd) == 0);
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
