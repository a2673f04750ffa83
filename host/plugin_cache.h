#ifndef CSDK_HOST_PLUGIN_CACHE_H
#define CSDK_HOST_PLUGIN_CACHE_H

#include <sys/stat.h>

#include "validate.h"

/*
 * The verdict cache (docs/loader.md § Verdict cache): what an isolated probe
 * decided about a file, keyed by its path, device, inode, size, mtime and
 * ctime, in $XDG_CACHE_HOME/csdk/plugins.cache. The whole file is written
 * for one host ABI and libcsdk version; any other, or any line that does not
 * parse, makes it empty (and rewritten at the next save).
 */
struct csdkp_cache;

/** The cache of this process's user, loaded from disk; NULL when disabled (CSDK_PLUGIN_CACHE=0, elevated privileges, no home). */
struct csdkp_cache *csdkp_cache_open(void);
void csdkp_cache_free(struct csdkp_cache *cache);

/*
 * 1 when the cache knows the file as it is now: *accepted set, with *facts
 * (borrowed until the next put) for an accepted file, *verdict filled with
 * copies for a rejected one; 0 when it does not know it; or CSDK_ENOMEM.
 */
int csdkp_cache_lookup(struct csdkp_cache *cache, const char *path, const struct stat *st, int *accepted,
		       struct csdkp_verdict *verdict, const char **facts);

/*
 * Remember a verdict: a rejection, or (verdict NULL) an accepted plugin
 * called name with its facts (csdkp_facts_dump). Best effort: out of memory
 * forgets it.
 */
void csdkp_cache_put(struct csdkp_cache *cache, const char *path, const struct stat *st, const struct csdkp_verdict *verdict,
		     const char *name, const char *facts);

/* Write the cache if it changed: a temporary file renamed over the old one. Best effort. */
void csdkp_cache_save(struct csdkp_cache *cache);

#endif
