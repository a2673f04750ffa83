/* disk: a size limit on what a sandbox writes. One tmpfs of that size per
 * sandbox, mounted at create; its directories home and tmp are bind-mounted
 * over the sandbox's home/ and tmp/, and the tmpfs's own mount is detached,
 * so the two share the limit and past it writes fail with ENOSPC. A tmpfs
 * (not a loop-mounted image or a project quota) because it costs about a
 * millisecond at create and nothing on the host's disk (BENCHMARKS.md); it
 * lives in memory, and does not survive a restart of the host. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

#define DISK_DIR "disk"

/* Mounting needs root: checked before anything of the sandbox is made. */
int localp_disk_allowed(struct localp_local *ctx)
{
	if (!ctx->disk || geteuid() == 0)
		return 0;
	return ctx->host->error(ctx->host, CSDK_EBACKEND,
		"disk needs root: it mounts a tmpfs of %llu bytes over the sandbox's home and tmp; run csdk as root, or unset disk (CSDK_LOCAL_DISK)",
		(unsigned long long)ctx->disk);
}

int localp_disk_create(struct localp_local *ctx, const struct localp_sandbox *sb, uint64_t bytes)
{
	static const char *const areas[] = { "home", "tmp" };
	static const mode_t modes[] = { 0755, 01777 };
	char fs[4096], src[4200], dst[4200], opts[64];
	const char *what = fs;

	snprintf(fs, sizeof(fs), "%s/" DISK_DIR, sb->dir);
	snprintf(opts, sizeof(opts), "size=%llu,mode=0700", (unsigned long long)bytes);
	if (mkdir(fs, 0700) < 0 || mount("csdk-disk", fs, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
		goto fail;
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		snprintf(src, sizeof(src), "%s/%s", fs, areas[i]);
		snprintf(dst, sizeof(dst), "%s/%s", sb->dir, areas[i]);
		what = dst;
		if (mkdir(src, modes[i]) < 0 || chmod(src, modes[i]) < 0 || mount(src, dst, NULL, MS_BIND, NULL) < 0)
			goto fail;
	}
	what = fs;
	if (umount2(fs, MNT_DETACH) < 0 || rmdir(fs) < 0)
		goto fail;
	return 0;
fail:
	return ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot mount the disk of sandbox %s (%s): %s; unset disk (CSDK_LOCAL_DISK)",
				sb->id, what, strerror(errno));
}

/* Detaches what localp_disk_create mounted in DIR (a sandbox's directory,
 * or its trash/ name), busy or not. */
void localp_disk_remove(const char *dir)
{
	static const char *const names[] = { "home", "tmp", DISK_DIR };
	char path[4200];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	}
}

/* Whether the sandbox's disk is still mounted: a restart of the host ends
 * the tmpfs, and commands must not write to the state directory instead. */
int localp_disk_check(struct localp_local *ctx, const struct localp_sandbox *sb)
{
	char path[4200];
	struct stat top, home;

	snprintf(path, sizeof(path), "%s/home", sb->dir);
	if (stat(sb->dir, &top) < 0 || stat(path, &home) < 0 || top.st_dev == home.st_dev)
		return ctx->host->error(ctx->host, CSDK_EBACKEND,
			"the disk of sandbox %s is gone (its tmpfs does not outlive a restart of the host); destroy it and create a new sandbox", sb->id);
	return 0;
}
