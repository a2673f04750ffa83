#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "global.h"
#include "isolate.h"
#include "plugin_cache.h"
#include "plugin_facts.h"
#include "registry.h"
#include "search_path.h"
#include "trace.h"
#include "util.h"
#include "validate.h"

#define TRACE(...) csdkp_trace("plugins", __VA_ARGS__)

struct rejection {
	csdk_rejection pub;
	char *path;
	char *name;
	char *reason;
};

struct csdk_registry {
	unsigned int flags;
	struct csdkp_vec paths;         /* csdk_path_entry * */
	struct csdkp_vec path_warnings; /* char *, fixed at creation */
	struct csdkp_vec scan_warnings; /* char *, of the last scan */
	struct csdkp_vec warnings;      /* const char *: both of the above */
	struct csdkp_vec select;        /* char * globs */
	struct csdkp_vec disable;
	struct csdkp_vec records;       /* struct csdkp_plugin *, every plugin loaded */
	struct csdkp_vec explicit_;     /* records loaded by csdk_registry_load_file */
	struct csdkp_vec winners;       /* records the last scan kept */
	struct csdkp_vec valid;         /* csdk_plugin_info *, sorted by name */
	struct csdkp_vec rejected;      /* struct rejection *, of the last scan */
	struct csdkp_vec retired;       /* earlier rejections, kept so borrowed pointers stay valid */
	struct csdkp_vec retired_strings;
	struct csdkp_vec named_rejections; /* struct rejection *: the last by-name verdict of each name */
	int scanned;                    /* listing getters scan once, on first use */
	int cache_tried;
	struct csdkp_cache *cache;      /* NULL when disabled or not needed yet */
};

static void rejection_free(void *p)
{
	struct rejection *r = p;

	if (!r)
		return;
	free(r->path);
	free(r->name);
	free(r->reason);
	free(r);
}

static void plugin_free(void *p)
{
	csdkp_plugin_free(p);
}

static int parse_globs(struct csdkp_vec *out, const char *list)
{
	while (list && *list) {
		size_t n = strcspn(list, ",");

		if (n) {
			char *glob = strndup(list, n);

			if (!glob || csdkp_vec_push(out, glob) != 0) {
				free(glob);
				return CSDK_ENOMEM;
			}
		}
		list += n;
		if (*list == ',')
			list++;
	}
	return 0;
}

static int globs_match(const struct csdkp_vec *globs, const char *name)
{
	for (size_t i = 0; i < globs->n; i++)
		if (fnmatch(globs->items[i], name, 0) == 0)
			return 1;
	return 0;
}

static struct csdkp_plugin *record_by_path(const csdk_registry *reg, const char *path)
{
	for (size_t i = 0; i < reg->records.n; i++) {
		struct csdkp_plugin *p = reg->records.items[i];

		if (strcmp(p->path, path) == 0)
			return p;
	}
	return NULL;
}

static struct csdkp_plugin *plugin_named(const struct csdkp_vec *plugins, const char *name)
{
	for (size_t i = 0; i < plugins->n; i++) {
		struct csdkp_plugin *p = plugins->items[i];

		if (strcmp(p->info.name, name) == 0)
			return p;
	}
	return NULL;
}

static int compare_info(const void *a, const void *b)
{
	const csdk_plugin_info *x = *(const csdk_plugin_info *const *)a;
	const csdk_plugin_info *y = *(const csdk_plugin_info *const *)b;

	return strcmp(x->name, y->name);
}

static int rebuild_lists(csdk_registry *reg)
{
	struct csdkp_vec valid = { 0 };

	for (size_t i = 0; i < reg->winners.n; i++)
		if (csdkp_vec_push(&valid, &((struct csdkp_plugin *)reg->winners.items[i])->info) != 0)
			goto oom;
	for (size_t i = 0; i < reg->explicit_.n; i++) {
		struct csdkp_plugin *p = reg->explicit_.items[i];

		if (!plugin_named(&reg->winners, p->info.name) && plugin_named(&reg->explicit_, p->info.name) == p &&
		    csdkp_vec_push(&valid, &p->info) != 0)
			goto oom;
	}
	if (valid.n)
		qsort(valid.items, valid.n, sizeof(void *), compare_info);
	csdkp_vec_clear(&reg->valid, NULL);
	reg->valid = valid;

	csdkp_vec_clear(&reg->warnings, NULL);
	for (size_t i = 0; i < reg->path_warnings.n; i++)
		if (csdkp_vec_push(&reg->warnings, reg->path_warnings.items[i]) != 0)
			return CSDK_ENOMEM;
	for (size_t i = 0; i < reg->scan_warnings.n; i++)
		if (csdkp_vec_push(&reg->warnings, reg->scan_warnings.items[i]) != 0)
			return CSDK_ENOMEM;
	return 0;
oom:
	csdkp_vec_clear(&valid, NULL);
	return CSDK_ENOMEM;
}

/* A rejection of path, appended to list, that takes v's strings; NULL when out of memory. */
static struct rejection *rejection_add(struct csdkp_vec *list, const char *path, struct csdkp_verdict *v, int shadowed)
{
	struct rejection *r = calloc(1, sizeof(*r));

	if (!r || !(r->path = strdup(path)) || csdkp_vec_push(list, r) != 0) {
		rejection_free(r);
		return NULL;
	}
	r->name = v->name;
	r->reason = v->reason;
	v->name = v->reason = NULL;
	r->pub.path = r->path;
	r->pub.name = r->name;
	r->pub.code = v->code;
	r->pub.signal = v->signal;
	r->pub.shadowed = shadowed;
	r->pub.reason = r->reason;
	return r;
}

static int add_rejection(csdk_registry *reg, const char *path, struct csdkp_verdict *v, int shadowed)
{
	struct rejection *r = rejection_add(&reg->rejected, path, v, shadowed);

	if (!r)
		return CSDK_ENOMEM;
	TRACE("%s %s", shadowed ? "shadowed:" : "rejected:", r->reason);
	return 0;
}

static int scan_warning(csdk_registry *reg, char *warning)
{
	if (!warning || csdkp_vec_push(&reg->scan_warnings, warning) != 0) {
		free(warning);
		return CSDK_ENOMEM;
	}
	TRACE("warning: %s", warning);
	return 0;
}

static struct csdkp_cache *registry_cache(csdk_registry *reg)
{
	if (!reg->cache_tried) {
		reg->cache_tried = 1;
		reg->cache = csdkp_cache_open();
	}
	return reg->cache;
}

/* A verdict that holds as long as the file does not change (not a failure to fork, say). */
static int cacheable(int code)
{
	return code != CSDK_EIO && code != CSDK_ENOMEM;
}

/*
 * Validate a file not loaded yet: 0 with *out (not resident yet), a
 * rejection code with *v, or CSDK_ENOMEM. Isolated, the child's verdict is
 * taken from the cache when the file has not changed since it was probed;
 * unless load is set, an accepted file is then not even loaded: *out is a
 * facts-only record (loaded by load_facts when a provider is opened).
 */
static int validate_new(csdk_registry *reg, struct csdkp_plugin **out, struct csdkp_verdict *v, const char *path, int load)
{
	struct csdkp_cache *cache = NULL;
	const char *facts = NULL;
	struct stat st;
	int rc, hit = 0, accepted = 0;

	*out = NULL;
	if (reg->flags & CSDK_REGISTRY_ISOLATE) {
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			cache = registry_cache(reg);
		if (cache && (hit = csdkp_cache_lookup(cache, path, &st, &accepted, v, &facts)) < 0)
			return hit;
		if (hit && !accepted) {
			TRACE("%s: rejected before, unchanged since (verdict cache)", path);
			return v->code;
		}
		if (hit && !load && (rc = csdkp_facts_load(out, path, facts)) != -1) {
			if (rc == 0)
				TRACE("%s: passed validation before, unchanged since (verdict cache); facts only, not loaded", path);
			return rc;
		}
		if (hit) {
			TRACE("%s: passed validation before, unchanged since (verdict cache)", path);
		} else {
			rc = csdkp_isolate_run(v, path, csdkp_validate_probe, NULL, CSDKP_PROBE_TIMEOUT_S);
			if (rc != 0) {
				if (cache && cacheable(rc))
					csdkp_cache_put(cache, path, &st, v, NULL, NULL);
				return rc;
			}
			TRACE("%s: passed validation in a child process", path);
		}
	}
	rc = csdkp_validate_file(out, v, path);
	if (cache && rc == 0) {
		char *dump = csdkp_facts_dump(*out);

		if (dump && (!facts || strcmp(dump, facts) != 0))
			csdkp_cache_put(cache, path, &st, NULL, (*out)->info.name, dump);
		free(dump);
	}
	return rc;
}

/* Load a plugin listed from the cache's facts, to open it: 0, a rejection code with *v, or CSDK_ENOMEM. */
static int load_facts(struct csdkp_plugin *p, struct csdkp_verdict *v)
{
	struct csdkp_plugin *fresh = NULL;
	int rc = csdkp_validate_file(&fresh, v, p->path);

	if (rc != 0)
		return rc;
	if ((rc = csdkp_plugin_make_resident(fresh, v)) != 0) {
		csdkp_plugin_discard(fresh);
		return rc;
	}
	p->methods = fresh->methods;
	p->dl_handle = fresh->dl_handle;
	p->lt_handle = fresh->lt_handle;
	p->facts_only = 0;
	csdkp_plugin_free(fresh);
	TRACE("loaded %s %s from %s", p->info.name, p->info.version, p->path);
	return 0;
}

/* Make a validated plugin resident and keep its record: 0, a rejection code with *v, or CSDK_ENOMEM. */
static int keep(csdk_registry *reg, struct csdkp_plugin *p, struct csdkp_verdict *v)
{
	int rc = p->facts_only ? 0 : csdkp_plugin_make_resident(p, v);

	if (rc != 0) {
		csdkp_plugin_discard(p);
		return rc;
	}
	if (csdkp_vec_push(&reg->records, p) != 0) {
		/* The plugin stays mapped; only its record is lost. */
		csdkp_plugin_free(p);
		return CSDK_ENOMEM;
	}
	if (!p->facts_only)
		TRACE("loaded %s %s from %s", p->info.name, p->info.version, p->path);
	for (size_t i = 0; i < p->info.n_warnings; i++)
		TRACE("warning: %s", p->info.warnings[i]);
	return 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_dir(struct csdkp_vec *files, DIR *dir)
{
	struct dirent *de;

	while ((de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		char *copy;

		if (len < 8 || strncmp(de->d_name, "csdk-", 5) != 0 || strcmp(de->d_name + len - 3, ".so") != 0)
			continue;
		copy = strdup(de->d_name);
		if (!copy || csdkp_vec_push(files, copy) != 0) {
			free(copy);
			return CSDK_ENOMEM;
		}
	}
	if (files->n)
		qsort(files->items, files->n, sizeof(void *), compare_strings);
	return 0;
}

static int selected(const csdk_registry *reg, const char *name, const char *path)
{
	if (reg->select.n && !globs_match(&reg->select, name)) {
		TRACE("skipping %s: '%s' is not selected (select or CSDK_PLUGINS)", path, name);
		return 0;
	}
	if (globs_match(&reg->disable, name)) {
		TRACE("skipping %s: '%s' is disabled (disable or CSDK_PLUGINS_DISABLE)", path, name);
		return 0;
	}
	return 1;
}

/* DIR/FILE_NAME into seen; *path_out NULL when this scan has considered it already. */
static int note_path(struct csdkp_vec *seen, const char *dir, const char *file_name, const char **path_out)
{
	char *path = csdkp_printf("%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", file_name);

	*path_out = NULL;
	if (!path)
		return CSDK_ENOMEM;
	for (size_t i = 0; i < seen->n; i++) {
		if (strcmp(seen->items[i], path) == 0) {
			TRACE("skipping %s: already considered in this scan", path);
			free(path);
			return 0;
		}
	}
	if (csdkp_vec_push(seen, path) != 0) {
		free(path);
		return CSDK_ENOMEM;
	}
	*path_out = path;
	return 0;
}

/* Whether the plugin libcsdk-NAME.so is selected and not disabled: 1 or 0, or CSDK_ENOMEM. */
static int file_selected(const csdk_registry *reg, const char *file_name, const char *path)
{
	char *name = strndup(file_name + 5, strlen(file_name) - 8);
	int rc;

	if (!name)
		return CSDK_ENOMEM;
	rc = selected(reg, name, path);
	free(name);
	return rc;
}

static int reject_shadowed(csdk_registry *reg, struct csdkp_plugin *p, const char *path, const struct csdkp_plugin *winner,
			   struct csdkp_verdict *v)
{
	int rc;

	v->code = CSDK_EPLUGIN;
	v->name = strdup(p->info.name);
	v->reason = csdkp_printf("%s: plugin '%s' is shadowed by %s, which comes earlier in the search path; remove one of them",
				path, p->info.name, winner->path);
	/* A shadowed file loaded just now is not kept mapped. */
	if (!record_by_path(reg, path))
		csdkp_plugin_discard(p);
	rc = v->name && v->reason ? add_rejection(reg, path, v, 1) : CSDK_ENOMEM;
	csdkp_verdict_clear(v);
	return rc;
}

/* A verdict that refuses path is recorded as its rejection. */
static int rejected(csdk_registry *reg, const char *path, int rc, struct csdkp_verdict *v)
{
	if (rc == CSDK_ENOMEM)
		return rc;
	rc = add_rejection(reg, path, v, 0);
	csdkp_verdict_clear(v);
	return rc;
}

static int keep_new(csdk_registry *reg, struct csdkp_plugin *p, const char *dir, const char *path, struct csdkp_verdict *v)
{
	int rc;

	if ((rc = keep(reg, p, v)))
		return rejected(reg, path, rc, v);
	if (!(p->origin_dir = strdup(dir)))
		return CSDK_ENOMEM;
	p->info.origin_dir = p->origin_dir;
	return 0;
}

static int consider_file(csdk_registry *reg, struct csdkp_vec *seen, const char *dir, const char *file_name)
{
	struct csdkp_verdict v = { 0 };
	struct csdkp_plugin *p, *winner;
	const char *path;
	int rc;

	if ((rc = note_path(seen, dir, file_name, &path)) || !path)
		return rc;
	TRACE("considering %s", path);
	if ((rc = file_selected(reg, file_name, path)) <= 0)
		return rc;
	p = record_by_path(reg, path);
	if (p)
		TRACE("%s is already loaded", path);
	else if ((rc = validate_new(reg, &p, &v, path, 0)))
		return rejected(reg, path, rc, &v);
	if ((winner = plugin_named(&reg->winners, p->info.name)))
		return reject_shadowed(reg, p, path, winner, &v);
	if (!record_by_path(reg, path) && (rc = keep_new(reg, p, dir, path, &v)))
		return rc;
	return csdkp_vec_push(&reg->winners, p);
}

static int scan_dir(csdk_registry *reg, struct csdkp_vec *seen, csdk_path_entry *entry)
{
	const char *origin = csdkp_path_origin_name(entry->origin);
	struct csdkp_vec files = { 0 };
	struct stat st;
	DIR *dir;
	int rc = 0;

	if (stat(entry->dir, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
		entry->exists = 0;
		TRACE("%s does not exist (%s)", entry->dir, origin);
		return 0;
	}
	dir = opendir(entry->dir);
	if (!dir) {
		int err = errno;

		entry->exists = stat(entry->dir, &st) == 0 && S_ISDIR(st.st_mode);
		return scan_warning(reg, csdkp_printf("%s: cannot read the plugin directory (%s)", entry->dir, strerror(err)));
	}
	entry->exists = 1;
	TRACE("scanning %s (%s)", entry->dir, origin);
	rc = list_dir(&files, dir);
	closedir(dir);
	for (size_t i = 0; rc == 0 && i < files.n; i++)
		rc = consider_file(reg, seen, entry->dir, files.items[i]);
	csdkp_vec_clear(&files, free);
	return rc;
}

static int retire(struct csdkp_vec *graveyard, struct csdkp_vec *vec)
{
	for (size_t i = 0; i < vec->n; i++) {
		if (csdkp_vec_push(graveyard, vec->items[i]) != 0) {
			/* Free only what was not moved yet. */
			memmove(vec->items, vec->items + i, (vec->n - i) * sizeof(void *));
			vec->n -= i;
			return CSDK_ENOMEM;
		}
	}
	vec->n = 0;
	return 0;
}

/* Hold csdkp_lock. */
static int scan_locked(csdk_registry *reg)
{
	struct csdkp_vec seen = { 0 };
	int rc;

	if (retire(&reg->retired, &reg->rejected) != 0 || retire(&reg->retired_strings, &reg->scan_warnings) != 0)
		return csdkp_error_oom();
	reg->winners.n = 0;
	rc = 0;
	for (size_t i = 0; rc == 0 && i < reg->paths.n; i++)
		rc = scan_dir(reg, &seen, reg->paths.items[i]);
	csdkp_vec_clear(&seen, free);
	reg->scanned = 1;
	csdkp_cache_save(reg->cache);
	if (rebuild_lists(reg) != 0 || rc != 0)
		return csdkp_error_oom();
	return 0;
}

/* Listing getters scan the first time; hold csdkp_lock. A failed scan (out of memory) lists what it got. */
static void ensure_scanned(const csdk_registry *creg)
{
	csdk_registry *reg = (csdk_registry *)(uintptr_t)creg;

	if (!reg->scanned)
		scan_locked(reg);
}

void csdk_registry_free(csdk_registry *reg)
{
	if (!reg)
		return;
	csdkp_vec_clear(&reg->paths, csdkp_path_entry_free);
	csdkp_vec_clear(&reg->path_warnings, free);
	csdkp_vec_clear(&reg->scan_warnings, free);
	csdkp_vec_clear(&reg->warnings, NULL);
	csdkp_vec_clear(&reg->select, free);
	csdkp_vec_clear(&reg->disable, free);
	csdkp_vec_clear(&reg->records, plugin_free);
	csdkp_vec_clear(&reg->explicit_, NULL);
	csdkp_vec_clear(&reg->winners, NULL);
	csdkp_vec_clear(&reg->valid, NULL);
	csdkp_vec_clear(&reg->rejected, rejection_free);
	csdkp_vec_clear(&reg->retired, rejection_free);
	csdkp_vec_clear(&reg->retired_strings, free);
	csdkp_vec_clear(&reg->named_rejections, rejection_free);
	csdkp_cache_free(reg->cache);
	free(reg);
}

int csdk_registry_new(csdk_registry **out, const csdk_registry_options *opts)
{
	csdk_registry_options copy;
	const char *select, *disable;
	csdk_registry *reg;
	int rc;

	if (!out)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_registry_new: out is NULL; pass the address of a csdk_registry *");
	*out = NULL;
	if ((rc = CSDKP_OPTIONS_COPY(&copy, opts, "csdk_registry_options", "CSDK_REGISTRY_OPTIONS_INIT")))
		return rc;
	opts = &copy;
	if (opts->flags & ~(CSDK_REGISTRY_ISOLATE | CSDK_REGISTRY_NO_ENV))
		return csdkp_error_set(CSDK_EINVAL, NULL,
				       "csdk_registry_new: unknown flags 0x%x; use only CSDK_REGISTRY_ISOLATE and CSDK_REGISTRY_NO_ENV",
				       opts->flags & ~(CSDK_REGISTRY_ISOLATE | CSDK_REGISTRY_NO_ENV));
	csdkp_global_init();
	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return csdkp_error_oom();
	reg->flags = opts->flags;
	select = opts->select;
	disable = opts->disable;
	if (!(opts->flags & CSDK_REGISTRY_NO_ENV)) {
		if (!select)
			select = getenv("CSDK_PLUGINS");
		if (!disable)
			disable = getenv("CSDK_PLUGINS_DISABLE");
	}
	if (csdkp_search_path_build(&reg->paths, &reg->path_warnings, opts->search_path, opts->flags) != 0 ||
	    parse_globs(&reg->select, select) != 0 || parse_globs(&reg->disable, disable) != 0) {
		csdk_registry_free(reg);
		return csdkp_error_oom();
	}
	for (size_t i = 0; i < reg->path_warnings.n; i++)
		TRACE("warning: %s", (const char *)reg->path_warnings.items[i]);
	/* No scan yet: opening a provider looks at its own file only; listing scans on first use. */
	for (size_t i = 0; i < reg->paths.n; i++) {
		csdk_path_entry *entry = reg->paths.items[i];
		struct stat st;

		entry->exists = stat(entry->dir, &st) == 0 && S_ISDIR(st.st_mode);
	}
	if (rebuild_lists(reg) != 0) {
		csdk_registry_free(reg);
		return csdkp_error_oom();
	}
	(void)rc;
	*out = reg;
	return 0;
}

int csdk_registry_scan(csdk_registry *reg)
{
	int rc;

	if (!reg)
		return csdkp_error_set(CSDK_EINVAL, NULL, "csdk_registry_scan: registry is NULL; create one with csdk_registry_new");
	csdkp_lock();
	rc = scan_locked(reg);
	csdkp_unlock();
	return rc;
}

/* Records are immutable once published; the lock only guards the arrays. */
static size_t locked_count(const csdk_registry *reg, const struct csdkp_vec *vec)
{
	size_t n;

	csdkp_lock();
	ensure_scanned(reg);
	n = vec->n;
	csdkp_unlock();
	return n;
}

/* With scan, after a scan if none was made yet. */
static void *locked_at(const csdk_registry *reg, const struct csdkp_vec *vec, size_t i, int scan)
{
	void *item = NULL;

	csdkp_lock();
	if (scan)
		ensure_scanned(reg);
	if (i < vec->n)
		item = vec->items[i];
	csdkp_unlock();
	return item;
}

size_t csdk_registry_count(const csdk_registry *reg)
{
	return reg ? locked_count(reg, &reg->valid) : 0;
}

const csdk_plugin_info *csdk_registry_at(const csdk_registry *reg, size_t i)
{
	return reg ? locked_at(reg, &reg->valid, i, 1) : NULL;
}

static const csdk_plugin_info *valid_named(const csdk_registry *reg, const char *name)
{
	for (size_t i = 0; i < reg->valid.n; i++) {
		const csdk_plugin_info *candidate = reg->valid.items[i];

		if (strcmp(candidate->name, name) == 0)
			return candidate;
	}
	return NULL;
}

static int name_ok(const char *name)
{
	return *name && !strchr(name, '/') && strlen(name) < 256;
}

static int remember_named_rejection(csdk_registry *reg, const char *path, struct csdkp_verdict *v,
				    const struct rejection **why)
{
	struct rejection *r = rejection_add(&reg->named_rejections, path, v, 0);

	if (!r)
		return CSDK_ENOMEM;
	*why = r;
	TRACE("rejected: %s", r->reason);
	return 0;
}

/* The known plugin *out, its code loaded when load asks for it and only its facts are. */
static int load_known(csdk_registry *reg, const csdk_plugin_info **out, const struct rejection **why, int load)
{
	struct csdkp_plugin *p = csdkp_plugin_of(*out);
	struct csdkp_verdict v = { 0 };
	int rc;

	if (!load || !p->facts_only || (rc = load_facts(p, &v)) == 0)
		return 0;
	*out = NULL;
	if (rc != CSDK_ENOMEM)
		rc = remember_named_rejection(reg, p->path, &v, why) ? CSDK_ENOMEM : rc;
	csdkp_verdict_clear(&v);
	return rc;
}

/* path, found in the search path's entry, kept as an explicit plugin or rejected. */
static int load_found(csdk_registry *reg, const csdk_path_entry *entry, const char *path, const struct rejection **why, int load)
{
	struct csdkp_verdict v = { 0 };
	struct csdkp_plugin *p;
	int rc;

	if ((p = record_by_path(reg, path))) {
		TRACE("%s is already loaded", path);
		rc = load && p->facts_only ? load_facts(p, &v) : 0;
	} else {
		rc = validate_new(reg, &p, &v, path, load);
		if (rc == 0 && (rc = keep(reg, p, &v)) == 0 && !(p->origin_dir = strdup(entry->dir)))
			rc = CSDK_ENOMEM;
		if (rc == 0)
			p->info.origin_dir = p->origin_dir;
	}
	if (rc == 0 && (csdkp_vec_push(&reg->explicit_, p) != 0 || rebuild_lists(reg) != 0))
		rc = CSDK_ENOMEM;
	if (rc != 0 && rc != CSDK_ENOMEM)
		rc = remember_named_rejection(reg, path, &v, why) ? CSDK_ENOMEM : rc;
	csdkp_verdict_clear(&v);
	csdkp_cache_save(reg->cache);
	return rc;
}

/*
 * Hold csdkp_lock. The plugin called name: a valid one already known, else
 * the first csdk-NAME.so of the search path and nothing else (loaded, or
 * its verdict taken from the cache). 0 with *out; CSDK_ENOTFOUND when no
 * such file is there (or the name is not selected); a rejection code with
 * *why (kept until the registry is freed); CSDK_ENOMEM.
 */
static int load_by_name(csdk_registry *reg, const char *name, const csdk_plugin_info **out,
			const struct rejection **why, int load)
{
	int rc;

	*out = NULL;
	*why = NULL;
	if ((*out = valid_named(reg, name)))
		return load_known(reg, out, why, load);
	if (!name_ok(name))
		return CSDK_ENOTFOUND;
	for (size_t i = 0; i < reg->paths.n; i++) {
		const csdk_path_entry *entry = reg->paths.items[i];
		struct stat st;
		char *path = csdkp_printf("%s%s%s.so", entry->dir, entry->dir[strlen(entry->dir) - 1] == '/' ? "csdk-" : "/csdk-", name);

		if (!path)
			return CSDK_ENOMEM;
		if (stat(path, &st) != 0 && (errno == ENOENT || errno == ENOTDIR)) {
			free(path);
			continue;
		}
		TRACE("considering %s (opened by name)", path);
		rc = selected(reg, name, path) ? load_found(reg, entry, path, why, load) : CSDK_ENOTFOUND;
		free(path);
		if (rc == 0)
			*out = valid_named(reg, name);
		return rc;
	}
	return CSDK_ENOTFOUND;
}

const csdk_plugin_info *csdk_registry_find(const csdk_registry *reg, const char *name)
{
	const csdk_plugin_info *info = NULL;
	const struct rejection *why;

	if (!reg || !name)
		return NULL;
	csdkp_lock();
	load_by_name((csdk_registry *)(uintptr_t)reg, name, &info, &why, 0);
	csdkp_unlock();
	return info;
}

/* "a, b, c": the names of the csdk-NAME.so files on the search path (selected ones), without loading any. */
static char *available_names(csdk_registry *reg)
{
	struct csdkp_vec names = { 0 };
	char *text = NULL;

	for (size_t i = 0; i < reg->paths.n; i++) {
		const csdk_path_entry *entry = reg->paths.items[i];
		DIR *dir = opendir(entry->dir);

		if (dir) {
			list_dir(&names, dir);
			closedir(dir);
		}
	}
	for (size_t i = 0; i < reg->valid.n; i++) {
		char *file = csdkp_printf("csdk-%s.so", ((const csdk_plugin_info *)reg->valid.items[i])->name);

		if (file && csdkp_vec_push(&names, file) != 0)
			free(file);
	}
	for (size_t i = 0; i < names.n; i++) {
		char *file = names.items[i];

		file[strlen(file) - 3] = '\0';
	}
	if (names.n)
		qsort(names.items, names.n, sizeof(void *), compare_strings);
	for (size_t i = 0; i < names.n; i++) {
		char *file = names.items[i], *more;

		if ((i && strcmp(names.items[i - 1], file) == 0) ||
		    (reg->select.n && !globs_match(&reg->select, file + 5)) || globs_match(&reg->disable, file + 5))
			continue;
		more = csdkp_printf("%s%s%s", text ? text : "", text ? ", " : "", file + 5);
		free(text);
		if (!(text = more))
			break;
	}
	csdkp_vec_clear(&names, free);
	return text ? text : strdup("none");
}

int csdkp_registry_open_name(csdk_registry *reg, const char *name, const csdk_plugin_info **out)
{
	const struct rejection *why;
	char *list;
	int rc;

	csdkp_lock();
	rc = load_by_name(reg, name, out, &why, 1);
	if (rc == 0 || rc == CSDK_ENOMEM) {
		csdkp_unlock();
		return rc ? csdkp_error_oom() : 0;
	}
	if (why) {
		rc = csdkp_error_set(CSDK_ENOTFOUND, name, "provider '%s' was rejected: %s", name, why->reason);
		csdkp_unlock();
		return rc;
	}
	list = available_names(reg);
	csdkp_unlock();
	if (!list)
		return csdkp_error_oom();
	rc = csdkp_error_set(CSDK_ENOTFOUND, name,
			     "unknown provider '%s' (available: %s); run 'csdk-plugins --paths' to see where plugins are searched",
			     name, list);
	free(list);
	return rc;
}

size_t csdk_registry_rejected_count(const csdk_registry *reg)
{
	return reg ? locked_count(reg, &reg->rejected) : 0;
}

const csdk_rejection *csdk_registry_rejected_at(const csdk_registry *reg, size_t i)
{
	const struct rejection *r = reg ? locked_at(reg, &reg->rejected, i, 1) : NULL;

	return r ? &r->pub : NULL;
}

/* The path itself is fixed at creation; only each entry's exists changes, at scans. */
size_t csdk_registry_path_count(const csdk_registry *reg)
{
	return reg ? reg->paths.n : 0;
}

const csdk_path_entry *csdk_registry_path_at(const csdk_registry *reg, size_t i)
{
	return reg ? locked_at(reg, &reg->paths, i, 0) : NULL;
}

size_t csdk_registry_warning_count(const csdk_registry *reg)
{
	return reg ? locked_count(reg, &reg->warnings) : 0;
}

const char *csdk_registry_warning_at(const csdk_registry *reg, size_t i)
{
	return reg ? locked_at(reg, &reg->warnings, i, 1) : NULL;
}

int csdk_registry_load_file(csdk_registry *reg, const char *path, const csdk_plugin_info **out)
{
	struct csdkp_verdict v = { 0 };
	struct csdkp_plugin *p;
	char *abs;
	int rc;

	if (out)
		*out = NULL;
	if (!reg || !path || !out)
		return csdkp_error_set(CSDK_EINVAL, NULL,
				       "csdk_registry_load_file: registry, path and out must not be NULL");
	abs = csdkp_absolute_path(path);
	if (!abs)
		return csdkp_error_oom();
	csdkp_lock();
	p = record_by_path(reg, abs);
	if (p) {
		TRACE("%s is already loaded", abs);
		*out = &p->info;
		rc = 0;
		goto done;
	}
	TRACE("considering %s (loaded by file)", abs);
	rc = validate_new(reg, &p, &v, abs, 1);
	if (rc == 0)
		rc = keep(reg, p, &v);
	if (rc == CSDK_ENOMEM) {
		rc = csdkp_error_oom();
		goto done;
	}
	if (rc != 0) {
		int code = rc == CSDK_ECRASHED || rc == CSDK_ETIMEOUT ? rc : CSDK_EPLUGIN;

		TRACE("rejected: %s", v.reason);
		rc = csdkp_error_set(code, v.name, "%s", v.reason);
		csdkp_verdict_clear(&v);
		goto done;
	}
	if (csdkp_vec_push(&reg->explicit_, p) != 0 || rebuild_lists(reg) != 0) {
		rc = csdkp_error_oom();
		goto done;
	}
	*out = &p->info;
done:
	csdkp_cache_save(reg->cache);
	csdkp_unlock();
	free(abs);
	return rc;
}
