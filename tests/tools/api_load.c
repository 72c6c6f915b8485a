/* api_load: an HTTP load generator for ringvisor's API socket, small and cheap enough
 * that it measures the server, not itself: one thread, epoll, non-blocking keep-alive
 * connections, each with one request in flight at a time.
 *
 *   api_load SOCKET [-p PATH] [-c CONNS] [-s SECONDS]   closed loop for SECONDS
 *   api_load SOCKET [-p PATH] -c CONNS -o               CONNS connections open at once, one
 *                                                        request each, all answered?
 *   -r RATE: open loop instead, RATE requests/s in total spread over the connections
 *   (request i is due at i/RATE s; a late request's latency counts from when it was due).
 * Prints one line: requests=N seconds=S rps=R p50_us=A p99_us=B ok=N errors=N. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	char buf[16384];
	size_t len;
	size_t sent;
	double t0;
	int done;
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static char req[512];
static size_t req_len;

static int send_req(struct conn *c)
{
	while (c->sent < req_len) {
		ssize_t w = send(c->fd, req + c->sent, req_len - c->sent, MSG_NOSIGNAL);
		if (w < 0)
			return errno == EAGAIN ? 0 : -1;
		c->sent += (size_t)w;
	}
	return 0;
}

/* A whole response in buf? Returns its status, 0 if incomplete, -1 if malformed. */
static int response_done(struct conn *c, size_t *used)
{
	c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = 0;
	char *end = strstr(c->buf, "\r\n\r\n");
	if (!end)
		return c->len >= sizeof(c->buf) - 1 ? -1 : 0;
	int status = 0;
	if (sscanf(c->buf, "HTTP/1.1 %d", &status) != 1)
		return -1;
	size_t clen = 0;
	char *cl = strcasestr(c->buf, "\r\nContent-Length:");
	if (cl && cl < end)
		clen = strtoul(cl + 17, NULL, 10);
	size_t total = (size_t)(end + 4 - c->buf) + clen;
	if (c->len < total)
		return 0;
	*used = total;
	return status;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *path = "/api/v1/vmm.ping";
	int conns = 1, once = 0;
	double seconds = 5, rate = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-p") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "-c") && i + 1 < argc)
			conns = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "-r") && i + 1 < argc)
			rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "-o"))
			once = 1;
		else if (!sock)
			sock = argv[i];
		else {
			fprintf(stderr, "usage: api_load SOCKET [-p PATH] [-c CONNS] [-s SECONDS] [-o]\n");
			return 2;
		}
	}
	if (!sock || conns < 1 || seconds <= 0) {
		fprintf(stderr, "usage: api_load SOCKET [-p PATH] [-c CONNS] [-s SECONDS] [-o]\n");
		return 2;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* Paced requests are due every few microseconds: the default 50 us timer slack
	 * would make the client itself send them late and count that as latency. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	int req_n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path);
	if (req_n < 0 || (size_t)req_n >= sizeof(req)) {
		fprintf(stderr, "api_load: -p PATH is too long\n");
		return 2;
	}
	req_len = (size_t)req_n;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", sock);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct conn *cs = calloc((size_t)conns, sizeof(*cs));
	size_t lat_cap = 1 << 16, n_lat = 0;
	double *lat = malloc(lat_cap * sizeof(double));
	long ok = 0, errors = 0;
	struct conn **idle = calloc((size_t)conns, sizeof(*idle));
	int n_idle = 0;

	for (int i = 0; i < conns; i++) {
		cs[i].fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			fprintf(stderr, "api_load: connection %d: %s\n", i, strerror(errno));
			return 1;
		}
	}
	/* All connected before any request: in -o mode they are all open at once. */
	double start = now(), stop = start + seconds;
	for (int i = 0; i < conns; i++) {
		if (fcntl(cs[i].fd, F_SETFL, O_NONBLOCK) < 0)
			return 1;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
		if (rate > 0) {
			idle[n_idle++] = &cs[i];
			continue;
		}
		cs[i].t0 = now();
		if (send_req(&cs[i]) < 0) {
			fprintf(stderr, "api_load: send: %s\n", strerror(errno));
			return 1;
		}
	}
	int open = conns;
	struct epoll_event evs[256];
	long next_i = 0; /* open loop: the next request slot */
	while (open > 0) {
		/* Nanosecond timeouts: with whole milliseconds a gap under 1 ms between due
		 * requests became a zero timeout, and the client spun a CPU the guest needed. */
		struct timespec wait = { .tv_sec = 1 };
		if (rate > 0) {
			double t = now();
			while (n_idle && start + (double)next_i / rate <= t && t < stop) {
				struct conn *c = idle[--n_idle];
				c->t0 = start + (double)next_i++ / rate;
				c->sent = 0;
				send_req(c);
			}
			if (t >= stop) {
				while (n_idle) { /* finished: close the idle ones */
					close(idle[--n_idle]->fd);
					open--;
				}
				if (!open)
					break;
			} else if (n_idle) {
				double d = start + (double)next_i / rate - t;
				if (d < 0)
					d = 0;
				wait.tv_sec = (time_t)d;
				wait.tv_nsec = (long)((d - (double)wait.tv_sec) * 1e9);
			}
		}
		int n = epoll_pwait2(ep, evs, 256, &wait, NULL);
		double t = now();
		if (n < 0 && errno != EINTR)
			break;
		if (n == 0 && once && t > start + 30) {
			fprintf(stderr, "api_load: %d connections unanswered after 30 s\n", open);
			break;
		}
		for (int k = 0; k < n; k++) {
			struct conn *c = evs[k].data.ptr;
			ssize_t r = recv(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len, 0);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN)
					continue;
				errors++;
				close(c->fd);
				c->done = 1;
				open--;
				continue;
			}
			c->len += (size_t)r;
			size_t used;
			int st;
			while ((st = response_done(c, &used)) != 0) {
				if (st < 0) {
					errors++;
					break;
				}
				if (st == 200)
					ok++;
				else
					errors++;
				if (n_lat == lat_cap)
					lat = realloc(lat, (lat_cap *= 2) * sizeof(double));
				lat[n_lat++] = (t - c->t0) * 1e6;
				memmove(c->buf, c->buf + used, c->len - used);
				c->len -= used;
				if (once || t >= stop) {
					close(c->fd);
					c->done = 1;
					open--;
					break;
				}
				if (rate > 0) {
					idle[n_idle++] = c;
					continue;
				}
				c->t0 = t;
				c->sent = 0;
				send_req(c);
			}
			if (st < 0) {
				close(c->fd);
				c->done = 1;
				open--;
			}
		}
	}
	double el = now() - start;
	qsort(lat, n_lat, sizeof(double), cmp_double);
	double p50 = n_lat ? lat[n_lat / 2] : 0, p99 = n_lat ? lat[(size_t)((double)n_lat * 0.99)] : 0;
	printf("requests=%zu seconds=%.2f rps=%.0f p50_us=%.1f p99_us=%.1f ok=%ld errors=%ld\n", n_lat, el,
	       (double)n_lat / el, p50, p99, ok, errors);
	return errors || (once && ok != conns) ? 1 : 0;
}
