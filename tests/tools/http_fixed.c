/* http_fixed: the least an HTTP server on a Unix socket can do, as bench/api.sh's "host"
 * baseline: one thread, epoll, keep-alive, and every request (a header block ending in a
 * blank line; bodies are not expected) answered 200 with the same JSON body. What the API
 * bench's latency and guest cost are with this server is what the host itself allows, so
 * ringvisor's figures are read against it.
 *
 *   http_fixed SOCKET BODY_FILE [SECONDS]
 * Serves until SECONDS have passed (default 60) or it is signalled. Prints one line at
 * the end: served=N connections=N. Exit status 0, or 2 for bad arguments or setup errors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define REQ_MAX 8192

struct client {
	int fd;
	size_t len;
	char buf[REQ_MAX];
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static char resp[65536];
static size_t resp_len;

static int load_response(const char *file)
{
	FILE *f = fopen(file, "rb");
	if (!f)
		return -errno;
	char body[60000];
	size_t n = fread(body, 1, sizeof(body), f);
	int big = !feof(f);
	fclose(f);
	if (big)
		return -EFBIG;
	int h = snprintf(resp, sizeof(resp),
			 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n", n);
	memcpy(resp + h, body, n);
	resp_len = (size_t)h + n;
	return 0;
}

/* Answer every whole request in c->buf. Returns -1 when the client must be dropped. */
static int serve(struct client *c, long *served)
{
	char *end;
	c->buf[c->len] = 0;
	while ((end = strstr(c->buf, "\r\n\r\n"))) {
		size_t used = (size_t)(end + 4 - c->buf), off = 0;
		while (off < resp_len) {
			ssize_t w = send(c->fd, resp + off, resp_len - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			/* The socket buffer is full (a client not reading): wait for room, up to 1 s. */
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };
			if (w < 0 && (errno != EAGAIN || poll(&p, 1, 1000) <= 0))
				return -1;
		}
		++*served;
		memmove(c->buf, c->buf + used, c->len - used + 1);
		c->len -= used;
	}
	return c->len >= REQ_MAX - 1 ? -1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: http_fixed SOCKET BODY_FILE [SECONDS]\n");
		return 2;
	}
	int r = load_response(argv[2]);
	if (r < 0) {
		fprintf(stderr, "http_fixed: %s: %s\n", argv[2], strerror(-r));
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "http_fixed: socket path too long\n");
		return 2;
	}
	strcpy(addr.sun_path, argv[1]);
	unlink(argv[1]);
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(lfd, 1024) < 0) {
		fprintf(stderr, "http_fixed: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev);
	double seconds = argc == 4 ? atof(argv[3]) : 60;
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long served = 0, conns = 0;
	struct epoll_event evs[256];
	while (!stop) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9 > seconds)
			break;
		int n = epoll_wait(ep, evs, 256, 100);
		for (int k = 0; k < n; k++) {
			struct client *c = evs[k].data.ptr;
			if (!c) {
				int fd;
				while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct client *nc = calloc(1, sizeof(*nc));
					if (!nc) {
						close(fd);
						continue;
					}
					nc->fd = fd;
					struct epoll_event ev = { .events = EPOLLIN, .data.ptr = nc };
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
					conns++;
				}
				continue;
			}
			ssize_t got = recv(c->fd, c->buf + c->len, REQ_MAX - 1 - c->len, 0);
			if (got < 0 && errno == EAGAIN)
				continue;
			if (got > 0)
				c->len += (size_t)got;
			if (got <= 0 || serve(c, &served) < 0) {
				close(c->fd); /* closing drops it from the epoll set */
				free(c);
			}
		}
	}
	unlink(argv[1]);
	printf("served=%ld connections=%ld\n", served, conns);
	return 0;
}
