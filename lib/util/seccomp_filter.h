/* The local sandboxes' seccomp filter, for the local provider and the
 * benchmark baseline that runs its argv (libcsdkseccomp.la). */
#ifndef CSDKU_SECCOMP_FILTER_H
#define CSDKU_SECCOMP_FILTER_H

#include <stddef.h>

/*
 * The filter (seccomp=default of the local provider) as a BPF program in
 * *out (malloc'ed, the caller frees it), *len_out bytes: the system calls
 * sandboxes never need fail with EPERM. 0, or -errno with *what_out naming
 * the libseccomp step that failed. Thread-safe.
 */
int csdku_seccomp_program(void **out, size_t *len_out, const char **what_out);

#endif
