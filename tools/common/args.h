/*
 * Argument parsing helpers shared by the csdk command-line tools.
 */
#ifndef CSDK_TOOLS_ARGS_H
#define CSDK_TOOLS_ARGS_H

#include <getopt.h>

/**
 * Report what getopt_long complained about (it must run with opterr = 0
 * and an optstring starting with ':'): c is its return value, '?' for an
 * unknown option or ':' for a missing argument. Prints one usage error and
 * returns 2.
 */
int tool_getopt_error(int c, char *const argv[]);

/**
 * Split "KEY=VALUE": *key_out is a new string (free it), *value_out points
 * into arg. Returns 0, CSDK_EINVAL when there is no '=' or the key is
 * empty, or CSDK_ENOMEM.
 */
int tool_split_kv(char **key_out, const char **value_out, const char *arg);

#endif /* CSDK_TOOLS_ARGS_H */
