/* The docker provider's stream demultiplexer, linked directly. */
#include "config.h"

#include "frames.c"
