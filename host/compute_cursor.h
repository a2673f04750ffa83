/* The round-robin cursor of csdk_compute, kept in a file that processes share. */
#ifndef CSDK_HOST_COMPUTE_CURSOR_H
#define CSDK_HOST_COMPUTE_CURSOR_H

/** The number in the cursor file at path (0 when none), leaving the next one
 *  there; other processes take turns through a lock file beside it. */
unsigned long csdkp_cursor_file_take(const char *path);

#endif /* CSDK_HOST_COMPUTE_CURSOR_H */
