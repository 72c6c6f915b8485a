/* Unit tests for KVM set-up calls interrupted by signals (EINTR), against a fake ioctl():
 * this binary defines ioctl() itself, so the library's calls land here and no /dev/kvm is
 * needed. KVM_CREATE_VM failing with EINTR was seen under nested SVM in the KVM lab; the
 * VMM must repeat such calls, and must not repeat other errors. */
#include "check.h"

#include "kvm/ioctl_retry.h"
#include "kvm/kvm.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/ioctl.h>

/* The fake kernel: the next eintr_left calls of eintr_req fail with EINTR; fail_req fails
 * with fail_errno every time. Every other call succeeds; KVM_CREATE_VM returns fd 42. */
static unsigned long eintr_req, fail_req;
static int eintr_left, fail_errno, calls;

int ioctl(int fd, unsigned long req, ...)
{
	(void)fd;
	calls++;
	if (req == eintr_req && eintr_left > 0) {
		eintr_left--;
		errno = EINTR;
		return -1;
	}
	if (req == fail_req) {
		errno = fail_errno;
		return -1;
	}
	return req == KVM_CREATE_VM ? 42 : 0;
}

static void fake_reset(unsigned long req, int n)
{
	eintr_req = req;
	eintr_left = n;
	fail_req = 0;
	calls = 0;
}

static void test_create_vm_retried_after_eintr(void)
{
	struct kvm k = { .sys_fd = 3, .vm_fd = -1 };

	fake_reset(KVM_CREATE_VM, 3);
	CHECK_EQ(kvm_create_vm(&k), 0);
	CHECK_EQ(k.vm_fd, 42);
	CHECK_EQ(eintr_left, 0);
	/* 3 interrupted + CREATE_VM + TSS + IRQCHIP + PIT2 */
	CHECK_EQ(calls, 7);
}

static void test_irqchip_retried_after_eintr(void)
{
	struct kvm k = { .sys_fd = 3, .vm_fd = -1 };

	fake_reset(KVM_CREATE_IRQCHIP, 2);
	CHECK_EQ(kvm_create_vm(&k), 0);
	CHECK_EQ(eintr_left, 0);
}

static void test_other_errors_not_retried(void)
{
	struct kvm k = { .sys_fd = 3, .vm_fd = -1 };

	fake_reset(0, 0);
	fail_req = KVM_CREATE_VM;
	fail_errno = ENOMEM;
	CHECK_EQ(kvm_create_vm(&k), -ENOMEM);
	CHECK_EQ(calls, 1);
}

static void test_endless_eintr_gives_up(void)
{
	fake_reset(KVM_CREATE_VCPU, 1 << 30);
	CHECK_EQ(kvm_ioctl(3, KVM_CREATE_VCPU, 0), -1);
	CHECK_EQ(errno, EINTR);
	CHECK(calls > 1 && calls < 100000);
}

int main(void)
{
	RUN(test_create_vm_retried_after_eintr);
	RUN(test_irqchip_retried_after_eintr);
	RUN(test_other_errors_not_retried);
	RUN(test_endless_eintr_gives_up);
	CHECK_EXIT();
}
