/* tap: see tap.h. */
#include "tap.h"

#include "engine/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_queue(struct tap *t, short flags)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		log_error("--net tap=%s: cannot open /dev/net/tun: %s", t->name, strerror(err));
		return -err;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	ifr.ifr_flags = flags;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	int hdr = TAP_VNET_HDR_LEN;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		int err = errno;
		log_error("--net tap=%s: TUNSETVNETHDRSZ: %s", t->name, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

int tap_open(struct tap *t, const char *name, unsigned n)
{
	memset(t, 0, sizeof(*t));
	for (unsigned i = 0; i < TAP_MAX_QUEUES; i++)
		t->fds[i] = -1;
	if (!name || !*name || strlen(name) >= IFNAMSIZ) {
		log_error("--net tap=%s: the name must be 1 to %d characters", name ? name : "", IFNAMSIZ - 1);
		return -EINVAL;
	}
	if (n < 1 || n > TAP_MAX_QUEUES) {
		log_error("--net tap=%s: %u queue pairs (1..%d)", name, n, TAP_MAX_QUEUES);
		return -EINVAL;
	}
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->created = if_nametoindex(name) == 0;
	/* Multi-queue always when we create it (and whenever we need several queues); an
	 * existing TAP must be opened the way it was made, so with one queue either works. */
	short flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	for (unsigned i = 0; i < n; i++) {
		int fd = open_queue(t, flags);
		if (fd == -EINVAL && i == 0 && n == 1 && !t->created) {
			flags &= (short)~IFF_MULTI_QUEUE; /* an existing single-queue TAP */
			fd = open_queue(t, flags);
		}
		if (fd < 0) {
			if (fd == -EINVAL || fd == -EBUSY)
				log_error("--net tap=%s: TUNSETIFF refused (%s): an existing device must be a TAP%s that "
					  "nobody else holds", name, strerror(-fd), n > 1 ? " created with multi_queue" : "");
			else if (fd != -ENOENT)
				log_error("--net tap=%s: TUNSETIFF: %s%s", name, strerror(-fd),
					  fd == -EPERM ? " (needs CAP_NET_ADMIN)" : "");
			tap_close(t);
			return fd;
		}
		t->fds[t->n_fds++] = fd;
		t->attached[i] = true;
	}
	return 0;
}

void tap_close(struct tap *t)
{
	for (unsigned i = 0; i < t->n_fds; i++)
		if (t->fds[i] >= 0)
			close(t->fds[i]);
	t->n_fds = 0;
}

static int ifreq_ioctl(struct tap *t, int sock, unsigned long req, struct ifreq *ifr, const char *what)
{
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", t->name);
	if (ioctl(sock, req, ifr) < 0) {
		int err = errno;
		log_error("--net tap=%s: cannot %s: %s", t->name, what, strerror(err));
		return -err;
	}
	return 0;
}

static int set_inet(struct tap *t, int sock, unsigned long req, const char *addr, const char *what)
{
	struct ifreq ifr;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		log_error("--net tap=%s: '%s' is not an IPv4 address", t->name, addr);
		return -EINVAL;
	}
	memset(&ifr, 0, sizeof(ifr));
	memcpy(&ifr.ifr_addr, &sin, sizeof(sin));
	return ifreq_ioctl(t, sock, req, &ifr, what);
}

int tap_configure(struct tap *t, const char *ip, const char *mask)
{
	struct ifreq ifr;
	int ret = 0;
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return -errno;
	if (ip && (ret = set_inet(t, sock, SIOCSIFADDR, ip, "set the host address")) < 0)
		goto out;
	if (mask && (ret = set_inet(t, sock, SIOCSIFNETMASK, mask, "set the netmask")) < 0)
		goto out;
	memset(&ifr, 0, sizeof(ifr));
	if ((ret = ifreq_ioctl(t, sock, SIOCGIFFLAGS, &ifr, "read the link flags")) < 0)
		goto out;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	ret = ifreq_ioctl(t, sock, SIOCSIFFLAGS, &ifr, "bring the link up");
out:
	close(sock);
	return ret;
}

int tap_set_offload(struct tap *t, unsigned flags)
{
	for (unsigned i = 0; i < t->n_fds; i++)
		if (ioctl(t->fds[i], TUNSETOFFLOAD, (unsigned long)flags) < 0) {
			int err = errno;
			log_warn("--net tap=%s: TUNSETOFFLOAD 0x%x: %s", t->name, flags, strerror(err));
			return -err;
		}
	return 0;
}

int tap_set_active(struct tap *t, unsigned n)
{
	int ret = 0;
	for (unsigned i = 1; i < t->n_fds; i++) { /* queue 0 always stays */
		bool want = i < n;
		if (want == t->attached[i])
			continue;
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = want ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
		if (ioctl(t->fds[i], TUNSETQUEUE, &ifr) < 0) {
			ret = -errno;
			log_warn("--net tap=%s: cannot %s queue %u: %s", t->name, want ? "attach" : "detach", i,
				 strerror(-ret));
			continue;
		}
		t->attached[i] = want;
	}
	return ret;
}
