/* filesystem.Filesystem: Stat, ListDir, MakeDir, Move, Remove. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "request.h"

#define AGENT_MAX_ENTRIES 100000

char *agent_fs_resolve(const char *path)
{
	char cwd[PATH_MAX];
	const char *base = agent_cfg.workdir;

	if (!base)
		base = getcwd(cwd, sizeof cwd) ? cwd : "/";
	return agent_path_resolve(path, base, getenv("HOME"));
}

/* Go's os.FileMode.String(), which envd sends as "permissions". */
static void agent_mode_string(mode_t m, char out[16])
{
	static const char rwx[] = "rwxrwxrwx";
	size_t o = 0;

	if (S_ISDIR(m))
		out[o++] = 'd';
	if (S_ISLNK(m))
		out[o++] = 'L';
	if (S_ISBLK(m))
		out[o++] = 'D';
	if (S_ISFIFO(m))
		out[o++] = 'p';
	if (S_ISSOCK(m))
		out[o++] = 'S';
	if (m & S_ISUID)
		out[o++] = 'u';
	if (m & S_ISGID)
		out[o++] = 'g';
	if (S_ISCHR(m)) {
		out[o++] = 'D';
		out[o++] = 'c';
	}
	if (m & S_ISVTX)
		out[o++] = 't';
	if (o == 0)
		out[o++] = '-';
	for (int i = 0; i < 9; i++)
		out[o++] = m & (1u << (8 - i)) ? rwx[i] : '-';
	out[o] = '\0';
}

/* Name of an id from /etc/passwd or /etc/group; static binaries have no NSS. */
static void agent_id_name(const char *file, unsigned id, char *out, size_t n)
{
	char line[1024];
	FILE *f = fopen(file, "re");

	snprintf(out, n, "%u", id);
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *name = line, *c1 = strchr(line, ':'), *c2, *end;
		if (!c1 || !(c2 = strchr(c1 + 1, ':')))
			continue;
		*c1 = '\0';
		if (strtoul(c2 + 1, &end, 10) == id && *end == ':' && end > c2 + 1) {
			snprintf(out, n, "%.*s", (int)n - 1, name);
			break;
		}
	}
	fclose(f);
}

static const char *agent_type_name(mode_t m)
{
	if (S_ISREG(m))
		return "FILE_TYPE_FILE";
	if (S_ISDIR(m))
		return "FILE_TYPE_DIRECTORY";
	if (S_ISLNK(m))
		return "FILE_TYPE_SYMLINK";
	return "FILE_TYPE_UNSPECIFIED";
}

/* protojson Timestamp: RFC 3339, UTC, 0, 3, 6 or 9 fractional digits. */
static void agent_timestamp(const struct timespec *ts, char out[64])
{
	struct tm tm;
	long ns = ts->tv_nsec;
	size_t o;

	gmtime_r(&ts->tv_sec, &tm);
	o = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	if (ns % 1000000 == 0 && ns)
		snprintf(out + o, 24, ".%03ldZ", ns / 1000000);
	else if (ns % 1000 == 0 && ns)
		snprintf(out + o, 24, ".%06ldZ", ns / 1000);
	else if (ns)
		snprintf(out + o, 24, ".%09ldZ", ns);
	else
		snprintf(out + o, 24, "Z");
}

static void agent_entry_symlink(json_t *e, const char *path, struct stat *st, mode_t *type, mode_t *perm)
{
	char *target = realpath(path, NULL);
	struct stat ts;

	json_object_set_new(e, "symlinkTarget", json_string(target ? target : path));
	if (target && stat(target, &ts) == 0) {
		*type = ts.st_mode;
		*perm = ts.st_mode & 0777;
	} else {
		*type = 0;
		*perm = 0;
	}
	free(target);
}

/* envd's EntryInfo: lstat, a symlink reports its target's type and mode. */
json_t *agent_entry_info(const char *path, struct agent_err *err)
{
	struct stat st;
	json_t *e;
	const char *slash = strrchr(path, '/');
	char perms[16], owner[256], group[256], mtime[64], size[32];
	mode_t type, perm;

	if (lstat(path, &st) < 0) {
		agent_err_set(err, errno == ENOENT || errno == ENOTDIR ? "not_found" : "internal",
			      "%s: lstat %s: %s", errno == ENOENT || errno == ENOTDIR ?
			      "file not found" : "error getting file info", path, strerror(errno));
		return NULL;
	}
	e = json_object();
	type = st.st_mode;
	perm = st.st_mode & 0777;
	if (S_ISLNK(st.st_mode))
		agent_entry_symlink(e, path, &st, &type, &perm);
	agent_mode_string(st.st_mode, perms);
	agent_id_name("/etc/passwd", st.st_uid, owner, sizeof owner);
	agent_id_name("/etc/group", st.st_gid, group, sizeof group);
	agent_timestamp(&st.st_mtim, mtime);
	snprintf(size, sizeof size, "%lld", (long long)st.st_size);
	json_object_set_new(e, "name", json_string(slash && slash[1] ? slash + 1 : path));
	json_object_set_new(e, "type", json_string(agent_type_name(type)));
	json_object_set_new(e, "path", json_string(path));
	json_object_set_new(e, "size", json_string(size));
	json_object_set_new(e, "mode", json_integer(perm));
	json_object_set_new(e, "permissions", json_string(perms));
	json_object_set_new(e, "owner", json_string(owner));
	json_object_set_new(e, "group", json_string(group));
	json_object_set_new(e, "modifiedTime", json_string(mtime));
	return e;
}

static char *agent_path_arg(json_t *msg, const char *key, struct agent_err *err)
{
	char *raw, *path;

	if (agent_parse_string(msg, key, &raw, err) < 0)
		return NULL;
	path = agent_fs_resolve(raw ? raw : "");
	free(raw);
	if (!path)
		agent_err_set(err, "invalid_argument", "%s: path too long", key);
	return path;
}

static json_t *agent_wrap_entry(const char *path, struct agent_err *err)
{
	json_t *e = agent_entry_info(path, err);

	return e ? json_pack("{s:o}", "entry", e) : NULL;
}

json_t *agent_fs_stat(json_t *msg, struct agent_err *err)
{
	char *path = agent_path_arg(msg, "path", err);
	json_t *out = path ? agent_wrap_entry(path, err) : NULL;

	free(path);
	return out;
}

static int agent_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **agent_sorted_names(const char *dir, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, **nn;
	size_t n = 0, cap = 0;

	*count = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			nn = realloc(names, cap * sizeof *names);
			if (!nn)
				break;
			names = nn;
		}
		if (!(names[n] = strdup(de->d_name)))
			break;
		n++;
	}
	closedir(d);
	if (names)
		qsort(names, n, sizeof *names, agent_name_cmp);
	*count = n;
	return names;
}

static char *agent_join(const char *dir, const char *name)
{
	char *out = NULL;

	if (asprintf(&out, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name) < 0)
		return NULL;
	return out;
}

struct agent_walk_dir {
	char **names;
	size_t n, i;
	char *real, *shown;
	unsigned depth;
};

static int agent_walk_push(struct agent_walk_dir **stack, size_t *top, size_t *cap, char *real,
			   char *shown, unsigned depth)
{
	struct agent_walk_dir *d;

	if (*top == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct agent_walk_dir *ns = realloc(*stack, nc * sizeof *ns);
		if (!ns)
			return -1;
		*stack = ns;
		*cap = nc;
	}
	d = &(*stack)[(*top)++];
	d->names = agent_sorted_names(real, &d->n);
	d->i = 0;
	d->real = real;
	d->shown = shown;
	d->depth = depth;
	return 0;
}

static void agent_walk_pop(struct agent_walk_dir *stack, size_t *top)
{
	struct agent_walk_dir *d = &stack[--*top];

	for (size_t i = d->i; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->real);
	free(d->shown);
}

/* Depth first in name order, with an explicit stack: a deep tree cannot
 * overflow a thread's stack. Entries are listed under the requested path
 * even when it is a symlink. */
static void agent_walk(json_t *list, const char *real, const char *shown, unsigned depth)
{
	struct agent_walk_dir *stack = NULL, *d;
	size_t top = 0, cap = 0;
	struct agent_err err;
	struct stat st;
	char *r0 = strdup(real), *s0 = strdup(shown);

	if (!r0 || !s0 || agent_walk_push(&stack, &top, &cap, r0, s0, depth) < 0) {
		free(r0);
		free(s0);
		free(stack);
		return;
	}
	while (top > 0) {
		char *rp, *sp, *name;
		json_t *e = NULL;
		d = &stack[top - 1];
		if (d->i == d->n || json_array_size(list) >= AGENT_MAX_ENTRIES) {
			agent_walk_pop(stack, &top);
			continue;
		}
		name = d->names[d->i++];
		rp = agent_join(d->real, name);
		sp = agent_join(d->shown, name);
		free(name);
		if (rp && sp && (e = agent_entry_info(rp, &err))) {
			json_object_set_new(e, "path", json_string(sp));
			json_array_append_new(list, e);
		}
		if (e && d->depth > 1 && lstat(rp, &st) == 0 && S_ISDIR(st.st_mode) &&
		    agent_walk_push(&stack, &top, &cap, rp, sp, d->depth - 1) == 0)
			continue;
		free(rp);
		free(sp);
	}
	free(stack);
}

json_t *agent_fs_list_dir(json_t *msg, struct agent_err *err)
{
	char *path = agent_path_arg(msg, "path", err), *real = NULL;
	uint32_t depth = 0;
	struct stat st;
	json_t *list = NULL;

	if (!path || agent_parse_uint32(msg, "depth", &depth, err) < 0)
		goto out;
	real = realpath(path, NULL);
	if (!real) {
		agent_err_set(err, errno == ENOENT || errno == ENOTDIR ? "not_found" : "internal",
			      "path not found: lstat %s: %s", path, strerror(errno));
		goto out;
	}
	if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
		agent_err_set(err, "invalid_argument", "path is not a directory: %s", real);
		goto out;
	}
	list = json_array();
	agent_walk(list, real, path, depth ? depth : 1);
out:
	free(path);
	free(real);
	return list ? json_pack("{s:o}", "entries", list) : NULL;
}

static int agent_mkdirs(const char *path, struct agent_err *err)
{
	char buf[PATH_MAX];
	size_t n = strlen(path);

	if (n >= sizeof buf)
		goto fail;
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			goto fail;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		goto fail;
	return 0;
fail:
	agent_err_set(err, "internal", "error creating directory %s: %s", path, strerror(errno));
	return -1;
}

int agent_fs_mkdirs(const char *path, struct agent_err *err)
{
	return agent_mkdirs(path, err);
}

json_t *agent_fs_make_dir(json_t *msg, struct agent_err *err)
{
	char *path = agent_path_arg(msg, "path", err);
	struct stat st;
	json_t *out = NULL;

	if (!path)
		return NULL;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			agent_err_set(err, "already_exists", "directory already exists: %s", path);
		else
			agent_err_set(err, "invalid_argument",
				      "path already exists but it is not a directory: %s", path);
	} else if (agent_mkdirs(path, err) == 0) {
		out = agent_wrap_entry(path, err);
	}
	free(path);
	return out;
}

static char *agent_dirname(const char *path)
{
	char *d = strdup(path), *slash = d ? strrchr(d, '/') : NULL;

	if (slash)
		*(slash == d ? slash + 1 : slash) = '\0';
	return d;
}

json_t *agent_fs_move(json_t *msg, struct agent_err *err)
{
	char *src = agent_path_arg(msg, "source", err), *dst = NULL, *dir = NULL;
	json_t *out = NULL;

	if (!src || !(dst = agent_path_arg(msg, "destination", err)))
		goto out;
	dir = agent_dirname(dst);
	if (!dir || agent_mkdirs(dir, err) < 0)
		goto out;
	if (rename(src, dst) < 0) {
		agent_err_set(err, errno == ENOENT ? "not_found" : "internal", "%s: rename %s %s: %s",
			      errno == ENOENT ? "source file not found" : "error renaming", src, dst,
			      strerror(errno));
		goto out;
	}
	out = agent_wrap_entry(dst, err);
out:
	free(src);
	free(dst);
	free(dir);
	return out;
}

/* Empties dir of everything but directories; *sub is its first subdirectory. */
static int agent_remove_files_in(const char *dir, char **sub)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct stat st;
	int rc = 0;

	*sub = NULL;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while (rc == 0 && (de = readdir(d))) {
		char *child;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		child = agent_join(dir, de->d_name);
		if (!child || lstat(child, &st) < 0)
			rc = child && errno == ENOENT ? 0 : -1;
		else if (S_ISDIR(st.st_mode) && !*sub)
			*sub = child, child = NULL;
		else if (!S_ISDIR(st.st_mode) && unlink(child) < 0 && errno != ENOENT)
			rc = -1;
		free(child);
	}
	closedir(d);
	return rc;
}

/* rm -rf without recursion: walk down to a directory with no subdirectory,
 * remove it, go back up; no stack grows with the tree's depth. */
static int agent_remove_all(const char *path)
{
	char *cur = strdup(path), *sub;
	size_t root_len = strlen(path);
	struct stat st;
	int rc = 0;

	if (!cur)
		return -1;
	for (;;) {
		if (lstat(cur, &st) < 0) {
			rc = errno == ENOENT ? 0 : -1;
		} else if (!S_ISDIR(st.st_mode)) {
			rc = unlink(cur) < 0 && errno != ENOENT ? -1 : 0;
		} else {
			rc = agent_remove_files_in(cur, &sub);
			if (rc == 0 && sub) {
				free(cur);
				cur = sub;
				continue;
			}
			free(sub);
			if (rc == 0 && rmdir(cur) < 0 && errno != ENOENT)
				rc = -1;
		}
		if (rc < 0 || strlen(cur) <= root_len)
			break;
		*strrchr(cur, '/') = '\0';
	}
	free(cur);
	return rc;
}

json_t *agent_fs_remove(json_t *msg, struct agent_err *err)
{
	char *path = agent_path_arg(msg, "path", err);
	int rc;

	if (!path)
		return NULL;
	rc = agent_remove_all(path);
	if (rc < 0)
		agent_err_set(err, "internal", "error removing file or directory: %s: %s", path,
			      strerror(errno));
	free(path);
	return rc < 0 ? NULL : json_object();
}
