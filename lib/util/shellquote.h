#ifndef CSDK_UTIL_SHELLQUOTE_H
#define CSDK_UTIL_SHELLQUOTE_H

/** Quote s for /bin/sh as one word ('...' with embedded ' as '\''); *out is malloc'd. 0 or CSDK_ENOMEM. */
int csdku_shell_quote(char **out, const char *s);
/** Append the quoted form of s, preceded by a space unless buf is empty, to a malloc'd string. 0 or CSDK_ENOMEM. */
int csdku_shell_append(char **buf, const char *s);

#endif
