#ifndef CSDK_HOST_GATEWAY_H
#define CSDK_HOST_GATEWAY_H

#include "provider.h"

/*
 * Gateway mode: the sandbox operations of a provider whose effective mode is
 * CSDK_MODE_GATEWAY go to the envd agent inside the sandbox, at the endpoint
 * the plugin's gateway_endpoint gives. Same contracts and messages as the
 * plugin methods; called without the provider's call lock (they take it
 * only to ask for the endpoint), so commands of one provider may run at
 * once.
 */

/** The provider's effective mode, from its "mode" configuration key or its default: 0, or CSDK_ECONFIG with the message set. */
int csdkp_gateway_mode(uint32_t *out, const csdk_plugin_info *plugin, const struct csdk_config *config);

int csdkp_gateway_run_command(csdk_sandbox *sb, const char *command, const struct csdk_run_request *req,
			      struct csdk_sink *sink, int *exit_code);
int csdkp_gateway_run_code(csdk_sandbox *sb, const char *code, const struct csdk_run_request *req,
			   struct csdk_sink *sink, int *exit_code);

int csdkp_gateway_fs_read(csdk_sandbox *sb, const char *path, struct csdk_sink *out);
int csdkp_gateway_fs_write(csdk_sandbox *sb, const char *path, const void *data, size_t len);
int csdkp_gateway_fs_mkdir(csdk_sandbox *sb, const char *path);
int csdkp_gateway_fs_readdir(csdk_sandbox *sb, const char *path, struct csdk_dir *out);
int csdkp_gateway_fs_exists(csdk_sandbox *sb, const char *path, int *exists_out);
int csdkp_gateway_fs_remove(csdk_sandbox *sb, const char *path);

#endif
