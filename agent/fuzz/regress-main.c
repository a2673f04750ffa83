/* tests/fuzz/regress.c, the replaying main() of every fuzz target. */
#include "regress.c"
