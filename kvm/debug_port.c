/* debug_port: see debug_port.h. */
#include "debug_port.h"

#include "engine/log.h"
#include "layout.h"

#include <stdio.h>
#include <string.h>

static void debug_write(void *dev, uint64_t addr, uint64_t value, unsigned size)
{
	struct debug_port *d = dev;
	(void)size;

	if (addr == PORT_DEBUG) {
		uint64_t t = bus_access_time_ns();
		d->post_bytes++;
		log_info("debug port 0x80: 0x%02x at %llu.%03llu ms", (unsigned)(value & 0xff),
			 (unsigned long long)(t / 1000000), (unsigned long long)(t / 1000 % 1000));
		return;
	}
	uint32_t status = (uint32_t)value;
	char why[64];
	snprintf(why, sizeof(why), "the guest wrote %u to the exit port", status);
	vm_request_stop(d->vm, status > 255 ? 255 : (int)status, why);
}

static uint64_t debug_read(void *dev, uint64_t addr, unsigned size)
{
	(void)dev, (void)addr, (void)size;
	return 0;
}

const struct bus_ops debug_port_ops = { .write = debug_write, .read = debug_read };

int debug_port_create(struct debug_port *d, struct vm *vm, struct engine *e)
{
	int ret;
	memset(d, 0, sizeof(*d));
	d->vm = vm;
	if ((ret = bus_add(&vm->pio, PORT_DEBUG, 1, &debug_port_ops, d, e, "debug port")) < 0)
		return ret;
	bus_set_flags(&vm->pio, PORT_DEBUG, BUS_F_TIMESTAMP);
	return bus_add(&vm->pio, PORT_DEBUG_EXIT, 4, &debug_port_ops, d, e, "exit port");
}
