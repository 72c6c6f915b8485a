/* ringvisor-remote: a command-line client for the HTTP API (Cloud Hypervisor's
 * ch-remote in spirit). One blocking request per run over the Unix socket; prints the
 * response body (JSON) on stdout, or the error body on stderr. Exit status: 0 for a
 * 2xx answer, 1 for an error answer, 2 for a usage or connection problem. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: ringvisor-remote --api-socket PATH COMMAND\n"
		   "commands:\n"
		   "  ping           vmm.ping: the VMM's version\n"
		   "  create FILE    vm.create with the VmConfig JSON in FILE (- for stdin)\n"
		   "  boot | shutdown | reboot | pause | resume | power-button | delete\n"
		   "                 the vm.* action of that name\n"
		   "  info           vm.info: the VM's config and state\n"
		   "  counters       vm.counters: per-device counters\n"
		   "  shutdown-vmm   vmm.shutdown: stop the VM and the VMM\n");
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	if (!f) {
		fprintf(stderr, "ringvisor-remote: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	size_t r;
	while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
		n += r;
		if (n == cap) {
			char *p = realloc(buf, cap *= 2);
			if (!p)
				free(buf);
			buf = p;
		}
	}
	bool failed = !buf || ferror(f);
	if (f != stdin)
		fclose(f);
	if (failed) {
		fprintf(stderr, "ringvisor-remote: %s: %s\n", path, buf ? "read error" : "out of memory");
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w, n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = NULL, *cmd = NULL, *arg = NULL;
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--api-socket") && i + 1 < argc)
			sock = argv[++i];
		else if (!strncmp(argv[i], "--api-socket=", 13))
			sock = argv[i] + 13;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (!cmd)
			cmd = argv[i];
		else if (!arg)
			arg = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!sock || !cmd) {
		usage(stderr);
		return 2;
	}
	static const struct { const char *cmd, *method, *endpoint; } cmds[] = {
		{ "ping", "GET", "vmm.ping" }, { "shutdown-vmm", "PUT", "vmm.shutdown" },
		{ "create", "PUT", "vm.create" }, { "boot", "PUT", "vm.boot" }, { "shutdown", "PUT", "vm.shutdown" },
		{ "reboot", "PUT", "vm.reboot" }, { "pause", "PUT", "vm.pause" }, { "resume", "PUT", "vm.resume" },
		{ "power-button", "PUT", "vm.power-button" }, { "delete", "PUT", "vm.delete" },
		{ "info", "GET", "vm.info" }, { "counters", "GET", "vm.counters" },
	};
	size_t k;
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]) && strcmp(cmds[k].cmd, cmd); k++)
		;
	if (k == sizeof(cmds) / sizeof(cmds[0]) || (!strcmp(cmd, "create")) != (arg != NULL)) {
		usage(stderr);
		return 2;
	}
	char *body = NULL;
	size_t body_len = 0;
	if (arg && !(body = read_file(arg, &body_len)))
		return 2;

	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(sock) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "ringvisor-remote: %s: socket path too long\n", sock);
		return 2;
	}
	strcpy(addr.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "ringvisor-remote: cannot connect to %s: %s\n", sock, strerror(errno));
		return 2;
	}
	char head[512];
	int hn = snprintf(head, sizeof(head),
			  "%s /api/v1/%s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
			  "Connection: close\r\n%sContent-Length: %zu\r\n\r\n",
			  cmds[k].method, cmds[k].endpoint, body ? "Content-Type: application/json\r\n" : "", body_len);
	if (write_all(fd, head, (size_t)hn) < 0 || (body_len && write_all(fd, body, body_len) < 0)) {
		fprintf(stderr, "ringvisor-remote: sending the request: %s\n", strerror(errno));
		return 2;
	}
	free(body);
	/* Connection: close, so the answer is everything up to EOF. */
	size_t cap = 65536, n = 0;
	char *resp = malloc(cap + 1);
	ssize_t r;
	while (resp && (r = read(fd, resp + n, cap - n)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "ringvisor-remote: reading the answer: %s\n", strerror(errno));
			return 2;
		}
		n += (size_t)r;
		if (n == cap) {
			char *p = realloc(resp, (cap *= 2) + 1);
			if (!p)
				return 2;
			resp = p;
		}
	}
	close(fd);
	if (!resp)
		return 2;
	resp[n] = 0;
	int status = 0;
	char *sep = strstr(resp, "\r\n\r\n");
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1 || !sep) {
		fprintf(stderr, "ringvisor-remote: malformed answer from %s\n", sock);
		return 2;
	}
	const char *out = sep + 4;
	int ok = status >= 200 && status < 300;
	if (*out)
		fprintf(ok ? stdout : stderr, "%s\n", out);
	if (!ok)
		fprintf(stderr, "ringvisor-remote: %s: HTTP %d\n", cmds[k].endpoint, status);
	free(resp);
	return ok ? 0 : 1;
}
