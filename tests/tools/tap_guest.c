/* tap_guest: the guest kit's net-rx and net-tx jobs done by a host process on the TAP
 * itself, with no VM in between: bench/net.sh's "host" figure, the most this machine's
 * TAP path moves with the same traffic, checks and host-side tool (net_peer). Busy
 * threads stand in for the guest's polling vCPUs, which take a CPU each under both VMMs,
 * so the host figure has the CPUs a VMM's data path has.
 *
 *   tap_guest rx|tx --tap NAME --ip GUEST_IP --peer HOST_IP [--queues N] [--size B]
 *                   [--seconds S] [--port P] [--peer-port H] [--idle-ms MS] [--ack N] [--spin N]
 * Opens N queues of the TAP (IFF_MULTI_QUEUE when N > 1; no virtio-net header), answers
 * ARP for GUEST_IP, keeps N (1) busy threads running, and, like the kit, uses flow q on
 * queue q:
 *   rx: sends HELLO from GUEST_IP:P+q (9200) to HOST_IP:H+q (9300) every 100 ms until
 *       flow q brings data, then receives and checks (payload and sequence) until END on
 *       every flow, MS (1500) of silence, or S (300) seconds. --ack N: an ACK every N
 *       frames of a flow carries the count received (for net_peer send --window).
 *       Prints: net_rx frames=N bytes=N lost=N dup=N bad=N seconds=S pps=N gbps=G pairs=N
 *   tx: writes flow q's UDP datagrams of B (1472) payload bytes from GUEST_IP:9000+q to
 *       HOST_IP:P+q (9100) as fast as the TAP takes them for S seconds, then 5 END
 *       datagrams per flow. Prints: net_tx frames=N bytes=N seconds=S pps=N gbps=G pairs=N
 * The checksum of the IPv4 header is computed; UDP datagrams carry none (IPv4 allows it),
 * as a guest whose checksums the device offloads leaves that work to the host.
 * Exit status 0 on success (rx: something arrived, nothing corrupt or duplicated), 1
 * otherwise, 2 for bad arguments or setup errors. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net_payload.h"

#define MAX_QUEUES 8
#define ETH_HLEN 14
#define IP_HLEN 20
#define UDP_HLEN 8
#define HDRS (ETH_HLEN + IP_HLEN + UDP_HLEN)

static struct {
	const char *tap;
	uint32_t ip, peer; /* network byte order */
	int queues, size, port, peer_port, idle_ms, spin, ack;
	double seconds;
	uint8_t mac[6], peer_mac[6];
} opt = { .queues = 1, .size = 1472, .idle_ms = 1500, .spin = 1 };

static int fds[MAX_QUEUES];
static atomic_int spinning;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "tap_guest: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* A guest's polling vCPU, standing in: a CPU kept busy for the whole run. */
static void *spin(void *arg)
{
	(void)arg;
	while (atomic_load_explicit(&spinning, memory_order_relaxed))
		;
	return NULL;
}

static void open_queues(void)
{
	for (int q = 0; q < opt.queues; q++) {
		struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | (opt.queues > 1 ? IFF_MULTI_QUEUE : 0) };
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt.tap);
		fds[q] = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK);
		if (fds[q] < 0 || ioctl(fds[q], TUNSETIFF, &ifr) < 0)
			die(opt.tap);
	}
	/* The host's end of the link has the TAP's own address. */
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", opt.tap);
	if (s < 0 || ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		die("SIOCGIFHWADDR");
	memcpy(opt.peer_mac, ifr.ifr_hwaddr.sa_data, 6);
	close(s);
	const uint8_t mac[6] = { 0x02, 0x72, 0x76, 0x68, 0x6f, 0x73 }; /* locally administered */
	memcpy(opt.mac, mac, 6);
}

static uint16_t ip_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((uint16_t)~sum);
}

/* Ethernet + IPv4 + UDP headers for a datagram of len payload bytes from our sport to the
 * peer's dport, at f. */
static void udp_headers(uint8_t *f, uint16_t sport, uint16_t dport, uint32_t len)
{
	memcpy(f, opt.peer_mac, 6);
	memcpy(f + 6, opt.mac, 6);
	f[12] = 0x08, f[13] = 0x00;
	uint8_t *ip = f + ETH_HLEN;
	uint16_t tot = htons((uint16_t)(IP_HLEN + UDP_HLEN + len)), frag = htons(0x4000);
	memset(ip, 0, IP_HLEN);
	ip[0] = 0x45, ip[8] = 64, ip[9] = 17;
	memcpy(ip + 2, &tot, 2);
	memcpy(ip + 6, &frag, 2);
	memcpy(ip + 12, &opt.ip, 4);
	memcpy(ip + 16, &opt.peer, 4);
	uint16_t c = ip_csum(ip, IP_HLEN);
	memcpy(ip + 10, &c, 2);
	uint8_t *u = ip + IP_HLEN;
	uint16_t sp = htons(sport), dp = htons(dport), ul = htons((uint16_t)(UDP_HLEN + len));
	memcpy(u, &sp, 2);
	memcpy(u + 2, &dp, 2);
	memcpy(u + 4, &ul, 2);
	u[6] = u[7] = 0;
}

static void send_small(int q, uint16_t sport, uint16_t dport, uint64_t seq, uint32_t flags)
{
	uint8_t f[HDRS + sizeof(struct payload)];
	udp_headers(f, sport, dport, sizeof(struct payload));
	stamp(f + HDRS, sizeof(struct payload), (uint32_t)q, seq, flags);
	if (write(fds[q], f, sizeof(f)) < 0 && errno != EAGAIN)
		die("write");
}

/* An ARP request for our address: answer it. Returns whether f was one. */
static int arp_answer(int q, const uint8_t *f, ssize_t n)
{
	if (n < 42 || f[12] != 0x08 || f[13] != 0x06 || f[20] != 0 || f[21] != 1 || memcmp(f + 38, &opt.ip, 4))
		return 0;
	uint8_t r[42];
	memcpy(r, f + 6, 6);
	memcpy(r + 6, opt.mac, 6);
	memcpy(r + 12, f + 12, 8); /* type, hardware and protocol kinds and sizes */
	r[20] = 0, r[21] = 2;
	memcpy(r + 22, opt.mac, 6);
	memcpy(r + 28, &opt.ip, 4);
	memcpy(r + 32, f + 22, 10); /* the asker's hardware and protocol address */
	if (write(fds[q], r, sizeof(r)) < 0 && errno != EAGAIN)
		die("write");
	return 1;
}

/* Ask who has the host's address: the host learns ours from the question, as it does
 * from the kit's first ARP, so its first datagrams are not held (and reordered) while it
 * resolves us. */
static void arp_announce(void)
{
	uint8_t r[42];
	memset(r, 0xff, 6);
	memcpy(r + 6, opt.mac, 6);
	const uint8_t kinds[8] = { 0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4 };
	memcpy(r + 12, kinds, 8);
	r[20] = 0, r[21] = 1;
	memcpy(r + 22, opt.mac, 6);
	memcpy(r + 28, &opt.ip, 4);
	memset(r + 32, 0, 6);
	memcpy(r + 38, &opt.peer, 4);
	if (write(fds[0], r, sizeof(r)) < 0)
		die("write");
}

/* The UDP payload of f when it is a datagram to one of our flow ports, else NULL. */
static const uint8_t *udp_payload(const uint8_t *f, ssize_t n, int *flow, uint32_t *len)
{
	if (n < HDRS || f[12] != 0x08 || f[13] != 0x00 || (f[ETH_HLEN] & 0xf0) != 0x40 || f[ETH_HLEN + 9] != 17 ||
	    memcmp(f + ETH_HLEN + 16, &opt.ip, 4))
		return NULL;
	size_t ihl = (size_t)(f[ETH_HLEN] & 15) * 4;
	const uint8_t *u = f + ETH_HLEN + ihl;
	if (ihl < IP_HLEN || (size_t)n < ETH_HLEN + ihl + UDP_HLEN)
		return NULL;
	int dport = u[2] << 8 | u[3], ulen = u[4] << 8 | u[5];
	if (dport < opt.port || dport >= opt.port + opt.queues || ulen < UDP_HLEN ||
	    (size_t)n < ETH_HLEN + ihl + (size_t)ulen)
		return NULL;
	*flow = dport - opt.port;
	*len = (uint32_t)ulen - UDP_HLEN;
	return u + UDP_HLEN;
}

static int do_rx(void)
{
	uint64_t frames = 0, bytes = 0, lost = 0, dup = 0, bad = 0, expect[MAX_QUEUES] = { 0 };
	uint64_t end_seq[MAX_QUEUES] = { 0 }, got_flow[MAX_QUEUES] = { 0 };
	int flowing[MAX_QUEUES] = { 0 }, ended[MAX_QUEUES] = { 0 }, n_ended = 0;
	double start = now_s(), next_hello = 0, t_first = 0, t_last = 0;
	static uint8_t f[65536];

	while (n_ended < opt.queues) {
		double now = now_s();
		if (now >= next_hello) {
			for (int q = 0; q < opt.queues; q++)
				if (!flowing[q])
					send_small(q, (uint16_t)(opt.port + q), (uint16_t)(opt.peer_port + q), 0, F_HELLO);
			next_hello = now + 0.1;
		}
		if ((t_first && now - t_last > opt.idle_ms / 1000.0) || now - start > opt.seconds)
			break;
		int got = 0;
		for (int q = 0; q < opt.queues; q++) {
			/* A burst per queue, then the next: the kit's poll loop does the same. */
			for (int k = 0; k < 64; k++) {
				ssize_t n = read(fds[q], f, sizeof(f));
				if (n < 0) {
					if (errno != EAGAIN)
						die("read");
					break;
				}
				got = 1;
				int flow;
				uint32_t len;
				struct payload h;
				const uint8_t *p = udp_payload(f, n, &flow, &len);
				if (!p) {
					arp_answer(q, f, n);
					continue;
				}
				if (verify(p, len, &h) < 0 || h.flow != (uint32_t)flow) {
					bad++;
					continue;
				}
				flowing[flow] = 1;
				if (h.flags & F_END) {
					if (!ended[flow])
						ended[flow] = 1, n_ended++, end_seq[flow] = h.seq;
					continue;
				}
				t_last = now_s();
				if (!t_first)
					t_first = t_last;
				frames++, bytes += len;
				if (opt.ack && ++got_flow[flow] % (uint64_t)opt.ack == 0)
					send_small(flow, (uint16_t)(opt.port + flow), (uint16_t)(opt.peer_port + flow),
						   got_flow[flow], F_ACK);
				if (h.seq >= expect[flow]) {
					lost += h.seq - expect[flow];
					expect[flow] = h.seq + 1;
				} else {
					dup++; /* or late: one queue per flow here, so the TAP cannot reorder */
				}
			}
		}
		if (!got) {
			struct pollfd p[MAX_QUEUES];
			for (int q = 0; q < opt.queues; q++)
				p[q] = (struct pollfd){ .fd = fds[q], .events = POLLIN };
			poll(p, (nfds_t)opt.queues, 20);
		}
	}
	for (int q = 0; q < opt.queues; q++)
		if (ended[q] && end_seq[q] > expect[q])
			lost += end_seq[q] - expect[q];
	double secs = t_last > t_first ? t_last - t_first : 1e-9;
	printf("net_rx frames=%llu bytes=%llu lost=%llu dup=%llu bad=%llu seconds=%.3f pps=%.0f gbps=%.4f pairs=%d\n",
	       (unsigned long long)frames, (unsigned long long)bytes, (unsigned long long)lost,
	       (unsigned long long)dup, (unsigned long long)bad, secs, (double)frames / secs,
	       (double)bytes * 8 / secs / 1e9, opt.queues);
	return frames && !bad && !dup ? 0 : 1;
}

static int do_tx(void)
{
	static uint8_t f[MAX_QUEUES][HDRS + 1472];
	uint64_t seq[MAX_QUEUES] = { 0 }, sent = 0;
	uint32_t size = (uint32_t)opt.size, flen = HDRS + size < 60 ? 60 : HDRS + size;
	for (int q = 0; q < opt.queues; q++) {
		memset(f[q], 0, sizeof(f[q]));
		udp_headers(f[q], (uint16_t)(9000 + q), (uint16_t)(opt.port + q), size);
		for (uint32_t k = sizeof(struct payload); k < size; k++)
			f[q][HDRS + k] = body_byte((uint32_t)q, k);
	}
	double t0 = now_s(), t_end = t0 + opt.seconds, t1;
	for (;;) {
		t1 = now_s();
		if (t1 >= t_end)
			break;
		for (int q = 0; q < opt.queues; q++) {
			for (int k = 0; k < 64; k++) {
				stamp(f[q] + HDRS, size, (uint32_t)q, seq[q], 0);
				if (write(fds[q], f[q], flen) < 0) {
					if (errno == EAGAIN || errno == ENOBUFS)
						break;
					die("write");
				}
				seq[q]++, sent++;
			}
		}
	}
	for (int r = 0; r < 5; r++) {
		for (int q = 0; q < opt.queues; q++)
			send_small(q, (uint16_t)(9000 + q), (uint16_t)(opt.port + q), seq[q], F_END);
		usleep(20000);
	}
	double secs = t1 - t0 > 0 ? t1 - t0 : 1e-9;
	printf("net_tx frames=%llu bytes=%llu seconds=%.3f pps=%.0f gbps=%.4f pairs=%d\n", (unsigned long long)sent,
	       (unsigned long long)sent * size, secs, (double)sent / secs, (double)sent * size * 8 / secs / 1e9,
	       opt.queues);
	return sent ? 0 : 1;
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = a.s_addr;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "tap", 1, 0, 't' }, { "ip", 1, 0, 'i' }, { "peer", 1, 0, 'p' }, { "queues", 1, 0, 'q' },
		{ "size", 1, 0, 's' }, { "seconds", 1, 0, 'S' }, { "port", 1, 0, 'P' }, { "peer-port", 1, 0, 'H' },
		{ "idle-ms", 1, 0, 'I' }, { "spin", 1, 0, 'n' }, { "ack", 1, 0, 'a' }, { 0, 0, 0, 0 },
	};
	const char *ip = NULL, *peer = NULL;
	int c, rx;
	if (argc < 2 || (strcmp(argv[1], "rx") && strcmp(argv[1], "tx"))) {
		fprintf(stderr, "usage: tap_guest rx|tx --tap NAME --ip GUEST_IP --peer HOST_IP [options]"
				" (see the comment at the top of tap_guest.c)\n");
		return 2;
	}
	rx = !strcmp(argv[1], "rx");
	opt.port = rx ? 9200 : 9100;
	opt.peer_port = 9300;
	opt.seconds = rx ? 300 : 5;
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 't': opt.tap = optarg; break;
		case 'i': ip = optarg; break;
		case 'p': peer = optarg; break;
		case 'q': opt.queues = atoi(optarg); break;
		case 's': opt.size = atoi(optarg); break;
		case 'S': opt.seconds = atof(optarg); break;
		case 'P': opt.port = atoi(optarg); break;
		case 'H': opt.peer_port = atoi(optarg); break;
		case 'I': opt.idle_ms = atoi(optarg); break;
		case 'n': opt.spin = atoi(optarg); break;
		case 'a': opt.ack = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!opt.tap || parse_ip(ip, &opt.ip) || parse_ip(peer, &opt.peer) || opt.queues < 1 ||
	    opt.queues > MAX_QUEUES || opt.spin < 0 || opt.spin > MAX_QUEUES || opt.ack < 0 || opt.size < (int)sizeof(struct payload) || opt.size > 1472 ||
	    opt.seconds <= 0 || opt.port < 1 || opt.port + opt.queues > 65536 || opt.peer_port < 1 ||
	    opt.peer_port + opt.queues > 65536) {
		fprintf(stderr, "tap_guest: need --tap, --ip and --peer (IPv4), 1..%d queues, size 32..1472, "
				"seconds > 0, valid ports, 0..%d spinning threads\n", MAX_QUEUES, MAX_QUEUES);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	open_queues();
	arp_announce();
	pthread_t spinner[MAX_QUEUES];
	atomic_store(&spinning, 1);
	for (int i = 0; i < opt.spin; i++)
		if (pthread_create(&spinner[i], NULL, spin, NULL))
			die("pthread_create");
	int r = rx ? do_rx() : do_tx();
	atomic_store(&spinning, 0);
	for (int i = 0; i < opt.spin; i++)
		pthread_join(spinner[i], NULL);
	return r;
}
