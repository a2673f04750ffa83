#ifndef CSDK_HOST_VALIDATE_H
#define CSDK_HOST_VALIDATE_H

#include <stddef.h>

#include <csdk/csdk.h>
#include <csdk/plugin.h>

#include "util.h"

/** Why a file was rejected: a csdk_rejection's owned fields. */
struct csdkp_verdict {
	int code;      /**< CSDK_EPLUGIN, CSDK_EABI, CSDK_ECRASHED, CSDK_ETIMEOUT or CSDK_EIO */
	int signal;
	char *name;    /**< the plugin's name when known */
	char *reason;  /**< "PATH: fact; fix" */
};

void csdkp_verdict_clear(struct csdkp_verdict *verdict);

/**
 * A plugin that passed validation: the public record plus the host-owned
 * copies it points into. Never freed before its registry.
 */
struct csdkp_plugin {
	csdk_plugin_info info;
	char *path;
	char *origin_dir;
	struct csdk_methods methods;
	csdk_config_key_info *config_keys;
	const char **method_names;
	char **warnings;
	void *dl_handle;
	void *lt_handle;
	int facts_only;         /* from the verdict cache, not loaded: methods are unset until csdkp_plugin_load_facts */
	struct csdkp_vec owned; /* strings (and arrays) a facts-only record owns */
};

/** Frees the record only; the plugin stays mapped. */
void csdkp_plugin_free(struct csdkp_plugin *plugin);

/*
 * Validate the file at the absolute path against rules 1 to 13 of
 * docs/plugin-abi.md, in-process: the file is dlopen()ed RTLD_NOW |
 * RTLD_LOCAL and its entry called. Returns 0 with *out set, the rejection
 * code with *verdict filled, or CSDK_ENOMEM. The accepted plugin is not
 * resident yet: keep it with csdkp_plugin_make_resident, or drop it with
 * csdkp_plugin_discard.
 */
int csdkp_validate_file(struct csdkp_plugin **out, struct csdkp_verdict *verdict, const char *path);

/** csdkp_validate_file as a csdkp_probe_fn (isolate.h): the verdict only, the plugin dropped. */
int csdkp_validate_probe(struct csdkp_verdict *verdict, const char *path, void *arg);

/** Open the plugin through libltdl, local and resident (hold csdkp_lock). 0, or a rule-3 rejection. */
int csdkp_plugin_make_resident(struct csdkp_plugin *plugin, struct csdkp_verdict *verdict);

/** Free the record of a plugin that was never made resident, and dlclose it. */
void csdkp_plugin_discard(struct csdkp_plugin *plugin);

/** NAME of csdk-NAME.so in the base name of path, or NULL (caller frees). */
char *csdkp_name_from_file(const char *path);

#endif
