/* ioeventfd: see ioeventfd.h. */
#include "ioeventfd.h"

#include "engine/log.h"
#include "ioctl_retry.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static uint32_t flags_for(bool pio, bool match)
{
	return (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (match ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0);
}

static int create(int vm_fd, uint64_t addr, unsigned len, bool pio, bool match, uint64_t value)
{
	int fd = eventfd(0, EFD_CLOEXEC); /* blocking: io_uring then waits on it by poll instead of failing with EAGAIN */
	if (fd < 0)
		return -errno;
	struct kvm_ioeventfd req = {
		.datamatch = value, .addr = addr, .len = len, .fd = fd, .flags = flags_for(pio, match),
	};
	if (kvm_ioctl(vm_fd, KVM_IOEVENTFD, &req) < 0) {
		int err = errno;
		log_error("cannot register an ioeventfd at 0x%llx: %s", (unsigned long long)addr, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

static void destroy(int vm_fd, int fd, uint64_t addr, unsigned len, bool pio, bool match, uint64_t value)
{
	if (fd < 0)
		return;
	struct kvm_ioeventfd req = {
		.datamatch = value, .addr = addr, .len = len, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DEASSIGN | flags_for(pio, match),
	};
	kvm_ioctl(vm_fd, KVM_IOEVENTFD, &req);
	close(fd);
}

int ioeventfd_create(int vm_fd, uint64_t addr, unsigned len, bool pio)
{
	return create(vm_fd, addr, len, pio, false, 0);
}

void ioeventfd_destroy(int vm_fd, int fd, uint64_t addr, unsigned len, bool pio)
{
	destroy(vm_fd, fd, addr, len, pio, false, 0);
}

int ioeventfd_create_match(int vm_fd, uint64_t addr, unsigned len, bool pio, uint64_t value)
{
	return create(vm_fd, addr, len, pio, true, value);
}

void ioeventfd_destroy_match(int vm_fd, int fd, uint64_t addr, unsigned len, bool pio, uint64_t value)
{
	destroy(vm_fd, fd, addr, len, pio, true, value);
}
