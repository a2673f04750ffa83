#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <csdk/common.h>

#include "netroute.h"

/* an IPv4 prefix in network byte order */
struct prefix {
	uint32_t addr;
	uint8_t len;
};

/* Exit codes of routes_child: the step that failed. */
enum { ROUTES_USERNS = 2, ROUTES_NETNS, ROUTES_SOCKET, ROUTES_LO, ROUTES_NETLINK, ROUTES_REFUSED };

/* Whether addr/32 is among the n prefixes already (two interfaces may share an address). */
static int have_prefix(const struct prefix *p, size_t n, uint32_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (p[i].addr == addr && p[i].len == 32)
			return 1;
	return 0;
}

/* Fills out (room for max) with the namespace's link-local, this host's own
 * IPv4 addresses and slirp's DNS alias; returns how many, or max + 1 when
 * the host has more addresses than fit. */
static size_t blocked_prefixes(struct prefix *out, size_t max)
{
	struct ifaddrs *ifa = NULL, *i;
	size_t n = 0;

	out[n++] = (struct prefix){ htonl(0xa9fe0000u), 16 }; /* 169.254.0.0/16 */
	out[n++] = (struct prefix){ htonl(0x0a000203u), 32 }; /* 10.0.2.3 */
	if (getifaddrs(&ifa) < 0)
		return n;
	for (i = ifa; i; i = i->ifa_next) {
		uint32_t a;

		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET)
			continue;
		a = ((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr;
		/* the namespace's own loopback is 127/8; 10.0.2.0/24 is slirp's network */
		if ((ntohl(a) >> 24) == 127 || (ntohl(a) & 0xffffff00u) == 0x0a000200u)
			continue;
		/* two interfaces may hold the same address: a second route to it would be refused */
		if (have_prefix(out, n, a))
			continue;
		if (n == max) {
			n = max + 1;
			break;
		}
		out[n++] = (struct prefix){ a, 32 };
	}
	freeifaddrs(ifa);
	return n;
}

/* One RTM_NEWROUTE of type unreachable, and its acknowledgement (async-signal-safe). */
static int add_unreachable(int nl, const struct prefix *p, unsigned seq)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		struct rtattr dst;
		uint32_t addr;
	} req;
	char buf[512];
	struct nlmsghdr *h = (struct nlmsghdr *)(void *)buf;
	ssize_t got;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = sizeof(req);
	req.nh.nlmsg_type = RTM_NEWROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
	req.nh.nlmsg_seq = seq;
	req.rt.rtm_family = AF_INET;
	req.rt.rtm_dst_len = p->len;
	req.rt.rtm_table = RT_TABLE_MAIN;
	req.rt.rtm_protocol = RTPROT_STATIC;
	req.rt.rtm_scope = RT_SCOPE_UNIVERSE;
	req.rt.rtm_type = RTN_UNREACHABLE;
	req.dst.rta_len = RTA_LENGTH(sizeof(uint32_t));
	req.dst.rta_type = RTA_DST;
	req.addr = p->addr;
	if (send(nl, &req, sizeof(req), 0) != (ssize_t)sizeof(req))
		return -1;
	do
		got = recv(nl, buf, sizeof(buf), 0);
	while (got < 0 && errno == EINTR);
	if (got < (ssize_t)(sizeof(*h) + sizeof(struct nlmsgerr)) || h->nlmsg_type != NLMSG_ERROR)
		return -1;
	return ((struct nlmsgerr *)NLMSG_DATA(h))->error == 0 ? 0 : -1;
}

/* In the forked child (async-signal-safe calls only): joins the namespaces,
 * waits for lo, adds a route for each of the np prefixes; exits 0 or a
 * ROUTES_* code. bwrap configures lo over netlink before it blocks: adding
 * routes before that would race with it. */
static __attribute__((noreturn)) void routes_child(int netfd, int userfd, const struct prefix *p, size_t np)
{
	struct ifreq ifr;
	int s, nl, i;

	if (userfd >= 0 && setns(userfd, CLONE_NEWUSER) < 0)
		_exit(ROUTES_USERNS);
	if (setns(netfd, CLONE_NEWNET) < 0)
		_exit(ROUTES_NETNS);
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		_exit(ROUTES_SOCKET);
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	for (i = 0; i < CSDKU_NET_WAIT_MS; i++) {
		struct timespec ms = { 0, 1000000 };

		if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_UP))
			break;
		nanosleep(&ms, NULL);
	}
	if (i == CSDKU_NET_WAIT_MS)
		_exit(ROUTES_LO);
	if ((nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE)) < 0)
		_exit(ROUTES_NETLINK);
	for (size_t k = 0; k < np; k++)
		if (add_unreachable(nl, &p[k], (unsigned)k + 1) < 0)
			_exit(ROUTES_REFUSED);
	_exit(0);
}

int csdku_routes_add(const char **why_out, int netfd, int userfd)
{
	static const char *const steps[] = { "", "", "cannot join its user namespace", "cannot join its network namespace",
					     "no socket", "bubblewrap did not bring up its loopback", "no netlink socket",
					     "the kernel refused a route" };
	struct prefix p[CSDKU_ROUTES_MAX];
	size_t np = blocked_prefixes(p, CSDKU_ROUTES_MAX);
	int status = 0;
	pid_t pid;

	*why_out = NULL;
	if (np > CSDKU_ROUTES_MAX)
		return CSDK_EUNSUPPORTED;
	pid = fork();
	if (pid == 0)
		routes_child(netfd, geteuid() == 0 ? -1 : userfd, p, np);
	if (pid < 0)
		return CSDK_EIO;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	*why_out = WIFEXITED(status) && WEXITSTATUS(status) <= ROUTES_REFUSED ? steps[WEXITSTATUS(status)] : "the helper died";
	return CSDK_EBACKEND;
}
