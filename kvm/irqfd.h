/* irqfd: an interrupt line the engine raises by writing an eventfd that KVM turned into
 * a GSI (KVM_IRQFD). The write is an SQE, so raising an interrupt is never a syscall of
 * the engine's own. */
#ifndef RV_IRQFD_H
#define RV_IRQFD_H

#include "engine/engine.h"

struct irq_line {
	struct engine *engine;
	struct engine_op op;
	int fd;
	unsigned gsi;
	uint64_t one;
	uint64_t raised;
};

int irq_line_init(struct irq_line *l, int vm_fd, unsigned gsi, struct engine *e);
void irq_line_destroy(struct irq_line *l, int vm_fd);
/* Engine thread: signal the line (edge: KVM pulses the GSI). */
void irq_line_raise(struct irq_line *l);

#endif
