#ifndef CSDK_HOST_FS_SHELL_H
#define CSDK_HOST_FS_SHELL_H

#include "provider.h"

/*
 * The filesystem of a plugin that declares CSDK_CAP_FS_OVER_COMMANDS,
 * served through its run_command and a POSIX sh (with base64, mkdir, mv, rm,
 * wc) in the sandbox. Same contracts and messages as the plugin methods;
 * called with the provider's call lock held.
 */
int csdkp_shell_fs_read(csdk_provider *p, void *native, const char *path, struct csdk_sink *out);
int csdkp_shell_fs_write(csdk_provider *p, void *native, const char *path, const void *data, size_t len);
int csdkp_shell_fs_mkdir(csdk_provider *p, void *native, const char *path);
int csdkp_shell_fs_readdir(csdk_provider *p, void *native, const char *path, struct csdk_dir *out);
int csdkp_shell_fs_exists(csdk_provider *p, void *native, const char *path, int *exists_out);
int csdkp_shell_fs_remove(csdk_provider *p, void *native, const char *path);

#endif
