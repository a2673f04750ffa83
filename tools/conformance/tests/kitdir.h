/*
 * Sandboxes as directories under $TMPDIR named PREFIX-PID-XXXXXX: what the
 * kit's test providers (kitshell, kitagent) share. The handle is the
 * directory's path (malloc'd; free it in release).
 */
#ifndef CSDK_KITDIR_H
#define CSDK_KITDIR_H

#include <csdk/plugin.h>

/** A new directory PREFIX-PID-XXXXXX; *dir_out is its path. */
int kitdir_create(const struct csdk_host *host, const char *prefix, char **dir_out);
/** The directory of id, or CSDK_ENOTFOUND. */
int kitdir_get(const char *prefix, const char *id, void **sandbox_out);
/** Every directory of the prefix, through handles_add. */
int kitdir_list(const struct csdk_host *host, const char *prefix, struct csdk_handles *out);
/** Remove the directory of id (an unknown id succeeds). */
int kitdir_destroy(const struct csdk_host *host, const char *prefix, const char *id);
/** The path of name in dir, in buf; -1 when it does not fit. */
int kitdir_file(char *buf, size_t size, const char *dir, const char *name);

/*
 * get_info and get_url of the test providers (set kitdir_host in init):
 * status running, and http://127.0.0.1:PORT (or PROTOCOL://...).
 */
extern const struct csdk_host *kitdir_host;
int kitdir_get_info(void *ctx, void *sandbox, struct csdk_info *out);
int kitdir_get_url(void *ctx, void *sandbox, int port, const char *protocol, struct csdk_text *out);

#endif
