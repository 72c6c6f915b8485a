/* probe: io_uring availability check. See probe.h. */
#include "probe.h"

#include "log.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

static int read_disabled_sysctl(void)
{
	FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
	int v = 0;
	if (!f)
		return 0; /* older kernels lack the knob: io_uring is on */
	if (fscanf(f, "%d", &v) != 1)
		v = 0;
	fclose(f);
	return v;
}

int engine_probe(void)
{
	static const struct { int op; const char *name; } needed[] = {
		{ IORING_OP_MSG_RING, "MSG_RING" }, { IORING_OP_READ, "READ" }, { IORING_OP_WRITE, "WRITE" },
		{ IORING_OP_TIMEOUT, "TIMEOUT" },   { IORING_OP_READV, "READV" }, { IORING_OP_WRITEV, "WRITEV" },
		{ IORING_OP_POLL_ADD, "POLL_ADD" }, { IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL" },
	};
	struct io_uring ring;
	int disabled = read_disabled_sysctl();
	int ret = io_uring_queue_init(4, &ring, 0);

	if (ret < 0) {
		if (disabled == 2 || (ret == -EPERM && disabled))
			log_error("io_uring is disabled on this host (kernel.io_uring_disabled=%d): "
				  "run 'sysctl -w kernel.io_uring_disabled=0'", disabled);
		else if (ret == -EPERM && disabled == 1)
			log_error("io_uring is limited to the io_uring_group (kernel.io_uring_disabled=1): "
				  "run as a member of that group or set the sysctl to 0");
		else if (ret == -ENOSYS || ret == -EPERM)
			log_error("io_uring_setup was refused (%s): a seccomp profile (e.g. a container's) blocks io_uring; "
				  "allow io_uring_setup/io_uring_enter/io_uring_register", strerror(-ret));
		else if (ret == -ENOMEM) {
			struct rlimit rl;
			getrlimit(RLIMIT_MEMLOCK, &rl);
			log_error("cannot create an io_uring: out of locked memory (RLIMIT_MEMLOCK=%llu KiB): "
				  "raise it with 'ulimit -l unlimited' or LimitMEMLOCK=infinity",
				  (unsigned long long)(rl.rlim_cur / 1024));
		} else
			log_error("cannot create an io_uring: %s", strerror(-ret));
		return ret;
	}
	struct io_uring_probe *p = io_uring_get_probe_ring(&ring);
	ret = 0;
	if (!p) {
		log_error("io_uring: the kernel cannot report its supported ops (needs Linux 5.18 or newer)");
		ret = -ENOTSUP;
	}
	for (size_t i = 0; p && i < sizeof(needed) / sizeof(needed[0]); i++) {
		if (!io_uring_opcode_supported(p, needed[i].op)) {
			log_error("io_uring on this kernel lacks IORING_OP_%s, which ringvisor needs (Linux 5.18 or newer)",
				  needed[i].name);
			ret = -ENOTSUP;
			break;
		}
	}
	if (p)
		io_uring_free_probe(p);
	io_uring_queue_exit(&ring);
	return ret;
}
