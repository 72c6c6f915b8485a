/* irq_routing: see irq_routing.h. */
#include "irq_routing.h"

#include "engine/log.h"
#include "ioctl_retry.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void add_irqchip(struct kvm_irq_routing *t, unsigned gsi, unsigned chip, unsigned pin)
{
	struct kvm_irq_routing_entry *e = &t->entries[t->nr++];
	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static int commit(struct irq_routing *r)
{
	if (kvm_ioctl(r->vm_fd, KVM_SET_GSI_ROUTING, r->table) < 0) {
		int err = errno;
		log_error("KVM_SET_GSI_ROUTING (%u routes) failed: %s", r->table->nr, strerror(err));
		return -err;
	}
	return 0;
}

int irq_routing_init(struct irq_routing *r, int vm_fd)
{
	memset(r, 0, sizeof(*r));
	r->vm_fd = vm_fd;
	pthread_mutex_init(&r->lock, NULL);
	r->table = calloc(1, sizeof(*r->table) + IRQ_ROUTING_MAX * sizeof(struct kvm_irq_routing_entry));
	if (!r->table)
		return -ENOMEM;
	/* KVM's own default: ISA IRQs on both the PIC and the IOAPIC (IRQ0 on pin 2), 16-23 IOAPIC. */
	for (unsigned i = 0; i < 16; i++) {
		add_irqchip(r->table, i, i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, i % 8);
		add_irqchip(r->table, i, KVM_IRQCHIP_IOAPIC, i == 0 ? 2 : i);
	}
	for (unsigned i = 16; i < 24; i++)
		add_irqchip(r->table, i, KVM_IRQCHIP_IOAPIC, i);
	r->next_gsi = IRQ_ROUTING_FIRST_MSI_GSI;
	return 0;
}

void irq_routing_destroy(struct irq_routing *r)
{
	free(r->table);
	r->table = NULL;
	pthread_mutex_destroy(&r->lock);
}

int irq_routing_alloc_gsi(struct irq_routing *r)
{
	pthread_mutex_lock(&r->lock);
	int gsi = r->next_gsi < IRQ_ROUTING_MAX - 48 ? (int)r->next_gsi++ : -ENOSPC;
	pthread_mutex_unlock(&r->lock);
	return gsi;
}

int irq_routing_set_msi(struct irq_routing *r, unsigned gsi, uint64_t addr, uint32_t data, bool enabled)
{
	struct kvm_irq_routing *t = r->table;
	unsigned i;
	int ret;

	pthread_mutex_lock(&r->lock);
	for (i = 0; i < t->nr && !(t->entries[i].gsi == gsi && t->entries[i].type == KVM_IRQ_ROUTING_MSI); i++)
		;
	if (!enabled) {
		if (i == t->nr) {
			pthread_mutex_unlock(&r->lock);
			return 0;
		}
		t->entries[i] = t->entries[--t->nr];
	} else {
		if (i == t->nr) {
			if (t->nr >= IRQ_ROUTING_MAX) {
				pthread_mutex_unlock(&r->lock);
				return -ENOSPC;
			}
			t->nr++;
		}
		struct kvm_irq_routing_entry *e = &t->entries[i];
		memset(e, 0, sizeof(*e));
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)addr;
		e->u.msi.address_hi = (uint32_t)(addr >> 32);
		e->u.msi.data = data;
	}
	ret = commit(r);
	pthread_mutex_unlock(&r->lock);
	return ret;
}
