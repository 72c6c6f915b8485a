/* virtio_mmio: see virtio_mmio.h. Register offsets from virtio 1.2 section 4.2.2. */
#include "virtio_mmio.h"

#include "engine/log.h"
#include "kvm/layout.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum {
	R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008, R_VENDOR_ID = 0x00c,
	R_DEVICE_FEATURES = 0x010, R_DEVICE_FEATURES_SEL = 0x014,
	R_DRIVER_FEATURES = 0x020, R_DRIVER_FEATURES_SEL = 0x024,
	R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044,
	R_QUEUE_NOTIFY = 0x050, R_INTERRUPT_STATUS = 0x060, R_INTERRUPT_ACK = 0x064, R_STATUS = 0x070,
	R_QUEUE_DESC_LOW = 0x080, R_QUEUE_DESC_HIGH = 0x084, R_QUEUE_DRIVER_LOW = 0x090,
	R_QUEUE_DRIVER_HIGH = 0x094, R_QUEUE_DEVICE_LOW = 0x0a0, R_QUEUE_DEVICE_HIGH = 0x0a4,
	R_SHM_SEL = 0x0ac, R_SHM_LEN_LOW = 0x0b0, R_SHM_LEN_HIGH = 0x0b4, R_SHM_BASE_LOW = 0x0b8,
	R_SHM_BASE_HIGH = 0x0bc, R_CONFIG_GENERATION = 0x0fc,
};

/* ---- interrupts: InterruptStatus bits, one edge on the pin per new bit set ---- */
static void raise_irq(struct virtio_mmio *m, uint32_t bit)
{
	m->isr |= bit;
	irq_line_raise(&m->irq);
}

static void vmmio_interrupt(struct virtio_dev *d, unsigned q)
{
	(void)q;
	raise_irq(d->transport_ctx, VMMIO_INT_USED);
}

static void vmmio_config_changed(struct virtio_dev *d)
{
	raise_irq(d->transport_ctx, VMMIO_INT_CONFIG);
}

static void vmmio_reset(struct virtio_dev *d)
{
	struct virtio_mmio *m = d->transport_ctx;
	m->isr = 0;
	m->dfselect = m->gfselect = m->queue_sel = 0;
}

const struct virtio_transport_ops virtio_mmio_transport = {
	.interrupt = vmmio_interrupt,
	.config_changed = vmmio_config_changed,
	.reset = vmmio_reset,
};

/* ---- registers ---- */
static uint64_t queue_addr(const struct virtq *q, unsigned off)
{
	switch (off & ~4u) {
	case R_QUEUE_DESC_LOW: return q->desc_gpa;
	case R_QUEUE_DRIVER_LOW: return q->avail_gpa;
	default: return q->used_gpa;
	}
}

static uint64_t mmio_read(void *dev, uint64_t addr, unsigned size)
{
	struct virtio_mmio *m = dev;
	struct virtio_dev *d = m->vdev;
	unsigned off = (unsigned)(addr - m->base);
	struct virtq *q = m->queue_sel < d->num_queues ? &d->vqs[m->queue_sel] : NULL;

	if (off >= VMMIO_CONFIG)
		return d->ops->config_read ? d->ops->config_read(d, off - VMMIO_CONFIG, size) : 0;
	if (size != 4)
		return 0; /* registers are 32-bit only */
	switch (off) {
	case R_MAGIC: return VMMIO_MAGIC;
	case R_VERSION: return VMMIO_VERSION;
	case R_DEVICE_ID: return d->device_id;
	case R_VENDOR_ID: return VMMIO_VENDOR;
	case R_DEVICE_FEATURES: return virtio_dev_features_word(d, m->dfselect);
	case R_QUEUE_NUM_MAX: return q ? d->max_queue_size : 0;
	case R_QUEUE_READY: return q ? q->enabled : 0;
	case R_INTERRUPT_STATUS: return m->isr;
	case R_STATUS: return virtio_dev_get_status(d);
	case R_QUEUE_DESC_LOW: case R_QUEUE_DRIVER_LOW: case R_QUEUE_DEVICE_LOW:
		return q ? (uint32_t)queue_addr(q, off) : 0;
	case R_QUEUE_DESC_HIGH: case R_QUEUE_DRIVER_HIGH: case R_QUEUE_DEVICE_HIGH:
		return q ? (uint32_t)(queue_addr(q, off) >> 32) : 0;
	case R_SHM_LEN_LOW: case R_SHM_LEN_HIGH: return 0xffffffffu; /* no shared memory regions */
	case R_CONFIG_GENERATION: return d->config_generation;
	default: return 0;
	}
}

static void mmio_write(void *dev, uint64_t addr, uint64_t value, unsigned size)
{
	struct virtio_mmio *m = dev;
	struct virtio_dev *d = m->vdev;
	unsigned off = (unsigned)(addr - m->base);
	uint32_t v = (uint32_t)value;

	if (off >= VMMIO_CONFIG) {
		if (d->ops->config_write)
			d->ops->config_write(d, off - VMMIO_CONFIG, value, size);
		return;
	}
	if (size != 4)
		return;
	struct virtq *cq = virtio_dev_config_queue(d, m->queue_sel);
	switch (off) {
	case R_DEVICE_FEATURES_SEL: m->dfselect = v; break;
	case R_DRIVER_FEATURES: virtio_dev_set_features_word(d, m->gfselect, v); break;
	case R_DRIVER_FEATURES_SEL: m->gfselect = v; break;
	case R_QUEUE_SEL: m->queue_sel = v; break;
	case R_QUEUE_NUM: virtio_dev_set_queue_size(d, m->queue_sel, v); break;
	case R_QUEUE_READY:
		if (cq)
			cq->enabled = v == 1;
		break;
	case R_QUEUE_NOTIFY:
		/* a value no ioeventfd matched: out of range, or a queue without one */
		if (v < d->num_queues)
			virtio_queue_kick(d, v);
		break;
	case R_INTERRUPT_ACK: m->isr &= ~v; break;
	case R_STATUS:
		virtio_dev_set_status(d, (uint8_t)v);
		break;
	case R_QUEUE_DESC_LOW: case R_QUEUE_DESC_HIGH:
		if (cq) virtio_set_addr(&cq->desc_gpa, off & 4, v, 4);
		break;
	case R_QUEUE_DRIVER_LOW: case R_QUEUE_DRIVER_HIGH:
		if (cq) virtio_set_addr(&cq->avail_gpa, off & 4, v, 4);
		break;
	case R_QUEUE_DEVICE_LOW: case R_QUEUE_DEVICE_HIGH:
		if (cq) virtio_set_addr(&cq->used_gpa, off & 4, v, 4);
		break;
	default: break; /* read-only or unknown */
	}
}

const struct bus_ops virtio_mmio_ops = { .write = mmio_write, .read = mmio_read };

int virtio_mmio_create(struct virtio_mmio *m, struct vm *vm, struct virtio_dev *vdev, uint64_t base, unsigned gsi)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->irq.fd = -1;
	m->vdev = vdev;
	m->vm = vm;
	m->base = base;
	m->gsi = gsi;
	vdev->transport = &virtio_mmio_transport;
	vdev->transport_ctx = m;
	if ((ret = irq_line_init(&m->irq, vm->kvm.vm_fd, gsi, vdev->engine)) < 0)
		return ret;
	for (unsigned q = 0; q < vdev->num_queues; q++)
		if ((ret = virtio_kick_start(&m->kick[q], vdev, q, vm->kvm.vm_fd, base + R_QUEUE_NOTIFY, 4, true, q)) < 0)
			return ret;
	if ((ret = bus_add(&vm->mmio, base, LAYOUT_VIRTIO_MMIO_SIZE, &virtio_mmio_ops, m, vdev->engine, vdev->name)) < 0)
		return ret;
	return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *m)
{
	if (!m->vm)
		return;
	for (unsigned q = 0; q < m->vdev->num_queues; q++)
		virtio_kick_stop(&m->kick[q]);
	if (m->irq.fd >= 0)
		irq_line_destroy(&m->irq, m->vm->kvm.vm_fd);
}

int virtio_mmio_cmdline(const struct virtio_mmio *m, char *buf, size_t size)
{
	return snprintf(buf, size, "virtio_mmio.device=%lluK@0x%llx:%u",
			(unsigned long long)(LAYOUT_VIRTIO_MMIO_SIZE >> 10), (unsigned long long)m->base, m->gsi);
}
