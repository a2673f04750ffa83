/* The seccomp filter of bubblewrap sandboxes (seccomp=default; the program
 * in lib/util/seccomp_filter.c). It is built once per context and handed to
 * each bwrap as a memfd (--seccomp FD), which applies it to the command
 * right before exec. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "local.h"
#include "seccomp_filter.h"

static int build(struct localp_local *ctx)
{
	const char *what;
	int rc = csdku_seccomp_program(&ctx->seccomp_prog, &ctx->seccomp_len, &what);

	if (rc)
		return ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot build the seccomp filter (%s: %s); set seccomp=off to run without it",
					what, strerror(-rc));
	return 0;
}

int localp_seccomp_fd(struct localp_local *ctx, int *fd_out)
{
	int rc = 0, fd, high;

	*fd_out = -1;
	pthread_mutex_lock(&ctx->probe_lock);
	if (!ctx->seccomp_prog)
		rc = build(ctx);
	pthread_mutex_unlock(&ctx->probe_lock);
	if (rc)
		return rc;
	if ((fd = memfd_create("csdk-seccomp", MFD_CLOEXEC)) < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot create a memfd for the seccomp filter: %s", strerror(errno));
	if (write(fd, ctx->seccomp_prog, ctx->seccomp_len) != (ssize_t)ctx->seccomp_len || lseek(fd, 0, SEEK_SET) < 0) {
		rc = ctx->host->error(ctx->host, CSDK_EIO, "cannot write the seccomp filter: %s", strerror(errno));
		close(fd);
		return rc;
	}
	/* above the descriptors the child moves to 0..LOCALP_SECCOMP_FD */
	high = fcntl(fd, F_DUPFD_CLOEXEC, LOCALP_SECCOMP_FD + 1);
	close(fd);
	if (high < 0)
		return ctx->host->error(ctx->host, CSDK_EIO, "cannot move the seccomp filter's descriptor: %s", strerror(errno));
	*fd_out = high;
	return 0;
}
