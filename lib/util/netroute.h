#ifndef CSDKU_NETROUTE_H
#define CSDKU_NETROUTE_H

#include <stddef.h>
#include <stdint.h>

/*
 * network=isolated's unreachable routes, for the local provider and the
 * benchmark's bwrap-isolated baseline alike: which prefixes, and the
 * forked child that adds them inside a network namespace.
 */

/* an IPv4 prefix in network byte order */
struct csdku_prefix {
	uint32_t addr;
	uint8_t len;
};

/* Exit codes of csdku_routes_child: the step that failed. */
enum {
	CSDKU_ROUTES_USERNS = 2, CSDKU_ROUTES_NETNS, CSDKU_ROUTES_SOCKET, CSDKU_ROUTES_LO,
	CSDKU_ROUTES_NETLINK, CSDKU_ROUTES_REFUSED
};

/* Fills out (room for max) with the namespace's link-local, this host's own
 * IPv4 addresses and slirp's DNS alias; returns how many, or max + 1 when
 * the host has more addresses than fit. */
size_t csdku_blocked_prefixes(struct csdku_prefix *out, size_t max);

/* In a forked child (async-signal-safe calls only; never returns): joins
 * userfd's user namespace (unless -1) and netfd's network namespace, waits
 * up to wait_ms until bwrap has brought up lo, adds an unreachable route
 * for each of the np prefixes, and exits 0 or a CSDKU_ROUTES_* code. */
void csdku_routes_child(int netfd, int userfd, const struct csdku_prefix *p, size_t np, int wait_ms)
	__attribute__((noreturn));

#endif
