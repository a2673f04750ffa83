#ifndef CSDK_HOST_ISOLATE_H
#define CSDK_HOST_ISOLATE_H

#include "validate.h"

/** How long a probe may take before it is killed. */
#define CSDKP_PROBE_TIMEOUT_S 10

/**
 * A probe runs in a child process: it returns 0, or a rejection code with
 * the verdict filled (CSDK_ENOMEM aborts the probe).
 */
typedef int (*csdkp_probe_fn)(struct csdkp_verdict *verdict, const char *path, void *arg);

/*
 * Run probe(verdict, path, arg) in a fork()ed child and return its result
 * in the parent. A child killed by a signal gives CSDK_ECRASHED and the
 * crash message; one that exits without answering gives CSDK_ECRASHED with
 * signal 0; one still running after timeout_s seconds is killed and gives
 * CSDK_ETIMEOUT. Failing to fork gives CSDK_EIO. Returns 0 when the probe
 * returned 0, the verdict's code otherwise, or CSDK_ENOMEM.
 */
int csdkp_isolate_run(struct csdkp_verdict *verdict, const char *path, csdkp_probe_fn probe, void *arg,
		      int timeout_s);

/** "SIGSEGV" for SIGSEGV, "SIG42" when unknown. Static or in buf (at least 16 bytes). */
const char *csdkp_signal_name(int sig, char *buf, size_t size);

#endif
