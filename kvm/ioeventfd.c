/* ioeventfd: see ioeventfd.h. */
#include "ioeventfd.h"

#include "engine/log.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

int ioeventfd_create(int vm_fd, uint64_t addr, unsigned len, bool pio)
{
	int fd = eventfd(0, EFD_CLOEXEC); /* blocking: io_uring then waits on it by poll instead of failing with EAGAIN */
	if (fd < 0)
		return -errno;
	struct kvm_ioeventfd req = {
		.addr = addr, .len = len, .fd = fd, .flags = pio ? KVM_IOEVENTFD_FLAG_PIO : 0,
	};
	if (ioctl(vm_fd, KVM_IOEVENTFD, &req) < 0) {
		int err = errno;
		log_error("cannot register an ioeventfd at 0x%llx: %s", (unsigned long long)addr, strerror(err));
		close(fd);
		return -err;
	}
	return fd;
}

void ioeventfd_destroy(int vm_fd, int fd, uint64_t addr, unsigned len, bool pio)
{
	if (fd < 0)
		return;
	struct kvm_ioeventfd req = {
		.addr = addr, .len = len, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DEASSIGN | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0),
	};
	ioctl(vm_fd, KVM_IOEVENTFD, &req);
	close(fd);
}
