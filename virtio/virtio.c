/* virtio: device status and feature state machine. See virtio.h. */
#include "virtio.h"

#include "engine/log.h"
#include "kvm/ioeventfd.h"

#include <stdio.h>
#include <string.h>

static void publish(struct engine_deferred *def)
{
	struct virtio_dev *d = def->ctx;
	uint64_t dirty = d->dirty_queues;
	d->dirty_queues = 0;
	for (unsigned q = 0; dirty; q++, dirty >>= 1)
		if ((dirty & 1) && virtq_publish(&d->vqs[q]) && d->transport) {
			d->interrupts++;
			d->transport->interrupt(d, q);
		}
}

void virtio_queue_used(struct virtio_dev *d, unsigned q)
{
	d->dirty_queues |= 1ull << q;
	engine_defer(d->engine, &d->publish);
}

void virtio_queue_kick(struct virtio_dev *d, unsigned q)
{
	d->kicks++;
	if (q < d->num_queues && virtio_dev_live(d) && d->vqs[q].ready)
		d->ops->queue_work(d, q);
}

static unsigned poll_queues(struct engine_poller *p)
{
	struct virtio_dev *d = p->ctx;
	unsigned n = 0;
	if (!virtio_dev_live(d))
		return 0;
	for (unsigned q = 0; q < d->num_queues; q++)
		if (((d->polled_queues >> q) & 1) && virtq_pending(&d->vqs[q])) {
			d->ops->queue_work(d, q);
			n++;
		}
	return n;
}

static bool before_sleep(struct engine_poller *p)
{
	struct virtio_dev *d = p->ctx;
	bool pending = false;
	if (!virtio_dev_live(d))
		return false;
	for (unsigned q = 0; q < d->num_queues; q++)
		if ((d->polled_queues >> q) & 1)
			pending |= virtq_notify_on(&d->vqs[q]);
	return pending;
}

static void after_sleep(struct engine_poller *p)
{
	struct virtio_dev *d = p->ctx;
	if (!virtio_dev_live(d))
		return;
	for (unsigned q = 0; q < d->num_queues; q++)
		if ((d->polled_queues >> q) & 1)
			virtq_notify_off(&d->vqs[q]);
}

void virtio_dev_init(struct virtio_dev *d, const char *name, uint16_t device_id, uint64_t features,
		     unsigned num_queues, uint16_t max_queue_size, const struct virtio_dev_ops *ops,
		     struct engine *e, const struct guest_mem *mem, void *priv)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->device_id = device_id;
	d->host_features = features | VIRTIO_F_VERSION_1;
	d->num_queues = num_queues;
	d->max_queue_size = max_queue_size;
	d->ops = ops;
	d->engine = e;
	d->mem = mem;
	d->priv = priv;
	for (unsigned i = 0; i < num_queues; i++)
		d->vqs[i].size = max_queue_size;
	d->publish.fn = publish;
	d->publish.ctx = d;
	d->poller = (struct engine_poller){ .poll = poll_queues, .before_sleep = before_sleep,
					    .after_sleep = after_sleep, .ctx = d };
	engine_add_poller(e, &d->poller);
}

static void clear_state(struct virtio_dev *d)
{
	if (d->transport && d->transport->reset)
		d->transport->reset(d);
	d->status = 0;
	d->guest_features = 0;
	for (unsigned i = 0; i < d->num_queues; i++) {
		virtq_reset(&d->vqs[i]);
		d->vqs[i].size = d->max_queue_size;
	}
}

void virtio_dev_reset_done(struct virtio_dev *d)
{
	if (!d->resetting)
		return;
	d->resetting = false;
	clear_state(d);
	log_debug("%s: reset complete", d->name);
}

static bool start_queues(struct virtio_dev *d)
{
	bool event_idx = virtio_has(d, VIRTIO_F_RING_EVENT_IDX);
	bool indirect = virtio_has(d, VIRTIO_F_RING_INDIRECT_DESC);
	for (unsigned i = 0; i < d->num_queues; i++) {
		struct virtq *q = &d->vqs[i];
		if (!q->enabled)
			continue;
		if (virtq_start(q, d->mem, event_idx, indirect) < 0) {
			virtio_dev_fail(d, (int)i, q->error);
			return false;
		}
	}
	return true;
}

void virtio_dev_set_status(struct virtio_dev *d, uint8_t status)
{
	if (status == 0) {
		unsigned inflight = d->ops->reset ? d->ops->reset(d) : 0;
		if (inflight) {
			d->resetting = true; /* device_status keeps reading non-zero until they finish */
			for (unsigned i = 0; i < d->num_queues; i++)
				d->vqs[i].ready = false;
			return;
		}
		clear_state(d);
		return;
	}
	if (d->resetting)
		return;
	uint8_t old = d->status;
	if ((status & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* Features the device did not offer, or a driver without VERSION_1: refuse. */
		if ((d->guest_features & ~d->host_features) || !(d->guest_features & VIRTIO_F_VERSION_1)) {
			log_warn("%s: driver asked for features 0x%llx outside 0x%llx (or without VERSION_1); "
				 "FEATURES_OK refused", d->name, (unsigned long long)d->guest_features,
				 (unsigned long long)d->host_features);
			status &= (uint8_t)~VIRTIO_STATUS_FEATURES_OK;
		}
	}
	d->status = (uint8_t)(status | (old & VIRTIO_STATUS_NEEDS_RESET));
	if ((status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK)) {
		if (!(status & VIRTIO_STATUS_FEATURES_OK)) {
			virtio_dev_fail(d, -1, "DRIVER_OK without FEATURES_OK");
			return;
		}
		if (start_queues(d) && d->ops->start)
			d->ops->start(d);
	}
}

uint8_t virtio_dev_get_status(struct virtio_dev *d)
{
	return d->resetting ? d->status | 1 : d->status;
}

void virtio_dev_fail(struct virtio_dev *d, int queue, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	if (queue >= 0)
		log_warn("%s: queue %d: %s; device needs reset", d->name, queue, why);
	else
		log_warn("%s: %s; device needs reset", d->name, why);
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK) {
		d->config_generation++;
		if (d->transport && d->transport->config_changed)
			d->transport->config_changed(d);
	}
}

uint32_t virtio_dev_features_word(const struct virtio_dev *d, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(d->host_features >> (32 * sel)) : 0;
}

uint32_t virtio_dev_guest_features_word(const struct virtio_dev *d, uint32_t sel)
{
	return sel < 2 ? (uint32_t)(d->guest_features >> (32 * sel)) : 0;
}

void virtio_dev_set_features_word(struct virtio_dev *d, uint32_t sel, uint32_t value)
{
	if (sel < 2 && !(d->status & VIRTIO_STATUS_FEATURES_OK)) {
		unsigned sh = 32 * sel;
		d->guest_features = (d->guest_features & ~(0xffffffffull << sh)) | ((uint64_t)value << sh);
	}
}

struct virtq *virtio_dev_config_queue(struct virtio_dev *d, unsigned sel)
{
	if (sel >= d->num_queues || (d->status & VIRTIO_STATUS_DRIVER_OK) || d->resetting)
		return NULL;
	return &d->vqs[sel];
}

void virtio_dev_set_queue_size(struct virtio_dev *d, unsigned sel, uint64_t value)
{
	struct virtq *q = virtio_dev_config_queue(d, sel);
	if (!q)
		return;
	/* A power of two: the rings are indexed with free-running 16-bit counters modulo size. */
	if (value == 0 || value > d->max_queue_size || (value & (value - 1)))
		log_warn("%s: queue %u: size %llu refused (a power of two, at most %u)", d->name, sel,
			 (unsigned long long)value, d->max_queue_size);
	else
		q->size = (uint16_t)value;
}

void virtio_set_addr(uint64_t *field, bool high, uint64_t value, unsigned size)
{
	if (size == 8)
		*field = value;
	else if (high)
		*field = (*field & 0xffffffffull) | (value << 32);
	else
		*field = (*field & ~0xffffffffull) | (uint32_t)value;
}

static void on_kick(struct engine_reader *r, const char *data, size_t len)
{
	struct virtio_kick *k = r->ctx;
	(void)data, (void)len;
	virtio_queue_kick(k->dev, k->queue);
}

int virtio_kick_start(struct virtio_kick *k, struct virtio_dev *d, unsigned q, int vm_fd, uint64_t addr,
		      unsigned len, bool datamatch, uint64_t value)
{
	int fd = datamatch ? ioeventfd_create_match(vm_fd, addr, len, false, value)
			   : ioeventfd_create(vm_fd, addr, len, false);
	if (fd < 0)
		return fd;
	*k = (struct virtio_kick){ .dev = d, .queue = q, .vm_fd = vm_fd, .fd = fd, .addr = addr, .len = len,
				   .datamatch = datamatch, .value = value };
	engine_reader_start(&k->reader, d->engine, fd, on_kick, NULL, k);
	return 0;
}

void virtio_kick_stop(struct virtio_kick *k)
{
	if (!k->dev)
		return;
	if (k->datamatch)
		ioeventfd_destroy_match(k->vm_fd, k->fd, k->addr, k->len, false, k->value);
	else
		ioeventfd_destroy(k->vm_fd, k->fd, k->addr, k->len, false);
	k->dev = NULL;
}
