/* irq_routing: the VM's GSI routing table. KVM_SET_GSI_ROUTING replaces the whole table,
 * so this module keeps it: the default PIC/IOAPIC routes for GSIs 0-23 and one MSI route
 * per allocated GSI above them, which MSI-X vector programming updates. Changes are
 * control-path (a driver programming its vectors), serialized by a mutex. */
#ifndef RV_IRQ_ROUTING_H
#define RV_IRQ_ROUTING_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IRQ_ROUTING_FIRST_MSI_GSI 24
#define IRQ_ROUTING_MAX 1024

struct irq_routing {
	int vm_fd;
	pthread_mutex_t lock;
	struct kvm_irq_routing *table;
	unsigned next_gsi;
};

int irq_routing_init(struct irq_routing *r, int vm_fd);
void irq_routing_destroy(struct irq_routing *r);
/* A new GSI for an MSI (not routed until irq_routing_set_msi). Returns it, or -ENOSPC. */
int irq_routing_alloc_gsi(struct irq_routing *r);
/* Route gsi to the MSI (address, data), or remove its route when enabled is false. */
int irq_routing_set_msi(struct irq_routing *r, unsigned gsi, uint64_t addr, uint32_t data, bool enabled);

#endif
