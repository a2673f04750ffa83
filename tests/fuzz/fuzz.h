/*
 * fuzz.h - what every fuzz target provides and may use.
 *
 * A target is one fuzz-NAME.c defining LLVMFuzzerTestOneInput. `make fuzz`
 * links it with libFuzzer; `make check` links it with regress.c, which
 * replays corpus/NAME and regressions/NAME through the same function.
 */
#ifndef CSDK_FUZZ_H
#define CSDK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* 1 in the check programs (regress.c): slow checks then run on every input. */
#ifndef FUZZ_REPLAY
#define FUZZ_REPLAY 0
#endif

/* A broken property is a crash, so that libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                \
	do {                                                                            \
		if (!(cond)) {                                                          \
			fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
			abort();                                                        \
		}                                                                       \
	} while (0)

#endif
