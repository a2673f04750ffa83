#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_cache.h"
#include "trace.h"
#include "util.h"

#define TRACE(...) csdkp_trace("plugins", __VA_ARGS__)
#define CACHE_MAGIC "csdk-plugin-cache 1"

struct entry {
	char *path;
	uint64_t dev, ino, size;
	int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
	int accepted;
	int code;
	int signal;
	char *name;   /* NULL when unknown */
	char *text;   /* accepted: the facts (JSON); rejected: the reason */
};

struct csdkp_cache {
	char *dir;
	char *file;
	struct csdkp_vec entries; /* struct entry * */
	int dirty;
};

static void entry_free(void *p)
{
	struct entry *e = p;

	if (!e)
		return;
	free(e->path);
	free(e->name);
	free(e->text);
	free(e);
}

static int key_matches(const struct entry *e, const struct stat *st)
{
	return e->dev == (uint64_t)st->st_dev && e->ino == (uint64_t)st->st_ino && e->size == (uint64_t)st->st_size &&
	       e->mtime_s == (int64_t)st->st_mtim.tv_sec && e->mtime_ns == (int64_t)st->st_mtim.tv_nsec &&
	       e->ctime_s == (int64_t)st->st_ctim.tv_sec && e->ctime_ns == (int64_t)st->st_ctim.tv_nsec;
}

static void write_escaped(FILE *fp, const char *s)
{
	if (!s) {
		fputc('-', fp);
		return;
	}
	fputc('=', fp);
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", fp);
		else if (*s == '\t')
			fputs("\\t", fp);
		else if (*s == '\n')
			fputs("\\n", fp);
		else
			fputc(*s, fp);
	}
}

/* "-" is NULL, "=TEXT" is TEXT unescaped; -1 when malformed, CSDK_ENOMEM. */
static int read_escaped(char **out, const char *field)
{
	char *s, *d;

	*out = NULL;
	if (strcmp(field, "-") == 0)
		return 0;
	if (field[0] != '=')
		return -1;
	if (!(s = d = strdup(field + 1)))
		return CSDK_ENOMEM;
	for (const char *p = field + 1; *p; p++) {
		if (*p != '\\') {
			*d++ = *p;
			continue;
		}
		p++;
		if (*p == '\\')
			*d++ = '\\';
		else if (*p == 't')
			*d++ = '\t';
		else if (*p == 'n')
			*d++ = '\n';
		else {
			free(s);
			return -1;
		}
	}
	*d = '\0';
	*out = s;
	return 0;
}

/* 0, -1 when the line is malformed, or CSDK_ENOMEM. */
static int parse_line(struct entry **out, char *line)
{
	char *fields[13];
	struct entry *e;
	size_t n = 0;
	int rc = -1;

	*out = NULL;
	for (char *p = line; n < 13; n++) {
		fields[n] = p;
		p = strchr(p, '\t');
		if (!p) {
			n++;
			break;
		}
		*p++ = '\0';
	}
	if (n != 13 || strcmp(fields[0], "V") != 0 || fields[1][0] != '/' ||
	    (strcmp(fields[9], "ok") != 0 && strcmp(fields[9], "rej") != 0))
		return -1;
	if (!(e = calloc(1, sizeof(*e))))
		return CSDK_ENOMEM;
	if (sscanf(fields[2], "%" SCNu64, &e->dev) != 1 || sscanf(fields[3], "%" SCNu64, &e->ino) != 1 ||
	    sscanf(fields[4], "%" SCNu64, &e->size) != 1 ||
	    sscanf(fields[5], "%" SCNd64, &e->mtime_s) != 1 || sscanf(fields[6], "%" SCNd64, &e->mtime_ns) != 1 ||
	    sscanf(fields[7], "%" SCNd64, &e->ctime_s) != 1 || sscanf(fields[8], "%" SCNd64, &e->ctime_ns) != 1 ||
	    sscanf(fields[10], "%d,%d", &e->code, &e->signal) != 2)
		goto out;
	e->accepted = fields[9][0] == 'o';
	if (!(e->path = strdup(fields[1]))) {
		rc = CSDK_ENOMEM;
		goto out;
	}
	if ((rc = read_escaped(&e->name, fields[11])) != 0 || (rc = read_escaped(&e->text, fields[12])) != 0)
		goto out;
	rc = -1;
	if (!e->text || (!e->accepted && (e->code >= 0 || e->code < CSDK_ERROR_MIN)))
		goto out;
	*out = e;
	return 0;
out:
	entry_free(e);
	return rc;
}

static char *header(void)
{
	return csdkp_printf(CACHE_MAGIC " abi=%08" PRIx32 " libcsdk=%s\n", (uint32_t)CSDK_ABI_VERSION, PACKAGE_VERSION);
}

static void load(struct csdkp_cache *cache)
{
	char *line = NULL, *head = header();
	size_t cap = 0;
	struct stat st;
	ssize_t len;
	FILE *fp;
	int ok = 1, first = 1;

	fp = fopen(cache->file, "re");
	if (!fp || !head) {
		free(head);
		if (fp)
			fclose(fp);
		return;
	}
	/* Only a file of our own that nobody else can write is trusted. */
	if (fstat(fileno(fp), &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 022))
		ok = 0;
	while (ok && (len = getline(&line, &cap, fp)) >= 0) {
		struct entry *e;

		if (first) {
			ok = strcmp(line, head) == 0;
			first = 0;
			continue;
		}
		if (len == 0 || line[len - 1] != '\n') {
			ok = 0;
			break;
		}
		line[len - 1] = '\0';
		if (parse_line(&e, line) != 0 || csdkp_vec_push(&cache->entries, e) != 0) {
			entry_free(e);
			ok = 0;
		}
	}
	if (first)
		ok = 0;
	free(line);
	free(head);
	fclose(fp);
	if (!ok) {
		TRACE("%s: ignoring the plugin cache (another ABI or libcsdk version, or damaged); it will be rewritten", cache->file);
		csdkp_vec_clear(&cache->entries, entry_free);
		cache->dirty = 1;
	}
}

struct csdkp_cache *csdkp_cache_open(void)
{
	const char *env = getenv("CSDK_PLUGIN_CACHE");
	const char *xdg = secure_getenv("XDG_CACHE_HOME"), *home = secure_getenv("HOME");
	struct csdkp_cache *cache;

	if ((env && (strcmp(env, "0") == 0 || strcmp(env, "off") == 0)) || getauxval(AT_SECURE))
		return NULL;
	if (!(cache = calloc(1, sizeof(*cache))))
		return NULL;
	if (xdg && xdg[0] == '/')
		cache->dir = csdkp_printf("%s/csdk", xdg);
	else if (home && home[0] == '/')
		cache->dir = csdkp_printf("%s/.cache/csdk", home);
	if (!cache->dir || !(cache->file = csdkp_printf("%s/plugins.cache", cache->dir))) {
		csdkp_cache_free(cache);
		return NULL;
	}
	load(cache);
	return cache;
}

void csdkp_cache_free(struct csdkp_cache *cache)
{
	if (!cache)
		return;
	csdkp_vec_clear(&cache->entries, entry_free);
	free(cache->dir);
	free(cache->file);
	free(cache);
}

static struct entry *find(struct csdkp_cache *cache, const char *path, size_t *index)
{
	for (size_t i = 0; i < cache->entries.n; i++) {
		struct entry *e = cache->entries.items[i];

		if (strcmp(e->path, path) == 0) {
			if (index)
				*index = i;
			return e;
		}
	}
	return NULL;
}

int csdkp_cache_lookup(struct csdkp_cache *cache, const char *path, const struct stat *st, int *accepted,
		       struct csdkp_verdict *verdict, const char **facts)
{
	struct entry *e;

	memset(verdict, 0, sizeof(*verdict));
	*facts = NULL;
	if (!cache || !(e = find(cache, path, NULL)) || !key_matches(e, st))
		return 0;
	*accepted = e->accepted;
	if (e->accepted) {
		*facts = e->text;
		return 1;
	}
	verdict->code = e->code;
	verdict->signal = e->signal;
	if ((e->name && !(verdict->name = strdup(e->name))) || !(verdict->reason = strdup(e->text))) {
		csdkp_verdict_clear(verdict);
		return CSDK_ENOMEM;
	}
	return 1;
}

void csdkp_cache_put(struct csdkp_cache *cache, const char *path, const struct stat *st, const struct csdkp_verdict *verdict,
		     const char *name, const char *facts)
{
	struct entry *e;
	size_t i;

	if (!cache || strpbrk(path, "\t\n"))
		return;
	if ((e = find(cache, path, &i))) {
		entry_free(e);
		cache->entries.items[i] = cache->entries.items[--cache->entries.n];
	}
	cache->dirty = 1;
	if (!(e = calloc(1, sizeof(*e))))
		return;
	e->dev = (uint64_t)st->st_dev;
	e->ino = (uint64_t)st->st_ino;
	e->size = (uint64_t)st->st_size;
	e->mtime_s = (int64_t)st->st_mtim.tv_sec;
	e->mtime_ns = (int64_t)st->st_mtim.tv_nsec;
	e->ctime_s = (int64_t)st->st_ctim.tv_sec;
	e->ctime_ns = (int64_t)st->st_ctim.tv_nsec;
	e->accepted = verdict == NULL;
	if (verdict) {
		e->code = verdict->code;
		e->signal = verdict->signal;
		name = verdict->name;
		facts = verdict->reason;
	}
	if (!(e->path = strdup(path)) || (name && !(e->name = strdup(name))) ||
	    !(e->text = strdup(facts ? facts : "")) || csdkp_vec_push(&cache->entries, e) != 0)
		entry_free(e);
}

static int make_dirs(const char *dir)
{
	char *copy = strdup(dir);
	int rc = 0;

	if (!copy)
		return -1;
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, 0700) != 0 && errno != EEXIST)
			rc = -1;
		*p = '/';
	}
	if (mkdir(copy, 0700) != 0 && errno != EEXIST)
		rc = -1;
	free(copy);
	return rc;
}

void csdkp_cache_save(struct csdkp_cache *cache)
{
	char *tmp = NULL, *head = NULL;
	FILE *fp = NULL;
	int fd = -1, failed;

	if (!cache || !cache->dirty)
		return;
	if (make_dirs(cache->dir) != 0 || !(tmp = csdkp_printf("%s.XXXXXX", cache->file)) || !(head = header()))
		goto out;
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0 || !(fp = fdopen(fd, "w"))) {
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		goto out;
	}
	fputs(head, fp);
	for (size_t i = 0; i < cache->entries.n; i++) {
		const struct entry *e = cache->entries.items[i];
		struct stat st;

		/* Files gone or changed since are dropped, so the cache does not grow forever. */
		if (stat(e->path, &st) != 0 || !key_matches(e, &st))
			continue;
		fprintf(fp, "V\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%" PRId64 "\t%s\t%d,%d\t",
			e->path, e->dev, e->ino, e->size, e->mtime_s, e->mtime_ns, e->ctime_s, e->ctime_ns,
			e->accepted ? "ok" : "rej", e->code, e->signal);
		write_escaped(fp, e->name);
		fputc('\t', fp);
		write_escaped(fp, e->text);
		fputc('\n', fp);
	}
	failed = fflush(fp) != 0 || ferror(fp);
	failed |= fclose(fp) != 0;
	if (failed || rename(tmp, cache->file) != 0)
		unlink(tmp);
	else
		cache->dirty = 0;
out:
	free(head);
	free(tmp);
}
