#ifndef CSDK_UTIL_SYNTAX_H
#define CSDK_UTIL_SYNTAX_H

#include <stddef.h>

/**
 * Decide whether a run of `runtime` ("python" or "node") on script_path that
 * ended with exit_code and printed stderr failed because the code did not
 * compile (1) or not (0). When it did, msg receives the error line and its
 * location, e.g. "SyntaxError: '(' was never closed (line 1)".
 */
int csdku_syntax_error_classify(char *msg, size_t msglen, const char *runtime,
				int exit_code, const char *stderr_text, size_t stderr_len,
				const char *script_path);

#endif
