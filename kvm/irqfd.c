/* irqfd: see irqfd.h. */
#include "irqfd.h"

#include "engine/log.h"
#include "ioctl_retry.h"

#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

static void raised(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct irq_line *l = op->ctx;
	(void)e, (void)flags;
	if (res < 0)
		log_error("raising GSI %u failed: %s", l->gsi, strerror(-res));
}

int irq_line_init(struct irq_line *l, int vm_fd, unsigned gsi, struct engine *e)
{
	memset(l, 0, sizeof(*l));
	l->engine = e;
	l->gsi = gsi;
	l->one = 1;
	l->op.handler = raised;
	l->op.ctx = l;
	l->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->fd < 0)
		return -errno;
	struct kvm_irqfd req = { .fd = (uint32_t)l->fd, .gsi = gsi };
	if (kvm_ioctl(vm_fd, KVM_IRQFD, &req) < 0) {
		int err = errno;
		log_error("cannot attach an irqfd to GSI %u: %s", gsi, strerror(err));
		close(l->fd);
		l->fd = -1;
		return -err;
	}
	return 0;
}

void irq_line_destroy(struct irq_line *l, int vm_fd)
{
	if (l->fd < 0)
		return;
	struct kvm_irqfd req = { .fd = (uint32_t)l->fd, .gsi = l->gsi, .flags = KVM_IRQFD_FLAG_DEASSIGN };
	kvm_ioctl(vm_fd, KVM_IRQFD, &req);
	close(l->fd);
	l->fd = -1;
}

void irq_line_raise(struct irq_line *l)
{
	l->raised++;
	io_uring_prep_write(engine_sqe(l->engine, &l->op), l->fd, &l->one, sizeof(l->one), 0);
}
