/* virtio_mmio: the virtio 1.x MMIO transport (register layout version 2) for any struct
 * virtio_dev. One 4 KiB window per device (LAYOUT_VIRTIO_MMIO + i * SIZE), one IOAPIC pin
 * (edge-triggered, raised through an irqfd), QueueNotify writes caught by one ioeventfd
 * per queue (KVM datamatch on the queue index), so kicks never exit to userspace. The
 * guest finds the devices in the DSDT (LNRO0005) or on its command line
 * (virtio_mmio.device=4K@0xADDR:IRQ, which the VMM appends). */
#ifndef RV_VIRTIO_MMIO_H
#define RV_VIRTIO_MMIO_H

#include "virtio.h"

#include "kvm/irqfd.h"
#include "kvm/vm.h"

#define VMMIO_MAGIC 0x74726976u /* "virt" */
#define VMMIO_VERSION 2
#define VMMIO_VENDOR 0x1af4
#define VMMIO_CONFIG 0x100

#define VMMIO_INT_USED 1u
#define VMMIO_INT_CONFIG 2u

struct virtio_mmio {
	struct virtio_dev *vdev;
	struct vm *vm;
	uint64_t base;
	unsigned gsi;
	uint32_t dfselect, gfselect, queue_sel;
	uint32_t isr;               /* InterruptStatus */
	struct irq_line irq;
	struct virtio_kick kick[VIRTIO_MAX_QUEUES];
};

extern const struct bus_ops virtio_mmio_ops;
/* What the device core calls back (interrupts, reset); exported for register-level tests. */
extern const struct virtio_transport_ops virtio_mmio_transport;

/* Put vdev at base with interrupt gsi: bus entry, irqfd, ioeventfds. 0 or -errno (logged). */
int virtio_mmio_create(struct virtio_mmio *m, struct vm *vm, struct virtio_dev *vdev, uint64_t base, unsigned gsi);
void virtio_mmio_destroy(struct virtio_mmio *m);
/* "virtio_mmio.device=4K@0xd1000000:5": the kernel command-line form, for Linux. */
int virtio_mmio_cmdline(const struct virtio_mmio *m, char *buf, size_t size);

#endif
