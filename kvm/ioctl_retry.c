/* kvm_ioctl_retry: see ioctl_retry.h. */
#include "ioctl_retry.h"

#include <errno.h>
#include <sys/ioctl.h>

/* A signal that keeps arriving faster than the call completes is a bug elsewhere: give up
 * then rather than spin forever. */
#define KVM_IOCTL_MAX_TRIES 4096

int kvm_ioctl_retry(int fd, unsigned long req, unsigned long arg)
{
	int ret = -1;

	for (int i = 0; i < KVM_IOCTL_MAX_TRIES; i++) {
		ret = ioctl(fd, req, arg);
		if (ret >= 0 || errno != EINTR)
			break;
	}
	return ret;
}
