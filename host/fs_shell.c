#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base64.h"
#include "builders.h"
#include "error.h"
#include "fs_shell.h"
#include "shellquote.h"
#include "util.h"

/*
 * Each operation is one POSIX sh script run through the plugin's
 * run_command. The script runs in a subshell and its status is printed as
 * the last line ("csdk-fs-end N"), so the outcome does not depend on how the
 * plugin passes exit codes, and a plugin that does not run the script at
 * all (no end line) is told apart from a failing file operation. File
 * contents travel as base64, so a plugin whose output is text-only still
 * moves any bytes.
 */

#define END_MARK "csdk-fs-end "
/* One write command's base64 text: below Linux's 128 KiB limit for one argument. */
#define CHUNK_RAW (48 * 1024)

/* Exit statuses of the scripts. */
enum {
	FS_NOT_FOUND = 3,
	FS_IS_DIR = 4,
	FS_NOT_REGULAR = 5,
	FS_DENIED = 6,
	FS_NOT_DIR = 7,
	FS_PARENT_FILE = 9
};

/* The first line a failed script wrote to stderr, for the message of an unexpected status. */
static _Thread_local char last_stderr[256];

/* Append the bytes base64 text stands for to out: 0, -1 for text that is not base64, CSDK_ENOMEM. */
static int b64_decode(struct csdkp_buf *out, const char *in, size_t len)
{
	unsigned char *bytes;
	size_t n;
	int rc = csdku_b64_decode(&bytes, &n, in, len);

	if (rc)
		return rc == CSDK_EINVAL ? -1 : rc;
	rc = csdkp_buf_append(out, bytes, n) ? CSDK_ENOMEM : 0;
	free(bytes);
	return rc;
}

/*
 * Run script with f set to path; *status is the script's exit status and
 * *output its standard output before the end line (owned by the caller).
 */
static int run_script(csdk_provider *p, void *native, const char *path, const char *script, int *status,
		      struct csdkp_buf *output, const char *op)
{
	struct csdk_run_request req;
	struct csdk_sink sink;
	char *q = NULL, *cmd = NULL, *end, *mark = NULL;
	int exit_code = -1, rc;

	memset(output, 0, sizeof(*output));
	if (csdku_shell_quote(&q, path) || !(cmd = csdkp_printf("f=%s\n(\n%s\n)\nr=$?; echo \"\"; echo \"" END_MARK "$r\"", q, script))) {
		free(q);
		return csdkp_error_oom();
	}
	free(q);
	memset(&req, 0, sizeof(req));
	req.struct_size = sizeof(req);
	memset(&sink, 0, sizeof(sink));
	rc = p->m->run_command(p->ctx, native, cmd, &req, &sink, &exit_code);
	free(cmd);
	if (rc) {
		csdkp_sink_clear(&sink);
		return csdkp_provider_result(p, op, rc);
	}
	for (end = sink.out.data; end && (end = memmem(end, sink.out.len - (size_t)(end - sink.out.data), END_MARK, strlen(END_MARK))); end++)
		mark = end;
	if (!mark || (mark != sink.out.data && mark[-1] != '\n') || sscanf(mark + strlen(END_MARK), "%d", status) != 1) {
		csdkp_sink_clear(&sink);
		return csdkp_error_set(CSDK_EBACKEND, p->name,
			"provider '%s' declares CSDK_CAP_FS_OVER_COMMANDS but its run_command did not run the host's %s script (no end line in its output); the plugin must run commands with a POSIX sh",
			p->name, op);
	}
	/* The script's output ends with the newline echoed before the end line. */
	output->data = sink.out.data;
	output->len = (size_t)(mark - sink.out.data);
	if (output->len)
		output->len--;
	output->cap = sink.out.cap;
	sink.out.data = NULL;
	sink.out.len = sink.out.cap = 0;
	last_stderr[0] = '\0';
	if (*status != 0 && sink.err.len) {
		size_t n = strcspn(sink.err.data, "\n");
		snprintf(last_stderr, sizeof(last_stderr), "%.*s", (int)(n < 200 ? n : 200), sink.err.data);
	}
	csdkp_sink_clear(&sink);
	return 0;
}

/* The error for a script status that no operation expects. */
static int failed(csdk_provider *p, const char *what, const char *path, int status)
{
	const char *detail = last_stderr;

	if (status == 127)
		return csdkp_error_set(CSDK_EUNSUPPORTED, p->name,
			"cannot %s '%s': the sandbox lacks a command the host's filesystem needs (%s); it needs sh, base64, mkdir, mv, rm and wc",
			what, path, *detail ? detail : "status 127");
	if (status == FS_DENIED)
		return csdkp_error_set(CSDK_EPERM, p->name, "cannot %s '%s': permission denied; choose a path the sandbox's user may use", what, path);
	return csdkp_error_set(CSDK_EIO, p->name, "cannot %s '%s' in the sandbox: status %d%s%s", what, path, status,
			       *detail ? ": " : "", detail);
}

int csdkp_shell_fs_read(csdk_provider *p, void *native, const char *path, struct csdk_sink *out)
{
	static const char script[] =
		"[ -e \"$f\" ] || exit 3\n[ -d \"$f\" ] && exit 4\n[ -f \"$f\" ] || exit 5\n[ -r \"$f\" ] || exit 6\n"
		"base64 < \"$f\" || exit 8";
	struct csdkp_buf text;
	int status = -1, rc;

	if ((rc = run_script(p, native, path, script, &status, &text, "fs_read")))
		return rc;
	if (status == FS_NOT_FOUND)
		rc = csdkp_error_set(CSDK_ENOTFOUND, p->name, "no such file: %s", path);
	else if (status == FS_IS_DIR)
		rc = csdkp_error_set(CSDK_EINVAL, p->name, "'%s' is a directory; use readdir to list it", path);
	else if (status == FS_NOT_REGULAR)
		rc = csdkp_error_set(CSDK_EINVAL, p->name, "'%s' is not a regular file; only regular files can be read", path);
	else if (status)
		rc = failed(p, "read", path, status);
	else if ((rc = b64_decode(&out->out, text.data ? text.data : "", text.len)) == -1)
		rc = csdkp_error_set(CSDK_EBACKEND, p->name, "cannot read '%s': the sandbox's base64 printed something that is not base64", path);
	free(text.data);
	return rc;
}

static int mkdirs_status(csdk_provider *p, const char *what, const char *path, int status)
{
	if (status == FS_PARENT_FILE)
		return csdkp_error_set(CSDK_EEXISTS, p->name, "'%s' (or one of its parents) exists and is not a directory; remove it first", path);
	return failed(p, what, path, status);
}

/* "mkdir -p $1", telling a file in the way (9) from other failures (6). */
#define MKDIRS(dir) \
	"mkdir -p -- " dir " 2>/dev/null || { d=" dir "; while [ \"$d\" != / ] && [ \"$d\" != . ]; do " \
	"[ -e \"$d\" ] && [ ! -d \"$d\" ] && exit 9; d=$(dirname -- \"$d\"); done; exit 6; }"

int csdkp_shell_fs_mkdir(csdk_provider *p, void *native, const char *path)
{
	struct csdkp_buf text;
	int status = -1, rc;

	if ((rc = run_script(p, native, path, MKDIRS("\"$f\""), &status, &text, "fs_mkdir")))
		return rc;
	free(text.data);
	return status ? mkdirs_status(p, "make the directory", path, status) : 0;
}

/* Append data to tmp in chunks; errors name path, the file the caller asked for. */
static int write_chunks(csdk_provider *p, void *native, const char *path, const char *tmp, const unsigned char *data, size_t len)
{
	struct csdkp_buf text;
	int status = -1, rc = 0;

	for (size_t at = 0; rc == 0 && at < len; at += CHUNK_RAW) {
		size_t n = len - at < CHUNK_RAW ? len - at : CHUNK_RAW;
		char *b64 = csdku_b64_encode(data + at, n), *script;

		if (!b64 || !(script = csdkp_printf("printf '%%s' '%s' | base64 -d >> \"$f\" || exit 8", b64))) {
			free(b64);
			return csdkp_error_oom();
		}
		free(b64);
		rc = run_script(p, native, tmp, script, &status, &text, "fs_write");
		free(script);
		free(text.data);
		if (rc == 0 && status)
			rc = failed(p, "write", path, status);
	}
	return rc;
}

int csdkp_shell_fs_write(csdk_provider *p, void *native, const char *path, const void *data, size_t len)
{
	static const char begin[] =
		"[ -d \"$f\" ] && exit 4\n" MKDIRS("\"$(dirname -- \"$f\")\"") "\n: > \"$f.csdk-part\" 2>/dev/null || exit 6";
	static const char finish[] = "mv -f -- \"$f.csdk-part\" \"$f\" || exit 6";
	static const char abandon[] = "rm -f -- \"$f.csdk-part\"";
	struct csdkp_buf text;
	char *tmp;
	int status = -1, rc;

	if ((rc = run_script(p, native, path, begin, &status, &text, "fs_write")))
		return rc;
	free(text.data);
	if (status == FS_IS_DIR)
		return csdkp_error_set(CSDK_EINVAL, p->name, "'%s' is a directory; give a file path to write", path);
	if (status == FS_PARENT_FILE)
		return csdkp_error_set(CSDK_EINVAL, p->name, "cannot write '%s': a parent of it is a file; remove that file or choose another path", path);
	if (status)
		return failed(p, "write", path, status);
	if (!(tmp = csdkp_printf("%s.csdk-part", path)))
		return csdkp_error_oom();
	rc = write_chunks(p, native, path, tmp, data, len);
	free(tmp);
	if (rc == 0 && (rc = run_script(p, native, path, finish, &status, &text, "fs_write")) == 0) {
		free(text.data);
		if (status)
			rc = failed(p, "write", path, status);
	}
	if (rc && run_script(p, native, path, abandon, &status, &text, "fs_write") == 0)
		free(text.data);
	return rc;
}

int csdkp_shell_fs_exists(csdk_provider *p, void *native, const char *path, int *exists_out)
{
	struct csdkp_buf text;
	int status = -1, rc;

	if ((rc = run_script(p, native, path, "[ -e \"$f\" ] || [ -L \"$f\" ] || exit 3", &status, &text, "fs_exists")))
		return rc;
	free(text.data);
	if (status && status != FS_NOT_FOUND)
		return failed(p, "look for", path, status);
	*exists_out = status == 0;
	return 0;
}

int csdkp_shell_fs_remove(csdk_provider *p, void *native, const char *path)
{
	struct csdkp_buf text;
	int status = -1, rc;

	if ((rc = run_script(p, native, path, "[ -e \"$f\" ] || [ -L \"$f\" ] || exit 3\nrm -rf -- \"$f\" || exit 6",
			     &status, &text, "fs_remove")))
		return rc;
	free(text.data);
	if (status == FS_NOT_FOUND)
		return csdkp_error_set(CSDK_ENOTFOUND, p->name, "no such file or directory: %s", path);
	return status ? failed(p, "remove", path, status) : 0;
}

/* One "TYPE SIZE MTIME BASE64NAME" line of the readdir script. */
static int add_entry(struct csdk_dir *dir, const struct csdk_host *host, char *line)
{
	char type, name64[4096];
	unsigned long long size;
	long long mtime;
	struct csdkp_buf name = { NULL, 0, 0 };
	int rc;

	if (sscanf(line, "%c %llu %lld %4095s", &type, &size, &mtime, name64) != 4 ||
	    b64_decode(&name, name64, strlen(name64)) || csdkp_buf_append(&name, "", 1)) {
		free(name.data);
		return -1;
	}
	rc = host->dir_add(dir, name.data, type == 'd' ? CSDK_ENTRY_DIRECTORY : type == 'f' ? CSDK_ENTRY_FILE : CSDK_ENTRY_OTHER,
			   size, mtime * 1000);
	free(name.data);
	return rc;
}

int csdkp_shell_fs_readdir(csdk_provider *p, void *native, const char *path, struct csdk_dir *out)
{
	static const char script[] =
		"[ -e \"$f\" ] || exit 3\n[ -d \"$f\" ] || exit 7\ncd -- \"$f\" || exit 6\n"
		"for n in * .[!.]* ..?*; do\n"
		"  [ -e \"$n\" ] || [ -L \"$n\" ] || continue\n"
		"  if [ -L \"$n\" ]; then t=o; elif [ -d \"$n\" ]; then t=d; elif [ -f \"$n\" ]; then t=f; else t=o; fi\n"
		"  s=0; [ $t = f ] && s=$(($(wc -c < \"$n\")))\n"
		"  m=$(stat -c %Y -- \"$n\" 2>/dev/null || date -r \"$n\" +%s 2>/dev/null || echo 0)\n"
		"  printf '%s %s %s ' $t $s \"$m\"; printf '%s' \"$n\" | base64 | tr -d '\\n'; echo\n"
		"done";
	struct csdkp_buf text;
	char *line, *save = NULL;
	int status = -1, rc;

	if ((rc = run_script(p, native, path, script, &status, &text, "fs_readdir")))
		return rc;
	if (status == FS_NOT_FOUND)
		rc = csdkp_error_set(CSDK_ENOTFOUND, p->name, "no such directory: %s", path);
	else if (status == FS_NOT_DIR)
		rc = csdkp_error_set(CSDK_EINVAL, p->name, "'%s' is not a directory; use read for files", path);
	else if (status)
		rc = failed(p, "list", path, status);
	else if (text.len && csdkp_buf_append(&text, "", 1))
		rc = csdkp_error_oom();
	for (line = rc || !text.len ? NULL : strtok_r(text.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (add_entry(out, &p->host, line)) {
			rc = csdkp_error_set(CSDK_EBACKEND, p->name, "cannot list '%s': the sandbox's shell printed an entry the host cannot read ('%.60s')", path, line);
			break;
		}
	free(text.data);
	return rc;
}
