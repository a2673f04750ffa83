/*
 * The failures gathered while csdk_compute tries providers in turn, and the
 * one error they make.
 */
#ifndef CSDK_HOST_COMPUTE_FAILURES_H
#define CSDK_HOST_COMPUTE_FAILURES_H

#include <stddef.h>

struct csdkp_failures {
	char *text;
	const char *first_name;  /* the first failure, for the error of a single provider */
	char *first_message;
	size_t n_tried;
	int code;
	int mixed;
};

#define CSDKP_FAILURES_INIT { NULL, NULL, NULL, 0, 0, 0 }

/** Add name's failure, with the thread's last error (or code's text) as its line. */
void csdkp_failures_add_last(struct csdkp_failures *f, const char *name, int code);
/** A line for a provider that answered without failing (e.g. "no such
 *  sandbox"): listed in the error if others failed, never its cause. */
void csdkp_failures_note(struct csdkp_failures *f, const char *name, const char *message);
/** Set the thread's error from f ("Failed to WHAT across N provider(s).") and free f; returns its code. */
int csdkp_failures_report(struct csdkp_failures *f, const char *what, size_t n);
void csdkp_failures_free(struct csdkp_failures *f);

#endif /* CSDK_HOST_COMPUTE_FAILURES_H */
