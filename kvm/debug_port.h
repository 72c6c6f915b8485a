/* debug_port: port 0x80 (each byte logged with the time since VMM start, for boot
 * timing) and the exit port 0xf4 (a 32-bit write ends the VMM with that status, like
 * QEMU's isa-debug-exit at the same place, so one guest binary runs on both). */
#ifndef RV_DEBUG_PORT_H
#define RV_DEBUG_PORT_H

#include "vm.h"

struct debug_port {
	struct vm *vm;
	uint64_t post_bytes;
};

int debug_port_create(struct debug_port *d, struct vm *vm, struct engine *e);
extern const struct bus_ops debug_port_ops;

#endif
