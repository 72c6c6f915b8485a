/* net_peer: the host end of the guest kit's UDP floods (job=net-tx, net-rx, net-hostile).
 *
 *   net_peer recv --bind IP --port BASE [--flows N] [--idle-ms MS] [--timeout S] [--allow-loss]
 *       Receives flow q on BASE+q until END arrived on every flow (or MS of silence after
 *       the first frame), checking every datagram's payload (magic, check word, every body
 *       byte; the kernel checked the UDP checksum) and its sequence.
 *       Prints: recv frames=N bytes=N lost=N dup=N bad=N seconds=S pps=N gbps=G flows=N
 *   net_peer send --bind IP --port BASE --to GUEST_IP --dport GBASE [--flows N] [--size B]
 *                 [--count N | --mib M | --seconds S] [--window W] [--hello-ms MS] [--swap-every N]
 *       Waits for the guest's HELLO on each flow (from GUEST_IP:GBASE+q to BASE+q), then
 *       sends flow q from BASE+q to GBASE+q: as fast as it can, or with --window W at most
 *       W frames beyond what the guest has ACKed. Then 5 END datagrams per flow.
 *       --swap-every N sends frames k+1 before k for every k that is a multiple of N, as
 *       queues can reorder a flow (the guest must count those late, not duplicate).
 *       Prints: send frames=N bytes=N seconds=S pps=N gbps=G flows=N acked=N
 * Exit status 0 when everything arrived intact (recv) or was sent (send); 1 otherwise;
 * 2 for bad arguments or a socket error. The payload format is the kit's (net_payload.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net_payload.h"

#define MAX_FLOWS 16
#define BATCH 32

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "net_peer: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int bind_udp(const char *ip, int port, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;
	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* the address may not exist yet: the VMM creates the TAP that carries it */
	setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	/* Root may pass rmem_max: a deep buffer so a slow moment here loses nothing. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		fprintf(stderr, "net_peer: bad address %s\n", ip);
		exit(2);
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("bind");
	return fd;
}

static struct {
	const char *bind, *to;
	int port, dport, flows, size, window, hello_ms, idle_ms, allow_loss, swap_every;
	uint64_t count;
	double seconds, timeout;
} opt = { .flows = 1, .size = 1472, .hello_ms = 20000, .idle_ms = 3000, .count = 100000, .timeout = 600 };

static int do_recv(void)
{
	int fds[MAX_FLOWS];
	uint64_t frames = 0, bytes = 0, lost = 0, dup = 0, bad = 0;
	uint64_t recv_f[MAX_FLOWS] = { 0 }, expect[MAX_FLOWS] = { 0 }, end_seq[MAX_FLOWS] = { 0 };
	int ended[MAX_FLOWS] = { 0 }, n_ended = 0;
	static uint8_t bufs[BATCH][65536];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	double t_first = 0, t_last = 0, t_start = now_s();

	for (int q = 0; q < opt.flows; q++)
		fds[q] = bind_udp(opt.bind, opt.port + q, 256 << 20);
	printf("recv_ready flows=%d\n", opt.flows);
	fflush(stdout);
	while (n_ended < opt.flows) {
		struct pollfd p[MAX_FLOWS];
		for (int q = 0; q < opt.flows; q++)
			p[q] = (struct pollfd){ .fd = fds[q], .events = POLLIN };
		int r = poll(p, (nfds_t)opt.flows, 100);
		double now = now_s();
		if (r < 0 && errno != EINTR)
			die("poll");
		if ((t_first && now - t_last > opt.idle_ms / 1000.0) || now - t_start > opt.timeout)
			break;
		for (int q = 0; q < opt.flows; q++) {
			if (!(p[q].revents & POLLIN))
				continue;
			for (int i = 0; i < BATCH; i++) {
				iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
				memset(&msgs[i], 0, sizeof(msgs[i]));
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			int n = recvmmsg(fds[q], msgs, BATCH, MSG_DONTWAIT, NULL);
			for (int i = 0; i < n; i++) {
				struct payload h;
				uint32_t len = msgs[i].msg_len;
				if (verify(bufs[i], len, &h) < 0 || h.flow != (uint32_t)q) {
					bad++;
					continue;
				}
				if (h.flags & F_END) {
					if (!ended[q]) {
						ended[q] = 1, n_ended++;
						end_seq[q] = h.seq;
					}
					continue;
				}
				if (!t_first)
					t_first = now;
				t_last = now_s();
				frames++, bytes += len, recv_f[q]++;
				if (h.seq == expect[q])
					expect[q]++;
				else if (h.seq > expect[q]) {
					lost += h.seq - expect[q];
					expect[q] = h.seq + 1;
				} else
					dup++;
			}
		}
	}
	for (int q = 0; q < opt.flows; q++)
		if (ended[q] && end_seq[q] > expect[q])
			lost += end_seq[q] - expect[q];
	double secs = t_last > t_first ? t_last - t_first : 1e-9;
	printf("recv frames=%llu bytes=%llu lost=%llu dup=%llu bad=%llu seconds=%.3f pps=%.0f gbps=%.4f flows=%d ended=%d\n",
	       (unsigned long long)frames, (unsigned long long)bytes, (unsigned long long)lost, (unsigned long long)dup,
	       (unsigned long long)bad, secs, frames / secs, bytes * 8 / secs / 1e9, opt.flows, n_ended);
	for (int q = 0; q < opt.flows; q++)
		printf("recv_flow flow=%d frames=%llu end=%llu\n", q, (unsigned long long)recv_f[q],
		       (unsigned long long)end_seq[q]);
	return frames && !bad && !dup && (opt.allow_loss || !lost) ? 0 : 1;
}

static int do_send(void)
{
	int fds[MAX_FLOWS];
	uint64_t seq[MAX_FLOWS] = { 0 }, acked[MAX_FLOWS] = { 0 }, total = 0;
	double last_ack[MAX_FLOWS];
	static uint8_t bufs[MAX_FLOWS][BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	uint32_t size = (uint32_t)opt.size;
	uint64_t per_flow = (opt.count + opt.flows - 1) / opt.flows;

	for (int q = 0; q < opt.flows; q++) {
		struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)(opt.dport + q)) };
		fds[q] = bind_udp(opt.bind, opt.port + q, 4 << 20);
		if (inet_pton(AF_INET, opt.to, &to.sin_addr) != 1)
			die("bad --to address");
		/* the route appears when the VMM has given the TAP its address */
		for (int tries = 0; connect(fds[q], (struct sockaddr *)&to, sizeof(to)) < 0; tries++) {
			if (errno != ENETUNREACH || tries * 50 > opt.hello_ms)
				die("connect");
			usleep(50000);
		}
		for (int i = 0; i < BATCH; i++) {
			for (uint32_t k = sizeof(struct payload); k < size; k++)
				bufs[q][i][k] = body_byte((uint32_t)q, k);
		}
	}
	/* the guest says hello on every flow once it is ready */
	for (int q = 0; q < opt.flows; q++) {
		struct pollfd p = { .fd = fds[q], .events = POLLIN };
		uint8_t b[2048];
		struct payload h;
		for (;;) {
			if (poll(&p, 1, opt.hello_ms) <= 0) {
				fprintf(stderr, "net_peer: no HELLO from the guest on flow %d within %d ms\n", q, opt.hello_ms);
				return 1;
			}
			ssize_t n = recv(fds[q], b, sizeof(b), 0);
			if (n > 0 && verify(b, (uint32_t)n, &h) == 0 && (h.flags & F_HELLO))
				break;
		}
	}
	printf("send_start flows=%d\n", opt.flows);
	fflush(stdout);
	double t0 = now_s(), t_end = opt.seconds > 0 ? t0 + opt.seconds : 0;
	for (int q = 0; q < opt.flows; q++)
		last_ack[q] = t0;
	for (;;) {
		int more = 0;
		double now = now_s();
		for (int q = 0; q < opt.flows; q++) {
			/* acks: the count the guest has */
			uint8_t b[256];
			ssize_t n;
			struct payload h;
			while ((n = recv(fds[q], b, sizeof(b), MSG_DONTWAIT)) > 0)
				if (verify(b, (uint32_t)n, &h) == 0 && (h.flags & F_ACK) && h.seq > acked[q]) {
					acked[q] = h.seq;
					last_ack[q] = now;
				}
			if (t_end ? now >= t_end : seq[q] >= per_flow)
				continue;
			more = 1;
			uint64_t room = BATCH;
			if (opt.window) {
				/* a window that stopped moving for 0.5 s: frames were lost; go on */
				if (now - last_ack[q] > 0.5) {
					acked[q] = seq[q];
					last_ack[q] = now;
				}
				uint64_t out = seq[q] - acked[q];
				room = out >= (uint64_t)opt.window ? 0 : opt.window - out;
				if (room > BATCH)
					room = BATCH;
			}
			if (!t_end && room > per_flow - seq[q])
				room = per_flow - seq[q];
			for (uint64_t i = 0; i < room; i++) {
				stamp(bufs[q][i], size, (uint32_t)q, seq[q] + i, 0);
				iov[i] = (struct iovec){ bufs[q][i], size };
				memset(&msgs[i], 0, sizeof(msgs[i]));
				msgs[i].msg_hdr.msg_iov = &iov[i];
				msgs[i].msg_hdr.msg_iovlen = 1;
			}
			bool swapped[BATCH] = { false }; /* i carries seq+i+1, i+1 carries seq+i */
			for (uint64_t i = 0; opt.swap_every && i + 1 < room; i++)
				if ((seq[q] + i) % (uint64_t)opt.swap_every == 0) {
					struct iovec t = iov[i];
					iov[i] = iov[i + 1];
					iov[i + 1] = t;
					swapped[i++] = true;
				}
			int sent = room ? sendmmsg(fds[q], msgs, (unsigned)room, 0) : 0;
			if (sent < 0) {
				if (errno == ENOBUFS || errno == EAGAIN)
					continue;
				die("sendmmsg");
			}
			if (sent > 0 && (uint64_t)sent < room && swapped[sent - 1]) {
				/* the batch stopped between a swapped pair: send its other half now */
				while (send(fds[q], iov[sent].iov_base, iov[sent].iov_len, 0) < 0)
					if (errno != ENOBUFS && errno != EAGAIN)
						die("send");
				sent++;
			}
			seq[q] += (uint64_t)sent;
			total += (uint64_t)sent;
		}
		if (!more)
			break;
	}
	double t1 = now_s();
	/* let the window drain (whole ack intervals), then END */
	for (int q = 0; opt.window && q < opt.flows; q++) {
		double until = now_s() + 2;
		while (acked[q] + 64 <= seq[q] && now_s() < until) {
			uint8_t b[256];
			struct payload h;
			struct pollfd p = { .fd = fds[q], .events = POLLIN };
			if (poll(&p, 1, 50) > 0) {
				ssize_t n = recv(fds[q], b, sizeof(b), 0);
				if (n > 0 && verify(b, (uint32_t)n, &h) == 0 && (h.flags & F_ACK) && h.seq > acked[q])
					acked[q] = h.seq;
			}
		}
	}
	for (int r = 0; r < 5; r++) {
		for (int q = 0; q < opt.flows; q++) {
			struct payload e;
			stamp(&e, sizeof(e), (uint32_t)q, seq[q], F_END);
			send(fds[q], &e, sizeof(e), 0);
		}
		usleep(20000);
	}
	uint64_t all_acked = 0;
	for (int q = 0; q < opt.flows; q++)
		all_acked += acked[q];
	double secs = t1 - t0 > 0 ? t1 - t0 : 1e-9;
	printf("send frames=%llu bytes=%llu seconds=%.3f pps=%.0f gbps=%.4f flows=%d acked=%llu\n",
	       (unsigned long long)total, (unsigned long long)total * size, secs, total / secs,
	       (double)total * size * 8 / secs / 1e9, opt.flows, (unsigned long long)all_acked);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "bind", 1, 0, 'b' }, { "port", 1, 0, 'p' }, { "to", 1, 0, 't' }, { "dport", 1, 0, 'd' },
		{ "flows", 1, 0, 'f' }, { "size", 1, 0, 's' }, { "count", 1, 0, 'c' }, { "mib", 1, 0, 'm' },
		{ "seconds", 1, 0, 'S' }, { "window", 1, 0, 'w' }, { "hello-ms", 1, 0, 'H' }, { "idle-ms", 1, 0, 'i' },
		{ "timeout", 1, 0, 'T' }, { "allow-loss", 0, 0, 'L' }, { "swap-every", 1, 0, 'W' }, { 0, 0, 0, 0 },
	};
	int c;
	uint64_t mib = 0;
	if (argc < 2 || (strcmp(argv[1], "send") && strcmp(argv[1], "recv"))) {
		fprintf(stderr, "usage: net_peer send|recv [options] (see the comment at the top of net_peer.c)\n");
		return 2;
	}
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'b': opt.bind = optarg; break;
		case 'p': opt.port = atoi(optarg); break;
		case 't': opt.to = optarg; break;
		case 'd': opt.dport = atoi(optarg); break;
		case 'f': opt.flows = atoi(optarg); break;
		case 's': opt.size = atoi(optarg); break;
		case 'c': opt.count = strtoull(optarg, NULL, 10); break;
		case 'm': mib = strtoull(optarg, NULL, 10); break;
		case 'S': opt.seconds = atof(optarg); break;
		case 'w': opt.window = atoi(optarg); break;
		case 'H': opt.hello_ms = atoi(optarg); break;
		case 'i': opt.idle_ms = atoi(optarg); break;
		case 'T': opt.timeout = atof(optarg); break;
		case 'L': opt.allow_loss = 1; break;
		case 'W': opt.swap_every = atoi(optarg); break;
		default: return 2;
		}
	}
	if (!opt.bind || !opt.port || opt.swap_every < 0 || opt.flows < 1 || opt.flows > MAX_FLOWS || opt.size < (int)sizeof(struct payload) ||
	    opt.size > 1472 || (!strcmp(argv[1], "send") && (!opt.to || !opt.dport))) {
		fprintf(stderr, "net_peer: need --bind and --port (send: --to, --dport), 1..%d flows, size 32..1472\n",
			MAX_FLOWS);
		return 2;
	}
	if (mib)
		opt.count = (mib << 20) / (uint64_t)opt.size + 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	return !strcmp(argv[1], "recv") ? do_recv() : do_send();
}
