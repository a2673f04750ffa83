/* The seccomp filter of bubblewrap sandboxes (seccomp=default): system calls
 * sandboxes never need fail with EPERM. The BPF program is built once per
 * context and handed to each bwrap as a memfd (--seccomp FD), which applies
 * it to the command right before exec. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "local.h"

static const char *const refused[] = {
	"mount", "umount", "umount2", "pivot_root", "chroot", "swapon", "swapoff", "reboot",
	"init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
	"bpf", "perf_event_open", "keyctl", "add_key", "request_key", "userfaultfd",
	"ptrace", "process_vm_readv", "process_vm_writev", "unshare", "setns",
	"open_by_handle_at", "name_to_handle_at", "fsopen", "fsconfig", "fsmount", "fspick",
	"open_tree", "move_mount", "mount_setattr", "acct", "quotactl", "lookup_dcookie",
	"io_uring_setup", "io_uring_enter", "io_uring_register", "pidfd_getfd", "kcmp",
	NULL
};

static const unsigned long ns_flags[] = {
	CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP
};

static int build(struct localp_local *ctx)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	struct stat st;
	size_t i;
	int fd = -1, rc = -ENOMEM;
	const char *what = "seccomp_init";

	if (!f)
		goto fail;
	/* the 32-bit ABIs of an x86-64 kernel: the same rules, not a way around them */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(f, SCMP_ARCH_X86);
		seccomp_arch_add(f, SCMP_ARCH_X32);
	}
	what = "seccomp_rule_add";
	for (i = 0; refused[i]; i++) {
		int nr = seccomp_syscall_resolve_name(refused[i]);
		if (nr != __NR_SCMP_ERROR && (rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0)
			goto fail;
	}
	for (i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					   SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]))) < 0)
			goto fail;
	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
	 * the C library fall back to clone, whose flags are checked above. */
	if ((rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
		goto fail;
	what = "seccomp_export_bpf";
	if ((fd = memfd_create("csdk-seccomp", MFD_CLOEXEC)) < 0 || (rc = seccomp_export_bpf(f, fd)) < 0 ||
	    fstat(fd, &st) < 0 || !(ctx->seccomp_prog = malloc((size_t)st.st_size ? (size_t)st.st_size : 1)) ||
	    pread(fd, ctx->seccomp_prog, (size_t)st.st_size, 0) != st.st_size) {
		rc = rc < 0 ? rc : -errno;
		goto fail;
	}
	ctx->seccomp_len = (size_t)st.st_size;
	close(fd);
	seccomp_release(f);
	return 0;
fail:
	free(ctx->seccomp_prog);
	ctx->seccomp_prog = NULL;
	if (fd >= 0)
		close(fd);
	if (f)
		seccomp_release(f);
	return ctx->host->error(ctx->host, CSDK_EBACKEND, "cannot build the seccomp filter (%s: %s); set seccomp=off to run without it",
				what, strerror(rc < 0 ? -rc : ENOMEM));
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
