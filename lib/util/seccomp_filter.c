/* The seccomp filter of local bubblewrap sandboxes (seccomp=default) as a BPF
 * program: system calls sandboxes never need fail with EPERM. One definition
 * for the local provider and the benchmark baseline that runs its argv. */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "seccomp_filter.h"

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

int csdku_seccomp_program(void **out, size_t *len_out, const char **what_out)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	struct stat st;
	size_t i;
	int fd = -1, rc = -ENOMEM;

	*out = NULL;
	*len_out = 0;
	*what_out = "seccomp_init";
	if (!f)
		goto out;
	/* the 32-bit ABIs of an x86-64 kernel: the same rules, not a way around them */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(f, SCMP_ARCH_X86);
		seccomp_arch_add(f, SCMP_ARCH_X32);
	}
	*what_out = "seccomp_rule_add";
	for (i = 0; refused[i]; i++) {
		int nr = seccomp_syscall_resolve_name(refused[i]);
		if (nr != __NR_SCMP_ERROR && (rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), nr, 0)) < 0)
			goto out;
	}
	for (i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]); i++)
		if ((rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
					   SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]))) < 0)
			goto out;
	/* clone3 passes its flags in memory a filter cannot read: ENOSYS makes
	 * the C library fall back to clone, whose flags are checked above. */
	if ((rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0)
		goto out;
	*what_out = "seccomp_export_bpf";
	if ((fd = memfd_create("csdk-seccomp", MFD_CLOEXEC)) < 0 || (rc = seccomp_export_bpf(f, fd)) < 0 ||
	    fstat(fd, &st) < 0 || !(*out = malloc((size_t)st.st_size ? (size_t)st.st_size : 1)) ||
	    pread(fd, *out, (size_t)st.st_size, 0) != st.st_size) {
		rc = rc < 0 ? rc : errno ? -errno : -ENOMEM;
		free(*out);
		*out = NULL;
		goto out;
	}
	*len_out = (size_t)st.st_size;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (f)
		seccomp_release(f);
	return rc;
}
