/* Unit tests for the API server on a real engine (run under ASan too): keep-alive,
 * 100-continue, the connection limit's 503, a stalled client closed on its ring
 * timeout while another is served, and vmm.shutdown's after-send hook; the socket
 * file is gone afterwards. The backend is a fake with no VM. */
#include "check.h"

#include "api/server.h"
#include "engine/engine.h"
#include "engine/log.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static char sock_path[64];
static struct engine eng;
static struct api_server *srv;

static enum api_vm_state st(void *ctx) { (void)ctx; return API_VM_NONE; }
static void stop_engine(void *ctx) { engine_stop(ctx); }

static int dial(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return -1;
	return fd;
}

/* Read until a whole response (headers + Content-Length body) or EOF/timeout. */
static int read_response(int fd, char *buf, size_t cap, int timeout_ms)
{
	size_t n = 0;
	while (n < cap - 1) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, timeout_ms) <= 0)
			break;
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = 0;
		char *end = strstr(buf, "\r\n\r\n");
		if (end) {
			char *cl = strstr(buf, "Content-Length: ");
			size_t body = cl && cl < end ? strtoul(cl + 16, NULL, 10) : 0;
			if (n >= (size_t)(end + 4 - buf) + body)
				break;
		}
	}
	buf[n] = 0;
	return (int)n;
}

static int status_of(const char *resp)
{
	int s = 0;
	return sscanf(resp, "HTTP/1.1 %d", &s) == 1 ? s : -1;
}

static void test_server_keepalive(void)
{
	char buf[4096];
	int fd = dial();
	CHECK(fd >= 0);
	for (int i = 0; i < 3; i++) {
		const char *req = "GET /api/v1/vmm.ping HTTP/1.1\r\nHost: x\r\n\r\n";
		CHECK_EQ(write(fd, req, strlen(req)), (long long)strlen(req));
		CHECK(read_response(fd, buf, sizeof(buf), 5000) > 0);
		CHECK_EQ(status_of(buf), 200);
		CHECK(strstr(buf, "\"version\""));
	}
	const char *req = "GET /api/v1/vm.info HTTP/1.1\r\n\r\n";
	CHECK_EQ(write(fd, req, strlen(req)), (long long)strlen(req));
	CHECK(read_response(fd, buf, sizeof(buf), 5000) > 0);
	CHECK_EQ(status_of(buf), 404);
	close(fd);
}

static void test_server_continue(void)
{
	char buf[4096];
	int fd = dial();
	CHECK(fd >= 0);
	const char *head = "PUT /api/v1/vm.create HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
	CHECK_EQ(write(fd, head, strlen(head)), (long long)strlen(head));
	CHECK(read_response(fd, buf, sizeof(buf), 5000) > 0);
	CHECK_EQ(status_of(buf), 100);
	CHECK_EQ(write(fd, "{}", 2), 2);
	CHECK(read_response(fd, buf, sizeof(buf), 5000) > 0);
	CHECK_EQ(status_of(buf), 400); /* {} has no payload */
	CHECK(strstr(buf, "payload"));
	close(fd);
}

static void test_server_limit_and_staller(void)
{
	char buf[4096];
	int held[4];
	/* max_connections is 4: a staller and three idle ones fill it. */
	for (int i = 0; i < 4; i++)
		CHECK((held[i] = dial()) >= 0);
	CHECK_EQ(write(held[0], "PUT /api/v1/vm.create HTTP/1.1\r\nContent-Le", 42), 42);
	int extra = dial();
	CHECK(extra >= 0);
	const char *req = "GET /api/v1/vmm.ping HTTP/1.1\r\n\r\n";
	CHECK_EQ(write(extra, req, strlen(req)), (long long)strlen(req));
	CHECK(read_response(extra, buf, sizeof(buf), 5000) > 0);
	CHECK_EQ(status_of(buf), 503);
	CHECK(strstr(buf, "\"error\""));
	close(extra);
	/* The staller and the idle ones are closed at their timeout (300 ms); the server
	 * answers a fresh client meanwhile and afterwards. */
	char c;
	struct pollfd p = { held[0], POLLIN, 0 };
	CHECK_EQ(poll(&p, 1, 10000), 1);
	CHECK_EQ(read(held[0], &c, 1), 0);
	for (int i = 0; i < 4; i++)
		close(held[i]);
	int fd = dial();
	CHECK(fd >= 0);
	CHECK_EQ(write(fd, req, strlen(req)), (long long)strlen(req));
	CHECK(read_response(fd, buf, sizeof(buf), 5000) > 0);
	CHECK_EQ(status_of(buf), 200);
	close(fd);
	CHECK(api_server_stats(srv)->refused >= 1);
	CHECK(api_server_stats(srv)->timeouts >= 1);
}

static void test_server_shutdown(void)
{
	char buf[4096];
	int fd = dial();
	CHECK(fd >= 0);
	const char *req = "PUT /api/v1/vmm.shutdown HTTP/1.1\r\n\r\n";
	CHECK_EQ(write(fd, req, strlen(req)), (long long)strlen(req));
	CHECK(read_response(fd, buf, sizeof(buf), 5000) > 0);
	CHECK_EQ(status_of(buf), 204);
	close(fd);
	engine_join(&eng); /* the after-send hook stopped the engine */
	api_server_destroy(srv);
	srv = NULL;
	struct stat sb;
	CHECK(stat(sock_path, &sb) < 0 && errno == ENOENT);
}

int main(void)
{
	struct engine_params p = { .node = -1, .poll_ns = 0, .name = "test-api" };

	log_init();
	log_set_level(LOG_WARN);
	CPU_ZERO(&p.cpus);
	CPU_ZERO(&p.iowq_cpus);
	snprintf(sock_path, sizeof(sock_path), "/tmp/rv-api-test.%d.sock", (int)getpid());
	if (engine_init(&eng, &p) < 0)
		return 1;
	struct api_backend b = { .ctx = &eng, .state = st, .shutdown_vmm = stop_engine };
	struct api_server_options o = { .path = sock_path, .timeout_ms = 300, .max_connections = 4 };
	if (api_server_start(&srv, &eng, &o, &b) < 0 || engine_start(&eng) < 0)
		return 1;
	RUN(test_server_keepalive);
	RUN(test_server_continue);
	RUN(test_server_limit_and_staller);
	RUN(test_server_shutdown);
	if (srv) { /* a failed test left it running */
		unlink(sock_path);
		return 1;
	}
	engine_destroy(&eng);
	CHECK_EXIT();
}
