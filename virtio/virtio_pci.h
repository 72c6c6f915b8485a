/* virtio_pci: the virtio 1.x "modern" PCI transport. One 64-bit BAR holds the common,
 * ISR, device-config and notify structures and the MSI-X table and PBA; vendor
 * capabilities point the driver at each. Queue notifications are ioeventfds the engine
 * reads (no userspace exit per kick); MSI-X vectors are KVM GSI routes fed by irqfds. */
#ifndef RV_VIRTIO_PCI_H
#define RV_VIRTIO_PCI_H

#include "pci.h"
#include "virtio.h"

#include "kvm/irqfd.h"

#define VPCI_BAR_SIZE 0x8000
#define VPCI_COMMON 0x0000
#define VPCI_ISR 0x1000
#define VPCI_DEVICE 0x2000
#define VPCI_NOTIFY 0x3000
#define VPCI_NOTIFY_MULT 4
#define VPCI_MSIX_TABLE 0x4000
#define VPCI_MSIX_PBA 0x5000
#define VPCI_NO_VECTOR 0xffff

struct vpci_vector {
	uint64_t addr;
	uint32_t data, ctrl;
	int gsi;
	struct irq_line line;
	bool routed, pending;
	uint64_t routed_addr;
	uint32_t routed_data;
};

struct virtio_pci {
	struct pci_dev pci;
	struct virtio_dev *vdev;
	struct vm *vm;
	uint64_t bar;
	uint32_t dfselect, gfselect;
	uint16_t queue_sel, msix_config;
	uint16_t msix_queue[VIRTIO_MAX_QUEUES];
	uint8_t isr;
	unsigned n_vectors;
	unsigned msix_cap, cfg_cap;
	struct vpci_vector vec[VIRTIO_MAX_QUEUES + 1];
	struct virtio_kick kick[VIRTIO_MAX_QUEUES];
	bool warned_no_msix;
};

/* Put vdev on bus b: config space, BAR, MSI-X, ioeventfds. */
int virtio_pci_create(struct virtio_pci *vp, struct pci_bus *b, struct virtio_dev *vdev);
void virtio_pci_destroy(struct virtio_pci *vp);

#endif
