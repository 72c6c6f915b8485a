/* lab-hold: keeps the L1 kernel from patching its own code while tests run.
 *
 * Linux flips static keys by rewriting instructions in place (int3, then the new bytes,
 * with IPIs between). QEMU 7.2's multi-threaded TCG lets another vCPU run the stale,
 * half-patched code now and then: the L1 dies with "Oops: int3" in the middle of an
 * instruction (seen in __schedule, at a preempt-notifier branch). Here the keys flip with
 * every VM: creating one turns on the preempt notifiers and a vCPU's APIC the
 * "APIC disabled" keys; destroying it turns them off again (41 patches in one run of
 * tests/integration/blk.sh, traced with ftrace); network tests flip the timestamp key and
 * the once-only hash seeds.
 *
 * This program takes each of those keys once, at boot, before anything else runs, and
 * holds them: a VM with an in-kernel irqchip and one vCPU whose local APIC is hardware- and
 * software-disabled, a UDP socket that wants receive timestamps, and loopback traffic that
 * seeds the once-only secrets (TCP over IPv4 and IPv6, a UDP reuseport pair, a flow hash,
 * a route exception, IPv4 fragments). And the L1 boots with tsc=reliable: marking the TSC unstable later
 * (TCG's clocks drift under load) would flip the sched_clock key. Then no test ever moves those
 * keys to or from zero, and nothing is patched. It forks: the parent returns once all is
 * held (so /init knows), the child keeps it all for the L1's life.
 * Built static into the lab's initramfs by tests/lab/build.sh. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/kvm.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSR_IA32_APICBASE 0x1b
#define APIC_DEFAULT_BASE 0xfee00000ull

static int die(const char *what)
{
	fprintf(stderr, "lab-hold: %s: %s\n", what, strerror(errno));
	return 1;
}

static int hold_kvm_keys(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return die("open /dev/kvm");
	int vm;
	do
		vm = ioctl(kvm, KVM_CREATE_VM, 0);
	while (vm < 0 && errno == EINTR);
	if (vm < 0)
		return die("KVM_CREATE_VM");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return die("KVM_CREATE_IRQCHIP");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return die("KVM_CREATE_VCPU");
	/* A new vCPU's APIC is software-disabled (and stays so: this vCPU never runs);
	 * clearing the enable bit of its base MSR also disables it in hardware. */
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = MSR_IA32_APICBASE, .data = APIC_DEFAULT_BASE } };
	if (ioctl(vcpu, KVM_SET_MSRS, &m) != 1)
		return die("KVM_SET_MSRS (APIC base, disabled)");
	return 0;
}

/* A TCP connection to a listener of our own over loopback (v4 or v6): seeds the connection
 * hash and sequence-number secrets. */
static int tcp_loopback(int family)
{
	struct sockaddr_storage a = { .ss_family = (sa_family_t)family };
	socklen_t len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (family == AF_INET)
		((struct sockaddr_in *)&a)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		((struct sockaddr_in6 *)&a)->sin6_addr = in6addr_loopback;
	int l = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int c = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || c < 0 || bind(l, (struct sockaddr *)&a, len) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0 || connect(c, (struct sockaddr *)&a, len) < 0)
		return -1;
	return 0;
}

/* A route exception (what a PMTU report makes) seeds the exceptions' hash secret: an ICMP
 * "fragmentation needed" to ourselves about a datagram of a connected UDP socket of ours. */
static int route_exception(void)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = htonl(0x7f000002) };
	struct sockaddr_in src;
	socklen_t len = sizeof(src);
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int raw = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP);
	if (u < 0 || raw < 0 || connect(u, (struct sockaddr *)&dst, sizeof(dst)) < 0 ||
	    getsockname(u, (struct sockaddr *)&src, &len) < 0)
		return -1;
	struct {
		struct icmphdr icmp;
		struct iphdr ip;
		struct udphdr udp;
	} __attribute__((packed)) m = {
		.icmp = { .type = ICMP_DEST_UNREACH, .code = ICMP_FRAG_NEEDED, .un.frag.mtu = htons(1400) },
		.ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP, .tot_len = htons(128),
			.saddr = src.sin_addr.s_addr, .daddr = dst.sin_addr.s_addr },
		.udp = { .source = src.sin_port, .dest = dst.sin_port, .len = htons(108) },
	};
	uint32_t sum = 0;
	for (size_t i = 0; i < sizeof(m) / 2; i++)
		sum += ((uint16_t *)&m)[i];
	sum = (sum & 0xffff) + (sum >> 16);
	m.icmp.checksum = (uint16_t)~(sum + (sum >> 16));
	struct sockaddr_in self = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (sendto(raw, &m, sizeof(m), 0, (struct sockaddr *)&self, sizeof(self)) != (ssize_t)sizeof(m))
		return -1;
	/* Then a datagram larger than that MTU, fragmented and reassembled over loopback. */
	static char big[3000];
	int dont = IP_PMTUDISC_DONT;
	int f = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (f < 0 || setsockopt(f, IPPROTO_IP, IP_MTU_DISCOVER, &dont, sizeof(dont)) < 0)
		return -1;
	return sendto(f, big, sizeof(big), 0, (struct sockaddr *)&dst, sizeof(dst)) == (ssize_t)sizeof(big) ? 0 : -1;
}

static int hold_net_keys(void)
{
	int one = 1;
	int ts = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (ts < 0 || setsockopt(ts, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one)) < 0)
		return die("a UDP socket with SO_TIMESTAMP");

	/* The once-only secrets, each seeded by the first packet that needs it (and patched
	 * away then): TCP over IPv4 and IPv6, the UDP reuseport hash, and the flow hash
	 * (a packet socket with hash fanout on lo sees the datagram and hashes it). */
	if (tcp_loopback(AF_INET) < 0)
		return die("a TCP connection over IPv4 loopback");
	if (tcp_loopback(AF_INET6) < 0)
		fprintf(stderr, "lab-hold: no TCP over IPv6 loopback (%s): its secret may be seeded later\n",
			strerror(errno));
	int pk = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(0x0800));
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x0800),
				  .sll_ifindex = (int)if_nametoindex("lo") };
	int fanout = PACKET_FANOUT_HASH << 16 | 1;
	if (pk < 0 || bind(pk, (struct sockaddr *)&ll, sizeof(ll)) < 0 ||
	    setsockopt(pk, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof(fanout)) < 0)
		return die("a packet socket with hash fanout on lo");
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int r1 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (r1 < 0 || r2 < 0 || u < 0 || setsockopt(r1, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(r2, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(r1, (struct sockaddr *)&a, sizeof(a)) < 0 || getsockname(r1, (struct sockaddr *)&a, &len) < 0 ||
	    bind(r2, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    sendto(u, "lab", 3, 0, (struct sockaddr *)&a, sizeof(a)) != 3)
		return die("a UDP datagram to a reuseport pair over loopback");
	char b[16];
	if (recv(pk, b, sizeof(b), 0) < 0)
		return die("the datagram on the packet socket");
	if (route_exception() < 0)
		return die("an ICMP fragmentation-needed report to ourselves");
	return 0;
}

int main(void)
{
	if (hold_kvm_keys() || hold_net_keys())
		return 1;
	pid_t p = fork();
	if (p < 0)
		return die("fork");
	if (p > 0)
		return 0;
	setsid();
	for (;;)
		pause();
}
