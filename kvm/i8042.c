/* i8042: see i8042.h. No keyboard or mouse is attached; port tests pass. */
#include "i8042.h"

#include "layout.h"
#include "engine/log.h"

#include <string.h>

#define STATUS_OBF 0x01
#define STATUS_SYS 0x04

static void reply(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->out_full = true;
}

static void command(struct i8042 *k, uint8_t cmd)
{
	log_debug("i8042: command %#x", cmd);
	switch (cmd) {
	case I8042_CMD_READ_CTR: reply(k, k->ctr); break;
	case I8042_CMD_WRITE_CTR: k->pending = cmd; break;
	case I8042_CMD_SELF_TEST: reply(k, 0x55); break;
	case 0xab: case 0xa9: reply(k, 0x00); break; /* port tests: OK */
	case I8042_CMD_RESET:
		if (k->vm)
			vm_request_stop(k->vm, VM_EXIT_OK, "the guest asked for a reset through the i8042");
		break;
	default: break;
	}
}

static void i8042_write(void *dev, uint64_t addr, uint64_t value, unsigned size)
{
	struct i8042 *k = dev;
	(void)size;
	if (addr == PORT_I8042_CMD) {
		command(k, (uint8_t)value);
		return;
	}
	if (k->pending == I8042_CMD_WRITE_CTR)
		k->ctr = (uint8_t)value;
	k->pending = 0;
}

static uint64_t i8042_read(void *dev, uint64_t addr, unsigned size)
{
	struct i8042 *k = dev;
	(void)size;
	if (addr == PORT_I8042_CMD)
		return STATUS_SYS | (k->out_full ? STATUS_OBF : 0);
	k->out_full = false;
	return k->out;
}

const struct bus_ops i8042_ops = { .write = i8042_write, .read = i8042_read };

int i8042_create(struct i8042 *k, struct vm *vm, struct engine *e)
{
	int ret;
	memset(k, 0, sizeof(*k));
	k->vm = vm;
	k->ctr = 0x47;
	if ((ret = bus_add(&vm->pio, PORT_I8042_DATA, 1, &i8042_ops, k, e, "i8042")) < 0)
		return ret;
	return bus_add(&vm->pio, PORT_I8042_CMD, 1, &i8042_ops, k, e, "i8042");
}
