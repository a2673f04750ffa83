#ifndef CSDKU_NETROUTE_H
#define CSDKU_NETROUTE_H

/*
 * network=isolated's unreachable routes, for the local provider and the
 * benchmark's bwrap-isolated baseline alike: to this host's own IPv4
 * addresses, to link-local ones and to slirp's DNS alias, added inside the
 * namespace before slirp4netns (slirp.h) gives it its way out.
 */

/* How long the set-up waits for bwrap's loopback and for slirp4netns. */
#define CSDKU_NET_WAIT_MS 5000
/* The most prefixes blocked: link-local, slirp's DNS alias and up to
 * CSDKU_ROUTES_MAX - 2 addresses of this host. */
#define CSDKU_ROUTES_MAX 1024

/*
 * Adds the routes inside netfd's network namespace from a forked child
 * (which joins userfd's user namespace first unless this process is root,
 * and waits up to CSDKU_NET_WAIT_MS until bwrap has brought up lo), and
 * waits for that child. 0; CSDK_EUNSUPPORTED when this host has more than
 * CSDKU_ROUTES_MAX - 2 IPv4 addresses; CSDK_EIO when it cannot fork
 * (errno); CSDK_EBACKEND when the child failed, *why_out (a static string)
 * saying at which step.
 */
int csdku_routes_add(const char **why_out, int netfd, int userfd);

#endif
