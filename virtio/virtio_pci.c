/* virtio_pci: see virtio_pci.h. */
#include "virtio_pci.h"

#include "engine/log.h"

#include <errno.h>
#include <string.h>

#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4
#define CAP_PCI_CFG 5

#define MSIX_ENABLE 0x8000
#define MSIX_MASKALL 0x4000

/* ---- interrupts ---- */
static bool msix_on(struct virtio_pci *vp, bool *all_masked)
{
	uint16_t ctl = pci_cfg16(&vp->pci, vp->msix_cap + 2);
	*all_masked = ctl & MSIX_MASKALL;
	return ctl & MSIX_ENABLE;
}

static void fire(struct virtio_pci *vp, unsigned v)
{
	struct vpci_vector *x = &vp->vec[v];
	bool all_masked;
	if (!msix_on(vp, &all_masked) || all_masked || (x->ctrl & 1) || !x->routed) {
		x->pending = true; /* delivered when the vector is unmasked */
		return;
	}
	x->pending = false;
	irq_line_raise(&x->line);
}

/* Bring vector v's KVM route in line with its table entry; deliver what was pending. */
static void update_vector(struct virtio_pci *vp, unsigned v)
{
	struct vpci_vector *x = &vp->vec[v];
	bool all_masked;
	bool on = msix_on(vp, &all_masked);
	if (on && (!x->routed || x->routed_addr != x->addr || x->routed_data != x->data)) {
		if (irq_routing_set_msi(&vp->vm->routing, (unsigned)x->gsi, x->addr, x->data, true) == 0) {
			x->routed = true;
			x->routed_addr = x->addr;
			x->routed_data = x->data;
		}
	}
	if (on && !all_masked && !(x->ctrl & 1) && x->pending)
		fire(vp, v);
}

static void raise_vector(struct virtio_pci *vp, uint16_t v, uint8_t isr_bit)
{
	vp->isr |= isr_bit;
	if (v == VPCI_NO_VECTOR || v >= vp->n_vectors) {
		if (!vp->warned_no_msix)
			log_debug("%s: interrupt with no MSI-X vector (INTx is not provided); the driver must poll",
				  vp->vdev->name);
		vp->warned_no_msix = true;
		return;
	}
	fire(vp, v);
}

static void vpci_interrupt(struct virtio_dev *d, unsigned q)
{
	struct virtio_pci *vp = d->transport_ctx;
	raise_vector(vp, vp->msix_queue[q], 1);
}

static void vpci_config_changed(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->transport_ctx;
	raise_vector(vp, vp->msix_config, 2);
}

static void vpci_reset(struct virtio_dev *d)
{
	struct virtio_pci *vp = d->transport_ctx;
	vp->isr = 0;
	vp->dfselect = vp->gfselect = vp->queue_sel = 0;
	vp->msix_config = VPCI_NO_VECTOR;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->msix_queue[q] = VPCI_NO_VECTOR;
}

static const struct virtio_transport_ops vpci_transport = {
	.interrupt = vpci_interrupt,
	.config_changed = vpci_config_changed,
	.reset = vpci_reset,
};

/* ---- common configuration ---- */
static uint64_t common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
	struct virtio_dev *d = vp->vdev;
	struct virtq *q = vp->queue_sel < d->num_queues ? &d->vqs[vp->queue_sel] : NULL;
	uint64_t v;

	switch (off) {
	case 0x00: return vp->dfselect;
	case 0x04: return virtio_dev_features_word(d, vp->dfselect);
	case 0x08: return vp->gfselect;
	case 0x0c: return virtio_dev_guest_features_word(d, vp->gfselect);
	case 0x10: return vp->msix_config;
	case 0x12: return d->num_queues;
	case 0x14: return virtio_dev_get_status(d);
	case 0x15: return d->config_generation;
	case 0x16: return vp->queue_sel;
	case 0x18: return q ? q->size : 0;
	case 0x1a: return q ? vp->msix_queue[vp->queue_sel] : VPCI_NO_VECTOR;
	case 0x1c: return q ? q->enabled : 0;
	case 0x1e: return q ? vp->queue_sel : 0;
	case 0x20: case 0x24: v = q ? q->desc_gpa : 0; break;
	case 0x28: case 0x2c: v = q ? q->avail_gpa : 0; break;
	case 0x30: case 0x34: v = q ? q->used_gpa : 0; break;
	default: return 0;
	}
	/* 64-bit fields, read whole or one half at a time */
	if (off & 4)
		return v >> 32;
	return size == 8 ? v : (uint32_t)v;
}

/* A vector the table does not have reads back as NO_VECTOR, which is how the spec lets a
 * driver see that its choice was refused. */
static uint16_t vector_or_none(const struct virtio_pci *vp, uint64_t value)
{
	return value < vp->n_vectors ? (uint16_t)value : VPCI_NO_VECTOR;
}

static void common_write(struct virtio_pci *vp, unsigned off, uint64_t value, unsigned size)
{
	struct virtio_dev *d = vp->vdev;
	struct virtq *q = vp->queue_sel < d->num_queues ? &d->vqs[vp->queue_sel] : NULL;
	struct virtq *cq = virtio_dev_config_queue(d, vp->queue_sel);

	switch (off) {
	case 0x00: vp->dfselect = (uint32_t)value; break;
	case 0x08: vp->gfselect = (uint32_t)value; break;
	case 0x0c: virtio_dev_set_features_word(d, vp->gfselect, (uint32_t)value); break;
	case 0x10: vp->msix_config = vector_or_none(vp, value); break;
	case 0x14: virtio_dev_set_status(d, (uint8_t)value); break;
	case 0x16: vp->queue_sel = (uint16_t)value; break;
	case 0x18: virtio_dev_set_queue_size(d, vp->queue_sel, value); break;
	case 0x1a:
		if (q)
			vp->msix_queue[vp->queue_sel] = vector_or_none(vp, value);
		break;
	case 0x1c:
		if (cq && value == 1)
			cq->enabled = true;
		break;
	case 0x20: case 0x24: if (cq) virtio_set_addr(&cq->desc_gpa, off & 4, value, size); break;
	case 0x28: case 0x2c: if (cq) virtio_set_addr(&cq->avail_gpa, off & 4, value, size); break;
	case 0x30: case 0x34: if (cq) virtio_set_addr(&cq->used_gpa, off & 4, value, size); break;
	default: break; /* read-only fields */
	}
}

/* ---- MSI-X table and PBA ---- */
/* The PBA: one bit per vector, in whole qwords (65 vectors take two). */
static unsigned pba_bytes(const struct virtio_pci *vp) { return (vp->n_vectors + 63) / 64 * 8; }

static uint64_t msix_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
	if (off >= VPCI_MSIX_PBA) {
		/* Any access size at any byte: the bits of the vectors it covers. */
		unsigned first = (off - VPCI_MSIX_PBA) * 8;
		uint64_t bits = 0;
		for (unsigned b = 0; b < size * 8 && first + b < vp->n_vectors; b++)
			bits |= (uint64_t)vp->vec[first + b].pending << b;
		return bits;
	}
	unsigned v = (off - VPCI_MSIX_TABLE) / 16, field = (off - VPCI_MSIX_TABLE) % 16;
	if (v >= vp->n_vectors)
		return 0;
	struct vpci_vector *x = &vp->vec[v];
	uint64_t words[2] = { x->addr, (uint64_t)x->data | (uint64_t)x->ctrl << 32 };
	uint64_t w = words[field / 8];
	return size == 8 ? w : (uint32_t)(w >> (8 * (field % 8)));
}

static void msix_write(struct virtio_pci *vp, unsigned off, uint64_t value, unsigned size)
{
	if (off >= VPCI_MSIX_PBA)
		return; /* read-only */
	unsigned v = (off - VPCI_MSIX_TABLE) / 16, field = (off - VPCI_MSIX_TABLE) % 16;
	if (v >= vp->n_vectors)
		return;
	struct vpci_vector *x = &vp->vec[v];
	for (unsigned i = 0; i < size; i += 4, field += 4) {
		uint32_t w = (uint32_t)(value >> (8 * i));
		switch (field) {
		case 0: x->addr = (x->addr & ~0xffffffffull) | w; break;
		case 4: x->addr = (x->addr & 0xffffffffull) | (uint64_t)w << 32; break;
		case 8: x->data = w; break;
		case 12: x->ctrl = w & 1; break;
		}
	}
	update_vector(vp, v);
}

/* ---- the BAR ---- */
static void bar_write(void *dev, uint64_t addr, uint64_t value, unsigned size)
{
	struct virtio_pci *vp = dev;
	unsigned off = (unsigned)(addr - vp->bar);

	if (off < VPCI_COMMON + 0x40)
		common_write(vp, off, value, size);
	else if (off >= VPCI_DEVICE && off < VPCI_DEVICE + 0x1000) {
		if (vp->vdev->ops->config_write)
			vp->vdev->ops->config_write(vp->vdev, off - VPCI_DEVICE, value, size);
	} else if (off >= VPCI_NOTIFY && off < VPCI_NOTIFY + VPCI_NOTIFY_MULT * vp->vdev->num_queues)
		virtio_queue_kick(vp->vdev, (off - VPCI_NOTIFY) / VPCI_NOTIFY_MULT); /* a write the ioeventfd did not match */
	else if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_PBA + pba_bytes(vp))
		msix_write(vp, off, value, size);
}

static uint64_t bar_read(void *dev, uint64_t addr, unsigned size)
{
	struct virtio_pci *vp = dev;
	unsigned off = (unsigned)(addr - vp->bar);

	if (off < VPCI_COMMON + 0x40)
		return common_read(vp, off, size);
	if (off == VPCI_ISR) {
		uint8_t isr = vp->isr;
		vp->isr = 0; /* reading ISR acknowledges it */
		return isr;
	}
	if (off >= VPCI_DEVICE && off < VPCI_DEVICE + 0x1000)
		return vp->vdev->ops->config_read ? vp->vdev->ops->config_read(vp->vdev, off - VPCI_DEVICE, size) : 0;
	if (off >= VPCI_MSIX_TABLE && off < VPCI_MSIX_PBA + pba_bytes(vp))
		return msix_read(vp, off, size);
	return 0;
}

static const struct bus_ops bar_ops = { .write = bar_write, .read = bar_read };

/* ---- config space: MSI-X control, and the PCI_CFG window into the BAR ---- */
static void cfg_written(struct pci_dev *pd, unsigned offset, unsigned size)
{
	struct virtio_pci *vp = pd->ctx;
	if (offset < vp->msix_cap + 4 && offset + size > vp->msix_cap + 2)
		for (unsigned v = 0; v < vp->n_vectors; v++)
			update_vector(vp, v);
	unsigned data = vp->cfg_cap + 16;
	if (offset == data) {
		/* VIRTIO_PCI_CAP_PCI_CFG: bar, offset, length say where the data goes */
		unsigned len = pd->cfg[vp->cfg_cap + 12], boff = pd->cfg[vp->cfg_cap + 8] | pd->cfg[vp->cfg_cap + 9] << 8;
		if (pd->cfg[vp->cfg_cap + 4] == 0 && (len == 1 || len == 2 || len == 4) && boff + len <= VPCI_BAR_SIZE) {
			uint32_t v;
			memcpy(&v, pd->cfg + data, 4);
			bar_write(vp, vp->bar + boff, v, len);
		}
	}
}

static void add_vendor_cap(struct virtio_pci *vp, uint8_t type, uint32_t offset, uint32_t length, unsigned extra)
{
	unsigned c = pci_dev_add_cap(&vp->pci, PCI_CAP_ID_VNDR, 16 + extra);
	uint8_t *p = vp->pci.cfg + c;
	p[2] = (uint8_t)(16 + extra); /* cap_len */
	p[3] = type;
	p[4] = 0;                     /* BAR 0 */
	pci_set32(p + 8, offset);
	pci_set32(p + 12, length);
	if (type == CAP_NOTIFY)
		pci_set32(p + 16, VPCI_NOTIFY_MULT);
	if (type == CAP_PCI_CFG) {
		vp->cfg_cap = c;
		/* bar, offset, length and data are the driver's to write */
		vp->pci.wmask[c + 4] = 0xff;
		memset(vp->pci.wmask + c + 8, 0xff, 8);
		memset(vp->pci.wmask + c + 16, 0xff, 4);
	}
}

int virtio_pci_create(struct virtio_pci *vp, struct pci_bus *b, struct virtio_dev *vdev)
{
	struct vm *vm = b->vm;
	int ret;

	memset(vp, 0, sizeof(*vp));
	vp->vdev = vdev;
	vp->vm = vm;
	vdev->transport = &vpci_transport;
	vdev->transport_ctx = vp;
	vpci_reset(vdev); /* vectors start as NO_VECTOR, as after a device reset */

	/* Class: mass storage for blk, network for net, "other" otherwise. */
	uint32_t class = vdev->device_id == VIRTIO_ID_BLOCK ? 0x01800000 : vdev->device_id == VIRTIO_ID_NET ? 0x02000000 : 0xff000000;
	pci_dev_init(&vp->pci, vdev->name, 0x1af4, (uint16_t)(0x1040 + vdev->device_id), class | 0x01, 0x1af4,
		     (uint16_t)(0x1040 + vdev->device_id));
	vp->pci.ctx = vp;
	vp->pci.cfg_written = cfg_written;
	vp->bar = pci_bus_alloc_mmio(b, VPCI_BAR_SIZE);
	if (!vp->bar) {
		log_error("%s: no PCI address space left for its BAR", vdev->name);
		return -ENOSPC;
	}
	pci_dev_set_bar64(&vp->pci, 0, vp->bar, VPCI_BAR_SIZE);
	/* The VMM is the firmware here: memory decoding and bus mastering start enabled. */
	pci_set16(vp->pci.cfg + PCI_COMMAND, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);

	vp->n_vectors = vdev->num_queues + 1;
	vp->msix_cap = pci_dev_add_cap(&vp->pci, PCI_CAP_ID_MSIX, 12);
	pci_set16(vp->pci.cfg + vp->msix_cap + 2, (uint16_t)(vp->n_vectors - 1));
	pci_set16(vp->pci.wmask + vp->msix_cap + 2, MSIX_ENABLE | MSIX_MASKALL);
	pci_set32(vp->pci.cfg + vp->msix_cap + 4, VPCI_MSIX_TABLE);
	pci_set32(vp->pci.cfg + vp->msix_cap + 8, VPCI_MSIX_PBA);
	add_vendor_cap(vp, CAP_COMMON, VPCI_COMMON, 0x40, 0);
	add_vendor_cap(vp, CAP_NOTIFY, VPCI_NOTIFY, VPCI_NOTIFY_MULT * vdev->num_queues, 4);
	add_vendor_cap(vp, CAP_ISR, VPCI_ISR, 4, 0);
	add_vendor_cap(vp, CAP_DEVICE, VPCI_DEVICE, 0x1000, 0);
	add_vendor_cap(vp, CAP_PCI_CFG, 0, 0, 4);

	for (unsigned v = 0; v < vp->n_vectors; v++) {
		struct vpci_vector *x = &vp->vec[v];
		x->ctrl = 1; /* masked until the driver says otherwise */
		x->gsi = irq_routing_alloc_gsi(&vm->routing);
		if (x->gsi < 0)
			return x->gsi;
		if ((ret = irq_line_init(&x->line, vm->kvm.vm_fd, (unsigned)x->gsi, vdev->engine)) < 0)
			return ret;
	}
	for (unsigned q = 0; q < vdev->num_queues; q++)
		if ((ret = virtio_kick_start(&vp->kick[q], vdev, q, vm->kvm.vm_fd,
					     vp->bar + VPCI_NOTIFY + VPCI_NOTIFY_MULT * q, 2, false, 0)) < 0)
			return ret;
	if ((ret = bus_add(&vm->mmio, vp->bar, VPCI_BAR_SIZE, &bar_ops, vp, vdev->engine, vdev->name)) < 0)
		return ret;
	return pci_bus_add(b, &vp->pci);
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	if (!vp->vm)
		return;
	for (unsigned q = 0; q < vp->vdev->num_queues; q++)
		virtio_kick_stop(&vp->kick[q]);
	for (unsigned v = 0; v < vp->n_vectors; v++)
		if (vp->vec[v].line.fd > 0)
			irq_line_destroy(&vp->vec[v].line, vp->vm->kvm.vm_fd);
}
