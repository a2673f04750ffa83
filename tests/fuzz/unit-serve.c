/* csdk serve's request parsing, compiled here for regress-serve (one source file, no cross-directory objects). */
#include "serve/parse.c"
