/*
 * frames.h - incremental demultiplexer for the Docker raw stream: frames of
 * an 8-byte header (stream byte, three zero bytes, big-endian u32 length)
 * followed by the payload, split arbitrarily across reads.
 */
#ifndef DOCKERP_FRAMES_H
#define DOCKERP_FRAMES_H

#include <stddef.h>
#include <stdint.h>

struct dockerp_frames {
	unsigned char header[8];
	size_t header_len;
	int stream;
	uint32_t remaining;
};

/** Receives a payload piece of stream 1 (stdout) or 2 (stderr); non-zero stops. */
typedef int (*dockerp_frames_fn)(void *arg, int stream, const char *data, size_t len);

void dockerp_frames_init(struct dockerp_frames *f);
/**
 * Feed len bytes. Returns 0, the callback's non-zero value, or CSDK_EBACKEND
 * for a malformed header (a stream other than 0, 1 or 2, or non-zero padding).
 */
int dockerp_frames_feed(struct dockerp_frames *f, const void *data, size_t len, dockerp_frames_fn fn, void *arg);
/** 1 when the stream so far ended on a frame boundary. */
int dockerp_frames_complete(const struct dockerp_frames *f);

#endif
